"""Metrics: each knows its direction and what it needs (labels, probabilities or values)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from atlas.core.errors import InvalidInputError


def ks_statistic(y_true: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score CDFs of the two classes."""
    fpr, tpr, _ = skm.roc_curve(y_true, score)
    return float(np.max(tpr - fpr))


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    tasks: tuple[str, ...]
    fn: Callable[[np.ndarray, np.ndarray], float]
    needs: str  # "proba" (class probabilities), "label" (class index), "value" (regression)

    def __call__(self, y: np.ndarray, pred: np.ndarray) -> float:
        """``y`` holds class indices (or values); ``pred`` the raw output of a learner."""
        if self.needs == "label":
            pred = np.argmax(pred, axis=1)
        elif self.needs == "proba" and pred.ndim == 2 and pred.shape[1] == 2:
            pred = pred[:, 1] if self.name in ("roc_auc", "ks") else pred
        return float(self.fn(y, pred))


def _binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties: the same value as roc_auc_score, without
    its input validation (the ensemble search calls this hundreds of times)."""
    positive = np.asarray(y) == 1
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("Only one class present in y_true. ROC AUC score is not defined.")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if p.ndim == 1:
        return _binary_auc(y, p)
    return float(skm.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1])))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(skm.log_loss(y, np.clip(p, 1e-15, 1), labels=np.arange(p.shape[1])))


_CLS = ("binary", "multiclass")
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("roc_auc", True, _CLS, _auc, "proba"),
        Metric("ks", True, ("binary",), ks_statistic, "proba"),
        Metric("log_loss", False, _CLS, _log_loss, "proba"),
        Metric("accuracy", True, _CLS, skm.accuracy_score, "label"),
        Metric("balanced_accuracy", True, _CLS, skm.balanced_accuracy_score, "label"),
        Metric("f1", True, ("binary",), skm.f1_score, "label"),
        Metric("rmse", False, ("regression",), skm.root_mean_squared_error, "value"),
        Metric("mae", False, ("regression",), skm.mean_absolute_error, "value"),
        Metric("r2", True, ("regression",), skm.r2_score, "value"),
    )
}
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
REPORT_METRICS = {
    "binary": ("roc_auc", "ks", "log_loss", "accuracy", "balanced_accuracy"),
    "multiclass": ("log_loss", "accuracy", "balanced_accuracy", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called ``name`` (the task's default when None), checked against the task."""
    name = name or DEFAULT_METRIC[task]
    metric = METRICS.get(name)
    if metric is None or task not in metric.tasks:
        usable = [m.name for m in METRICS.values() if task in m.tasks]
        raise InvalidInputError(
            f"Metric {name!r} does not apply to a {task} task.",
            hint=f"Use one of: {', '.join(usable)}.",
        )
    return metric


def report(task: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every standard metric of the task, for leaderboards and model cards."""
    return {name: METRICS[name](y, pred) for name in REPORT_METRICS[task]}
