"""Live AUC and KS: the shared implementation, equal to scikit-learn's, None where undefined."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from atlas.serve import scoring


def test_auc_and_ks_equal_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.uniform(size=400) * 0.5 + 0.3 * y, 1)  # rounded: many ties
    fpr, tpr, _ = roc_curve(y, score)
    assert scoring.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert scoring.ks(y, score) == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)


@pytest.mark.parametrize("y", [[1, 1, 1], [0, 0], []])
def test_one_class_or_no_rows_is_none(y: list[int]) -> None:
    score = np.linspace(0, 1, len(y))
    assert scoring.auc(np.array(y), score) is None
    assert scoring.ks(np.array(y), score) is None
