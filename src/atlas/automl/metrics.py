"""Metrics: each knows its direction and what it needs (labels, probabilities or values).

Binary AUC and KS come from :mod:`atlas.core.scoring`, the one implementation that live
monitoring uses too (equal to scikit-learn's, without its input validation: the ensemble search
scores hundreds of blends).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from atlas.core.errors import InvalidInputError
from atlas.core.scoring import binary_auc, ks_statistic

PROBA_FLOOR = 1e-15  # probabilities are clipped to this before the log loss


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


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if p.ndim == 1:
        return binary_auc(y, p)
    return float(skm.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1])))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Log loss of probabilities clipped away from 0 and renormalized (float32 learners and
    blends sum to 1 only within rounding)."""
    clipped = np.clip(p, PROBA_FLOOR, 1)
    clipped /= clipped.sum(axis=1, keepdims=True)
    return float(skm.log_loss(y, clipped, labels=np.arange(p.shape[1])))


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
