"""ATLAS's feature store against Feast: point-in-time matching and online lookups.

    bash bench/features/setup_feast.sh          # once: Feast in bench/.venv-feast
    .venv/bin/python -m bench.features.vs_feast --canonical   # the issue's scale
    .venv/bin/python -m bench.features.vs_feast --rows 200000 --events 50000 --entities 20000 \
        --online-entities 20000 --lookups 2000 --batch-lookups 100 --repeats 1
    .venv/bin/python -m bench.features.vs_feast --parts pit --systems atlas --atlas-memory-limit 1GB
    .venv/bin/python -m bench.features.vs_feast --parts online --feast-online-entities 100000
    .venv/bin/python -m bench.features.vs_feast --canonical --report --markdown /tmp/table.md

Data (fixed seed) is generated once per scale into ``bench/results/scratch/features-data/
<part>-<hash>/`` by bench.features.data and reused. Every (system, part, store) runs in its own
process (bench.features.atlas_runner in the project venv, bench.features.feast_runner in
Feast's venv) in a scratch folder; this process samples the summed RSS of the process tree
(bench.common.memory) every 0.1 s (0.5 s while online latency is timed) and takes the larger of
that and the runner's own ru_maxrss as the peak memory; it kills the run after ``--timeout``
seconds and deletes its Redis keys afterwards whatever happened. Results: ``<scale>.json`` and
``.csv`` in bench/results/features/ (``--canonical``) or bench/results/scratch/features/, the
JSON stamped (bench.common.stamp); the summary table is printed (``--markdown`` writes it).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow.parquet as pq

from bench.common.memory import MIB, PeakRSS
from bench.common.results import (
    BENCH,
    REPO,
    SCRATCH,
    add_canonical_flag,
    output_dir,
    write_json,
)
from bench.common.stamp import stamp
from bench.features.report import summarize, to_markdown

AREA = "features"
DATA_DIR = SCRATCH / "features-data"
PYTHON = {
    "atlas": REPO / ".venv" / "bin" / "python",
    "feast": BENCH / ".venv-feast" / "bin" / "python",
}
RUNNER = {"atlas": "bench.features.atlas_runner", "feast": "bench.features.feast_runner"}
SAMPLE_S = {"pit": 0.1, "online": 0.5}  # light polling while online latency is timed
DEFAULTS = {
    "rows": 5_000_000,
    "features": 50,
    "events": 1_000_000,
    "entities": 500_000,
    "online_entities": 1_000_000,
    "online_features": 200,
}
DATA_VERSION = 1  # bump when bench/features/data.py changes what it writes
CSV_FIELDS = ["system", "task", "store", "status", "version", "median_s", "peak_mb"]
CSV_FIELDS += ["rss_base_mb", "wall_s", "materialize_s", "one_p50_ms", "one_p99_ms"]
CSV_FIELDS += ["batch_p50_ms", "batch_p99_ms", "error"]


def short(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return str(n)


def scale_label(args: argparse.Namespace) -> str:
    return (
        f"r{short(args.rows)}x{args.features}-e{short(args.events)}-n{short(args.entities)}"
        f"-o{short(args.online_entities)}x{args.online_features}"
    )


def ensure_data(part: str, args: argparse.Namespace) -> dict[str, Any]:
    """Generate the part's data unless this exact scale and seed is already there."""
    if part == "pit":
        names = ("rows", "features", "events", "entities", "sample")
        params = [x for n in names for x in (f"--{n}", getattr(args, n))]
    else:
        params = ["--entities", args.online_entities, "--features", args.online_features]
    params += ["--seed", args.seed]
    digest = hashlib.sha1(json.dumps([part, params, DATA_VERSION]).encode()).hexdigest()[:10]
    folder = DATA_DIR / f"{part}-{digest}"
    if not (folder / "manifest.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {part} data into {folder} ...", flush=True)
        cmd = [str(PYTHON["atlas"]), "-m", "bench.features.data", part, str(folder)]
        subprocess.run(cmd + [str(p) for p in params], check=True, cwd=REPO)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["manifest_path"] = str(folder / "manifest.json")
    return manifest


def feast_subset(manifest: dict[str, Any], count: int, work: Path) -> str:
    """A manifest whose online view holds only the first ``count`` entities (for Feast)."""
    source = Path(manifest["view"]["path"])
    subset = source.with_name(f"online-first-{count}.parquet")
    if not subset.exists():
        table = pq.read_table(source).slice(0, count)
        pq.write_table(table, subset, row_group_size=1 << 18)
    copy = dict(manifest, view=dict(manifest["view"], path=str(subset)))
    path = work / "manifest-feast.json"
    path.write_text(json.dumps(copy))
    return str(path)


def run_task(
    system: str,
    task: str,
    store: str,
    extra: list[str],
    manifest: str,
    args: argparse.Namespace,
    logs: Path,
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"features-{system}-{task}-{store}-", dir=args.scratch))
    out = work / "result.json"
    cmd = [
        str(PYTHON[system]),
        "-m",
        RUNNER[system],
        task,
        manifest,
        str(work),
        str(out),
        "--repeats",
        str(args.repeats),
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(
        ATLAS_HOME=str(work / "atlas"),
        ATLAS_CONFIG=str(work / "none.toml"),
        FEAST_USAGE="False",
        TMPDIR=str(work),
        PYTHONPATH=str(REPO),  # the runners are modules of the bench package
    )
    log_path = logs / f"{system}-{task}-{store}.log"
    print(f"-- {system} {task} {store}", flush=True)
    start, status = time.perf_counter(), "ok"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        with PeakRSS(proc.pid, SAMPLE_S[task]) as memory:
            try:
                proc.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                status = "timeout"
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"system": system, "task": task, "store": store, "error": None}
    result["stamp"] = stamp()
    if out.exists():
        result.update(json.loads(out.read_text()))
    elif status == "ok":
        status = "error"
        code = proc.returncode
        why = f"killed by signal {-code}" if code < 0 else f"exit {code}"
        why += " (out of memory?)" if code == -signal.SIGKILL else ""
        result["error"] = f"{why}, no result (see {log_path})"
    if result.get("error") and status == "ok":
        status = "error"
    if result.get("sample_path") and Path(result["sample_path"]).exists():
        kept = logs / f"{system}-{task}-{store}.sample.json"
        shutil.copyfile(result["sample_path"], kept)
        result["sample_path"] = str(kept)
    result.update(
        status=status,
        wall_s=wall,
        work=str(work),
        log=str(log_path),
        peak_mb=max(memory.peak_bytes / MIB, result.get("max_rss_mb") or 0.0),
    )
    print(
        f"   {status} in {wall:.1f} s, peak {result['peak_mb']:.0f} MB"
        + (f": {result['error']}" if result.get("error") else ""),
        flush=True,
    )
    return result


def clear_redis(url: str, pattern: bytes) -> int:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=pattern, count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])
    return len(keys)


def write_keys(path: Path, count: int, args: argparse.Namespace) -> None:
    """Lookup keys, the same for every system: uniform over the first ``count`` entities."""
    rng = np.random.default_rng(args.seed + 2)
    warm, warm_b = (
        min(1000, max(10, args.lookups // 10)),
        min(100, max(2, args.batch_lookups // 10)),
    )
    np.savez(
        path,
        singles=rng.integers(0, count, warm + args.lookups),
        batches=rng.integers(0, count, (warm_b + args.batch_lookups, args.batch_size)),
        warmup=warm,
        warmup_batches=warm_b,
    )


def run_all(args: argparse.Namespace, logs: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    systems = [s for s in ("atlas", "feast") if s in args.systems]
    if "feast" in systems and not PYTHON["feast"].exists():
        sys.exit(f"Feast's venv is missing: run `bash {BENCH / AREA / 'setup_feast.sh'}` first.")
    if "pit" in args.parts:
        manifest = ensure_data("pit", args)
        meta.update(
            pit_input_bytes=manifest["input_bytes"],
            pit_parquet_bytes=manifest["parquet_bytes"],
            pit_desc=f"{sum(v['rows'] for v in manifest['views']):,} feature "
            f"rows x {sum(len(v['features']) for v in manifest['views'])} features in 2 views, "
            f"{manifest['events']['rows']:,} events; input {manifest['input_bytes'] / 2**20:,.0f}"
            f" MB in memory, {manifest['parquet_bytes'] / 2**20:,.0f} MB Parquet",
            pit_views={v["name"]: list(v["features"]) for v in manifest["views"]},
        )
        path = manifest["manifest_path"]
        if "atlas" in systems:
            extra = ["--memory-limit", args.atlas_memory_limit] if args.atlas_memory_limit else []
            results.append(run_task("atlas", "pit", "duckdb", extra, path, args, logs))
        for offline in args.feast_offline if "feast" in systems else []:
            extra = ["--offline", offline, "--project", f"bench_{uuid.uuid4().hex[:10]}"]
            results.append(run_task("feast", "pit", offline, extra, path, args, logs))
    if "online" in args.parts:
        manifest = ensure_data("online", args)
        cap = min(args.feast_online_entities or args.online_entities, args.online_entities)
        meta["online_desc"] = (
            f"{args.online_entities:,} entities x {args.online_features} features materialized"
            + (f" (Feast: the first {cap:,})" if cap < args.online_entities else "")
            + f"; {args.lookups:,} lookups of one entity, {args.batch_lookups:,} of "
            f"{args.batch_size}, all {args.online_features} features, keys uniform over "
            f"{cap:,} entities"
        )
        setup = {
            "lookups": args.lookups,
            "batches": args.batch_lookups,
            "seed": args.seed,
            "batch_size": args.batch_size,
            "keys_over": cap,
        }
        keys = Path(args.scratch or tempfile.gettempdir()) / f"features-keys-{uuid.uuid4().hex}.npz"
        write_keys(keys, cap, args)
        for store in args.online_stores:
            for system in systems:
                tag = uuid.uuid4().hex[:10]
                extra = ["--keys", str(keys)]
                path = manifest["manifest_path"]
                if system == "atlas":
                    prefix = f"atlasbench-{tag}:"
                    extra += ["--store", store, "--redis-url", args.redis_url, "--prefix", prefix]
                    pattern = prefix.encode() + b"*"
                else:
                    project = f"bench_{tag}"
                    extra += ["--online", store, "--project", project, "--redis", feast_redis(args)]
                    pattern = b"*" + project.encode()
                    if cap < args.online_entities:
                        path = feast_subset(manifest, cap, Path(keys).parent)
                result = run_task(system, "online", store, extra, path, args, logs)
                result["setup"] = setup
                results.append(result)
                if store == "redis":
                    left = clear_redis(args.redis_url, pattern)
                    if left:
                        print(f"   removed {left} Redis keys the runner left behind")
        keys.unlink(missing_ok=True)
    return results, meta


def feast_redis(args: argparse.Namespace) -> str:
    """``redis://h:p/db`` as Feast's ``host:port[,db=N]`` connection string."""
    rest = args.redis_url.split("://", 1)[1]
    hostport, _, db = rest.partition("/")
    return hostport + (f",db={int(db)}" if db and db != "0" else "")


def write_outputs(
    summary: dict[str, Any], results: list[dict[str, Any]], path: Path, stamps: dict[str, Any]
) -> None:
    """The JSON keeps the stamp, every run's raw result (``--report`` and later partial runs
    reuse them) and the summary; the CSV has one row per run."""
    meta = summary["meta"]
    write_json(path, {**stamps, "meta": meta, "summary": summary, "results": results})
    merged = {(r["system"], t, r["store"]): r for t in ("pit", "online") for r in summary[t]}
    with path.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for raw in results:
            writer.writerow({**raw, **merged.get((raw["system"], raw["task"], raw["store"]), {})})


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, value in DEFAULTS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    p.add_argument("--lookups", type=int, default=10_000, help="single-entity lookups")
    p.add_argument("--batch-lookups", type=int, default=1_000, help="batch lookups")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument(
        "--feast-online-entities",
        type=int,
        default=None,
        help="materialize only the first N entities into Feast's online stores "
        "(lookup keys then come from those N for every system)",
    )
    p.add_argument(
        "--atlas-memory-limit",
        help="DuckDBEngine(memory_limit=...) for ATLAS's matching, e.g. 1GB (default: DuckDB's)",
    )
    p.add_argument("--sample", type=int, default=1000, help="random events checked row by row")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--systems", default="atlas,feast")
    p.add_argument("--parts", default="pit,online")
    p.add_argument("--feast-offline", default="file,duckdb")
    p.add_argument("--online-stores", default="sqlite,redis")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--timeout", type=float, default=7200, help="seconds per run")
    p.add_argument("--scratch", default=None, help="folder for the runs' scratch folders")
    p.add_argument("--keep", action="store_true", help="keep the scratch folders")
    p.add_argument("--markdown", type=Path, help="write the summary table here")
    add_canonical_flag(p)
    p.add_argument(
        "--report", action="store_true", help="run nothing: print this scale's summary again"
    )
    args = p.parse_args(argv)
    for name in ("systems", "parts", "feast_offline", "online_stores"):
        setattr(args, name, [s for s in getattr(args, name).split(",") if s])
    return args


def run_and_record(
    args: argparse.Namespace, label: str, path: Path, old: dict[str, Any]
) -> dict[str, Any]:
    """Run the chosen parts, merge them into the scale's earlier rows, write JSON and CSV."""
    logs = path.parent / "logs" / label
    logs.mkdir(parents=True, exist_ok=True)
    new, new_meta = run_all(args, logs)
    if not args.keep:
        for r in new:
            shutil.rmtree(r["work"], ignore_errors=True)
    done = {(r["system"], r["task"], r["store"]) for r in new}
    results = [r for r in old["results"] if (r["system"], r["task"], r["store"]) not in done]
    results += new
    meta = {**old["meta"], **new_meta, "scale": label, "seed": args.seed}
    meta["when"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta["machine"] = f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    stamps = {"stamp": stamp()}  # the latest run's; each result row has its own
    # the raw results first: a report that fails must not lose the runs
    write_json(path, {**stamps, "meta": meta, "results": results})
    summary = summarize(results, meta)
    write_outputs(summary, results, path, stamps)
    print(f"results: {path} and {path.with_suffix('.csv')}")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    label = scale_label(args)
    path = output_dir(AREA, args.canonical) / f"{label}.json"
    old = json.loads(path.read_text()) if path.exists() else {"results": [], "meta": {}}
    if args.report:  # the summary as the runs computed it (their compared samples may be gone)
        summary = old.get("summary") or summarize(old["results"], old["meta"])
    else:
        summary = run_and_record(args, label, path, old)
    text = to_markdown(summary)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
