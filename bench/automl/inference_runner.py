"""Fit one system on one (dataset, repeat) and time what using the fitted model costs: JSON out.

Started by ``bench.automl.inference`` in a fresh process with the system's own Python (FLAML
and AutoGluon live in their own venvs) and ``PYTHONPATH`` at the repository root; it imports
only pandas, numpy, scikit-learn, the one system it runs and the standard-library helpers of
``bench.automl.peer_runner`` / ``bench.common.stamp``.

    PYTHONPATH=. python -m bench.automl.inference_runner SYSTEM DATASET_CSV TASK REPEAT BUDGET \
        OUT_JSON [--n-jobs 2]

Repeat r fits on the training part of fold r of peer_runner's 3-fold split, with seed r where
the system takes one. Measured on the held-out rows, each call the system's own predict_proba
(predict for regression), timed alone:

- ``fit_seconds``: the ``fit`` call;
- ``first_predict_seconds``: the first call after ``fit``, on up to 5,000 held-out rows, and
  ``warm_predict_seconds``, the same call made again (what the first call would cost warm);
- ``batch_rows_per_s``: 10,000 rows (held-out rows repeated) / the median of 5 calls;
- ``row_p50_ms`` / ``row_p99_ms``: 200 one-row calls (one-row DataFrames made beforehand).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.automl.peer_runner import LABEL, METRIC, align_proba, load, score, split

FIRST_ROWS = 5_000  # held-out rows of the first predict after fit
BATCH_ROWS = 10_000  # rows of a throughput batch (held-out rows repeated)
BATCH_CALLS = 5  # throughput calls; the median is kept
ROW_CALLS = 200  # one-row calls for latency
P99 = 99
INFER_LIMIT = 2e-5  # atlas-limit's infer_limit: seconds a row (50,000 rows/s) on BATCH_ROWS rows
MS = 1000.0
Predict = Callable[[pd.DataFrame], Any]


# --- one function per system: fit, return (predict, classes, fit seconds, version) -----------


def _atlas_model(task: str, budget: int, n_jobs: int, seed: int, **options: Any) -> Any:
    from atlas.automl import AutoClassifier, AutoRegressor

    if task == "regression":
        return AutoRegressor(time_budget=budget, metric="rmse", n_jobs=n_jobs, seed=seed, **options)
    return AutoClassifier(
        time_budget=budget, metric=METRIC[task], n_jobs=n_jobs, seed=seed, **options
    )


def _atlas_version() -> str:
    import atlas
    from bench.common.stamp import short_commit

    return f"{getattr(atlas, '__version__', '?')}+{short_commit()}"


def _fit_atlas(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, **options: Any
) -> tuple[Predict, Any, float, str]:
    model = _atlas_model(task, budget, n_jobs, seed, **options)
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    predict = model.predict if task == "regression" else model.predict_proba
    return predict, getattr(model, "classes_", None), fit_s, _atlas_version()


def fit_atlas(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, tmp: Path
) -> tuple[Predict, Any, float, str]:
    return _fit_atlas(task, X, y, budget, n_jobs, seed)


def fit_atlas_limit(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, tmp: Path
) -> tuple[Predict, Any, float, str]:
    """ATLAS with ``infer_limit=INFER_LIMIT`` measured on BATCH_ROWS-row batches."""
    limits = {"infer_limit": INFER_LIMIT, "infer_limit_batch_size": BATCH_ROWS}
    return _fit_atlas(task, X, y, budget, n_jobs, seed, **limits)


def fit_atlas_refit(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, tmp: Path
) -> tuple[Predict, Any, float, str]:
    """ATLAS's default fit, then each member refitted once on all rows (what ``atlas models
    refit-full`` does to a registered package); ``fit_seconds`` counts both."""
    from atlas.automl.refit import RefitMember, predict_refitted, refit_members
    from atlas.registry.threads import threads_for

    model = _atlas_model(task, budget, n_jobs, seed)
    t0 = time.perf_counter()
    model.fit(X, y)
    prep = model.preprocessor_
    classes = getattr(model, "classes_", None)
    codes = y.to_numpy() if classes is None else pd.Index(classes).get_indexer(y)
    members = [
        RefitMember(m.learner, m.trial, m.params, m.weight, list(m.infos))
        for m in model.result_.members
    ]
    refitted = refit_members(
        members,
        prep.transform(X),
        np.asarray(codes),
        task=model.task_,
        n_classes=0 if classes is None else len(classes),
        categorical=prep.categorical_indices,
        seed=seed,
        n_jobs=n_jobs,
    )
    fit_s = time.perf_counter() - t0

    def predict(frame: pd.DataFrame) -> np.ndarray:
        x = prep.transform(frame)
        with threads_for(len(x)):
            return predict_refitted(refitted, x)

    return predict, classes, fit_s, _atlas_version()


def fit_flaml(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, tmp: Path
) -> tuple[Predict, Any, float, str]:
    import flaml
    from flaml import AutoML

    model = AutoML()
    kind = "regression" if task == "regression" else "classification"
    t0 = time.perf_counter()
    model.fit(
        X,
        y,
        task=kind,
        time_budget=budget,
        metric=METRIC[task],
        n_jobs=n_jobs,
        seed=seed,
        verbose=0,
    )
    fit_s = time.perf_counter() - t0
    predict = model.predict if task == "regression" else model.predict_proba
    return predict, getattr(model, "classes_", None), fit_s, flaml.__version__


def fit_autogluon(
    task: str, X: pd.DataFrame, y: pd.Series, budget: int, n_jobs: int, seed: int, tmp: Path
) -> tuple[Predict, Any, float, str]:
    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    eval_metric = {"binary": "roc_auc", "multiclass": "log_loss"}.get(
        task, "root_mean_squared_error"
    )
    predictor = TabularPredictor(
        label=LABEL, problem_type=task, eval_metric=eval_metric, path=str(tmp / "ag"), verbosity=0
    )
    train = X.assign(**{LABEL: y.to_numpy()})
    t0 = time.perf_counter()
    predictor.fit(train, time_limit=budget, num_cpus=n_jobs)  # the default preset
    fit_s = time.perf_counter() - t0
    if task == "regression":
        return predictor.predict, None, fit_s, autogluon.tabular.__version__
    return predictor.predict_proba, predictor.class_labels, fit_s, autogluon.tabular.__version__


SYSTEMS = {
    "atlas": fit_atlas,
    "atlas-limit": fit_atlas_limit,
    "atlas-refit": fit_atlas_refit,
    "flaml": fit_flaml,
    "autogluon": fit_autogluon,
}


# --- timing -----------------------------------------------------------------------------------


def timed(predict: Predict, frame: pd.DataFrame) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = predict(frame)
    return out, time.perf_counter() - t0


def as_array(out: Any, task: str, model_classes: Any, classes: np.ndarray) -> np.ndarray:
    values = out.to_numpy() if isinstance(out, pd.DataFrame | pd.Series) else out
    if task == "regression":
        return np.asarray(values, dtype=float).ravel()
    if model_classes is None and isinstance(out, pd.DataFrame):
        model_classes = out.columns
    return align_proba(values, model_classes, classes)


def repeated(X_test: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    """``n_rows`` rows of ``X_test``, cycling through it."""
    return X_test.iloc[np.resize(np.arange(len(X_test)), n_rows)].reset_index(drop=True)


def measure(predict: Predict, X_test: pd.DataFrame) -> dict[str, Any]:
    """The timings of the module docstring, first call first."""
    first = X_test.iloc[:FIRST_ROWS]
    out, first_s = timed(predict, first)
    _, warm_s = timed(predict, first)
    batch = repeated(X_test, BATCH_ROWS)
    batch_s = [timed(predict, batch)[1] for _ in range(BATCH_CALLS)]
    rows = [X_test.iloc[[i % len(X_test)]] for i in range(ROW_CALLS)]
    row_s = np.array([timed(predict, row)[1] for row in rows])
    return {
        "first_out": out,
        "first_rows": len(first),
        "first_predict_seconds": round(first_s, 4),
        "warm_predict_seconds": round(warm_s, 4),
        "batch_rows_per_s": round(BATCH_ROWS / float(np.median(batch_s)), 1),
        "row_p50_ms": round(float(np.median(row_s)) * MS, 3),
        "row_p99_ms": round(float(np.percentile(row_s, P99)) * MS, 3),
    }


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    X_all, y_all = load(args.csv)
    classes = np.array(sorted(y_all.unique())) if args.task != "regression" else np.array([])
    train_idx, test_idx = split(y_all, args.task, args.repeat)
    X, y = X_all.iloc[train_idx], y_all.iloc[train_idx]
    X_test, y_test = X_all.iloc[test_idx], y_all.iloc[test_idx]
    fit = SYSTEMS[args.system]
    predict, model_classes, fit_s, version = fit(
        args.task, X, y, args.budget, args.n_jobs, args.repeat, tmp
    )
    timings = measure(predict, X_test)
    first = as_array(timings.pop("first_out"), args.task, model_classes, classes)
    held_out = y_test.iloc[: timings["first_rows"]]
    return {
        "score": score(args.task, held_out, first, classes),
        "fit_seconds": round(fit_s, 3),
        "version": str(version),
        **timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=sorted(SYSTEMS))
    parser.add_argument("csv", type=Path)
    parser.add_argument("task", choices=sorted(METRIC))
    parser.add_argument("repeat", type=int)
    parser.add_argument("budget", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"metric": METRIC[args.task], "error": None}
    status = 0
    try:
        with tempfile.TemporaryDirectory(prefix=f"inf-{args.system}-") as tmp:
            result.update(run(args, Path(tmp)))
    except Exception as exc:  # every failure is a benchmark result
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"[:1000]
        status = 1
    args.out.write_text(json.dumps(result, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
