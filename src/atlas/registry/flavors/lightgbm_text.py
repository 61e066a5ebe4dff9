"""LightGBM boosters in LightGBM's own text format."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np

from atlas.registry.flavors.lightgbm_rows import row_predictor

FILENAME = "lightgbm.txt"
# Up to this many rows, predict row by row through the single-row fast path: each row costs a
# few microseconds there, against ~20 us of set-up per ``Booster.predict`` call.
FEW_ROWS = 4


def save(booster: lgb.Booster, folder: Path) -> str:
    booster.save_model(str(folder / FILENAME))
    return FILENAME


class LightGBMPredictor:
    def __init__(self, booster: lgb.Booster, task: str) -> None:
        self.booster = booster
        self.task = task
        self.row = row_predictor(booster)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.row is not None and x.ndim == 2 and 0 < x.shape[0] <= FEW_ROWS:
            if len(x) == 1:  # the served case: no stacking
                one = self.row(x[0])
                if self.task == "binary":
                    return np.array([[1.0 - one[0], one[0]]])
                return one.reshape(1, -1) if self.task == "multiclass" else one
            raw = np.stack([self.row(r) for r in x])
            if self.task != "multiclass":
                raw = raw[:, 0]
        else:
            raw = np.asarray(self.booster.predict(x, num_threads=1))
        if self.task == "binary":
            return np.column_stack([1.0 - raw, raw])
        return raw


def load(path: Path, task: str) -> LightGBMPredictor:
    return LightGBMPredictor(lgb.Booster(model_file=str(path)), task)
