"""The profile of a dataset version: per-column type, missing rate, distinct count, statistics.

Stored with the version (the ``columns`` JSON of its row) and shown by ``atlas data show``; the
quality rules and the drift check read it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TOP_VALUES = 5


def column_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def _numeric(series: pd.Series) -> dict[str, Any]:
    values = series.dropna().to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {}
    q = np.quantile(values, [0.01, 0.25, 0.5, 0.75, 0.99])
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "p01": float(q[0]),
        "p25": float(q[1]),
        "p50": float(q[2]),
        "p75": float(q[3]),
        "p99": float(q[4]),
    }


def profile_column(name: str, series: pd.Series) -> dict[str, Any]:
    kind = column_kind(series)
    missing = int(series.isna().sum())
    entry: dict[str, Any] = {
        "name": str(name),
        "dtype": str(series.dtype),
        "kind": kind,
        "nullable": missing > 0,
        "missing": missing,
        "missing_rate": missing / len(series) if len(series) else 0.0,
        "distinct": int(series.nunique(dropna=True)),
    }
    if kind == "numeric":
        entry.update(_numeric(series))
    elif kind == "datetime" and missing < len(series):
        entry["min"] = series.min().isoformat()
        entry["max"] = series.max().isoformat()
    elif kind in ("categorical", "boolean"):
        top = series.dropna().astype(str).value_counts().head(TOP_VALUES)
        entry["top"] = {str(k): int(v) for k, v in top.items()}
    return entry


def profile(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per column, in column order."""
    return [profile_column(str(name), frame[name]) for name in frame.columns]


def schema_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """Columns added, removed, or whose dtype changed between two profiles."""
    old = {c["name"]: c["dtype"] for c in before}
    new = {c["name"]: c["dtype"] for c in after}
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "retyped": {n: [old[n], new[n]] for n in sorted(set(old) & set(new)) if old[n] != new[n]},
    }
