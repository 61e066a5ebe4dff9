"""Run one (system, dataset, fold) of the AutoML peer benchmark and write its result as JSON.

Started by ``bench.automl.peers`` in a fresh process with the system's own Python (FLAML and
AutoGluon live in their own venvs) and ``PYTHONPATH`` at the repository root, so this module
imports only pandas, numpy, scikit-learn, the one system it runs and bench.common.stamp
(standard library), and nothing of the orchestrator.

    PYTHONPATH=. python -m bench.automl.peer_runner SYSTEM DATASET_CSV TASK FOLD BUDGET OUT_JSON \
        [--n-jobs 2]

SYSTEM is one of atlas, flaml, autogluon, lightgbm, rf; TASK one of binary, multiclass,
regression. The JSON holds {score, metric, fit_seconds, predict_seconds, version, error}; on an
error the score is null, the error holds the exception (the traceback goes to stderr) and the
exit status is 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common.stamp import short_commit

SEED = 0
N_FOLDS = 3
LABEL = "target"
# Columns dropped for every system: `duration` is only known after the call it predicts (UCI's
# own advice is to drop it), `phone number` is an identifier.
DROP = {"bank_marketing": ["duration"], "churn": ["phone number"]}
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
EPS = 1e-15
# (predictions, fit seconds, predict seconds)
Fitted = tuple[np.ndarray, float, float]


def categorical_columns(csv_path: Path) -> list[str] | None:
    """The categorical columns that MANIFEST.csv (beside the data) lists, or None without one."""
    manifest = csv_path.parent / "MANIFEST.csv"
    if not manifest.exists():
        return None
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["file"] == csv_path.name:
                return [c for c in row["categorical_columns"].split("|") if c]
    return None


def load(csv_path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Features and label; categoricals as pandas ``category`` of strings, the same for all."""
    df = pd.read_csv(csv_path)
    y = df.pop(LABEL)
    df = df.drop(columns=[c for c in DROP.get(csv_path.stem, []) if c in df.columns])
    cats = categorical_columns(csv_path)
    if cats is None:
        cats = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    for col in cats:
        if col in df.columns:
            s = df[col]
            df[col] = s.astype(object).where(s.isna(), s.astype(str)).astype("category")
    return df, y


def split(y: pd.Series, task: str, fold: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "regression":
        splitter: Any = KFold(N_FOLDS, shuffle=True, random_state=SEED)
    else:
        splitter = StratifiedKFold(N_FOLDS, shuffle=True, random_state=SEED)
    train_idx, test_idx = list(splitter.split(np.zeros(len(y)), y))[fold]
    return train_idx, test_idx


def align_proba(proba: Any, model_classes: Any, classes: np.ndarray) -> np.ndarray:
    """Probabilities with one column per class of the full dataset, in ``classes`` order."""
    proba = np.asarray(proba, dtype=float)
    index = {c: i for i, c in enumerate(list(model_classes))}
    out = np.zeros((proba.shape[0], len(classes)))
    for j, c in enumerate(classes):
        if c in index:
            out[:, j] = proba[:, index[c]]
    return out


def score(task: str, y_true: pd.Series, pred: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if task == "regression":
        return float(np.sqrt(mean_squared_error(y_true, pred)))
    if task == "binary":
        return float(roc_auc_score(np.asarray(y_true == classes[1]), pred[:, 1]))
    p = np.clip(pred, EPS, 1 - EPS)
    p = p / p.sum(axis=1, keepdims=True)
    return float(log_loss(y_true, p, labels=list(classes)))


# --- one function per system: fit on (X, y), return (predictions, version) ------------------
# Classification returns probabilities aligned to `classes`; regression returns predictions.


def run_atlas(
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    X_test: pd.DataFrame,
    classes: np.ndarray,
    budget: int,
    n_jobs: int,
) -> tuple[Fitted, str]:
    import atlas
    from atlas.automl import AutoClassifier, AutoRegressor

    if task == "regression":
        model = AutoRegressor(time_budget=budget, metric="rmse", n_jobs=n_jobs, seed=SEED)
    else:
        model = AutoClassifier(time_budget=budget, metric=METRIC[task], n_jobs=n_jobs, seed=SEED)
    version = f"{getattr(atlas, '__version__', '?')}+{short_commit()}"
    return fit_predict(model, task, X, y, X_test, classes), version


def run_flaml(
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    X_test: pd.DataFrame,
    classes: np.ndarray,
    budget: int,
    n_jobs: int,
) -> tuple[Fitted, str]:
    import flaml
    from flaml import AutoML

    model = AutoML()
    kind = "regression" if task == "regression" else "classification"
    settings = dict(task=kind, time_budget=budget, metric=METRIC[task], n_jobs=n_jobs, seed=SEED)
    t0 = time.perf_counter()
    model.fit(X, y, verbose=0, **settings)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if task == "regression":
        pred = np.asarray(model.predict(X_test), dtype=float)
    else:
        pred = align_proba(model.predict_proba(X_test), model.classes_, classes)
    return (pred, fit_s, time.perf_counter() - t0), flaml.__version__


def run_autogluon(
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    X_test: pd.DataFrame,
    classes: np.ndarray,
    budget: int,
    n_jobs: int,
) -> tuple[Fitted, str]:
    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    eval_metric = {"binary": "roc_auc", "multiclass": "log_loss"}.get(
        task, "root_mean_squared_error"
    )
    train = X.assign(**{LABEL: y.to_numpy()})
    with tempfile.TemporaryDirectory(prefix="ag-") as tmp:
        predictor = TabularPredictor(
            label=LABEL, problem_type=task, eval_metric=eval_metric, path=tmp, verbosity=0
        )
        t0 = time.perf_counter()
        predictor.fit(train, time_limit=budget, presets="best_quality", num_cpus=n_jobs)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        if task == "regression":
            pred = predictor.predict(X_test).to_numpy(dtype=float)
        else:
            proba = predictor.predict_proba(X_test, as_multiclass=True)
            pred = align_proba(proba.to_numpy(), proba.columns, classes)
        predict_s = time.perf_counter() - t0
    return (pred, fit_s, predict_s), autogluon.tabular.__version__


def run_lightgbm(
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    X_test: pd.DataFrame,
    classes: np.ndarray,
    budget: int,
    n_jobs: int,
) -> tuple[Fitted, str]:
    import lightgbm
    from lightgbm import LGBMClassifier, LGBMRegressor

    cls = LGBMRegressor if task == "regression" else LGBMClassifier
    model = cls(n_jobs=n_jobs, random_state=SEED, verbose=-1)
    return fit_predict(model, task, X, y, X_test, classes), lightgbm.__version__


def run_rf(
    task: str,
    X: pd.DataFrame,
    y: pd.Series,
    X_test: pd.DataFrame,
    classes: np.ndarray,
    budget: int,
    n_jobs: int,
) -> tuple[Fitted, str]:
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    nums = [c for c in X.columns if c not in cats]
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-2, encoded_missing_value=-1
    )
    prep = ColumnTransformer(
        [("cat", encoder, cats), ("num", SimpleImputer(strategy="median"), nums)]
    )
    cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
    model = make_pipeline(prep, cls(n_estimators=500, n_jobs=n_jobs, random_state=SEED))
    return fit_predict(model, task, X, y, X_test, classes), sklearn.__version__


def fit_predict(
    model: Any, task: str, X: pd.DataFrame, y: pd.Series, X_test: pd.DataFrame, classes: np.ndarray
) -> Fitted:
    """Fit and predict a scikit-learn style estimator; returns (pred, fit_s, predict_s)."""
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if task == "regression":
        pred = np.asarray(model.predict(X_test), dtype=float)
    else:
        pred = align_proba(model.predict_proba(X_test), model.classes_, classes)
    return pred, fit_s, time.perf_counter() - t0


SYSTEMS = {
    "atlas": run_atlas,
    "flaml": run_flaml,
    "autogluon": run_autogluon,
    "lightgbm": run_lightgbm,
    "rf": run_rf,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=sorted(SYSTEMS))
    parser.add_argument("csv", type=Path)
    parser.add_argument("task", choices=sorted(METRIC))
    parser.add_argument("fold", type=int)
    parser.add_argument("budget", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "system": args.system,
        "dataset": args.csv.stem,
        "fold": args.fold,
        "metric": METRIC[args.task],
        "score": None,
        "fit_seconds": None,
        "predict_seconds": None,
        "version": None,
        "error": None,
    }
    status = 0
    try:
        X_all, y_all = load(args.csv)
        classes = np.array(sorted(y_all.unique())) if args.task != "regression" else np.array([])
        train_idx, test_idx = split(y_all, args.task, args.fold)
        X, X_test = X_all.iloc[train_idx], X_all.iloc[test_idx]
        y, y_test = y_all.iloc[train_idx], y_all.iloc[test_idx]
        run = SYSTEMS[args.system]
        (pred, fit_s, predict_s), version = run(
            args.task, X, y, X_test, classes, args.budget, args.n_jobs
        )
        result.update(
            score=score(args.task, y_test, pred, classes),
            fit_seconds=round(fit_s, 3),
            predict_seconds=round(predict_s, 3),
            version=str(version),
        )
    except Exception as exc:  # every failure is a benchmark result
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"[:1000]
        status = 1
    args.out.write_text(json.dumps(result, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
