"""Small batches predict on one thread; larger ones keep every thread (threadpoolctl's view)."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier  # loads scikit-learn's OpenMP runtime
from threadpoolctl import threadpool_info

from atlas.registry import ModelRegistry
from atlas.registry.threads import SMALL_BATCH_ROWS, threads_for

assert KNeighborsClassifier  # imported for its thread pools


def _threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_a_small_batch_runs_on_one_thread_and_the_pools_are_restored() -> None:
    before = _threads()
    assert before  # OpenMP and BLAS pools are loaded
    with threads_for(1):
        assert set(_threads()) == {1}
    with threads_for(SMALL_BATCH_ROWS + 1):
        assert _threads() == before
    assert _threads() == before


class Recorder:
    """A learner that notes the thread counts it predicts under."""

    def __init__(self) -> None:
        self.seen: list[set[int]] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(set(_threads()))
        return np.tile([0.5, 0.5], (len(x), 1))


def test_a_loaded_package_predicts_one_row_on_one_thread(sqlite_settings, make_draft) -> None:
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    model = registry.load("credit")
    recorder = Recorder()
    every_thread = set(_threads())
    model._learners = [(0.5, recorder), (0.5, recorder)]
    model.predict_proba(draft.frame.head(1))
    model.predict_proba(draft.frame.head(SMALL_BATCH_ROWS + 1))
    assert recorder.seen[:2] == [{1}, {1}]
    assert recorder.seen[2] == every_thread  # a larger batch keeps the machine's threads
