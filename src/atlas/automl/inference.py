"""What predicting costs: a fold model's load time and its predict time per row.

The trial workers measure both on the model they just saved, loaded back in its registry format
(what ``predict`` and the server run): the load time sizes the time ``fit`` keeps to load the
chosen members before it returns, the per-row time is what an ``infer_limit`` is checked
against (:func:`atlas.automl.ensemble.select_members`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from atlas.core.errors import InvalidInputError
from atlas.registry.flavors import Predictor, load_learner

DEFAULT_INFER_BATCH = 10_000  # rows per predict call an infer_limit is measured at (AutoGluon's)
MIN_TIMING_SECONDS = 0.02  # a timing repeats until it has taken this long...
MAX_TIMING_REPEATS = 5  # ...or this many calls; the fastest call is kept
Clock = Callable[[], float]


def load_back(
    flavor: str, path: Path, task: str, clock: Clock = time.perf_counter
) -> tuple[Predictor, float]:
    """The model saved at ``path`` loaded as ``predict`` will load it, and the seconds it took."""
    began = clock()
    predictor = load_learner(flavor, path, task)
    return predictor, clock() - began


def row_seconds(
    predictor: Predictor, x: np.ndarray, batch_size: int, clock: Clock = time.perf_counter
) -> float:
    """Seconds per row of ``predictor.predict`` on batches of ``batch_size`` rows (``x``'s rows
    repeated to fill the batch): the fastest of a few calls, divided by the batch size."""
    batch = x[np.arange(batch_size) % len(x)]
    best, spent = math.inf, 0.0
    for _ in range(MAX_TIMING_REPEATS):
        began = clock()
        predictor.predict(batch)
        took = clock() - began
        best, spent = min(best, took), spent + took
        if spent >= MIN_TIMING_SECONDS:
            break
    return best / batch_size


def preprocess_row_seconds(
    transform: Callable[[Any], Any], frame: Any, batch_size: int, clock: Clock = time.perf_counter
) -> float:
    """Seconds per row of the fitted preprocessing on ``batch_size`` rows of ``frame``."""
    rows = frame.iloc[np.arange(min(batch_size, len(frame)))]
    began = clock()
    transform(rows)
    return (clock() - began) / len(rows)


def check_infer_limit(limit: float | None, batch_size: int | None) -> int | None:
    """The batch size an infer_limit is measured at; ``None`` when there is no limit. Raises
    :class:`InvalidInputError` for a limit that is not a positive finite number of seconds."""
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size):
        raise InvalidInputError(f"infer_limit_batch_size must be a whole number, got {batch_size}.")
    if batch_size is not None and batch_size < 1:
        raise InvalidInputError(
            f"infer_limit_batch_size must be at least 1 row, got {batch_size}.",
            hint="1 times online (one-row) requests, 10000 (the default) batch scoring.",
        )
    if limit is None:
        return None
    if isinstance(limit, bool) or not math.isfinite(float(limit)) or float(limit) <= 0:
        raise InvalidInputError(
            f"infer_limit must be a positive number of seconds per row, got {limit}.",
            hint="For example 0.0005 for at most 0.5 ms a row.",
        )
    return int(batch_size) if batch_size is not None else DEFAULT_INFER_BATCH
