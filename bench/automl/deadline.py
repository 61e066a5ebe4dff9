"""Does ``fit`` end within its time budget, with every learner? (The unit tests assert the
engine's decisions on an injected clock; how long a real fit takes belongs here.)

For each ``--budgets`` value, ``--repeats`` fits of ``AutoClassifier`` on credit-g with every
installed learner and ``--n-jobs`` workers, in one process (the first fit pays for importing
the learners' libraries, inside its budget, as a user's first fit does). Printed and written:
wall seconds of each fit, the largest overrun past the budget, finished trials. Results go to
bench/results/automl/deadline.json with ``--canonical`` (else bench/results/scratch/automl/).

    nice .venv/bin/python -m bench.automl.deadline --canonical
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import pandas as pd

from atlas.automl import AutoClassifier
from bench.common.results import SHARED_DATA, add_canonical_flag, output_dir, write_json
from bench.common.stamp import stamp

AREA = "automl"
DATASET = SHARED_DATA / "tabular" / "credit-g.csv"


def run_one(budget: float, n_jobs: int, seed: int) -> dict[str, Any]:
    frame = pd.read_csv(DATASET)
    x, y = frame.drop(columns="target"), frame["target"]
    began = time.monotonic()
    model = AutoClassifier(time_budget=budget, n_jobs=n_jobs, seed=seed).fit(x, y)
    seconds = time.monotonic() - began
    complete = int((model.leaderboard_["state"] == "complete").sum())
    return {
        "budget_s": budget,
        "seed": seed,
        "seconds": round(seconds, 3),
        "overrun_s": round(seconds - budget, 3),
        "complete": complete,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="8,30", help="comma-separated seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    add_canonical_flag(parser)
    args = parser.parse_args(argv)
    rows = []
    for budget in (float(b) for b in args.budgets.split(",")):
        for seed in range(args.repeats):
            row = run_one(budget, args.n_jobs, seed)
            print(row, flush=True)
            rows.append(row)
    worst = max(r["overrun_s"] for r in rows)
    fewest = min(r["complete"] for r in rows)
    print(f"largest overrun past the budget: {worst:+.3f} s; fewest finished trials: {fewest}")
    summary = {"max_overrun_s": worst, "min_complete": fewest}
    settings = {"dataset": DATASET.stem, "n_jobs": args.n_jobs, "repeats": args.repeats}
    path = output_dir(AREA, args.canonical) / "deadline.json"
    write_json(path, {"stamp": stamp(), "settings": settings, "summary": summary, "runs": rows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
