"""From a dataset to a registered model: split, preprocess, search, evaluate, package, register.

Every run is recorded in ``atlas_runs`` (parameters, leaderboard, result or error), its Optuna
study lives in the metadata database, and the registered package links back to both and to the
dataset version it was trained on.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas.automl.engine import TrialProgress
from atlas.automl.estimator import AutoClassifier, AutoRegressor
from atlas.automl.inference import check_infer_limit
from atlas.automl.learners import check_learners
from atlas.automl.limits import check_search_limits, check_test_size
from atlas.automl.metrics import get_metric, report
from atlas.automl.outcome import check_completed
from atlas.automl.runs import RunLog
from atlas.automl.split import DEFAULT_TEST_SIZE, split_labelled
from atlas.automl.study import study_storage
from atlas.automl.tasks import infer_task
from atlas.core.database import masked, normalize_url
from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.core.names import check_name
from atlas.core.settings import Settings, get_settings
from atlas.data import DatasetStore, check_target
from atlas.registry import DatasetLineage, Lineage, ModelRegistry, ModelVersion, SearchLineage

log = get_logger(__name__)
MIN_LABELLED_ROWS = 10  # fewer labelled rows than this cannot be split and cross-validated
REGISTER_SECONDS = 1.0  # of the budget, kept after the search to evaluate and register...
REGISTER_SHARE = 0.05  # ...plus this share of the budget
MIN_SEARCH_SECONDS = 0.5  # the search gets at least this, even if loading took the rest


@dataclass
class FitReport:
    run_id: str
    model: ModelVersion
    task: str
    metric: str
    cv_score: float | None
    test_metrics: dict[str, float]
    leaderboard: pd.DataFrame
    n_trials: int
    seconds: float
    study_name: str
    dropped_rows: int
    test_frame: pd.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "model": self.model.to_json(),
            "task": self.task,
            "metric": self.metric,
            "cv_score": self.cv_score,
            "test_metrics": self.test_metrics,
            "n_trials": self.n_trials,
            "seconds": round(self.seconds, 3),
            "study_name": self.study_name,
            "dropped_rows": self.dropped_rows,
            "leaderboard": self.leaderboard.to_dict(orient="records"),
        }


def search_budget(time_budget: float, left: float) -> float:
    """Seconds for the search when ``left`` of ``time_budget`` remain after loading the data:
    the rest is kept to evaluate on the test split and register the package."""
    return max(left - REGISTER_SECONDS - REGISTER_SHARE * time_budget, MIN_SEARCH_SECONDS)


def fit_dataset(
    dataset: str,
    target: str,
    model: str,
    *,
    time_budget: float | None = 60.0,
    n_trials: int | None = None,
    metric: str | None = None,
    task: str | None = None,
    seed: int = 0,
    test_size: float = DEFAULT_TEST_SIZE,
    dataset_version: int | None = None,
    learners: list[str] | None = None,
    force: bool = False,
    on_trial: Callable[[TrialProgress], None] | None = None,
    settings: Settings | None = None,
    infer_limit: float | None = None,
    infer_limit_batch_size: int | None = None,
) -> FitReport:
    """Search the best model for ``target`` in ``dataset`` and register it as ``model``."""
    began = time.monotonic()
    s = settings or get_settings()
    check_name("model", model)
    check_infer_limit(infer_limit, infer_limit_batch_size)
    time_budget, n_trials = check_search_limits(time_budget, n_trials, seed)
    check_test_size(test_size)
    check_learners(list(learners or []))  # before anything is read or recorded
    store = DatasetStore.from_settings(s)
    usable = store.require_usable(dataset, dataset_version, force=force)
    dv, frame = store.load(dataset, usable.version)
    check_target(frame, target)
    labelled = frame[frame[target].notna()]
    dropped = len(frame) - len(labelled)
    if len(labelled) < MIN_LABELLED_ROWS:
        raise InvalidInputError(
            f"Only {len(labelled)} rows of {dataset} have a value in {target!r}; "
            f"need at least {MIN_LABELLED_ROWS}."
        )
    task = infer_task(labelled[target], task)
    score = get_metric(metric, task)
    split = split_labelled(labelled, target, task, seed, test_size)
    x_train, x_test, y_train, y_test = split.x_train, split.x_test, split.y_train, split.y_test
    classes = split.classes
    labels = np.asarray(classes)[y_train] if classes else y_train
    run_id = uuid.uuid4().hex
    study_name = f"{model}-{run_id[:12]}"
    runs = RunLog.from_settings(s)
    params = {
        "target": target,
        "task": task,
        "metric": score.name,
        "time_budget": time_budget,
        "n_trials": n_trials,
        "seed": seed,
        "test_size": test_size,
        "model": model,
        "learners": learners,
        "infer_limit": infer_limit,
        "infer_limit_batch_size": infer_limit_batch_size,
    }
    runs.start(run_id, dv.name, dv.version, study_name, params)
    log.info("automl.started", run_id=run_id, dataset=dv.name, version=dv.version, **params)
    try:
        search_seconds = None
        if n_trials is None and time_budget is not None:
            search_seconds = search_budget(time_budget, time_budget - (time.monotonic() - began))
        estimator_cls = AutoRegressor if task == "regression" else AutoClassifier
        estimator = estimator_cls(
            time_budget=search_seconds,
            n_trials=n_trials,
            metric=score.name,
            seed=seed,
            learners=learners,
            storage=study_storage(s.database_url),
            study_name=study_name,
            infer_limit=infer_limit,
            infer_limit_batch_size=infer_limit_batch_size,
        ).fit(x_train, labels, on_trial=on_trial)
        result = estimator.result_
        check_completed(result.best_trial, result.leaderboard, model, time_budget, n_trials)
        test_pred = estimator.predict_proba(x_test) if classes else estimator.predict(x_test)
        test_metrics = report(task, y_test, test_pred)
        with tempfile.TemporaryDirectory(prefix="atlas-package-") as tmp:
            draft = estimator.to_draft(Path(tmp), target)
            draft.metrics = {f"test_{k}": v for k, v in test_metrics.items()}
            if result.ensemble_score is not None:
                draft.metrics[f"cv_{score.name}"] = result.ensemble_score
            draft.lineage = Lineage(
                dataset=DatasetLineage(
                    name=dv.name, version=dv.version, content_hash=dv.content_hash
                ),
                search=SearchLineage(
                    run_id=run_id,
                    study_name=study_name,
                    storage=masked(normalize_url(s.database_url)),
                    n_trials=result.n_trials,
                    best_trial=result.best_trial,
                ),
            )
            version = ModelRegistry.from_settings(s).register(model, draft)
    except BaseException as exc:
        runs.fail(run_id, exc)
        raise
    report_ = FitReport(
        run_id=run_id,
        model=version,
        task=task,
        metric=score.name,
        cv_score=result.ensemble_score,
        test_metrics=test_metrics,
        leaderboard=result.leaderboard,
        n_trials=result.n_trials,
        seconds=time.monotonic() - began,
        study_name=study_name,
        dropped_rows=dropped,
        test_frame=x_test.assign(
            **{target: np.asarray(classes, dtype=object)[y_test] if classes else y_test}
        ),
    )
    runs.finish(run_id, report_.to_json())
    log.info(
        "automl.finished",
        run_id=run_id,
        model=model,
        version=version.version,
        trials=result.n_trials,
        seconds=round(report_.seconds, 2),
        **test_metrics,
    )
    return report_
