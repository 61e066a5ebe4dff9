"""The engine's promises, asserted on its decisions rather than on how fast this machine is:
the search stops at its limit, and a hung, crashing, raising or memory-hungry learner never
takes it down. Time is the engine's injected clock: monotonic time plus an offset that a test
learner pushes forward from inside its (forked) worker, as if its fit had taken that long."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from atlas.automl import AutoClassifier
from atlas.automl.engine import (
    FIRST_PREDICT_ROWS,
    MAX_RESERVE_SHARE,
    MIN_TRIAL_SECONDS,
    EngineConfig,
    EngineResult,
    SearchEngine,
    make_study,
    ready_reserve,
    search_limit,
    trial_time_limit,
    worker_memory,
)
from atlas.automl.learners.base import FIXED_MEMORY
from atlas.automl.learners.linear import LinearLearner
from atlas.automl.metrics import get_metric
from atlas.automl.trials import TrialRecord
from atlas.testing.learner import CATEGORICAL, sample_data
from tests.automl.conftest import InstallLearners
from tests.conftest import CREDIT_G

BUDGET = 10_000.0  # seconds on the test clock: far more than any real fit here takes
HOUR = 3600.0
N_FOLDS = 3


class Clock:
    """``time.monotonic()`` plus an offset in shared memory, so a forked worker can move it."""

    def __init__(self) -> None:
        self.offset = mp.get_context("fork").Value("d", 0.0)

    def __call__(self) -> float:
        return time.monotonic() + self.offset.value

    def advance(self, seconds: float) -> None:
        with self.offset.get_lock():
            self.offset.value += seconds


CLOCK = Clock()  # created before any worker forks, so every worker shares it


class SleepyLearner(LinearLearner):
    """Takes longer than any trial may (a learner stuck in native code), then hangs."""

    name = "sleepy"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        CLOCK.advance(0.3 * BUDGET)  # past its time limit (a quarter of the budget)
        time.sleep(HOUR)


class StallingLearner(LinearLearner):
    """Runs until the whole budget is gone."""

    name = "stalling"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        CLOCK.advance(2 * BUDGET)
        time.sleep(HOUR)


class CrashingLearner(LinearLearner):
    """Dies hard, like a segfault in a native library."""

    name = "crashing"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        os._exit(11)


class RaisingLearner(LinearLearner):
    name = "raising"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        raise FloatingPointError("diverged")


class HungryLearner(LinearLearner):
    """Allocates far more than its memory limit allows, 128 MiB at a time."""

    name = "hungry"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        hog = [np.ones(2**24) for _ in range(64)]  # 8 GiB if nobody stops it
        raise MemoryError(f"the memory limit did not stop this trial ({len(hog)} blocks)")


TEST_LEARNERS = (
    SleepyLearner,
    StallingLearner,
    CrashingLearner,
    RaisingLearner,
    HungryLearner,
)


@pytest.fixture
def test_learners(install_learners: InstallLearners) -> None:
    install_learners({cls.name: f"{__name__}:{cls.__name__}" for cls in TEST_LEARNERS})


def search(tmp_path: Path, learners: list[str], **config: Any) -> EngineResult:
    """The engine on a small learnable table, on the test clock, one worker."""
    x, y = sample_data("binary", 300)
    metric = get_metric("roc_auc", "binary")
    settings: dict[str, Any] = {"time_budget": BUDGET, "n_jobs": 1, **config}
    cfg = EngineConfig("binary", 2, [CATEGORICAL], metric, learners=learners, n_folds=N_FOLDS)
    for key, value in settings.items():
        setattr(cfg, key, value)
    budget = cfg.time_budget
    deadline = None if budget is None else CLOCK() + budget
    study = make_study(metric, cfg.seed, None, None, N_FOLDS)
    engine = SearchEngine(cfg, study, tmp_path / "work", deadline, clock=CLOCK)
    return engine.run(x, y)


def states(result: EngineResult, learner: str) -> pd.DataFrame:
    board = result.leaderboard
    return board[board["learner"] == learner]


# -- the planner's decisions --------------------------------------------------------------
def test_the_search_stops_early_enough_to_ensemble() -> None:
    assert search_limit(0.0, 100.0) == pytest.approx(96.0)  # 4% of a long budget
    assert search_limit(0.0, 10.0) == pytest.approx(9.25)  # at least 0.75 s
    assert search_limit(0.0, None) is None


def test_the_search_keeps_time_to_load_and_first_predict_the_best_trials() -> None:
    fast = TrialRecord(None, "linear", {}, load_seconds=[0.01] * 5, predict_row_seconds=[1e-6] * 5)
    slow = TrialRecord(None, "knn", {}, load_seconds=[0.1] * 5, predict_row_seconds=[1e-4] * 5)
    rows = FIRST_PREDICT_ROWS
    assert ready_reserve([fast], 60.0) == pytest.approx(0.05 + rows * 5e-6)
    assert ready_reserve([fast, slow], 60.0) == pytest.approx(0.55 + rows * 5.05e-4)
    assert ready_reserve([slow] * 8, 10.0) == pytest.approx(MAX_RESERVE_SHARE * 10.0)  # capped
    assert ready_reserve([], 60.0) == 0.0


def test_a_trial_gets_its_share_or_three_times_the_slowest() -> None:
    assert trial_time_limit(100.0, [], left=90.0) == pytest.approx(25.0)
    assert trial_time_limit(100.0, [5.0, 12.0], left=90.0) == pytest.approx(36.0)
    assert trial_time_limit(100.0, [12.0], left=20.0) == pytest.approx(20.0)  # the search ends
    assert trial_time_limit(4.0, [], left=3.5) == pytest.approx(MIN_TRIAL_SECONDS)


def test_each_worker_gets_its_share_of_memory() -> None:
    assert worker_memory(4 * 2**30, 2) == 2 * 2**30 - 128 * 2**20
    assert worker_memory(100 * 2**20, 4) == FIXED_MEMORY  # never less than a fit needs


# -- the loop ------------------------------------------------------------------------------
def test_the_search_ends_at_its_limit_with_a_trial_still_running(
    tmp_path: Path, test_learners: None
) -> None:
    result = search(tmp_path, ["linear", "stalling"])  # cheapest first: linear, then stalling
    stalled = states(result, "stalling")
    assert stalled["state"].tolist() == ["timeout"]  # not "failed": the learner is not broken
    assert stalled["note"].tolist() == ["search deadline"]
    assert result.n_trials == 2  # nothing was started after the limit
    assert [m.learner for m in result.members] == ["linear"]


def test_hung_and_crashing_learners_do_not_stop_the_search(
    tmp_path: Path, test_learners: None
) -> None:
    result = search(tmp_path, ["sleepy", "crashing", "raising", "linear"], n_trials=12)
    board = result.leaderboard
    notes = " ".join(board["note"])
    assert "diverged" in notes and "exit code 11" in notes
    sleepy = states(result, "sleepy")
    assert sleepy["state"].isin(["timeout", "skipped"]).all()
    timed_out = sleepy[sleepy["state"] == "timeout"]
    assert len(timed_out) and timed_out["note"].str.startswith("per-trial limit (").all()
    assert set(board[board["learner"] == "crashing"]["state"]) <= {"failed", "skipped"}
    assert "linear" in set(board[board["state"] == "complete"]["learner"])
    assert board["learner"].iloc[0] == "linear" and board["state"].iloc[0] == "complete"


def test_memory_limit_kills_the_hog_not_the_machine(tmp_path: Path, test_learners: None) -> None:
    # no time budget: the trials run one after another, whatever the machine's load
    result = search(
        tmp_path, ["hungry", "linear"], time_budget=None, n_trials=12, memory_limit=600 * 2**20
    )
    hungry = states(result, "hungry")
    killed = hungry[hungry["state"] == "failed"]
    assert len(killed) == 3 and killed["note"].str.contains("past the memory limit").all()
    assert hungry[hungry["state"] == "skipped"]["note"].str.contains("timed out 3 times").all()
    assert result.leaderboard["learner"].iloc[0] == "linear"


def test_memory_estimates_downsample_or_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LinearLearner, "estimate_memory", lambda self, n, p: 10**15)
    result = search(
        tmp_path, ["linear", "lightgbm"], time_budget=None, n_trials=3, memory_limit=2 * 2**30
    )
    linear = states(result, "linear")
    assert (linear["state"] == "skipped").all() and linear["note"].str.contains("memory").all()
    assert result.members and {m.learner for m in result.members} == {"lightgbm"}


def test_a_search_where_nothing_fits_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LinearLearner, "estimate_memory", lambda self, n, p: 10**15)
    result = search(tmp_path, ["linear"], time_budget=None, n_trials=3, memory_limit=2**30)
    assert result.members == [] and (result.leaderboard["state"] == "skipped").all()


def test_a_budget_too_small_still_gives_a_model() -> None:
    frame = pd.read_csv(CREDIT_G)
    x, y = frame.drop(columns="target"), frame["target"]
    model = AutoClassifier(time_budget=0.3, n_jobs=1).fit(x, y)  # less than the ensembling
    assert model.result_.n_trials == 0 and model.best_config_["learner"] == "baseline"
    proba = model.predict_proba(x.head(4))
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
