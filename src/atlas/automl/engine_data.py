"""What the search engine is given and what it gives back (:mod:`atlas.automl.engine`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from atlas.automl.metrics import Metric

__all__ = ["EngineConfig", "EngineResult", "InferLimitWarning", "Member", "TrialProgress"]


class InferLimitWarning(UserWarning):
    """No model predicts within the ``infer_limit``: the fastest one is used alone."""


@dataclass
class TrialProgress:
    n_trials: int
    elapsed: float
    best_score: float | None
    learner: str
    score: float | None
    state: str = "complete"  # the state of the trial that just ended (see TrialRecord)


@dataclass
class Member:
    trial: int
    learner: str
    flavor: str
    params: dict[str, Any]
    weight: float
    files: list[Path]
    load_seconds: float = 0.0  # loading all its fold models, as measured in the worker
    row_seconds: float | None = None  # predicting one row with all its fold models
    infos: list[dict[str, Any]] = field(default_factory=list)  # what each fold's fit learned


@dataclass
class EngineResult:
    members: list[Member]
    leaderboard: Any
    best_trial: int | None
    best_score: float | None
    ensemble_score: float | None
    threshold: float | None
    n_trials: int
    seconds: float
    oof: np.ndarray | None = field(default=None, repr=False)
    row_seconds: float | None = None  # the members' predict time per row (with an infer_limit)
    warning: str | None = None  # why the infer_limit could not be met


@dataclass
class EngineConfig:
    task: str
    n_classes: int
    categorical: list[int]
    metric: Metric
    time_budget: float | None = 60.0
    n_trials: int | None = None
    seed: int = 0
    n_jobs: int = 1
    learners: list[str] | None = None
    n_folds: int = 5
    memory_limit: int | None = None
    ensemble: bool = True
    infer_limit: float | None = None  # seconds per row the members' predict may take...
    infer_batch: int | None = None  # ...measured on batches of this many rows...
    preprocess_row_seconds: float = 0.0  # ...of which the preprocessing takes this much
