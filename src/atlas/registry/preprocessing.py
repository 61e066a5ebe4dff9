"""Fitted tabular preprocessing, described entirely by the package's input signature.

``fit`` reads a training frame and decides, per column, how it becomes a number: numbers stay
numbers, booleans become 0/1, datetimes become days since 1970, categories become their index in
the list of categories seen at fit time. Missing values, unseen categories and +-inf become NaN
(every learner here handles NaN). The column list *is* the serialized form: it is stored in
``model.json`` as ``inputs``, so what serve decodes is exactly what automl encoded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from atlas.core.errors import InvalidInputError
from atlas.registry.manifest import ColumnKind, InputColumn

Records = Sequence[Mapping[str, Any]]
Columns = Mapping[str, Sequence[Any]]
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def _kind_of(series: pd.Series) -> ColumnKind:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = set(series.dropna().unique().tolist())
    if values and values <= {True, False}:
        return "boolean"
    return "categorical"


class TabularPreprocessor:
    """Turns a frame or a list of records into a float64 matrix, column order as ``columns``."""

    def __init__(self, columns: Sequence[InputColumn]) -> None:
        self.columns = list(columns)
        self._codes = {
            c.name: {cat: float(i) for i, cat in enumerate(c.categories or [])}
            for c in self.columns
            if c.kind == "categorical"
        }
        numeric = ("numeric", "integer", "boolean")
        self._numeric = [j for j, c in enumerate(self.columns) if c.kind in numeric]
        self._other = [j for j, c in enumerate(self.columns) if c.kind not in numeric]

    @classmethod
    def fit(cls, frame: pd.DataFrame, max_categories: int = 1000) -> TabularPreprocessor:
        columns = []
        for name in frame.columns:
            series = frame[name]
            kind = _kind_of(series)
            categories = None
            if kind == "categorical":
                counts = series.dropna().astype(str).value_counts(sort=True)
                categories = sorted(counts.index[:max_categories].tolist())
            columns.append(
                InputColumn(
                    name=str(name),
                    kind=kind,
                    dtype=str(series.dtype),
                    nullable=bool(series.isna().any()),
                    categories=categories,
                )
            )
        return cls(columns)

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.kind == "categorical"]

    def transform(self, data: pd.DataFrame | Records | Columns) -> np.ndarray:
        """Encode ``data`` (a frame, a list of records, or a mapping of column -> values);
        extra fields are ignored, a missing field is an error naming it."""
        if isinstance(data, Mapping):
            missing = [c.name for c in self.columns if c.name not in data]
            if missing:
                raise InvalidInputError(
                    f"Input lacks the field(s) {missing}.",
                    hint=f"The model expects: {self.feature_names}.",
                )
            lengths = {len(data[c.name]) for c in self.columns}
            if len(lengths) > 1:
                raise InvalidInputError(f"Input columns differ in length: {sorted(lengths)}.")
            n = lengths.pop() if lengths else 0
            return self._from_columns(data, n)
        if isinstance(data, pd.DataFrame):
            missing = [c.name for c in self.columns if c.name not in data.columns]
            if missing:
                raise InvalidInputError(
                    f"Input lacks the field(s) {missing}.",
                    hint=f"The model expects: {self.feature_names}.",
                )
            out = np.empty((len(data), len(self.columns)), dtype=np.float64)
            for j, col in enumerate(self.columns):  # column by column: pandas is vectorized
                out[:, j] = self._encode(col, data[col.name])
            return out
        for i, rec in enumerate(data):
            if not isinstance(rec, Mapping):
                raise InvalidInputError(f"Record {i} is not an object of field: value pairs.")
            missing = [c.name for c in self.columns if c.name not in rec]
            if missing:
                raise InvalidInputError(
                    f"Record {i} lacks the field(s) {missing}.",
                    hint=f"The model expects: {self.feature_names}.",
                )
        columns = {c.name: [rec[c.name] for rec in data] for c in self.columns}
        return self._from_columns(columns, len(data))

    def _from_columns(self, data: Columns, n: int) -> np.ndarray:
        """Columns of Python values (what a server receives): the numeric columns converted as
        one block (a one-row request would otherwise spend most of its preprocessing on
        per-column numpy calls); a column that fails is converted alone, for the error naming
        it."""
        out = np.empty((n, len(self.columns)), dtype=np.float64)
        if self._numeric:
            cols = [self.columns[j] for j in self._numeric]
            try:
                block = np.array(
                    [[np.nan if v is None else v for v in data[c.name]] for c in cols],
                    dtype=np.float64,
                )
                if block.ndim != 2:  # a list or object inside a field
                    raise ValueError
            except (TypeError, ValueError):
                block = np.array([self._numbers(c, data[c.name]) for c in cols])
            block[np.isinf(block)] = np.nan
            out[:, self._numeric] = block.T
        for j in self._other:
            out[:, j] = self._encode(self.columns[j], data[self.columns[j].name])
        return out

    def _encode(self, col: InputColumn, values: Any) -> np.ndarray:
        if col.kind == "categorical":
            codes = self._codes[col.name]
            if isinstance(values, pd.Series):
                strings = values.astype("object").where(values.notna(), None)
                values = strings.tolist()
            return np.array(
                [np.nan if v is None or v != v else codes.get(str(v), np.nan) for v in values],
                dtype=np.float64,
            )
        if col.kind == "datetime":
            stamps = pd.to_datetime(pd.Series(values), errors="coerce", utc=True)
            days = (stamps - _EPOCH) / pd.Timedelta(days=1)
            return days.to_numpy(dtype=np.float64, na_value=np.nan)
        return self._numbers(col, values)

    @staticmethod
    def _numbers(col: InputColumn, values: Any) -> np.ndarray:
        if isinstance(values, pd.Series):
            values = values.to_numpy(dtype=object, na_value=None)
        try:
            arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            if arr.ndim != 1:
                raise ValueError
        except (TypeError, ValueError):
            bad = next(v for v in values if not _is_number(v))
            expected = "true/false" if col.kind == "boolean" else "a number"
            raise InvalidInputError(
                f"Field {col.name!r} must be {expected}, got {bad!r}.",
                hint="Send a number (or null for a missing value).",
            ) from None
        arr[np.isinf(arr)] = np.nan
        return arr


def _is_number(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | np.number | np.bool_):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)
