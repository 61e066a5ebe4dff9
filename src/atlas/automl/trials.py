"""What the engine knows about each trial, and the leaderboard built from it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from atlas.automl.metrics import Metric


@dataclass
class TrialRecord:
    trial: optuna.Trial
    learner: str
    params: dict[str, Any]
    started: float = 0.0
    row_cap: int | None = None
    state: str = "running"  # running | complete | pruned | failed | timeout | skipped
    score: float | None = None
    seconds: float = 0.0
    note: str = ""
    oof: np.ndarray | None = field(default=None, repr=False)
    done: np.ndarray | None = field(default=None, repr=False)
    infos: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    fold_seconds: list[float] = field(default_factory=list)
    load_seconds: list[float] = field(default_factory=list)  # each fold model's load time
    predict_row_seconds: list[float] = field(default_factory=list)  # each fold's predict a row
    row_seconds: float | None = None  # one fold model's predict time per row (infer_limit)

    def add_fold(
        self,
        valid: np.ndarray,
        pred: np.ndarray,
        info: dict[str, Any],
        file: str,
        seconds: float,
        n_rows: int,
        load_seconds: float = 0.0,
        predict_row_seconds: float = 0.0,
    ) -> None:
        """Record one fold: its out-of-fold predictions on rows ``valid`` and its model file."""
        if self.oof is None or self.done is None:
            self.oof = np.zeros((n_rows, *pred.shape[1:]), dtype=np.float64)
            self.done = np.zeros(n_rows, dtype=bool)
        self.oof[valid] = pred
        self.done[valid] = True
        self.infos.append(info)
        self.files.append(file)
        self.fold_seconds.append(seconds)
        self.load_seconds.append(load_seconds)
        self.predict_row_seconds.append(predict_row_seconds)

    def partial_score(self, metric: Metric, y: np.ndarray) -> float:
        assert self.oof is not None and self.done is not None
        return metric(y[self.done], self.oof[self.done])

    def sort_key(self, metric: Metric) -> float:
        assert self.score is not None
        return -self.score if metric.greater_is_better else self.score

    def drop_artifacts(self) -> None:
        """Forget predictions and delete fold models (kept only for ensemble candidates)."""
        self.oof = None
        for file in self.files:
            shutil.rmtree(Path(file).parent, ignore_errors=True)
        self.files = []


def leaderboard(records: Iterable[TrialRecord], metric: Metric) -> pd.DataFrame:
    """Every trial, finished ones best first: learner, score, state, seconds, parameters."""
    rows = [
        {
            "trial": r.trial.number,
            "learner": r.learner,
            "score": r.score,
            "state": r.state,
            "seconds": round(r.seconds, 3),
            "params": json.dumps(
                {k.split(".", 1)[1]: v for k, v in r.params.items() if "." in k}, sort_keys=True
            ),
            "note": r.note,
        }
        for r in records
    ]
    columns = ["trial", "learner", "score", "state", "seconds", "params", "note"]
    frame = pd.DataFrame(rows, columns=columns)
    complete = frame[frame["state"] == "complete"].sort_values(
        ["score", "trial"], ascending=[not metric.greater_is_better, True], kind="stable"
    )
    rest = frame[frame["state"] != "complete"].sort_values("trial", kind="stable")
    frame = pd.concat([complete, rest], ignore_index=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame
