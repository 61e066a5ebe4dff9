"""The schema of a dataset version: one entry per column."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def infer_columns(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Name, dtype, kind, missing count, distinct count, and min/max for numbers."""
    out = []
    for name in frame.columns:
        series = frame[name]
        kind = _kind(series)
        entry: dict[str, Any] = {
            "name": str(name),
            "dtype": str(series.dtype),
            "kind": kind,
            "missing": int(series.isna().sum()),
            "distinct": int(series.nunique(dropna=True)),
        }
        if kind == "numeric" and series.notna().any():
            entry["min"] = float(series.min())
            entry["max"] = float(series.max())
        out.append(entry)
    return out
