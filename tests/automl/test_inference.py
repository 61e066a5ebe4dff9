"""Measuring what predicting costs, on an injected clock, and checking an infer_limit."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.automl.inference import (
    DEFAULT_INFER_BATCH,
    MAX_TIMING_REPEATS,
    check_infer_limit,
    row_seconds,
)
from atlas.core.errors import InvalidInputError

SECONDS_PER_ROW = 1e-6


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowerEachCall:
    """A predictor whose n-th call takes n microseconds a row on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.batches: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        self.clock.now += len(self.batches) * SECONDS_PER_ROW * len(x)
        return np.zeros(len(x))


def test_the_fastest_call_on_a_full_batch_counts() -> None:
    clock = FakeClock()
    predictor = SlowerEachCall(clock)
    x = np.ones((7, 3))  # fewer rows than the batch: repeated to fill it
    assert row_seconds(predictor, x, 100, clock) == pytest.approx(SECONDS_PER_ROW)
    assert predictor.batches == [100] * MAX_TIMING_REPEATS


def test_timing_stops_once_it_has_taken_long_enough() -> None:
    clock = FakeClock()
    predictor = SlowerEachCall(clock)
    row_seconds(predictor, np.ones((3, 2)), 50_000, clock)  # 0.05 s: enough at once
    assert predictor.batches == [50_000]


@pytest.mark.parametrize(
    ("limit", "batch", "fragment"),
    [
        (float("nan"), None, "infer_limit must be a positive number of seconds per row, got nan"),
        (float("inf"), None, "got inf"),
        (0.0, None, "got 0.0"),
        (-1e-3, None, "got -0.001"),
        (True, None, "got True"),
        (1e-3, 0, "infer_limit_batch_size must be at least 1 row, got 0"),
        (1e-3, 2.5, "infer_limit_batch_size must be a whole number, got 2.5"),
    ],
)
def test_a_bad_limit_is_refused_with_what_to_fix(limit, batch, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment.replace("(", r"\(")):
        check_infer_limit(limit, batch)


def test_the_batch_defaults_to_autogluons_and_no_limit_measures_nothing() -> None:
    assert check_infer_limit(1e-3, None) == DEFAULT_INFER_BATCH
    assert check_infer_limit(1e-3, 1) == 1
    assert check_infer_limit(None, None) is None
