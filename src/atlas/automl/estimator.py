"""``AutoClassifier`` and ``AutoRegressor``: the AutoML engine behind scikit-learn's API.

``fit`` takes a DataFrame (numbers, categories as object/category dtype, missing values,
datetimes, booleans) or an array, and ends within ``time_budget`` seconds, search, ensembling
and loading the chosen models included: the first ``predict`` after ``fit`` loads nothing. With
``n_trials`` and no ``time_budget`` it is deterministic: trials run one after another with a
fixed seed, so two fits give the same leaderboard and predictions. ``infer_limit`` (seconds a
row, measured on batches of ``infer_limit_batch_size`` rows) bounds the chosen ensemble's
predict time (:func:`atlas.automl.ensemble.select_members`).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from atlas.automl.engine import EngineConfig, EngineResult, SearchEngine, make_study
from atlas.automl.fallback import baseline_member
from atlas.automl.importance import permutation_importances
from atlas.automl.inference import check_infer_limit, preprocess_row_seconds
from atlas.automl.learners import check_learners
from atlas.automl.limits import check_search_limits
from atlas.automl.members import Kept, Weighted, keep, load_files, load_kept
from atlas.automl.memory import parse_bytes
from atlas.automl.metrics import get_metric
from atlas.automl.study import optuna_warnings_only
from atlas.automl.tasks import infer_task
from atlas.automl.validation import choose_n_folds
from atlas.registry import PackageDraft, TabularPreprocessor
from atlas.registry.threads import threads_for

MIN_ROWS = 4
IMPORTANCE_ROWS = 1000  # training rows kept for permutation importance


def worker_count(n_jobs: int) -> int:
    """Processes (or threads) for ``n_jobs``: -1 or 0 = the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return cores if n_jobs in (-1, 0) else max(1, min(n_jobs, cores))


_SCALARS = (str, int, float, bool, np.generic, pd.Timestamp, type(None))


def _check_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns may hold strings, numbers, booleans, timestamps or missing values."""
    for name in frame.columns[[dtype == np.dtype(object) for dtype in frame.dtypes]]:
        bad = next((v for v in frame[name] if not isinstance(v, _SCALARS)), None)
        if bad is not None:
            raise TypeError(
                f"Column {name!r}: argument must be a string or a number, "
                f"got {type(bad).__name__} ({bad!r:.40})."
            )
    return frame


def _plain_info(info: dict[str, Any]) -> dict[str, Any]:
    """A fold's fit info as JSON scalars (numpy numbers as Python's; anything else dropped)."""
    plain = {k: v.item() if isinstance(v, np.generic) else v for k, v in info.items()}
    return {k: v for k, v in plain.items() if isinstance(v, str | int | float | bool)}


class _AutoBase(BaseEstimator):
    _kind = "classification"

    def __init__(
        self,
        time_budget: float | None = 60.0,
        metric: str | None = None,
        n_jobs: int = -1,
        seed: int = 0,
        n_trials: int | None = None,
        learners: list[str] | None = None,
        n_folds: int | None = None,
        memory_limit: int | str | None = None,
        ensemble: bool = True,
        storage: Any = None,
        study_name: str | None = None,
        infer_limit: float | None = None,
        infer_limit_batch_size: int | None = None,
    ) -> None:
        self.time_budget = time_budget
        self.metric = metric
        self.n_jobs = n_jobs
        self.seed = seed
        self.n_trials = n_trials
        self.learners = learners
        self.n_folds = n_folds
        self.memory_limit = memory_limit
        self.ensemble = ensemble
        self.storage = storage
        self.study_name = study_name
        self.infer_limit = infer_limit
        self.infer_limit_batch_size = infer_limit_batch_size

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.n_trials is None
        return tags

    # -- input ---------------------------------------------------------------------------
    def _frame(self, X: Any, fitting: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = _check_cells(X.copy())
            frame.columns = [str(c) for c in frame.columns]
            if fitting:
                if len(frame) == 0:
                    raise ValueError("Found array with 0 sample(s) (shape=(0, ...)).")
                if all(isinstance(c, str) for c in X.columns):
                    self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
            return frame
        arr = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=1)
        if not fitting and arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        return _check_cells(frame.infer_objects())

    def _target(self, y: Any, n_rows: int) -> tuple[np.ndarray, str]:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = column_or_1d(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy(), warn=True)
        if len(y) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(y)}: they must match.")
        if self._kind == "regression":
            if not np.issubdtype(np.asarray(y).dtype, np.number):
                raise ValueError(
                    f"Unknown label type: a regression target must be numeric; got values like "
                    f"{y[:3].tolist()}."
                )
            y = np.asarray(y, dtype=np.float64)
            if not np.isfinite(y).all():
                raise ValueError("The regression target holds NaN or inf; drop those rows.")
            return y, "regression"
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        task = infer_task(
            pd.Series(self.classes_[codes], name="y"), None if len(self.classes_) > 1 else "binary"
        )
        return codes.astype(np.int64), task

    # -- fit ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, on_trial: Callable[[Any], None] | None = None) -> _AutoBase:
        began = time.monotonic()
        budget, _ = check_search_limits(self.time_budget, self.n_trials, self.seed)
        deadline = began + budget if budget is not None else None
        check_learners(list(self.learners or []))
        infer_batch = check_infer_limit(self.infer_limit, self.infer_limit_batch_size)
        frame = self._frame(X, fitting=True)
        self.n_features_in_ = frame.shape[1]
        target, task = self._target(y, len(frame))
        if len(frame) < MIN_ROWS:
            raise ValueError(
                f"Found {len(frame)} sample(s); {type(self).__name__} needs at least {MIN_ROWS}."
            )
        self.task_ = task
        self.metric_ = get_metric(self.metric, task).name
        self.preprocessor_ = TabularPreprocessor.fit(frame)
        x = self.preprocessor_.transform(frame)
        n_folds = self.n_folds or choose_n_folds(*x.shape)
        if task != "regression":
            n_folds = min(n_folds, max(int(np.bincount(target).min()), 2)) if n_folds > 1 else 1
        config = EngineConfig(
            task=task,
            n_classes=len(getattr(self, "classes_", [])),
            categorical=self.preprocessor_.categorical_indices,
            metric=get_metric(self.metric, task),
            time_budget=self.time_budget,
            n_trials=self.n_trials,
            seed=self.seed,
            n_jobs=worker_count(self.n_jobs),
            learners=self.learners,
            n_folds=n_folds,
            memory_limit=parse_bytes(self.memory_limit) if self.memory_limit else None,
            ensemble=self.ensemble,
            infer_limit=self.infer_limit,
            infer_batch=infer_batch,
            preprocess_row_seconds=preprocess_row_seconds(
                self.preprocessor_.transform, frame, infer_batch
            )
            if infer_batch is not None
            else 0.0,
        )
        with (
            optuna_warnings_only(),
            tempfile.TemporaryDirectory(prefix="atlas-automl-") as workdir,
        ):
            study = make_study(config.metric, self.seed, self.storage, self.study_name, n_folds)
            engine = SearchEngine(config, study, Path(workdir), deadline, on_trial)
            result = engine.run(x, target)
            if not result.members:
                result.members = [baseline_member(task, x, target, Path(workdir), self.seed)]
            self._keep(result)
        self.study_name_ = study.study_name
        self.fit_seconds_ = time.monotonic() - began
        rng = np.random.default_rng(self.seed)
        sample = rng.choice(len(frame), min(len(frame), IMPORTANCE_ROWS), replace=False)
        self._importance_sample_ = (frame.iloc[np.sort(sample)], target[np.sort(sample)])
        return self

    def _keep(self, result: EngineResult) -> None:
        self.result_ = result
        self.leaderboard_ = result.leaderboard
        self.threshold_ = result.threshold
        best = next((m for m in result.members if m.trial == result.best_trial), None)
        best = best or result.members[0]
        self.best_config_ = {
            "learner": best.learner,
            **{k.split(".", 1)[1]: v for k, v in best.params.items() if "." in k},
        }
        # the fold models' files as bytes (for packages and pickles), and loaded now, inside
        # fit's budget (the search kept time for it): the first predict loads nothing
        self.members_: Kept = keep(result.members)
        self._model_cache_: dict[str, Any] = {"predictors": load_files(result.members, self.task_)}

    def __getstate__(self) -> dict[str, Any]:
        """A pickle holds the fold models' bytes, not the loaded models (some hold native
        handles); the unpickled estimator loads them on its first predict."""
        state: dict[str, Any] = super().__getstate__()
        if "_model_cache_" in state:
            state = {**state, "_model_cache_": {}}
        return state

    def _predictors(self) -> Weighted:
        """(weight, predictor) per fold model: loaded by fit, or from the kept bytes once."""
        cache = self._model_cache_  # filled in place: predicting leaves __dict__ unchanged
        if "predictors" not in cache:
            cache["predictors"] = load_kept(self.members_, self.task_)
        return list(cache["predictors"])

    # -- predict --------------------------------------------------------------------------
    def _raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "members_")
        x = self.preprocessor_.transform(self._frame(X, fitting=False))
        out: np.ndarray | None = None
        with threads_for(len(x)):
            for weight, predictor in self._predictors():
                part = weight * np.asarray(predictor.predict(x))
                out = part if out is None else out + part
        assert out is not None
        return out

    @property
    def feature_importances_(self) -> np.ndarray:
        """Permutation importance of each input column (drop in the metric when shuffled),
        on up to :data:`IMPORTANCE_ROWS` training rows; computed on first access, not inside
        ``fit``'s budget."""
        check_is_fitted(self, "members_")
        cache = self._model_cache_
        if "importances" not in cache:
            frame, target = self._importance_sample_
            cache["importances"] = permutation_importances(
                self._raw, frame, target, get_metric(self.metric_, self.task_), self.seed
            )
        return np.array(cache["importances"])

    def to_draft(self, folder: Path, target: str) -> PackageDraft:
        """A registry package of this fitted model: preprocessing, members, weights."""
        check_is_fitted(self, "members_")
        classes = getattr(self, "classes_", None)
        draft = PackageDraft(
            folder=folder,
            task=self.task_,  # type: ignore[arg-type]
            target=target,
            inputs=self.preprocessor_.columns,
            classes=[c.item() if isinstance(c, np.generic) else c for c in classes]
            if classes is not None
            else None,
            threshold=self.threshold_,
            params=self.best_config_,
        )
        for member, blobs in self.members_:
            for fold, (file, files) in enumerate(zip(member.files, blobs, strict=True)):
                draft.add_learner_files(
                    f"{member.learner}-t{member.trial}-f{fold}",
                    member.flavor,
                    file.name,
                    files,
                    weight=member.weight / len(member.files),
                    params=member.params,
                    info={
                        "learner": member.learner,
                        "trial": member.trial,
                        "fold": fold,
                        **_plain_info(member.infos[fold] if fold < len(member.infos) else {}),
                    },
                )
        return draft


class AutoClassifier(ClassifierMixin, _AutoBase):
    """AutoML classifier (binary and multiclass). Default metric: roc_auc / log_loss."""

    _kind = "classification"

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._raw(X)

    def predict(self, X: Any) -> np.ndarray:
        proba = self._raw(X)
        if self.task_ == "binary" and self.threshold_ is not None:
            return self.classes_[(proba[:, 1] >= self.threshold_).astype(int)]
        return self.classes_[np.argmax(proba, axis=1)]


class AutoRegressor(RegressorMixin, _AutoBase):
    """AutoML regressor. Default metric: rmse."""

    _kind = "regression"

    def predict(self, X: Any) -> np.ndarray:
        return self._raw(X)
