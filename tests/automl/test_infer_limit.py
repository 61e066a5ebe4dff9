"""``infer_limit`` through a real fit: the members' predict time is measured in the workers on
the saved models, and the chosen ensemble respects the limit (or, when nothing can, keeps the
fastest model alone and says so)."""

from __future__ import annotations

import warnings

import pytest

from atlas.automl import AutoClassifier
from atlas.automl.engine import InferLimitWarning
from atlas.core.errors import InvalidInputError
from tests.conftest import small_frame

FAST = {"time_budget": None, "n_trials": 4, "learners": ["lightgbm", "linear"], "n_jobs": 1}
IMPOSSIBLE = 1e-12  # seconds a row: no model predicts this fast
GENEROUS = 10.0  # seconds a row: every model does


def _fit(**kwargs: object) -> AutoClassifier:
    frame = small_frame(300)
    return AutoClassifier(**FAST, **kwargs).fit(frame.drop(columns="target"), frame["target"])


def test_an_impossible_limit_keeps_the_fastest_model_alone_and_warns() -> None:
    with pytest.warns(InferLimitWarning, match="No model predicts within infer_limit=1e-12"):
        model = _fit(infer_limit=IMPOSSIBLE, infer_limit_batch_size=100)
    result = model.result_
    assert len(result.members) == 1 and result.warning is not None
    board = result.leaderboard
    measured = board.dropna(subset=["row_seconds"])
    assert len(measured) >= 2 and (measured["row_seconds"] > 0).all()
    fastest = measured.loc[measured["row_seconds"].idxmin(), "trial"]
    assert result.members[0].trial == fastest


def test_a_generous_limit_measures_but_does_not_restrict() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferLimitWarning)
        limited = _fit(infer_limit=GENEROUS, infer_limit_batch_size=100)
    free = _fit()
    assert limited.result_.row_seconds is not None and limited.result_.row_seconds > 0
    assert free.result_.row_seconds is None  # nothing measured without a limit
    assert [m.trial for m in limited.result_.members] == [m.trial for m in free.result_.members]


def test_a_bad_limit_is_refused_before_the_search() -> None:
    with pytest.raises(InvalidInputError, match="infer_limit must be a positive number"):
        _fit(infer_limit=float("nan"))
