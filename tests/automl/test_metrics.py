import numpy as np
import pytest
from scipy.stats import ks_2samp

from atlas.automl.metrics import get_metric, ks_statistic, report
from atlas.core.errors import InvalidInputError


def test_ks_matches_scipy_two_sample_statistic() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    score = rng.normal(size=500) + y
    expected = ks_2samp(score[y == 1], score[y == 0]).statistic
    assert ks_statistic(y, score) == pytest.approx(expected)


def test_metrics_take_raw_learner_output() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    assert get_metric("roc_auc", "binary")(y, proba) == pytest.approx(0.75)
    assert get_metric("accuracy", "binary")(y, proba) == pytest.approx(0.75)
    assert set(report("binary", y, proba)) >= {"roc_auc", "ks", "log_loss"}


def test_metric_must_fit_the_task() -> None:
    with pytest.raises(InvalidInputError, match="rmse"):
        get_metric("ks", "regression")
    assert get_metric(None, "multiclass").name == "log_loss"


def test_fast_binary_auc_equals_scikit_learn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.random(300) + 0.3 * y, 1)  # many ties
    assert get_metric("roc_auc", "binary")(y, score) == pytest.approx(roc_auc_score(y, score))
