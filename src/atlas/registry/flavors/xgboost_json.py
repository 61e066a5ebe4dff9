"""XGBoost boosters in XGBoost's own JSON format (no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xgboost as xgb

FILENAME = "xgboost.json"


def save(booster: xgb.Booster, folder: Path) -> str:
    booster.save_model(str(folder / FILENAME))
    return FILENAME


class XGBoostPredictor:
    def __init__(self, booster: xgb.Booster, task: str) -> None:
        self.booster = booster
        self.task = task

    def predict(self, x: np.ndarray) -> np.ndarray:
        data = xgb.DMatrix(np.asarray(x, dtype=np.float64), missing=np.nan, nthread=1)
        raw = np.asarray(self.booster.predict(data), dtype=np.float64)
        if self.task == "binary":
            return np.column_stack([1.0 - raw, raw])
        return raw


def load(path: Path, task: str) -> XGBoostPredictor:
    booster = xgb.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    return XGBoostPredictor(booster, task)
