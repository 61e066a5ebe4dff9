"""Live quality metrics on labelled predictions. AUC and KS come from the shared leaf module
:mod:`atlas.core.scoring` (the search scores trials with the same code; serving never imports
``atlas.automl``). Each returns None when the data cannot define it."""

from __future__ import annotations

import numpy as np

from atlas.core.scoring import binary_auc, has_both_classes, ks_statistic


def auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of a binary 0/1 target against the positive class' probability."""
    y = np.asarray(y, dtype=int)
    return binary_auc(y, score) if has_both_classes(y) else None


def ks(y: np.ndarray, score: np.ndarray) -> float | None:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of the two classes."""
    y = np.asarray(y, dtype=int)
    return ks_statistic(y, score) if has_both_classes(y) else None


def rmse(y: np.ndarray, pred: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(pred)) ** 2))) if len(y) else None


def mae(y: np.ndarray, pred: np.ndarray) -> float | None:
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(pred)))) if len(y) else None
