"""Greedy ensemble selection (Caruana et al., 2004), under an optional inference-time limit,
and decision-threshold tuning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atlas.automl.metrics import Metric

N_ITER = 40  # ensemble sizes tried (members are picked with replacement)


@dataclass
class Selection:
    """Weights over the candidates, the ensemble's score, and why the limit could not be met."""

    weights: np.ndarray
    score: float
    warning: str | None = None


def greedy_ensemble(
    preds: list[np.ndarray],
    y: np.ndarray,
    metric: Metric,
    n_iter: int = N_ITER,
    costs: np.ndarray | None = None,
    limit: float | None = None,
) -> tuple[np.ndarray, float]:
    """Weights over ``preds`` (with replacement) that optimise ``metric`` on ``y``.

    Starts from the single best model, then repeatedly adds the model that improves the
    averaged prediction most; returns the weights of the best ensemble seen and its score.
    With ``costs`` (seconds per row of each model) and ``limit``, a model joins only while the
    members' summed cost stays within ``limit`` (one already in costs nothing more); at least
    one model must fit.
    """
    sign = 1.0 if metric.greater_is_better else -1.0
    cost = np.zeros(len(preds)) if costs is None else np.asarray(costs, dtype=np.float64)
    cap = np.inf if limit is None else limit
    singles = [
        sign * metric(y, p) if c <= cap else -np.inf for p, c in zip(preds, cost, strict=True)
    ]
    first = int(np.argmax(singles))
    counts = np.zeros(len(preds))
    counts[first] = 1
    spent = cost[first]
    total = preds[first].astype(np.float64).copy()
    best_score, best_counts = singles[first], counts.copy()
    for size in range(2, n_iter + 1):
        allowed = (counts > 0) | (spent + cost <= cap)
        scores = [
            sign * metric(y, (total + p) / size) if ok else -np.inf
            for p, ok in zip(preds, allowed, strict=True)
        ]
        pick = int(np.argmax(scores))
        spent += cost[pick] if counts[pick] == 0 else 0.0
        counts[pick] += 1
        total += preds[pick]
        if scores[pick] > best_score + 1e-12:
            best_score, best_counts = scores[pick], counts.copy()
    return best_counts / best_counts.sum(), sign * best_score


def select_members(
    preds: list[np.ndarray],
    scores: list[float],
    y: np.ndarray,
    metric: Metric,
    ensemble: bool = True,
    costs: np.ndarray | None = None,
    limit: float | None = None,
    overhead: float = 0.0,
) -> Selection:
    """The ensemble (or with ``ensemble=False`` the best single model) of ``preds``, best first
    with their cross-validated ``scores``, whose per-row ``costs`` plus the ``overhead`` every
    prediction pays (the preprocessing) stay within ``limit`` seconds a row. When no model fits
    the limit alone: the fastest one, with a warning saying so."""
    n = len(preds)
    cost = np.zeros(n) if costs is None or limit is None else np.asarray(costs, dtype=np.float64)
    cap = np.inf if limit is None else limit - overhead
    if limit is not None and not (cost <= cap).any():
        fastest = int(np.argmin(cost))
        warning = (
            f"No model predicts within infer_limit={limit:.3g} s a row: the fastest takes "
            f"{overhead + cost[fastest]:.3g} s a row with the preprocessing "
            f"({overhead:.3g} s); fit keeps that model alone. Raise infer_limit, or measure "
            "at a larger infer_limit_batch_size (batches cost less per row)."
        )
        return Selection(np.eye(n)[fastest], scores[fastest], warning)
    if ensemble and n > 1:
        weights, score = greedy_ensemble(preds, y, metric, costs=cost, limit=cap)
        return Selection(weights, score)
    best = next(i for i in range(n) if cost[i] <= cap)  # preds are best first
    return Selection(np.eye(n)[best], scores[best])


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
