"""The search: a portfolio of strong defaults, then TPE, scored by k-fold cross-validation.

Folds are the fidelity steps: after each fold the running score is reported and Optuna's median
pruner stops configurations that are already worse than the median, so cheap partial evaluations
screen expensive ones. Out-of-fold predictions of every finished trial are kept. The search stops
early enough to leave time for the final refit inside the budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from atlas.automl.learners import LEARNERS, Fitted, Learner
from atlas.automl.metrics import Metric
from atlas.automl.study import make_sampler


@dataclass
class TrialProgress:
    n_trials: int
    elapsed: float
    best_score: float | None
    learner: str
    score: float | None


@dataclass
class SearchResult:
    learner: Learner
    params: dict[str, Any]
    fitted: Fitted
    cv_score: float
    best_trial: int
    n_trials: int
    leaderboard: pd.DataFrame
    oof: dict[int, np.ndarray] = field(repr=False, default_factory=dict)


def make_folds(task: str, y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    if task != "regression" and np.bincount(y).min() >= n_folds:
        splitter: Any = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


class TabularSearch:
    def __init__(
        self,
        *,
        task: str,
        n_classes: int,
        categorical: list[int],
        metric: Metric,
        time_budget: float,
        n_trials: int | None = None,
        seed: int = 0,
        n_folds: int = 3,
        learners: list[str] | None = None,
        on_trial: Callable[[TrialProgress], None] | None = None,
    ) -> None:
        self.task = task
        self.metric = metric
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.seed = seed
        self.n_folds = n_folds
        self.on_trial = on_trial
        names = learners or list(LEARNERS)
        self.learners = {n: LEARNERS[n](task, n_classes, categorical, seed) for n in names}

    def run(
        self, x: np.ndarray, y: np.ndarray, storage: optuna.storages.BaseStorage, study_name: str
    ) -> SearchResult:
        start = time.monotonic()
        deadline = start + self.time_budget
        folds = make_folds(self.task, y, self.n_folds, self.seed)
        oof: dict[int, np.ndarray] = {}
        slowest_fit = [0.0]
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="maximize" if self.metric.greater_is_better else "minimize",
            sampler=make_sampler(self.seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        )
        study.set_user_attr("metric", self.metric.name)
        for learner in self.learners.values():
            study.enqueue_trial({"learner": learner.name, **learner.default_params()})

        def objective(trial: optuna.Trial) -> float:
            learner = self.learners[trial.suggest_categorical("learner", list(self.learners))]
            params = learner.suggest(trial)
            began = time.perf_counter()
            pred: np.ndarray | None = None
            infos = []
            done = np.zeros(len(y), dtype=bool)
            for step, (tr, va) in enumerate(folds):
                t0 = time.perf_counter()
                fitted = learner.fit(params, x[tr], y[tr], x[va], y[va])
                slowest_fit[0] = max(slowest_fit[0], time.perf_counter() - t0)
                part = fitted.predict(x[va])
                if pred is None:
                    pred = np.zeros((len(y), *part.shape[1:]))
                pred[va] = part
                done[va] = True
                infos.append(fitted.info)
                trial.report(self.metric(y[done], pred[done]), step)
                if step < len(folds) - 1 and trial.should_prune():
                    raise optuna.TrialPruned()
            assert pred is not None
            trial.set_user_attr("fold_infos", infos)
            trial.set_user_attr("seconds", time.perf_counter() - began)
            oof[trial.number] = pred
            return self.metric(y, pred)

        def stop_in_time(st: optuna.Study, ft: optuna.trial.FrozenTrial) -> None:
            if self.on_trial is not None:
                best = _best_value(st)
                self.on_trial(
                    TrialProgress(
                        n_trials=len(st.trials),
                        elapsed=time.monotonic() - start,
                        best_score=best,
                        learner=str(ft.params.get("learner")),
                        score=ft.value,
                    )
                )
            refit_reserve = 2.0 * slowest_fit[0] + 0.5
            if self.n_trials is None and time.monotonic() + refit_reserve >= deadline:
                st.stop()

        study.optimize(
            objective,
            n_trials=self.n_trials,
            timeout=None if self.n_trials else self.time_budget,
            callbacks=[stop_in_time],
            catch=(ValueError, ArithmeticError, MemoryError),
        )
        best = study.best_trial
        learner = self.learners[best.params["learner"]]
        params = {k: v for k, v in best.params.items() if k != "learner"}
        final = learner.refit_params(params, best.user_attrs.get("fold_infos", []))
        fitted = learner.fit(final, x, y)
        return SearchResult(
            learner=learner,
            params=final,
            fitted=fitted,
            cv_score=float(best.value),  # type: ignore[arg-type]
            best_trial=best.number,
            n_trials=len(study.trials),
            leaderboard=leaderboard(study),
            oof=oof,
        )


def _best_value(study: optuna.Study) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:
        return None


def leaderboard(study: optuna.Study) -> pd.DataFrame:
    """Finished trials, best first: learner, cross-validated score, seconds, parameters."""
    rows = [
        {
            "trial": t.number,
            "learner": t.params.get("learner"),
            "score": t.value,
            "state": t.state.name.lower(),
            "seconds": round(float(t.user_attrs.get("seconds", 0.0)), 3),
            "params": json.dumps(
                {k.split(".", 1)[1]: v for k, v in t.params.items() if k != "learner"},
                sort_keys=True,
            ),
        }
        for t in study.trials
        if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    frame = pd.DataFrame(rows, columns=["trial", "learner", "score", "state", "seconds", "params"])
    complete = frame[frame["state"] == "complete"].sort_values(
        "score", ascending=study.direction == optuna.study.StudyDirection.MINIMIZE, kind="stable"
    )
    frame = pd.concat([complete, frame[frame["state"] != "complete"]], ignore_index=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame
