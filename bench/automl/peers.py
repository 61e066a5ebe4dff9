"""ATLAS AutoML against its peers on every dataset of ../shared/data/tabular.

Same 3 folds (StratifiedKFold / KFold, shuffle, random_state=0), same time budget, 2 cores for
every system: atlas (project venv), flaml and autogluon (their own venvs, made by
``bash bench/setup_peers.sh``), default LightGBM and a 500-tree random forest (project venv).

Each (system, dataset, fold) runs ``bench.automl.peer_runner`` in its own process tree,
pinned to 2 cores, in a scratch working folder; this process samples the tree's summed RSS every
0.2 s (bench.common.memory), measures wall time and kills the tree at 3 x budget + 120 s. One CSV
row per run is appended to ``peers_<budget>s.csv`` in bench/results/automl/ (``--canonical``) or
bench/results/scratch/automl/; rows already there are skipped, so the benchmark resumes where it
stopped. After a run the summary is printed and written beside the CSV as JSON, with the stamp
of this run (bench.common.stamp); each row has its own ``commit``.

    .venv/bin/python -m bench.automl.peers --canonical          # everything, 60 s budget
    .venv/bin/python -m bench.automl.peers --budget 10 --datasets credit-g --systems flaml,rf
    .venv/bin/python -m bench.automl.peers --canonical --report --markdown /tmp/table.md
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.automl.peers_summary import summarize, to_markdown, to_text
from bench.common.memory import MIB, PeakRSS, tree_pids
from bench.common.results import (
    BENCH,
    REPO,
    SHARED_DATA,
    add_canonical_flag,
    output_dir,
    write_json,
)
from bench.common.stamp import short_commit, stamp

AREA = "automl"
DATA = SHARED_DATA / "tabular"
RUNNER = "bench.automl.peer_runner"
SETUP = BENCH / AREA / "setup_peers.sh"

SYSTEMS = ["atlas", "flaml", "autogluon", "lightgbm", "rf"]
VENV = {
    "atlas": REPO / ".venv",
    "flaml": BENCH / ".venv-flaml",
    "autogluon": BENCH / ".venv-autogluon",
    "lightgbm": REPO / ".venv",
    "rf": REPO / ".venv",
}
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
FIELDS = [
    "system",
    "dataset",
    "task",
    "fold",
    "budget",
    "metric",
    "score",
    "fit_seconds",
    "predict_seconds",
    "wall_seconds",
    "peak_mb",
    "status",
    "version",
    "commit",
    "error",
]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
KILL_FACTOR, KILL_SLACK = 3, 120  # a run is killed at KILL_FACTOR * budget + KILL_SLACK seconds
SAMPLE_S = 0.2  # memory sampling interval


# --- datasets -------------------------------------------------------------------------------


def load_manifest(data: Path) -> list[dict[str, Any]]:
    """MANIFEST.csv rows, smallest datasets first (so early results cover many datasets)."""
    with (data / "MANIFEST.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["size"] = int(r["n_rows"]) * max(int(r["n_features"]), 1)
    return sorted(rows, key=lambda r: r["size"])


# --- process tree: kill, cores -------------------------------------------------------------


def kill_tree(pid: int, pids: list[int] | None = None) -> None:
    """SIGKILL the process group led by ``pid`` and every listed descendant."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for p in pids or []:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)


def pick_cores(n: int) -> set[int]:
    allowed = sorted(os.sched_getaffinity(0))
    return set(allowed[:n])


# --- one run ----------------------------------------------------------------------------------


def python_for(system: str) -> Path:
    return VENV[system] / "bin" / "python"


def run_one(
    system: str, ds: dict[str, Any], fold: int, budget: int, data: Path, n_jobs: int, logs: Path
) -> dict[str, Any]:
    """Run one (system, dataset, fold) in a pinned, watched subprocess; returns the CSV row."""
    task = ds["task"]
    row: dict[str, Any] = dict.fromkeys(FIELDS, "")
    row.update(system=system, dataset=ds["name"], task=task, fold=fold, budget=budget)
    row["metric"] = METRIC[task]
    limit = KILL_FACTOR * budget + KILL_SLACK
    cores = pick_cores(n_jobs)
    env = dict(os.environ, **dict.fromkeys(THREAD_VARS, str(n_jobs)), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO)  # the runner is a module of the bench package, nothing else
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{system}__{ds['name']}__fold{fold}.log"
    with tempfile.TemporaryDirectory(prefix=f"peer-{system}-") as tmp:
        env["TMPDIR"] = tmp  # Ray's session folders and other scratch go away with the run
        out = Path(tmp) / "result.json"
        cmd = [
            str(python_for(system)),
            "-m",
            RUNNER,
            system,
            str(data / ds["file"]),
            task,
            str(fold),
            str(budget),
            str(out),
            "--n-jobs",
            str(n_jobs),
        ]
        timed_out = False
        with log_path.open("w") as log:
            start = time.monotonic()
            proc = subprocess.Popen(
                cmd,
                cwd=tmp,  # CatBoost & co. write into the working folder
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
                preexec_fn=lambda: os.sched_setaffinity(0, cores),
            )
            with PeakRSS(proc.pid, SAMPLE_S) as memory:
                try:
                    proc.wait(timeout=limit)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    kill_tree(proc.pid, tree_pids(proc.pid))
                    proc.wait()
            wall = time.monotonic() - start
        kill_tree(proc.pid)  # anything the runner left behind in its group
        result: dict[str, Any] = {}
        if out.exists():
            with contextlib.suppress(ValueError):
                result = json.loads(out.read_text())
    row.update(wall_seconds=round(wall, 2), peak_mb=round(memory.peak_bytes / MIB, 1))
    row["commit"] = short_commit()
    for key in ("score", "fit_seconds", "predict_seconds", "version"):
        if result.get(key) is not None:
            row[key] = result[key]
    if timed_out:
        row.update(status="timeout", error=f"killed after {wall:.0f} s (limit {limit} s)")
    elif proc.returncode == 0 and result.get("score") is not None:
        row["status"] = "ok"
    else:
        row["status"] = "error"
        row["error"] = result.get("error") or f"exit {proc.returncode}: {_last_line(log_path)}"
    row["error"] = " ".join(str(row["error"]).split())[:300]
    return row


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


# --- results CSV ------------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def append_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    fields = FIELDS
    if not new:
        with path.open(newline="") as fh:
            fields = next(csv.reader(fh), FIELDS)
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


def drop_failed(path: Path, keep: Any) -> int:
    """Remove the non-ok rows for which ``keep(row)`` is false; returns how many went."""
    rows = read_rows(path)
    kept = [r for r in rows if r["status"] == "ok" or keep(r)]
    if len(kept) != len(rows):
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(kept)
    return len(rows) - len(kept)


def report(csv_path: Path, systems: list[str], write: bool) -> dict[str, Any] | None:
    """Print the summary of one results CSV; after a run (``write``), also write it beside the
    CSV as JSON with this run's stamp."""
    rows = read_rows(csv_path)
    if not rows:
        print(f"no results in {csv_path}")
        return None
    summary = summarize(rows, systems)
    summary["csv"] = csv_path.name
    print(f"\n== {csv_path.name} ({len(rows)} runs) ==\n")
    print(to_text(summary))
    if write:
        write_json(csv_path.with_suffix(".json"), {"stamp": stamp(), **summary})
        print(f"summary JSON: {csv_path.with_suffix('.json')}")
    return summary


def write_markdown(path: Path, summaries: dict[int, dict[str, Any] | None]) -> None:
    parts = [
        f"### Budget {budget} s\n\n{to_markdown(summary)}"
        for budget, summary in summaries.items()
        if summary is not None
    ]
    path.write_text("\n".join(parts))
    print(f"markdown: {path}")


# --- CLI --------------------------------------------------------------------------------------


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, nargs="+", default=[60], help="seconds, e.g. 10 60")
    parser.add_argument("--datasets", type=_csv_list, help="comma list (default: all)")
    parser.add_argument("--systems", type=_csv_list, default=SYSTEMS, help="comma list")
    parser.add_argument("--folds", type=lambda t: [int(f) for f in _csv_list(t)], default=[0, 1, 2])
    parser.add_argument("--n-jobs", type=int, default=2, help="cores per run (default 2)")
    parser.add_argument("--data", type=Path, default=DATA)
    add_canonical_flag(parser)
    parser.add_argument("--report", action="store_true", help="print the summary, run nothing")
    parser.add_argument("--markdown", type=Path, help="also write the summary tables here")
    parser.add_argument("--retry-failed", action="store_true", help="rerun failed/timeout rows")
    parser.add_argument("--setup", action="store_true", help="run setup_peers.sh first")
    args = parser.parse_args(argv)

    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    if not (args.data / "MANIFEST.csv").exists():
        parser.error(f"no MANIFEST.csv in {args.data}")
    if any(f not in (0, 1, 2) for f in args.folds):
        parser.error("folds are 0, 1, 2")
    manifest = load_manifest(args.data)
    names = [r["name"] for r in manifest]
    if args.datasets:
        missing = sorted(set(args.datasets) - set(names))
        if missing:
            parser.error(f"unknown datasets {missing}; known: {', '.join(names)}")
        manifest = [r for r in manifest if r["name"] in args.datasets]
    results = output_dir(AREA, args.canonical)

    summaries: dict[int, dict[str, Any] | None] = {}
    if args.report:
        for budget in args.budget:
            summaries[budget] = report(results / f"peers_{budget}s.csv", SYSTEMS, write=False)
        if args.markdown:
            write_markdown(args.markdown, summaries)
        return 0

    if args.setup:
        peers = [s for s in args.systems if s in ("flaml", "autogluon")]
        if peers:
            subprocess.run(["bash", str(SETUP), *peers], check=True)
    systems = []
    for system in args.systems:
        if python_for(system).exists():
            systems.append(system)
        else:
            print(f"skipping {system}: {python_for(system)} missing; run: bash {SETUP}")

    for budget in args.budget:
        csv_path = results / f"peers_{budget}s.csv"
        logs = results / "logs" / f"{budget}s"
        if args.retry_failed and csv_path.exists():
            chosen = {r["name"] for r in manifest}

            def keep(r: dict[str, str], chosen: set[str] = chosen) -> bool:
                return not (
                    r["system"] in systems
                    and r["dataset"] in chosen
                    and int(r["fold"]) in args.folds
                )

            print(f"dropped {drop_failed(csv_path, keep)} failed rows to rerun")
        done = {(r["system"], r["dataset"], int(r["fold"])) for r in read_rows(csv_path)}
        todo = [
            (ds, fold, system)
            for ds in manifest
            for fold in args.folds
            for system in systems
            if (system, ds["name"], fold) not in done
        ]
        print(f"budget {budget} s: {len(todo)} runs to do -> {csv_path}")
        for i, (ds, fold, system) in enumerate(todo, 1):
            row = run_one(system, ds, fold, budget, args.data, args.n_jobs, logs)
            append_row(csv_path, row)
            print(
                f"[{i}/{len(todo)}] {system:9s} {ds['name']:27s} fold {fold} "
                f"{row['status']:7s} {row['metric']}={row['score']!s:.8} "
                f"fit {row['fit_seconds']!s:>7}s wall {row['wall_seconds']:>7}s "
                f"peak {row['peak_mb']:>7} MB {row['error'][:80]}",
                flush=True,
            )
        summaries[budget] = report(csv_path, SYSTEMS, write=True)
    if args.markdown:
        write_markdown(args.markdown, summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
