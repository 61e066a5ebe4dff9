"""Greedy ensemble selection (Caruana et al., 2004) and decision-threshold tuning."""

from __future__ import annotations

import numpy as np

from atlas.automl.metrics import Metric


def greedy_ensemble(
    preds: list[np.ndarray], y: np.ndarray, metric: Metric, n_iter: int = 40
) -> tuple[np.ndarray, float]:
    """Weights over ``preds`` (with replacement) that optimise ``metric`` on ``y``.

    Starts from the single best model, then repeatedly adds the model that improves the
    averaged prediction most; returns the weights of the best ensemble seen and its score.
    """
    sign = 1.0 if metric.greater_is_better else -1.0
    singles = [sign * metric(y, p) for p in preds]
    first = int(np.argmax(singles))
    counts = np.zeros(len(preds))
    counts[first] = 1
    total = preds[first].astype(np.float64).copy()
    best_score, best_counts = singles[first], counts.copy()
    for size in range(2, n_iter + 1):
        scores = [sign * metric(y, (total + p) / size) for p in preds]
        pick = int(np.argmax(scores))
        counts[pick] += 1
        total += preds[pick]
        if scores[pick] > best_score + 1e-12:
            best_score, best_counts = scores[pick], counts.copy()
    return best_counts / best_counts.sum(), sign * best_score


def tune_threshold(y: np.ndarray, positive: np.ndarray, metric: Metric) -> tuple[float, float]:
    """The cut on the positive-class probability that maximises a label metric."""
    candidates = np.unique(np.quantile(positive, np.linspace(0.01, 0.99, 99)))
    best_t, best = 0.5, -np.inf
    for t in np.append(candidates, 0.5):
        labels = (positive >= t).astype(int)
        score = float(metric.fn(y, labels))
        if score > best + 1e-12:
            best_t, best = float(t), score
    return best_t, best
