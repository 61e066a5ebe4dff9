"""What a fitted AutoML model costs to use: ATLAS against FLAML and AutoGluon, same budget.

For each dataset and repeat, each system is fitted with the same time budget (30 s by default,
2 cores) and timed on held-out rows by ``bench.automl.inference_runner`` in the system's own
venv (atlas: the project's; flaml, autogluon: ``bench/.venv-<peer>``, made by
``bash bench/automl/setup_peers.sh``): fit seconds / budget, the first predict after fit, fit +
first predict / budget (ATLAS's target: <= 1.05), batch throughput (rows/s over 10,000 rows)
and one-row latency (p50, p99 over 200 calls). Systems run one after another, never together,
each in its own process tree pinned to 2 cores and killed at 3 x budget + 300 s.

One CSV row per run is appended to ``inference.csv`` in bench/results/automl/ (``--canonical``)
or bench/results/scratch/automl/; rows already there are skipped, so a run resumes. The
summary (medians over repeats, ratios ATLAS / peer) is printed and written, stamped, to
``inference.json`` beside it.

    .venv/bin/python -m bench.automl.inference --canonical
    .venv/bin/python -m bench.automl.inference --budget 10 --datasets credit-g --repeats 1
    .venv/bin/python -m bench.automl.inference --canonical --report --markdown /tmp/inference.md
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.automl import peers
from bench.automl.inference_summary import summarize, to_markdown, to_text
from bench.automl.peers import (
    DATA,
    THREAD_VARS,
    kill_tree,
    load_manifest,
    pick_cores,
    read_rows,
)
from bench.common.memory import MIB, PeakRSS, tree_pids
from bench.common.results import REPO, add_canonical_flag, output_dir, write_json
from bench.common.stamp import short_commit, stamp

AREA = "automl"
RUNNER = "bench.automl.inference_runner"
SYSTEMS = ["atlas", "flaml", "autogluon"]  # the default run
VARIANTS = ["atlas-limit", "atlas-refit"]  # ATLAS's inference levers, run with --systems


def python_for(system: str) -> Path:
    """The system's Python: the ATLAS variants run in the project's venv."""
    return peers.python_for("atlas" if system.startswith("atlas") else system)


DATASETS = ["credit-g", "adult", "satimage", "california_houses"]
BUDGET_S = 30
CORES = 2  # per run: pinned, n_jobs and the BLAS/OpenMP thread counts
REPEATS = 3  # repeat r: fold r of the 3-fold split, seed r
KILL_FACTOR, KILL_SLACK = 3, 300  # killed at KILL_FACTOR * budget + KILL_SLACK seconds
SAMPLE_S = 0.2  # memory sampling interval
ERROR_CHARS = 300
MEASURES = [
    "score",
    "fit_seconds",
    "first_rows",
    "first_predict_seconds",
    "warm_predict_seconds",
    "batch_rows_per_s",
    "row_p50_ms",
    "row_p99_ms",
    "version",
]
FIELDS = [
    "system",
    "dataset",
    "task",
    "repeat",
    "budget",
    "metric",
    *MEASURES,
    "wall_seconds",
    "peak_mb",
    "status",
    "commit",
    "error",
]


def command(system: str, csv_path: Path, task: str, repeat: int, budget: int, out: Path) -> list:
    return [
        str(python_for(system)),
        "-m",
        RUNNER,
        system,
        str(csv_path),
        task,
        str(repeat),
        str(budget),
        str(out),
        "--n-jobs",
        str(CORES),
    ]


def watch(
    cmd: list, env: dict[str, str], cwd: str, log: Path, limit: int
) -> tuple[int, float, float]:
    """Run ``cmd`` pinned and watched; returns (exit status or -1 on timeout, wall s, peak MB)."""
    cores = pick_cores(CORES)
    with log.open("w") as fh:
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, cores),
        )
        with PeakRSS(proc.pid, SAMPLE_S) as memory:
            try:
                code = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid, tree_pids(proc.pid))
                proc.wait()
                code = -1
        wall = time.monotonic() - start
    kill_tree(proc.pid)  # anything the runner left behind in its group
    return code, wall, memory.peak_bytes / MIB


def run_one(system: str, ds: dict[str, Any], repeat: int, budget: int, logs: Path) -> dict:
    """One (system, dataset, repeat) in its own process tree; returns the CSV row."""
    row: dict[str, Any] = dict.fromkeys(FIELDS, "")
    row.update(system=system, dataset=ds["name"], task=ds["task"], repeat=repeat, budget=budget)
    env = dict(os.environ, **dict.fromkeys(THREAD_VARS, str(CORES)), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO)
    logs.mkdir(parents=True, exist_ok=True)
    limit = KILL_FACTOR * budget + KILL_SLACK
    with tempfile.TemporaryDirectory(prefix=f"inf-{system}-") as tmp:
        env["TMPDIR"] = tmp
        out = Path(tmp) / "result.json"
        cmd = command(system, DATA / ds["file"], ds["task"], repeat, budget, out)
        log = logs / f"{system}__{ds['name']}__r{repeat}.log"
        code, wall, peak = watch(cmd, env, tmp, log, limit)
        result: dict[str, Any] = {}
        if out.exists():
            with contextlib.suppress(ValueError):
                result = json.loads(out.read_text())
    row.update({k: result[k] for k in ["metric", *MEASURES] if result.get(k) is not None})
    row.update(wall_seconds=round(wall, 2), peak_mb=round(peak, 1), commit=short_commit())
    if code == -1:
        row.update(status="timeout", error=f"killed after {wall:.0f} s (limit {limit} s)")
    elif code == 0 and result.get("score") is not None:
        row["status"] = "ok"
    else:
        row.update(status="error", error=result.get("error") or f"exit {code}, see {log.name}")
    row["error"] = " ".join(str(row["error"]).split())[:ERROR_CHARS]
    return row


# --- results CSV ------------------------------------------------------------------------------


def append_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


def report(csv_path: Path, write: bool, markdown: Path | None) -> None:
    rows = read_rows(csv_path)
    if not rows:
        print(f"no results in {csv_path}")
        return
    present = {r["system"] for r in rows}
    systems = [s for s in SYSTEMS + VARIANTS if s in present]
    summary = {"csv": csv_path.name, **summarize(rows, systems)}
    print(f"\n== {csv_path.name} ({len(rows)} runs) ==\n")
    print(to_text(summary))
    if write:
        write_json(csv_path.with_suffix(".json"), {"stamp": stamp(), **summary})
        print(f"summary JSON: {csv_path.with_suffix('.json')}")
    if markdown:
        markdown.write_text(to_markdown(summary))
        print(f"markdown: {markdown}")


# --- CLI --------------------------------------------------------------------------------------


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=BUDGET_S, help="seconds (default 30)")
    parser.add_argument("--datasets", type=_csv_list, default=DATASETS, help="comma list")
    parser.add_argument("--systems", type=_csv_list, default=SYSTEMS, help="comma list")
    parser.add_argument("--repeats", type=int, default=REPEATS, choices=range(1, REPEATS + 1))
    add_canonical_flag(parser)
    parser.add_argument("--report", action="store_true", help="print the summary, run nothing")
    parser.add_argument("--markdown", type=Path, help="also write the summary tables here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.systems) - set(SYSTEMS + VARIANTS))
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS + VARIANTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    manifest = {r["name"]: r for r in load_manifest(DATA)}
    missing = sorted(set(args.datasets) - set(manifest))
    if missing:
        print(f"unknown datasets {missing}; known: {', '.join(sorted(manifest))}")
        return 2
    results = output_dir(AREA, args.canonical)
    csv_path = results / "inference.csv"
    if args.report:
        report(csv_path, write=False, markdown=args.markdown)
        return 0
    systems = [s for s in args.systems if python_for(s).exists()]
    for skipped in sorted(set(args.systems) - set(systems)):
        print(f"skipping {skipped}: {python_for(skipped)} missing; run bench/automl/setup_peers.sh")
    done = {(r["system"], r["dataset"], int(r["repeat"])) for r in read_rows(csv_path)}
    todo = [
        (manifest[name], repeat, system)
        for repeat in range(args.repeats)
        for name in args.datasets
        for system in systems
        if (system, name, repeat) not in done
    ]
    print(f"{len(todo)} runs to do -> {csv_path}")
    for i, (ds, repeat, system) in enumerate(todo, 1):
        row = run_one(system, ds, repeat, args.budget, results / "logs" / "inference")
        append_row(csv_path, row)
        print(
            f"[{i}/{len(todo)}] {system:9s} {ds['name']:18s} r{repeat} {row['status']:7s} "
            f"fit {row['fit_seconds']!s:>7}s first {row['first_predict_seconds']!s:>7}s "
            f"{row['batch_rows_per_s']!s:>9} rows/s row p50 {row['row_p50_ms']!s:>8} ms "
            f"{row['error'][:80]}",
            flush=True,
        )
    report(csv_path, write=True, markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
