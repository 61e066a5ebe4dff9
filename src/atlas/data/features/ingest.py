"""Feeding a view's own rows: validate, normalize, write a new Parquet file, then list it.

The file is written whole under a new unique name first; the registry row that lists it is the
commit point. A failure anywhere leaves the view as it was (a written file whose row failed is
deleted, and readers never see a file that is not listed).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from atlas.core.artifacts import ArtifactStore
from atlas.core.errors import InvalidInputError
from atlas.core.schema import isoformat
from atlas.data.features.definitions import Entity, FeatureView
from atlas.data.features.timestamps import UTC_US, utc_column, utc_series

_ARROW = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "timestamp": UTC_US,
}


@dataclass(frozen=True)
class IngestResult:
    view: str
    rows: int
    uri: str
    min_time: datetime | None
    max_time: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "rows": self.rows,
            "uri": self.uri,
            "min_time": isoformat(self.min_time) if self.min_time else None,
            "max_time": isoformat(self.max_time) if self.max_time else None,
        }


def to_arrow(data: pd.DataFrame | pa.Table, timestamp: str) -> pa.Table:
    """A table with ``timestamp`` as ``timestamp[us, UTC]`` (zones normalized, strings parsed)."""
    if isinstance(data, pd.DataFrame):
        if timestamp in data.columns and not pd.api.types.is_datetime64_any_dtype(
            data[timestamp].dtype
        ):
            data = data.assign(**{timestamp: utc_series(data[timestamp], timestamp)})
        try:
            data = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise InvalidInputError(f"The table cannot be converted to Arrow: {exc}.") from None
    elif not isinstance(data, pa.Table):
        raise InvalidInputError(
            f"Expected a pandas DataFrame or an Arrow table, got {type(data).__name__}."
        )
    return utc_column(data, timestamp)


def prepare(view: FeatureView, entity: Entity, data: pd.DataFrame | pa.Table) -> pa.Table:
    """Exactly the view's columns, in its types; a clear error for anything that does not fit."""
    table = to_arrow(data, view.timestamp)
    needed = [entity.join_key, view.timestamp, *view.feature_names]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise InvalidInputError(
            f"The rows for feature view {view.name!r} lack the column(s) {missing}.",
            hint=f"It needs: {', '.join(needed)}.",
        )
    if table.num_rows == 0:
        raise InvalidInputError(f"There are no rows to ingest into {view.name!r}.")
    columns = {entity.join_key: entity.dtype, **{f: view.dtype(f) for f in view.feature_names}}
    out = {}
    for name, dtype in columns.items():
        col = table.column(name)
        if dtype == "timestamp":
            col = utc_column(pa.table({name: col}), name).column(0)
        try:
            out[name] = col.cast(_ARROW[dtype])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInputError(
                f"Column {name!r} holds {col.type} values that are not {dtype}: {exc}.",
                hint=f"Feature view {view.name!r} declares {name} as {dtype}.",
            ) from None
    key = out[entity.join_key]
    if key.null_count:
        raise InvalidInputError(f"Column {entity.join_key!r} has {key.null_count} empty key(s).")
    out[view.timestamp] = table.column(view.timestamp)
    return pa.table({n: out[n] for n in needed})


def write(view: FeatureView, table: pa.Table, files: ArtifactStore, commit: Any) -> IngestResult:
    """Write ``table`` as a new file of ``view``; ``commit(key, n, lo, hi)`` lists it."""
    times = table.column(view.timestamp)
    lo, hi = pc.min(times).as_py(), pc.max(times).as_py()
    key = f"{view.name}/part-{uuid.uuid4().hex}.parquet"
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    files.write_bytes(key, buffer.getvalue())
    try:
        commit(key, table.num_rows, lo, hi)
    except BaseException:
        files.delete(key)
        raise
    return IngestResult(view.name, table.num_rows, key, lo, hi)
