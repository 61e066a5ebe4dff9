"""The engine's promises: the deadline holds, and a hung, crashing or memory-hungry learner
never takes the search down."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest

from atlas.automl import AutoClassifier
from atlas.automl.learners import LEARNERS
from atlas.automl.learners.linear import LinearLearner
from tests.conftest import CREDIT_G


class SleepyLearner(LinearLearner):
    """Never finishes (stands for a learner stuck in native code)."""

    name = "sleepy"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(3600)


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
    """Allocates far more than its memory limit allows."""

    name = "hungry"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        hog = [np.ones(2**27) for _ in range(8)]  # 8 GiB if nobody stops it
        return hog


@pytest.fixture
def credit():
    import pandas as pd

    frame = pd.read_csv(CREDIT_G)
    return frame.drop(columns="target"), frame["target"]


@pytest.fixture
def extra_learners(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (SleepyLearner, CrashingLearner, RaisingLearner, HungryLearner):
        monkeypatch.setitem(LEARNERS, cls.name, cls)


def test_deadline_holds_with_every_learner(credit) -> None:
    x, y = credit
    budget = 8.0
    began = time.monotonic()
    model = AutoClassifier(time_budget=budget, n_jobs=2).fit(x, y)
    elapsed = time.monotonic() - began
    assert elapsed <= budget * 1.05 + 0.3, elapsed
    assert model.predict_proba(x.head(3)).shape == (3, 2)
    assert (model.leaderboard_["state"] == "complete").sum() >= 3


def test_hung_and_crashing_learners_do_not_stop_the_search(credit, extra_learners) -> None:
    x, y = credit
    budget = 6.0
    began = time.monotonic()
    model = AutoClassifier(
        time_budget=budget, n_jobs=2, learners=["sleepy", "crashing", "raising", "linear"]
    ).fit(x, y)
    assert time.monotonic() - began <= budget * 1.05 + 0.3
    board = model.leaderboard_
    notes = " ".join(board["note"])
    assert "diverged" in notes and "exit code 11" in notes
    sleepy = board[board["learner"] == "sleepy"]
    assert (sleepy["state"].isin(["failed", "skipped"])).all()
    assert sleepy["note"].str.contains("killed: past its time limit").any()
    assert "linear" in set(board[board["state"] == "complete"]["learner"])
    assert model.best_config_["learner"] == "linear"


def test_memory_limit_kills_the_hog_not_the_machine(credit, extra_learners) -> None:
    x, y = credit
    # 12 s: the three hog trials run one after the other before `linear` gets its turn, and on
    # a loaded 2-core machine 8 s once left no room for a linear trial to finish
    model = AutoClassifier(
        time_budget=12, n_jobs=1, learners=["hungry", "linear"], memory_limit="600MB"
    ).fit(x, y)
    board = model.leaderboard_
    hungry = board[board["learner"] == "hungry"]
    killed = hungry[hungry["state"] == "failed"]
    assert len(killed) == 3 and killed["note"].str.contains("past the memory limit").all()
    assert hungry[hungry["state"] == "skipped"]["note"].str.contains("failed 3 times").all()
    assert model.best_config_["learner"] == "linear"


def test_memory_estimates_downsample_or_skip(credit, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = credit
    monkeypatch.setattr(LinearLearner, "estimate_memory", lambda self, n, p: 10**15)
    model = AutoClassifier(
        time_budget=4, n_jobs=1, learners=["linear", "lightgbm"], memory_limit="2GB"
    ).fit(x, y)
    board = model.leaderboard_
    linear = board[board["learner"] == "linear"]
    assert (linear["state"] == "skipped").all() and linear["note"].str.contains("memory").all()
    assert model.best_config_["learner"] == "lightgbm"


def test_a_budget_too_small_still_gives_a_model(credit) -> None:
    x, y = credit
    began = time.monotonic()
    model = AutoClassifier(time_budget=0.3, n_jobs=1).fit(x, y)
    assert time.monotonic() - began < 2.0
    proba = model.predict_proba(x.head(4))
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1)
