from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from atlas.automl import fit_dataset
from atlas.automl.learners import LEARNERS
from atlas.automl.runs import RunLog
from atlas.automl.study import study_storage
from atlas.core.errors import InvalidInputError
from atlas.data import DatasetStore
from atlas.registry import ModelRegistry
from tests.conftest import CREDIT_G

MIN_DIABETES_R2 = 0.3  # a linear model gets about 0.45; a broken fit scores near 0 or below


def test_fit_registers_a_model_with_lineage(settings) -> None:
    dv = DatasetStore.from_settings(settings).add(CREDIT_G, "credit-g")
    report = fit_dataset("credit-g", "target", "credit", n_trials=6, settings=settings)
    assert report.task == "binary" and report.metric == "roc_auc"
    assert report.test_metrics["roc_auc"] > 0.7 and 0 < report.test_metrics["ks"] < 1
    assert report.n_trials == 6 and len(report.leaderboard) == 6
    assert report.leaderboard["learner"].isin(LEARNERS.names()).all()
    # the Optuna study is durable and readable by optuna-dashboard from the metadata database
    study = optuna.load_study(
        study_name=report.study_name, storage=study_storage(settings.database_url)
    )
    assert len([t for t in study.trials if t.state.is_finished()]) == 6
    # the run and the package point back at the dataset version and the study
    run = RunLog.from_settings(settings).get(report.run_id)
    assert run["status"] == "finished" and run["dataset_version"] == dv.version
    _, manifest, _ = ModelRegistry.from_settings(settings).fetch("credit", report.model.version)
    assert manifest.lineage.dataset.content_hash == dv.content_hash
    assert manifest.lineage.search.study_name == report.study_name
    assert manifest.metrics["test_roc_auc"] == pytest.approx(report.test_metrics["roc_auc"])
    # the registered package predicts the held-out rows as the search's model did
    model = ModelRegistry.from_settings(settings).load("credit")
    proba = model.predict_proba(report.test_frame.drop(columns=["target"]))
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1)


def test_fixed_trials_and_seed_are_deterministic(sqlite_settings) -> None:
    DatasetStore.from_settings(sqlite_settings).add(CREDIT_G, "credit-g")
    a = fit_dataset("credit-g", "target", "a", n_trials=5, seed=3, settings=sqlite_settings)
    b = fit_dataset("credit-g", "target", "b", n_trials=5, seed=3, settings=sqlite_settings)
    pd.testing.assert_frame_equal(
        a.leaderboard.drop(columns="seconds"), b.leaderboard.drop(columns="seconds")
    )
    registry = ModelRegistry.from_settings(sqlite_settings)
    x = a.test_frame.drop(columns=["target"])
    np.testing.assert_array_equal(
        registry.load("a").predict_proba(x), registry.load("b").predict_proba(x)
    )


def test_regression_and_multiclass(sqlite_settings) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    # scikit-learn's bundled data (in the package, like the credit sample): no ../shared needed
    store.add(load_diabetes(as_frame=True).frame, "diabetes")
    reg = fit_dataset("diabetes", "target", "diabetes", n_trials=3, settings=sqlite_settings)
    assert reg.task == "regression" and set(reg.test_metrics) == {"rmse", "mae", "r2"}
    assert reg.test_metrics["r2"] > MIN_DIABETES_R2
    wine = load_wine(as_frame=True).frame
    wine["target"] = wine["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    store.add(wine, "wine")
    multi = fit_dataset("wine", "target", "wine", n_trials=3, settings=sqlite_settings)
    assert multi.task == "multiclass" and multi.metric == "log_loss"
    out = (
        ModelRegistry.from_settings(sqlite_settings)
        .load("wine")
        .predict_records(
            multi.test_frame.drop(columns=["target"]).head(2).to_dict(orient="records")
        )
    )
    assert len(out[0]["probabilities"]) == multi.test_frame["target"].nunique()


def test_bad_targets_are_clear_errors(sqlite_settings) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    frame = pd.DataFrame({"x": range(30), "one": ["a"] * 30, "text": ["u", "v", "w"] * 10})
    store.add(frame, "t")
    with pytest.raises(InvalidInputError, match="no column 'nope'"):
        fit_dataset("t", "nope", "m", n_trials=1, settings=sqlite_settings)
    with pytest.raises(InvalidInputError, match="only one class"):
        fit_dataset("t", "one", "m", n_trials=1, settings=sqlite_settings)
    with pytest.raises(InvalidInputError, match="cannot be regressed"):
        fit_dataset("t", "text", "m", n_trials=1, task="regression", settings=sqlite_settings)
    with pytest.raises(InvalidInputError, match="does not apply"):
        fit_dataset("t", "text", "m", n_trials=1, metric="rmse", settings=sqlite_settings)
    with pytest.raises(InvalidInputError, match="time_budget is out of range"):
        fit_dataset("t", "text", "m", time_budget=0, settings=sqlite_settings)
    assert ModelRegistry.from_settings(sqlite_settings).list_models() == []


def test_time_budget_mode_returns_a_model(sqlite_settings) -> None:
    DatasetStore.from_settings(sqlite_settings).add(CREDIT_G, "credit-g")
    report = fit_dataset("credit-g", "target", "credit", time_budget=3, settings=sqlite_settings)
    assert report.n_trials >= 1 and report.model.version == 1
