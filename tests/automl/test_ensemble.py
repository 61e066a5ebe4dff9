"""Greedy ensemble selection under an inference-time limit: per-row costs are given, so the
selection is asserted exactly (no timing)."""

from __future__ import annotations

import numpy as np

from atlas.automl.ensemble import greedy_ensemble, select_members
from atlas.automl.metrics import get_metric

AUC = get_metric("roc_auc", "binary")


def _candidates() -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    """Three models of a binary target: 0 is right on every row, 1 on 80%, 2 on 70%; each
    errs on different rows, so averaging 1 and 2 beats either alone."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)

    def model(right: float, seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        p = np.where(r.random(len(y)) < right, y, 1 - y) * 0.6 + 0.2 + r.normal(0, 0.05, len(y))
        p = np.clip(p, 0.01, 0.99)
        return np.column_stack([1 - p, p])

    preds = [model(1.0, 1), model(0.8, 2), model(0.7, 3)]
    scores = [AUC(y, p) for p in preds]
    return preds, y, scores


def test_without_a_limit_the_best_model_is_chosen() -> None:
    preds, y, scores = _candidates()
    chosen = select_members(preds, scores, y, AUC)
    assert chosen.weights[0] > 0 and chosen.warning is None


def test_a_member_whose_cost_breaks_the_limit_is_dropped() -> None:
    preds, y, scores = _candidates()
    costs = np.array([3e-4, 1e-4, 1e-4])  # the best model costs 0.3 ms a row
    chosen = select_members(preds, scores, y, AUC, costs=costs, limit=2.5e-4)
    assert chosen.weights[0] == 0 and chosen.warning is None
    assert float(np.dot(chosen.weights > 0, costs)) <= 2.5e-4


def test_members_are_added_only_while_their_sum_fits() -> None:
    preds, y, _ = _candidates()
    costs = np.array([1.0, 1.0, 1.0])
    weights, _ = greedy_ensemble(preds[1:], y, AUC, costs=costs[1:], limit=1.5)
    assert np.count_nonzero(weights) == 1  # two would cost 2.0 > 1.5
    weights, _ = greedy_ensemble(preds[1:], y, AUC, costs=costs[1:], limit=2.0)
    assert np.count_nonzero(weights) == 2  # both fit, and averaging them helps


def test_the_preprocessing_counts_against_the_limit() -> None:
    preds, y, scores = _candidates()
    costs = np.array([2e-4, 1e-4, 1e-4])
    alone = select_members(preds, scores, y, AUC, costs=costs, limit=2.5e-4)
    assert alone.weights[0] > 0
    with_prep = select_members(preds, scores, y, AUC, costs=costs, limit=2.5e-4, overhead=1e-4)
    assert with_prep.weights[0] == 0


def test_if_nothing_fits_the_fastest_model_alone_with_a_warning() -> None:
    preds, y, scores = _candidates()
    costs = np.array([3e-4, 5e-4, 2e-4])
    chosen = select_members(preds, scores, y, AUC, costs=costs, limit=1e-4, overhead=1e-5)
    assert chosen.weights.tolist() == [0.0, 0.0, 1.0] and chosen.score == scores[2]
    assert chosen.warning is not None
    assert "infer_limit=0.0001" in chosen.warning and "0.00021 s a row" in chosen.warning
    assert "Raise infer_limit" in chosen.warning


def test_single_model_mode_takes_the_best_that_fits() -> None:
    preds, y, scores = _candidates()
    costs = np.array([3e-4, 2e-4, 1e-4])
    chosen = select_members(preds, scores, y, AUC, ensemble=False, costs=costs, limit=2e-4)
    assert chosen.weights.tolist() == [0.0, 1.0, 0.0] and chosen.score == scores[1]
