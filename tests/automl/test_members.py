"""A fitted estimator is ready to predict: ``fit`` loads the chosen fold models (inside its
budget), so the first ``predict`` deserialises nothing. Loads are counted, not timed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from atlas.automl import AutoClassifier
from atlas.automl import members as members_module
from tests.conftest import small_frame

FAST = {"time_budget": None, "n_trials": 3, "learners": ["lightgbm", "linear"], "n_jobs": 1}


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fold model the estimator deserialises, by flavor."""
    seen: list[str] = []
    real = members_module.load_learner

    def counted(flavor: str, path, task: str):
        seen.append(flavor)
        return real(flavor, path, task)

    monkeypatch.setattr(members_module, "load_learner", counted)
    return seen


def _fold_models(model: AutoClassifier) -> int:
    return sum(len(member.files) for member, _ in model.members_)


def test_fit_loads_the_members_and_the_first_predict_loads_nothing(loads: list[str]) -> None:
    frame = small_frame(300)
    x, y = frame.drop(columns="target"), frame["target"]
    model = AutoClassifier(**FAST).fit(x, y)
    assert len(loads) == _fold_models(model) > 0
    model.predict_proba(x)
    model.predict(x.iloc[:1])
    assert len(loads) == _fold_models(model)


def test_an_unpickled_estimator_loads_its_bytes_once(loads: list[str]) -> None:
    frame = small_frame(300)
    x, y = frame.drop(columns="target"), frame["target"]
    model = AutoClassifier(**FAST).fit(x, y)
    clone = pickle.loads(pickle.dumps(model))
    assert len(loads) == _fold_models(model)
    np.testing.assert_allclose(clone.predict_proba(x), model.predict_proba(x))
    assert len(loads) == 2 * _fold_models(model)  # the clone loaded from its kept bytes...
    clone.predict_proba(x)
    assert len(loads) == 2 * _fold_models(model)  # ...once
