"""The training reference that drift is measured against, and where to find it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas.data import DatasetStore
from atlas.registry import ModelRegistry
from atlas.serve.feedback_read import json_object


def reference_from_dataset(
    store: DatasetStore, name: str, version: int | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """The training rows of a dataset version (hash-checked), optionally only ``columns``."""
    _, frame = store.load(name, version)
    return frame[[c for c in columns if c in frame.columns]] if columns else frame


def reference_from_lineage(
    registry: ModelRegistry, store: DatasetStore, model: str, ref: int | str | None = None
) -> pd.DataFrame | None:
    """The input columns of the dataset version a model version was trained on (None when
    its manifest records no dataset)."""
    _, manifest, _ = registry.fetch(model, ref)
    if manifest.lineage.dataset is None:
        return None
    ds = manifest.lineage.dataset
    return reference_from_dataset(store, ds.name, ds.version, [c.name for c in manifest.inputs])


def _normal(series: pd.Series) -> pd.Series:
    """Served and training values in one comparable form: numbers as floats, datetimes as
    days since 1970, everything else as text with missing values as ``<na>``."""
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
        return (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(days=1)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return series.astype(object).where(series.notna(), "<na>").astype(str)


class TrainingReference:
    """What drift needs from a training frame, computed once: the normalized columns (for
    PSI), the p01..p99 range of each numeric one and the categories of the others."""

    def __init__(self, frame: pd.DataFrame, quantiles: tuple[float, float]) -> None:
        self.columns: dict[str, pd.Series] = {c: _normal(frame[c]) for c in frame.columns}
        self.ranges: dict[str, tuple[float, float]] = {}
        self.categories: dict[str, set[str]] = {}
        self.datetimes = {
            c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])
        }
        for name, col in self.columns.items():
            if pd.api.types.is_float_dtype(col):
                low, high = np.nanquantile(col.to_numpy(), quantiles)
                self.ranges[name] = (float(low), float(high))
            else:
                self.categories[name] = set(col.unique()) | {"<na>"}

    def served(self, inputs: pd.DataFrame, name: str) -> pd.Series:
        """The served values of feature ``name`` in the same form as :attr:`columns`."""
        if name in self.ranges:
            values = inputs[name] if name in inputs else pd.Series(np.nan, index=inputs.index)
            if name in self.datetimes:
                return _normal(pd.to_datetime(values, errors="coerce", utc=True, format="mixed"))
            return pd.to_numeric(values, errors="coerce").astype(float)
        values = inputs[name] if name in inputs else pd.Series(None, index=inputs.index)
        return _normal(values.astype(object))


def inputs_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """What the model was given for each logged prediction, as a frame (one column a field:
    the request's ``inputs`` over the looked-up ``features``), and which rows could be read
    (a row whose stored JSON is not an object is an empty row, marked False)."""
    records, readable = [], np.ones(len(frame), dtype=bool)
    for i, (given, looked_up) in enumerate(zip(frame["inputs"], frame["features"], strict=True)):
        inputs = json_object(given)
        features = {} if looked_up is None else json_object(looked_up)
        readable[i] = inputs is not None and features is not None
        records.append({**(features or {}), **(inputs or {})} if readable[i] else {})
    return pd.DataFrame.from_records(records, index=frame.index), readable


def drift_reasons(ref: TrainingReference, inputs: pd.DataFrame) -> pd.Series:
    """Per logged prediction (``inputs``: :func:`inputs_frame`), the comma-separated features
    outside the training range or with an unseen category ("" when none)."""
    reasons = pd.Series("", index=inputs.index, dtype=object)
    for name in ref.columns:
        values = ref.served(inputs, name)
        if name in ref.ranges:
            low, high = ref.ranges[name]
            hit = (values < low) | (values > high)
        else:
            hit = ~values.isin(ref.categories[name])
        reasons[hit] = reasons[hit] + name + ","
    return reasons.str.rstrip(",")
