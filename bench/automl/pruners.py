"""Which pruner stops AutoML trials better: Optuna's median rule or successive halving.

A small dev suite (``--datasets``, default credit-g, australian, kc1 and vehicle from
../shared/data/tabular): for each dataset and seed, a stratified 75/25 split; ``AutoClassifier``
searches the training part for ``--budget`` seconds with each pruner of
:func:`atlas.automl.study.make_pruner` (the two run back to back, so machine noise hits both),
and the held-out part is scored (ROC AUC for binary tasks, log loss for multiclass). Printed and
written: the median test score over the seeds per dataset and pruner, the ratio
successive_halving / median (> 1 means successive halving did better; for log loss the ratio is
inverted so that > 1 still means better), trial and pruned counts. Results go to
bench/results/automl/pruners.json with ``--canonical`` (else bench/results/scratch/automl/),
stamped with the commit and the machine.

    nice .venv/bin/python -m bench.automl.pruners --canonical          # 4 x 3 x 2 x 30 s
    .venv/bin/python -m bench.automl.pruners --budget 5 --seeds 1 --datasets credit-g
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from atlas.automl import AutoClassifier, engine, study
from atlas.automl.learners import LEARNERS
from atlas.automl.metrics import get_metric
from bench.common.results import SHARED_DATA, add_canonical_flag, output_dir, write_json
from bench.common.stamp import stamp

AREA = "automl"
DATA = SHARED_DATA / "tabular"
DATASETS = ("credit-g", "australian", "kc1", "vehicle")
TEST_SHARE = 0.25
METRIC = {"binary": "roc_auc", "multiclass": "log_loss"}


def load(name: str) -> tuple[pd.DataFrame, pd.Series, str]:
    frame = pd.read_csv(DATA / f"{name}.csv")
    y = frame["target"]
    return frame.drop(columns="target"), y, "binary" if y.nunique() == 2 else "multiclass"


def run_one(name: str, pruner: str, seed: int, budget: float, n_jobs: int) -> dict[str, Any]:
    """One search with ``pruner``: its test score, trial counts and wall time."""
    x, y, task = load(name)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SHARE, random_state=seed, stratify=y
    )
    engine.make_pruner = partial(study.make_pruner, kind=pruner)  # what make_study calls
    began = time.monotonic()
    model = AutoClassifier(time_budget=budget, seed=seed, n_jobs=n_jobs).fit(x_train, y_train)
    seconds = time.monotonic() - began
    metric = get_metric(METRIC[task], task)
    codes = pd.Categorical(y_test, categories=model.classes_).codes
    states = model.leaderboard_["state"].value_counts().to_dict()
    return {
        "dataset": name,
        "pruner": pruner,
        "seed": seed,
        "task": task,
        "metric": metric.name,
        "test_score": metric(codes, model.predict_proba(x_test)),
        "n_trials": len(model.leaderboard_),
        "complete": int(states.get("complete", 0)),
        "pruned": int(states.get("pruned", 0)),
        "seconds": round(seconds, 2),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per dataset: the median test score of each pruner and the ratio (> 1: halving better)."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        metric = get_metric(mine[0]["metric"], mine[0]["task"])
        med = {
            p: statistics.median(r["test_score"] for r in mine if r["pruner"] == p)
            for p in study.PRUNERS
        }
        halving, median = med["successive_halving"], med["median"]
        ratio = halving / median if metric.greater_is_better else median / halving
        pruned = {
            p: sum(r["pruned"] for r in mine if r["pruner"] == p)
            / max(sum(r["n_trials"] for r in mine if r["pruner"] == p), 1)
            for p in study.PRUNERS
        }
        out[name] = {
            "metric": metric.name,
            "median_test_score": med,
            "ratio_halving_vs_median": round(ratio, 4),
            "pruned_share": {p: round(v, 3) for p, v in pruned.items()},
            "median_trials": {
                p: statistics.median(r["n_trials"] for r in mine if r["pruner"] == p)
                for p in study.PRUNERS
            },
        }
    ratios = [v["ratio_halving_vs_median"] for v in out.values()]
    return {
        "datasets": out,
        "median_ratio_halving_vs_median": round(statistics.median(ratios), 4),
        "halving_better_on": sum(r > 1 for r in ratios),
        "median_better_on": sum(r < 1 for r in ratios),
    }


def print_summary(summary: dict[str, Any]) -> None:
    print(f"{'dataset':<12} {'metric':<9} {'median':>8} {'halving':>8} {'ratio':>7}")
    for name, v in summary["datasets"].items():
        med = v["median_test_score"]
        print(
            f"{name:<12} {v['metric']:<9} {med['median']:>8.4f} "
            f"{med['successive_halving']:>8.4f} {v['ratio_halving_vs_median']:>7.4f}"
        )
    print(
        f"median ratio (successive_halving vs median, > 1 = halving better): "
        f"{summary['median_ratio_halving_vs_median']:.4f}; halving better on "
        f"{summary['halving_better_on']}, median better on {summary['median_better_on']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per search")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    add_canonical_flag(parser)
    args = parser.parse_args(argv)
    for cls in LEARNERS.all().values():  # once, so no search pays the imports in its budget
        cls.preload()
    rows = []
    for name in args.datasets.split(","):
        for seed in range(args.seeds):
            for pruner in study.PRUNERS:
                row = run_one(name, pruner, seed, args.budget, args.n_jobs)
                print(row, flush=True)
                rows.append(row)
    summary = summarize(rows)
    print_summary(summary)
    path = output_dir(AREA, args.canonical) / "pruners.json"
    settings = {"budget_s": args.budget, "seeds": args.seeds, "n_jobs": args.n_jobs}
    write_json(path, {"stamp": stamp(), "settings": settings, "summary": summary, "runs": rows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
