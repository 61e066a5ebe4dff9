"""``atlas serve --workers N``: req/s and p50/p99 at half peak, for each N, on the AutoML's
default ensemble (bench.serving.model, ``kind="ensemble"``) served with ``--no-feedback``.

Per repeat, interleaved over the worker counts (servers started once, idle ones use no CPU):
the peak (wrk closed loop, ``--connections``), then a Poisson load (64 connections with
exponential think times, as bench.serving.vs_mlflow's half peak) at half the 1-worker peak
of that repeat (the same offered rate for every N: the load of the issue's p99 target), and at
half each N's own peak. Medians over repeats; the requests each worker answered
(``atlas_worker_requests``) show how the kernel shared the connections. Servers are not
pinned (N workers need N cores); wrk runs on ``--load-core``. Results: workers.json and .csv in
bench/results/serving/ (``--canonical``) or bench/results/scratch/serving/, stamped.

    .venv/bin/python -m bench.serving.workers --duration 3 --repeats 1
    .venv/bin/python -m bench.serving.workers --canonical
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.common.results import REPO, add_canonical_flag, output_dir, write_json
from bench.common.stamp import stamp
from bench.serving import model as sm
from bench.serving.load import Server, free_port, http, wrk

AREA = "serving"
V1 = f"/v1/models/{sm.MODEL}:predict"
POISSON_CONNECTIONS = 64
HALF = 0.5
KEYS = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")


def server(home: Path, workers: int, logs: Path) -> Server:
    port = free_port()
    env = {**os.environ, "ATLAS_HOME": str(home)}
    env.pop("ATLAS_CONFIG", None)
    cmd = [str(REPO / ".venv/bin/atlas"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-feedback", "--workers", str(workers)]
    name = f"workers-{workers}"
    return Server(name, cmd, env, port, logs / f"{name}.log", home)


def worker_shares(srv: Server) -> list[float]:
    """Requests answered by each live worker (``atlas_worker_requests``), largest first."""
    _, text, _ = http("GET", srv.url + "/metrics")
    counts = [
        float(line.rsplit(" ", 1)[1])
        for line in str(text).splitlines()
        if line.startswith("atlas_worker_requests{")
    ]
    return sorted(counts, reverse=True)


def one_repeat(servers: dict[int, Server], body: Any, args: Any) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for n, srv in servers.items():
        out[n] = {"peak": wrk(srv.url + V1, body, args.connections, args.duration, args.load_core)}
    base = out[min(servers)]["peak"]["rps"] * HALF
    for n, srv in servers.items():
        for key, rate in (("half_1w_peak", base), ("half_own_peak", out[n]["peak"]["rps"] * HALF)):
            run = wrk(
                srv.url + V1, body, POISSON_CONNECTIONS, args.duration, args.load_core, rate=rate
            )
            out[n][key] = {"target_rps": rate, **run}
    return out


def summarize(runs: list[dict[int, dict[str, Any]]], n: int) -> dict[str, Any]:
    row: dict[str, Any] = {"workers": n}
    for part in ("peak", "half_1w_peak", "half_own_peak"):
        done = [r[n][part] for r in runs]
        row[part] = {k: statistics.median(d[k] for d in done) for k in KEYS}
        row[part]["errors"] = sum(d["errors"] for d in done)
        row[part]["runs"] = [{k: d[k] for k in ("rps", "p50_ms", "p99_ms")} for d in done]
        if part != "peak":
            row[part]["target_rps"] = statistics.median(d["target_rps"] for d in done)
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    home = args.home or work / "atlas-home"
    logs = output_dir(AREA, args.canonical) / "logs-workers"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    info = sm.prepare(home, args.train_budget, args.n_jobs, kind="ensemble")
    body = {"records": [info["records"][0]]}
    servers = {n: server(home, n, logs) for n in args.workers}
    try:
        for srv in servers.values():
            srv.start(None, "/v2/health/live", timeout=args.start_timeout)
            wrk(srv.url + V1, body, args.connections, min(2.0, args.duration), args.load_core)
        runs = [one_repeat(servers, body, args) for _ in range(args.repeats)]
        shares = {n: worker_shares(srv) for n, srv in servers.items()}
    finally:
        for srv in servers.values():
            srv.stop()
    shutil.rmtree(work, ignore_errors=True)
    rows = [{**summarize(runs, n), "worker_requests": shares[n]} for n in args.workers]
    one = rows[0]
    for row in rows:
        row["x_peak_vs_1w"] = row["peak"]["rps"] / one["peak"]["rps"]
        row["x_p99_half_vs_1w"] = row["half_1w_peak"]["p99_ms"] / one["half_1w_peak"]["p99_ms"]
    model = {k: v for k, v in info.items() if k != "records"}
    return {"model": model, "rows": rows}


def csv_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in res["rows"]:
        flat: dict[str, Any] = {"workers": row["workers"]}
        for part in ("peak", "half_1w_peak", "half_own_peak"):
            for key in ("rps", "p50_ms", "p99_ms", "errors"):
                flat[f"{part}_{key}"] = round(row[part][key], 3)
        flat["x_peak_vs_1w"] = round(row["x_peak_vs_1w"], 3)
        flat["x_p99_half_vs_1w"] = round(row["x_p99_half_vs_1w"], 3)
        out.append(flat)
    return out


def show(res: dict[str, Any]) -> str:
    lines = [f"machine: {res['stamp']['machine']}"]
    for r in res["rows"]:
        h, o = r["half_1w_peak"], r["half_own_peak"]
        lines.append(
            f"workers={r['workers']}: peak {r['peak']['rps']:.0f} req/s "
            f"(x{r['x_peak_vs_1w']:.2f}); at {h['target_rps']:.0f} req/s p50 {h['p50_ms']:.2f} "
            f"p99 {h['p99_ms']:.2f} ms; at half own peak ({o['target_rps']:.0f} req/s) p50 "
            f"{o['p50_ms']:.2f} p99 {o['p99_ms']:.2f} ms; per worker {r['worker_requests']}"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="1,2", help="Comma-separated worker counts.")
    p.add_argument("--duration", type=float, default=8.0, help="Seconds per run.")
    p.add_argument("--repeats", type=int, default=3, help="Interleaved repeats (median).")
    p.add_argument("--connections", type=int, default=64, help="Peak: closed-loop connections.")
    p.add_argument("--train-budget", type=float, default=20.0)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--home", type=Path, help="ATLAS_HOME to reuse (trains once into it).")
    p.add_argument("--load-core", type=int, default=1)
    p.add_argument("--start-timeout", type=float, default=300.0)
    add_canonical_flag(p)
    args = p.parse_args()
    args.workers = sorted(int(n) for n in args.workers.split(","))
    res = {"stamp": stamp(), **run(args)}
    res["meta"] = {
        "duration_s": args.duration,
        "repeats": args.repeats,
        "connections": args.connections,
        "poisson_connections": POISSON_CONNECTIONS,
        "load_core": args.load_core,
        "servers_pinned": False,
    }
    out = output_dir(AREA, args.canonical) / "workers.json"
    write_json(out, res)
    with out.with_suffix(".csv").open("w", newline="") as f:
        rows = csv_rows(res)
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(show(res))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
