"""Binary ranking metrics shared by AutoML (trial scores) and live monitoring (served answers).

One implementation each, in numpy and scipy only, so both the search and the inference server
may import it (serving never imports ``atlas.automl``). Ties get average ranks (AUC) and count
as one threshold (KS), exactly as scikit-learn's ``roc_auc_score`` and ``roc_curve`` do.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def has_both_classes(y: np.ndarray) -> bool:
    """Whether a 0/1 target holds at least one of each class (AUC and KS need both)."""
    positives = int(np.sum(np.asarray(y) == 1))
    return 0 < positives < len(y)


def _one_class(metric: str) -> ValueError:
    return ValueError(f"Only one class present in y_true. {metric} is not defined.")


def binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of a 0/1 target against a score, as the Mann-Whitney U statistic."""
    positive = np.asarray(y) == 1
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise _one_class("ROC AUC score")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of the two classes
    (``max(tpr - fpr)`` over every threshold)."""
    positive = np.asarray(y) == 1
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise _one_class("KS")
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    ordered = np.asarray(score, dtype=np.float64)[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]
    true_pos = np.cumsum(positive[order])[last_of_each]
    false_pos = last_of_each + 1 - true_pos
    return float(max(np.max(true_pos / n_pos - false_pos / n_neg), 0.0))
