"""LightGBM boosters in LightGBM's own text format."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np

FILENAME = "lightgbm.txt"


def save(booster: lgb.Booster, folder: Path) -> str:
    booster.save_model(str(folder / FILENAME))
    return FILENAME


class LightGBMPredictor:
    def __init__(self, booster: lgb.Booster, task: str) -> None:
        self.booster = booster
        self.task = task

    def predict(self, x: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.booster.predict(x, num_threads=1))
        if self.task == "binary":
            return np.column_stack([1.0 - raw, raw])
        return raw


def load(path: Path, task: str) -> LightGBMPredictor:
    return LightGBMPredictor(lgb.Booster(model_file=str(path)), task)
