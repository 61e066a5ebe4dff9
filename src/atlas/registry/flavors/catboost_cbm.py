"""CatBoost models in CatBoost's own ``.cbm`` binary format (no pickle).

CatBoost wants categorical features as integers or strings, while ATLAS hands every learner a
float matrix whose categorical columns hold codes with NaN for missing. :func:`to_frame` turns
that matrix into a DataFrame with those columns as int64 (NaN -> -1); the learner (training) and
the predictor (serving) both go through it, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoost, CatBoostClassifier, CatBoostRegressor

FILENAME = "catboost.cbm"
MISSING_CODE = -1


def to_frame(x: np.ndarray, categorical: Sequence[int]) -> pd.DataFrame:
    """``x`` as CatBoost input: categorical columns as int64 codes (missing -> -1)."""
    x = np.asarray(x, dtype=np.float64)
    columns: dict[str, Any] = {}
    cats = set(categorical)
    for j in range(x.shape[1]):
        col = x[:, j]
        if j in cats:
            finite = np.isfinite(col)
            codes = np.full(col.shape, MISSING_CODE, dtype=np.int64)
            codes[finite] = col[finite].astype(np.int64)
            columns[f"f{j}"] = codes
        else:
            columns[f"f{j}"] = col
    return pd.DataFrame(columns)


def save(model: CatBoost, folder: Path) -> str:
    model.save_model(str(folder / FILENAME), format="cbm")
    return FILENAME


class CatBoostPredictor:
    def __init__(self, model: CatBoost, task: str) -> None:
        self.model = model
        self.task = task
        self.categorical = list(model.get_cat_feature_indices())

    def predict(self, x: np.ndarray) -> np.ndarray:
        frame = to_frame(x, self.categorical)
        if self.task == "regression":
            return np.asarray(self.model.predict(frame, thread_count=1), dtype=np.float64)
        proba = self.model.predict(frame, prediction_type="Probability", thread_count=1)
        return np.asarray(proba, dtype=np.float64)


def load(path: Path, task: str) -> CatBoostPredictor:
    model: CatBoost = CatBoostRegressor() if task == "regression" else CatBoostClassifier()
    model.load_model(str(path), format="cbm")
    return CatBoostPredictor(model, task)
