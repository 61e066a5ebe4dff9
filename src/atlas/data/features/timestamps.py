"""Event times in UTC: every timestamp the feature store sees is normalized the same way.

- time-zone-aware values are converted to UTC;
- naive values (no zone) are taken to be UTC already;
- strings are parsed as ISO 8601, each with its own offset if it has one (so a column may mix
  zones), naive ones as UTC;
- precision is microseconds (finer digits are cut), numbers are refused (the unit is ambiguous).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from atlas.core.errors import InvalidInputError

UTC_US = pa.timestamp("us", tz="UTC")


def to_utc(value: Any, what: str = "time") -> datetime:
    """One moment as an aware UTC datetime (strings, naive or aware datetimes, pandas)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"The {what} {value!r} is not a date/time: {exc}.",
            hint="Use ISO 8601 such as 2024-05-01 or 2024-05-01T12:00:00+02:00.",
        ) from None
    if stamp is pd.NaT:
        raise InvalidInputError(f"The {what} is empty.")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    result: datetime = stamp.tz_convert("UTC").to_pydatetime()
    return result.replace(tzinfo=UTC)


def utc_series(series: pd.Series, column: str) -> pd.Series:
    """A pandas column as ``datetime64[us, UTC]``; unparseable values are one clear error."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        tz = getattr(series.dtype, "tz", None)
        out = series.dt.tz_localize("UTC") if tz is None else series.dt.tz_convert("UTC")
    elif pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise InvalidInputError(
            f"Column {column!r} holds numbers ({series.dtype}), not timestamps.",
            hint="Convert it, e.g. pd.to_datetime(df[col], unit='s', utc=True), then try again.",
        )
    else:
        try:
            out = pd.to_datetime(series, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"Column {column!r} has values that are not timestamps: {exc}.",
                hint="Use ISO 8601 strings (2024-05-01T12:00:00+02:00) or datetime values.",
            ) from None
    return out.astype("datetime64[us, UTC]")


def utc_column(table: pa.Table, column: str) -> pa.Table:
    """``table`` with ``column`` as ``timestamp[us, UTC]`` (see the module docstring)."""
    if column not in table.column_names:
        raise InvalidInputError(
            f"The table has no timestamp column {column!r}.",
            hint=f"Its columns are: {', '.join(table.column_names)}.",
        )
    col = table.column(column)
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        if pa.types.is_date(col.type):
            col = col.cast(pa.timestamp("us"))
        if col.type.tz is None:
            col = col.cast(pa.timestamp("us"), safe=False).cast(UTC_US)  # naive: UTC
        else:
            col = col.cast(pa.timestamp(col.type.unit, tz="UTC")).cast(UTC_US, safe=False)
    else:
        series = utc_series(col.to_pandas(), column)
        col = pa.array(series, type=UTC_US)
    if col.null_count:
        raise InvalidInputError(
            f"Column {column!r} has {col.null_count} empty timestamp(s).",
            hint="Every row needs an event time; drop or fill those rows.",
        )
    return table.set_column(table.column_names.index(column), column, col)


def sql_utc(column_sql: str, duck_type: str, column: str, source: str) -> str:
    """SQL turning a source's timestamp column into TIMESTAMPTZ (the session zone is UTC)."""
    kind = duck_type.upper()
    if kind.startswith(("TIMESTAMP", "DATE", "VARCHAR")):
        return f"CAST({column_sql} AS TIMESTAMPTZ)"
    raise InvalidInputError(
        f"The timestamp column {column!r} of {source} has type {duck_type}, not a timestamp.",
        hint="Store event times as timestamps (or ISO 8601 strings).",
    )
