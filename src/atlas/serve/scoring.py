"""Live quality metrics on labelled predictions (scikit-learn, not ``atlas.automl``: serving
never imports the search). Each returns None when the data cannot define it."""

from __future__ import annotations

import numpy as np


def _both_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and 0 < int(np.sum(y)) < len(y)


def auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of a binary 0/1 target against the positive class' probability."""
    from sklearn.metrics import roc_auc_score  # imported on use: the CLI starts faster

    y = np.asarray(y, dtype=int)
    return float(roc_auc_score(y, score)) if _both_classes(y) else None


def ks(y: np.ndarray, score: np.ndarray) -> float | None:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of the two classes."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y, dtype=int)
    if not _both_classes(y):
        return None
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def rmse(y: np.ndarray, pred: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(pred)) ** 2))) if len(y) else None


def mae(y: np.ndarray, pred: np.ndarray) -> float | None:
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(pred)))) if len(y) else None
