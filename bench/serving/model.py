"""The model of bench.serving.vs_mlflow: train with ATLAS, register two versions, time predict.

``prepare`` fits ``AutoClassifier(learners=["lightgbm"])`` on the Taiwan credit-default data
(all but 1,000 held-out rows): by default ATLAS's own output, a weighted ensemble of the best
configurations' cross-validation boosters (``kind="ensemble"``), or with ``kind="single"`` one
LightGBM booster (``ensemble=False, n_folds=1``: the best configuration, refitted on a holdout
split), and registers the fitted package twice in the ATLAS_HOME given (v1
and v2 are the same model under two version numbers: the hot-swap test needs two versions, not
two different models), and points ``production`` at v1. The held-out rows are the request
bodies. A home that already holds the model is reused (``--home``).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common.results import SHARED_DATA

DATA = SHARED_DATA / "tabular" / "default_credit_card_taiwan.csv"
TARGET = "target"
MODEL = "credit-default"
HELD_OUT = 1000


def settings_for(home: Path) -> Any:
    from atlas.core.settings import load_settings

    return load_settings(home=home)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}


KINDS: dict[str, dict[str, Any]] = {"ensemble": {}, "single": {"ensemble": False, "n_folds": 1}}


def prepare(
    home: Path, budget: float, n_jobs: int, seed: int = 0, kind: str = "ensemble"
) -> dict[str, Any]:
    """Train and register (or reuse); the model's facts and the held-out request rows."""
    from atlas.registry import ModelRegistry

    home.mkdir(parents=True, exist_ok=True)
    info_file = home / "bench-model.json"
    if info_file.is_file():
        info = json.loads(info_file.read_text())
        if info.get("kind", "ensemble") != kind:
            held = info.get("kind", "ensemble")
            raise SystemExit(f"{home} holds the {held} model, not {kind}: use another --home.")
        info["reused"] = True
        return info
    frame = pd.read_csv(DATA)
    held = frame.sample(n=HELD_OUT, random_state=seed)
    train = frame.drop(index=held.index)
    x, y = train.drop(columns=[TARGET]), train[TARGET]
    from atlas.automl import AutoClassifier

    began = time.monotonic()
    est = AutoClassifier(
        time_budget=budget,
        learners=["lightgbm"],
        n_jobs=n_jobs,
        seed=seed,
        metric="roc_auc",
        **KINDS[kind],
    ).fit(x, y)
    fit_s = time.monotonic() - began
    registry = ModelRegistry.from_settings(settings_for(home))
    for _ in range(2):
        with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
            draft = est.to_draft(Path(tmp), TARGET)
            registry.register(MODEL, draft)
    registry.promote(MODEL, 1)
    _, manifest, folder = registry.fetch(MODEL, 1)
    held_x = held.drop(columns=[TARGET])
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(held[TARGET], est.predict_proba(held_x)[:, 1]))
    info = {
        "model": MODEL,
        "kind": kind,
        "data": str(DATA),
        "train_rows": len(train),
        "train_budget_s": budget,
        "fit_s": round(fit_s, 2),
        "n_trials": int(est.result_.n_trials),
        "learners_in_package": len(manifest.learners),
        "package_bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
        "held_out_auc": round(auc, 4),
        "records": [_plain(r) for r in held_x.to_dict(orient="records")],
        "reused": False,
    }
    info_file.write_text(json.dumps(info))
    return info


def package_folder(home: Path, version: int = 1) -> Path:
    from atlas.registry import ModelRegistry

    _, _, folder = ModelRegistry.from_settings(settings_for(home)).fetch(MODEL, version)
    return folder


def expected(home: Path, records: list[dict[str, Any]]) -> list[list[float]]:
    """ATLAS's in-process probabilities for ``records`` (the check of the MLflow export)."""
    from atlas.registry import ModelRegistry

    model = ModelRegistry.from_settings(settings_for(home)).load(MODEL, 1)
    return model.predict_proba(records).tolist()


def floor(home: Path, records: list[dict[str, Any]], calls: int, core: int | None) -> dict:
    """The raw in-process cost of one single-row ``LoadedModel.predict_proba`` (the floor),
    and how it splits into the preprocessing and the boosters; pinned to ``core``."""
    from atlas.registry import ModelRegistry

    before = os.sched_getaffinity(0)
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        model = ModelRegistry.from_settings(settings_for(home)).load(MODEL, 1)
        rows = [[r] for r in records]
        for row in rows[:200]:
            model.predict_proba(row)  # warm up

        def timed(fn: Any) -> list[float]:
            out = []
            for i in range(calls):
                row = rows[i % len(rows)]
                t = time.perf_counter()
                fn(row)
                out.append(1000 * (time.perf_counter() - t))
            return out

        total = timed(model.predict_proba)
        prep = timed(model.preprocessor.transform)
        x = model.preprocessor.transform(rows[0])
        learners = timed(lambda _row: [p.predict(x) for _, p in model._learners])
        records_api = timed(model.predict_records)
    finally:
        os.sched_setaffinity(0, before)
    return {
        "calls": calls,
        "predict_proba_p50_ms": _q(total, 0.5),
        "predict_proba_p99_ms": _q(total, 0.99),
        "predict_proba_mean_ms": statistics.fmean(total),
        "preprocess_p50_ms": _q(prep, 0.5),
        "boosters_p50_ms": _q(learners, 0.5),
        "predict_records_p50_ms": _q(records_api, 0.5),
    }


def _q(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q))
