"""Permutation importance: how much the metric drops when one column is shuffled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from atlas.automl.metrics import Metric


def permutation_importances(
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    y: np.ndarray,
    metric: Metric,
    seed: int,
) -> np.ndarray:
    """One value per column, clipped at 0 and normalised to sum to 1 (all 0 if none matter)."""
    sign = 1.0 if metric.greater_is_better else -1.0
    base = sign * metric(y, predict(frame))
    rng = np.random.default_rng(seed)
    drops = np.zeros(frame.shape[1])
    for j, column in enumerate(frame.columns):
        shuffled = frame.copy()
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
        drops[j] = base - sign * metric(y, predict(shuffled))
    drops = np.clip(drops, 0, None)
    total = drops.sum()
    return drops / total if total > 0 else drops
