"""The numbers that bound a search, at the Python API (``AutoClassifier``, ``fit_dataset``):
the class of bad numbers is an ``InvalidInputError`` (a ``ValueError``) before anything runs or
is recorded; a search that completes no trial registers nothing and says why."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from atlas.automl import AutoClassifier, AutoRegressor, fit_dataset
from atlas.automl.learners.linear import LinearLearner
from atlas.automl.outcome import NoTrialCompleted
from atlas.automl.runs import RunLog
from atlas.core.errors import InvalidInputError
from atlas.data import DatasetStore
from atlas.registry import ModelRegistry
from tests.automl.conftest import InstallLearners
from tests.conftest import small_frame

BAD_BUDGETS = [math.nan, math.inf, -math.inf, 0, -5, 2**63, 2**64, 1e309, "x", [1]]
BAD_TRIALS = [math.nan, math.inf, 0, -1, 2**63, 2**64, 1.5, "x", True]
BAD_SEEDS = [-1, 2**32, 2**64, math.nan, 1.5, "x"]


def _xy() -> tuple[Any, Any]:
    frame = small_frame(60)
    return frame.drop(columns=["target"]), frame["target"]


@pytest.mark.parametrize("budget", BAD_BUDGETS, ids=repr)
def test_estimators_refuse_a_bad_budget(budget: object) -> None:
    x, y = _xy()
    for cls in (AutoClassifier, AutoRegressor):
        with pytest.raises(InvalidInputError, match="time_budget"):
            cls(time_budget=budget).fit(x, y if cls is AutoClassifier else np.arange(len(y)))


@pytest.mark.parametrize("trials", BAD_TRIALS, ids=repr)
def test_estimators_refuse_a_bad_trial_count(trials: object) -> None:
    x, y = _xy()
    with pytest.raises(InvalidInputError, match="n_trials"):
        AutoClassifier(time_budget=None, n_trials=trials).fit(x, y)


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_estimators_refuse_a_bad_seed(seed: object) -> None:
    x, y = _xy()
    with pytest.raises(InvalidInputError, match="seed"):
        AutoClassifier(n_trials=1, seed=seed).fit(x, y)


def test_a_budget_or_a_trial_count_is_needed() -> None:
    x, y = _xy()
    with pytest.raises(ValueError, match="Give time_budget"):
        AutoClassifier(time_budget=None).fit(x, y)


def test_fit_dataset_refuses_bad_numbers_before_recording_a_run(sqlite_settings) -> None:
    DatasetStore.from_settings(sqlite_settings).add(small_frame(60), "t")
    for kwargs in (
        *({"time_budget": b} for b in BAD_BUDGETS),
        *({"n_trials": n} for n in BAD_TRIALS),
        *({"n_trials": 1, "seed": s} for s in BAD_SEEDS),
        {"n_trials": 1, "test_size": math.nan},
        {"n_trials": 1, "test_size": 1.0},
        {"n_trials": 1, "learners": ["nosuch"]},
    ):
        with pytest.raises(InvalidInputError) as info:
            fit_dataset("t", "target", "m", settings=sqlite_settings, **kwargs)  # type: ignore[arg-type]
        assert info.value.hint or "choose from" in info.value.message, kwargs
    assert RunLog.from_settings(sqlite_settings).latest() == []
    assert ModelRegistry.from_settings(sqlite_settings).list_models() == []


def test_unknown_learners_are_named_with_the_known_ones(sqlite_settings) -> None:
    DatasetStore.from_settings(sqlite_settings).add(small_frame(60), "t")
    with pytest.raises(InvalidInputError, match=r"Unknown learner.*nosuch.*choose from.*linear"):
        fit_dataset("t", "target", "m", n_trials=1, learners=["nosuch"], settings=sqlite_settings)


class BrokenLearner(LinearLearner):
    """Every fit raises: no trial can complete."""

    name = "broken"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        raise FloatingPointError("diverged")


def test_no_completed_trial_registers_nothing_and_says_why(
    sqlite_settings, install_learners: InstallLearners
) -> None:
    install_learners({"broken": f"{__name__}:BrokenLearner"})
    DatasetStore.from_settings(sqlite_settings).add(small_frame(60), "t")
    with pytest.raises(NoTrialCompleted) as info:
        fit_dataset("t", "target", "m", n_trials=2, learners=["broken"], settings=sqlite_settings)
    assert "No trial completed within 2 trials (2 failed)" in info.value.message
    assert "nothing was registered as m" in info.value.message
    assert "diverged" in str(info.value.hint)
    assert [r["state"] for r in info.value.leaderboard] == ["failed", "failed"]
    assert ModelRegistry.from_settings(sqlite_settings).list_models() == []
    (run,) = RunLog.from_settings(sqlite_settings).latest()
    assert run["status"] == "failed" and "NoTrialCompleted" in run["error"]
