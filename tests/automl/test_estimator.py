"""AutoClassifier / AutoRegressor: the scikit-learn contract, input handling, determinism."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from atlas.automl import AutoClassifier, AutoRegressor
from tests.conftest import small_frame

FAST = {"time_budget": None, "n_trials": 2, "learners": ["lightgbm", "linear"], "n_jobs": 1}


def _checks() -> list:
    """scikit-learn's estimator checks, minus its array-API checks: ATLAS estimators take
    pandas/NumPy input only (the array-API checks would otherwise be skipped, not run)."""
    pairs = []
    for estimator in (AutoClassifier(**FAST), AutoRegressor(**FAST)):
        for est, check in estimator_checks_generator(estimator, legacy=True):
            name = getattr(check, "func", check).__name__
            if "array_api" not in name:
                pairs.append(pytest.param(est, check, id=f"{type(est).__name__}-{name}"))
    return pairs


@pytest.mark.parametrize(("estimator", "check"), _checks())
def test_scikit_learn_contract(estimator, check) -> None:
    check(estimator)


def mixed_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    frame = small_frame(n, seed)
    rng = np.random.default_rng(seed)
    frame["opened"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    frame["vip"] = rng.random(n) > 0.8
    frame["segment"] = pd.Categorical(rng.choice(["a", "b", None], n))
    frame["empty"] = np.nan
    return frame.drop(columns="target"), frame["target"]


def test_mixed_dataframe_fit_and_predict() -> None:
    x, y = mixed_frame()
    model = AutoClassifier(n_trials=4, time_budget=None, learners=["lightgbm", "linear"])
    model.fit(x, y)
    assert list(model.classes_) == ["bad", "good"]
    proba = model.predict_proba(x)
    assert proba.shape == (400, 2) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(x, y) > 0.75
    assert set(model.predict(x)) <= {"bad", "good"}
    assert list(model.feature_names_in_) == list(x.columns)
    assert model.leaderboard_["state"].iloc[0] == "complete"
    assert model.best_config_["learner"] in ("lightgbm", "linear")
    importances = model.feature_importances_
    assert importances.shape == (x.shape[1],) and importances.sum() == pytest.approx(1)
    assert importances[list(x.columns).index("empty")] == 0
    assert importances[list(x.columns).index("debt")] > 0.1  # the strongest signal


def test_predict_time_surprises_are_handled() -> None:
    x, y = mixed_frame()
    model = AutoClassifier(n_trials=2, time_budget=None, learners=["lightgbm"]).fit(x, y)
    odd = x.head(5).copy()
    odd["region"] = ["mars", "north", None, "south", "venus"]  # unseen categories -> missing
    odd["income"] = [np.inf, -np.inf, 1e6, np.nan, 5.0]  # inf -> missing
    odd["new_column"] = 1  # extra columns are ignored
    assert model.predict_proba(odd).shape == (5, 2)
    with pytest.raises(ValueError, match="lacks the field"):
        model.predict(x.drop(columns=["debt"]))


def test_bad_targets_and_inputs() -> None:
    x, y = mixed_frame(60)
    with pytest.raises(ValueError, match="class"):
        AutoClassifier(**FAST).fit(x, pd.Series(["a"] * 60))
    with pytest.raises(ValueError, match="must be numeric"):
        AutoRegressor(**FAST).fit(x, y)
    with pytest.raises(ValueError, match="0 sample"):
        AutoClassifier(**FAST).fit(x.head(0), y.head(0))
    with pytest.raises(ValueError, match="Unknown learner"):
        AutoClassifier(**{**FAST, "learners": ["nope"]}).fit(x, y)


def test_fixed_trials_and_seed_are_deterministic() -> None:
    x, y = mixed_frame()
    kw = {
        "n_trials": 6,
        "time_budget": None,
        "seed": 7,
        "learners": ["lightgbm", "linear", "extra_trees"],
    }
    a, b = AutoClassifier(**kw).fit(x, y), AutoClassifier(**kw).fit(x, y)
    cols = ["trial", "learner", "score", "state", "params", "ensemble_weight"]
    pd.testing.assert_frame_equal(a.leaderboard_[cols], b.leaderboard_[cols])
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_ensemble_is_at_least_the_best_single_model() -> None:
    x, y = mixed_frame(600)
    model = AutoClassifier(n_trials=8, time_budget=None, learners=["lightgbm", "linear", "knn"])
    model.fit(x, y)
    result = model.result_
    assert result.ensemble_score >= result.best_score
    assert sum(m.weight for m in result.members) == pytest.approx(1)
    board = model.leaderboard_
    assert board["ensemble_weight"].sum() == pytest.approx(1)


def test_label_metric_gets_a_tuned_threshold() -> None:
    x, y = mixed_frame()
    y = y.where(np.arange(len(y)) % 4 != 0, "bad")  # imbalance
    model = AutoClassifier(n_trials=4, time_budget=None, metric="f1", learners=["lightgbm"])
    model.fit(x, y)
    assert model.threshold_ is not None and 0 < model.threshold_ < 1
    expected = np.where(model.predict_proba(x)[:, 1] >= model.threshold_, "good", "bad")
    np.testing.assert_array_equal(model.predict(x), expected)


def test_class_weights_are_searched() -> None:
    x, y = mixed_frame()
    model = AutoClassifier(n_trials=12, time_budget=None, learners=["lightgbm", "linear"])
    model.fit(x, y)
    assert model.leaderboard_["params"].str.contains('"class_weight": "balanced"').any()


def test_regression_numpy_input() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = x[:, 0] * 3 + x[:, 1] ** 2 + rng.normal(0, 0.1, 300)
    model = AutoRegressor(n_trials=3, time_budget=None, learners=["lightgbm", "linear"])
    model.fit(x, y)
    assert model.score(x, y) > 0.8
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(x[:, :3])


def test_study_is_durable_and_resumable(tmp_path) -> None:
    x, y = mixed_frame()
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    kw = {
        "n_trials": 3,
        "time_budget": None,
        "learners": ["linear"],
        "storage": storage,
        "study_name": "credit-search",
    }
    AutoClassifier(**kw).fit(x, y)
    AutoClassifier(**kw).fit(x, y)
    study = optuna.load_study(study_name="credit-search", storage=storage)
    assert len([t for t in study.trials if t.state.is_finished()]) == 6
