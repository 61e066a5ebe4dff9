"""ATLAS's inference server against `mlflow models serve` and MLServer on the same LightGBM model.

Train ATLAS on ../shared/data/tabular/default_credit_card_taiwan.csv (LightGBM only,
``--train-budget`` s; ``--model single``, the default: one booster; ``--model ensemble``: the
AutoML's default weighted ensemble of cross-validation boosters), register it twice (v1, v2),
export the package as an MLflow pyfunc (bench.serving.mlflow_pyfunc, venv by
bench/serving/setup_mlflow.sh) and check both give the same probabilities; with ``--model single``
also serve the package's booster text file with MLServer (bench.serving.mlserver_peer, venv by
bench/serving/setup_mlserver.sh; its settings are documented there) and check its
probabilities against ATLAS's on 200 held-out rows (to 1e-6) over HTTP. Servers on
``--server-core``, wrk on ``--load-core`` (1 thread, keep-alive, single-row JSON); per
``--concurrency`` level, interleaved (repeat, level, system): req/s, p50, p99, errors, server
CPU per request of

- atlas            ``atlas serve --no-feedback``, POST /v1/models/{name}:predict
- atlas-v2         the same server, POST /v2/models/{name}/infer (Open Inference Protocol)
- atlas+feedback   ``atlas serve`` (prediction log and live monitor on), /v1 predict
- mlflow           ``mlflow models serve --env-manager local -w 1``, POST /invocations
- mlserver         ``mlserver start <folder>`` (mlserver_lightgbm.LightGBMModel, parallel_workers
                   1, its default), POST /v2/models/{name}/infer, one FP32 tensor [1, 23]
                   (single booster only: its LightGBM runtime serves one booster file)

plus the floor (in-process ``LoadedModel.predict_proba``, one row), ATLAS's p99 at half its
peak (Poisson think times), failures while v2/v1 are promoted under load, and cold starts
(fresh process, empty package cache). Results: <tag>.json and .csv in bench/results/serving/
(``--canonical``) or bench/results/scratch/serving/, stamped (bench.common.stamp).

    .venv/bin/python -m bench.serving.vs_mlflow --duration 3 --concurrency 1,8 --repeats 1
    .venv/bin/python -m bench.serving.vs_mlflow --canonical --tag full-single  # 4 levels x 10 s x 3
    .venv/bin/python -m bench.serving.vs_mlflow --canonical --model ensemble --tag full
    .venv/bin/python -m bench.serving.vs_mlflow --report bench/results/serving/full.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common.results import BENCH, REPO, add_canonical_flag, output_dir, write_json
from bench.common.stamp import stamp
from bench.serving import mlserver_peer as mp
from bench.serving import model as sm
from bench.serving.load import Server, free_port, http, metric_sum, wrk
from bench.serving.report import csv_rows, to_markdown, to_text

AREA = "serving"
MLFLOW_VENV = BENCH / ".venv-mlflow"
TOKEN = "bench-serving-token"
V1 = f"/v1/models/{sm.MODEL}:predict"
V2 = f"/v2/models/{sm.MODEL}/infer"
INVOCATIONS = "/invocations"


def atlas_server(home: Path, feedback: bool, logs: Path) -> Server:
    port = free_port()
    env = {**os.environ, "ATLAS_HOME": str(home), "ATLAS_ADMIN_TOKEN": TOKEN}
    env.pop("ATLAS_CONFIG", None)
    cmd = [str(REPO / ".venv/bin/atlas"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd.append("--feedback" if feedback else "--no-feedback")
    name = "atlas+feedback" if feedback else "atlas"
    return Server(name, cmd, env, port, logs / f"{name}.log", home)


def mlflow_server(model_dir: Path, logs: Path) -> Server:
    port = free_port()
    bin_dir = MLFLOW_VENV / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    cmd = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager"]
    cmd += ["local", "-w", "1", "--host", "127.0.0.1", "-p", str(port)]
    return Server("mlflow", cmd, env, port, logs / "mlflow.log", model_dir.parent)


def bodies(record: dict[str, Any]) -> dict[str, Any]:
    v2 = [
        {
            "name": k,
            "shape": [1],
            "datatype": "INT64" if isinstance(v, int) else "FP64",
            "data": [v],
        }
        for k, v in record.items()
    ]
    return {
        V1: {"records": [record]},
        V2: {"inputs": v2},
        INVOCATIONS: {"dataframe_records": [record]},
    }


_STACK = """
import importlib.metadata as m, json
out = {}
for name in ("atlas-ml", "mlflow-skinny", "mlflow", "mlserver", "mlserver-lightgbm", "lightgbm",
             "pandas", "numpy", "fastapi", "uvicorn", "httptools", "uvloop"):
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def stack_info(python: Path) -> dict[str, str]:
    """Package versions of a venv; httptools and uvloop decide uvicorn's HTTP stack."""
    done = subprocess.run([str(python), "-c", _STACK], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-500:]}


def export_mlflow(home: Path, info: dict[str, Any], work: Path) -> dict[str, Any]:
    """The ATLAS package as an MLflow pyfunc; its predictions are checked against ATLAS's."""
    rows = info["records"][:200]
    check = work / "check.json"
    check.write_text(json.dumps({"records": rows, "proba": sm.expected(home, rows)}))
    cmd = [str(MLFLOW_VENV / "bin/python"), "-m", "bench.serving.mlflow_pyfunc", "save"]
    cmd += [str(sm.package_folder(home)), str(work / "mlflow-model"), "--check", str(check)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"MLflow export failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[0])
    for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "cpu_ms_per_request"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in ("requests", "errors", "non2xx", "socket_errors"):
        out[key] = sum(r[key] for r in runs)
    out["runs"] = [{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "errors")} for r in runs]
    return out


def sweep(targets: dict[str, tuple[Server, str, Any]], args: Any) -> list[dict[str, Any]]:
    """Every level of every system, interleaved (repeat, level, system), so that noise from
    the rest of the machine falls on all systems alike; idle servers use no CPU."""
    for server, path, body in targets.values():  # warm up
        wrk(server.url + path, body, max(args.levels), min(2.0, args.duration), args.load_core)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for _ in range(args.repeats):
        for c in args.levels:
            for system, (server, path, body) in targets.items():
                cpu = server.cpu_seconds()
                run = wrk(server.url + path, body, c, args.duration, args.load_core)
                run["cpu_ms_per_request"] = (
                    1000 * (server.cpu_seconds() - cpu) / max(run["requests"], 1)
                )
                runs.setdefault((system, c), []).append(run)
    rows = []
    for (system, c), done in runs.items():
        row = {"system": system, "endpoint": targets[system][1], "concurrency": c}
        rows.append({**row, **median_run(done)})
        print(
            f"  {system:<15} c={c:<3} {rows[-1]['rps']:8.0f} req/s  p50 "
            f"{rows[-1]['p50_ms']:6.2f} ms  p99 {rows[-1]['p99_ms']:6.2f} ms  errors "
            f"{rows[-1]['errors']}  server CPU {rows[-1]['cpu_ms_per_request']:.2f} ms/req",
            flush=True,
        )
    order = list(targets)
    return sorted(rows, key=lambda r: (order.index(r["system"]), r["concurrency"]))


def half_peak(server: Server, body: Any, rate: float, args: Any) -> dict[str, Any]:
    """ATLAS offered ``rate`` req/s: 64 connections, each waiting an exponential think time
    (mean 64 / rate) before its next request, so together they approach a Poisson stream and the
    answers' own latency barely lowers the offered rate. ``repeats`` runs; medians (one run's
    p99 swings by +-40% on this shared machine)."""
    runs = [
        wrk(server.url + V1, body, 64, args.duration, args.load_core, rate=rate)
        for _ in range(args.repeats)
    ]
    out = dict(runs[0])
    for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in ("requests", "errors", "non2xx", "socket_errors"):
        out[key] = sum(r[key] for r in runs)
    out["runs"] = [{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "errors")} for r in runs]
    return {"target_rps": rate, **out}


def hot_swap(server: Server, body: Any, args: Any) -> dict[str, Any]:
    """Promote v2, v1, v2, ... through the admin API while wrk loads /v1 predict."""
    seconds = max(args.duration, args.swaps * 0.5 + 2)
    result: dict[str, Any] = {}

    def load() -> None:
        result.update(
            wrk(server.url + V1, body, args.swap_concurrency, seconds, args.load_core, swap=True)
        )

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1.0)
    gap = (seconds - 2.0) / args.swaps
    auth = {"Authorization": f"Bearer {TOKEN}"}
    promote_ms, promote_errors = [], 0
    for i in range(args.swaps):
        version = 2 if i % 2 == 0 else 1
        url = f"{server.url}/v1/admin/models/{sm.MODEL}/promote"
        status, _, ms = http("POST", url, {"version": version}, auth)
        promote_ms.append(ms)
        promote_errors += status != 200
        time.sleep(gap)
    thread.join()
    http("POST", f"{server.url}/v1/admin/models/{sm.MODEL}/promote", {"version": 1}, auth)
    failed = result["errors"] + sum(n for s, n in result["statuses"].items() if s != "200")
    return {
        "connections": args.swap_concurrency,
        "seconds": result["seconds"],
        "swaps": args.swaps,
        "requests": result["requests"],
        "failed": failed,
        "socket_errors": result["socket_errors"],
        "statuses": result["statuses"],
        "versions": result["versions"],
        "p99_ms": result["p99_ms"],
        "max_ms": result["max_ms"],
        "promote_errors": promote_errors,
        "promote_p50_ms": statistics.median(promote_ms),
        "promote_max_ms": max(promote_ms),
    }


def _peer_cold_start(srv: Server, health: str, path: str, body: Any, args: Any) -> dict:
    with srv:
        ready = srv.start(args.server_core, health)
        status, _, first = http("POST", srv.url + path, body)
        _, _, second = http("POST", srv.url + path, body)
    return {
        "ready_ms": 1000 * ready,
        "first_request_ms": first,
        "second_request_ms": second,
        "first_status": status,
    }


def cold_starts(home: Path, peers: dict[str, Any], body: dict[str, Any], args: Any) -> dict:
    """Fresh processes, empty package cache; medians over ``args.cold_starts`` starts. ``peers``:
    name -> (server factory, health path, request path, request body)."""
    logs = args.logs
    trials: dict[str, list[dict[str, float]]] = {"atlas": [], **{name: [] for name in peers}}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(args.cold_starts):
        shutil.rmtree(home / "cache" / "models", ignore_errors=True)
        with atlas_server(home, False, logs) as srv:
            ready = srv.start(args.server_core, "/v2/health/live")
            status, _, first = http("POST", srv.url + V1, body[V1])
            _, _, second = http("POST", srv.url + V1, body[V1])
            _, text, _ = http("GET", srv.url + "/metrics")
            load_s = metric_sum(text, "atlas_model_load_seconds_sum")
            # v2 loads in a process that has already imported LightGBM: the package alone
            http("POST", f"{srv.url}/v1/admin/models/{sm.MODEL}/deploy", {"version": "2"}, auth)
            _, admin, _ = http("GET", srv.url + "/v1/admin/models", headers=auth)
            loads = {e["version"]: e["cold_start_ms"] for e in admin["loaded"]}
            trials["atlas"].append(
                {
                    "ready_ms": 1000 * ready,
                    "first_request_ms": first,
                    "second_request_ms": second,
                    "model_load_ms": loads[1],
                    "metrics_load_ms": 1000 * load_s if load_s is not None else float("nan"),
                    "second_model_load_ms": loads.get(2, float("nan")),
                    "first_status": status,
                }
            )
        for name, (make, health, path, peer_body) in peers.items():
            trials[name].append(_peer_cold_start(make(), health, path, peer_body, args))
    return {
        name: {k: statistics.median(t[k] for t in runs) for k in runs[0]}
        for name, runs in trials.items()
    }


PEERS = ("mlflow", "mlserver")


def _ratio(value: float, base: dict[str, Any] | None, key: str) -> float | None:
    return value / base[key] if base is not None and base[key] else None


def ratios(levels: list[dict[str, Any]]) -> None:
    """Per ATLAS row: throughput / MLflow's and / MLServer's at the same level (x_mlflow,
    x_mlserver), and p99 / MLServer's (p99_x_mlserver: below 1 is a lower p99)."""
    by = {(r["system"], r["concurrency"]): r for r in levels}
    for r in levels:
        ours = r["system"] not in PEERS
        mlflow, mlserver = (by.get((peer, r["concurrency"])) for peer in PEERS)
        r["x_mlflow"] = _ratio(r["rps"], mlflow, "rps") if ours else None
        r["x_mlserver"] = _ratio(r["rps"], mlserver, "rps") if ours else None
        r["p99_x_mlserver"] = _ratio(r["p99_ms"], mlserver, "p99_ms") if ours else None


def start_mlserver(
    home: Path, info: dict[str, Any], work: Path, args: Any
) -> tuple[Server, Any, Any]:
    """MLServer on the package's booster file, checked against ATLAS; (server, factory, body)."""
    if not (mp.VENV / ".bench-stamp").is_file():
        subprocess.run(["bash", str(BENCH / AREA / "setup_mlserver.sh")], check=True)
    package = sm.package_folder(home)
    names = mp.columns(package)
    folder, port = mp.write_repository(package, sm.MODEL, work)

    def make() -> Server:
        return mp.server(folder, port, args.logs)

    srv = make()
    srv.start(args.server_core, mp.ready_path(sm.MODEL))
    rows = info["records"][: mp.CHECK_ROWS]
    args.mlserver_check = mp.check(srv, sm.MODEL, names, rows, sm.expected(home, rows))
    return srv, make, mp.body(rows[:1], names)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not (MLFLOW_VENV / ".bench-stamp").is_file():
        subprocess.run(["bash", str(BENCH / AREA / "setup_mlflow.sh")], check=True)
    if args.model != "single" and "mlserver" in args.systems:
        print("mlserver left out: its LightGBM runtime serves one booster (--model single)")
        args.systems.remove("mlserver")
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    home = args.home or work / "atlas-home"
    args.logs = output_dir(AREA, args.canonical) / "logs"
    shutil.rmtree(args.logs, ignore_errors=True)
    args.logs.mkdir(parents=True)
    print(f"training (budget {args.train_budget} s) in {home}", flush=True)
    info = sm.prepare(home, args.train_budget, args.n_jobs, kind=args.model)
    record = info["records"][0]
    body = bodies(record)
    print("floor: in-process predict_proba", flush=True)
    floor = sm.floor(home, info["records"], args.floor_calls, args.server_core)
    print("exporting the MLflow pyfunc", flush=True)
    export = export_mlflow(home, info, work)
    model_dir = Path(export["path"])
    levels: list[dict[str, Any]] = []
    res: dict[str, Any] = {"model": {k: v for k, v in info.items() if k != "records"}}
    res.update(floor=floor, mlflow_export=export)
    res["stack"] = {
        "atlas": stack_info(REPO / ".venv/bin/python"),
        "mlflow": stack_info(MLFLOW_VENV / "bin/python"),
    }

    atlas = atlas_server(home, False, args.logs)
    mlf = mlflow_server(model_dir, args.logs)
    fb = atlas_server(home, True, args.logs)
    servers = [atlas, mlf, fb]
    peers: dict[str, Any] = {
        "mlflow": (
            lambda: mlflow_server(model_dir, args.logs),
            "/ping",
            INVOCATIONS,
            body[INVOCATIONS],
        )
    }
    try:
        atlas.start(args.server_core, "/v2/health/live")
        mlf.start(args.server_core, "/ping")
        if "atlas+feedback" in args.systems:
            fb.start(args.server_core, "/v2/health/live")
        s1, a, _ = http("POST", atlas.url + V1, body[V1])
        s2, m, _ = http("POST", mlf.url + INVOCATIONS, body[INVOCATIONS])
        s3, _, _ = http("POST", atlas.url + V2, body[V2])
        assert (s1, s2, s3) == (200, 200, 200), (s1, a, s2, m, s3)
        pa = a["predictions"][0]["probabilities"]
        pm = m["predictions"][0]
        diff = max(abs(pa[str(c)] - pm[f"p_{c}"]) for c in pa)
        res["http_check_max_abs_diff"] = diff
        assert diff < 1e-9, (a, m)
        targets = {
            "mlflow": (mlf, INVOCATIONS, body[INVOCATIONS]),
            "atlas": (atlas, V1, body[V1]),
            "atlas-v2": (atlas, V2, body[V2]),
            "atlas+feedback": (fb, V1, body[V1]),
        }
        if "mlserver" in args.systems:
            print("starting MLServer and checking it against ATLAS", flush=True)
            mls, make_mls, mls_body = start_mlserver(home, info, work, args)
            servers.append(mls)
            targets = {"mlserver": (mls, mp.infer_path(sm.MODEL), mls_body), **targets}
            peers["mlserver"] = (
                make_mls,
                mp.ready_path(sm.MODEL),
                targets["mlserver"][1],
                mls_body,
            )
            res["mlserver_check"] = {"rows": mp.CHECK_ROWS, "max_abs_diff": args.mlserver_check}
            res["mlserver_settings"] = mp.settings_summary()
            res["stack"]["mlserver"] = stack_info(mp.VENV / "bin/python")
        levels += sweep({k: v for k, v in targets.items() if k in args.systems}, args)
        for server in servers[1:]:
            server.stop()
        if "atlas" in args.systems:
            peak = max(r["rps"] for r in levels if r["system"] == "atlas")
            res["half_peak"] = half = half_peak(atlas, body[V1], peak / 2, args)
            print(f"  half peak: {half['rps']:.0f} req/s, p99 {half['p99_ms']:.2f} ms", flush=True)
        if args.swaps:
            res["swap"] = hot_swap(atlas, body[V1], args)
            print(f"  hot swap: {res['swap']}", flush=True)
    finally:
        for server in servers:
            server.stop()
    ratios(levels)
    res["levels"] = levels
    c1 = next((r for r in levels if r["system"] == "atlas" and r["concurrency"] == 1), None)
    if c1 is not None:
        res["overhead_p50_ms"] = c1["p50_ms"] - floor["predict_proba_p50_ms"]
    if args.cold_starts:
        print("cold starts", flush=True)
        res["cold_start"] = cold_starts(home, peers, body, args)
    shutil.rmtree(work, ignore_errors=True)  # the exported model (and the home if temporary)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", default="1,4,16,64", help="Comma-separated levels.")
    p.add_argument("--duration", type=float, default=10.0, help="Seconds per level.")
    p.add_argument("--repeats", type=int, default=3, help="Runs per level (median).")
    p.add_argument("--systems", default="mlflow,mlserver,atlas,atlas-v2,atlas+feedback")
    p.add_argument("--train-budget", type=float, default=20.0)
    p.add_argument(
        "--model",
        choices=sorted(sm.KINDS),
        default="single",
        help="One LightGBM booster, or AutoML's default output (an ensemble of CV boosters).",
    )
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--home", type=Path, help="ATLAS_HOME to reuse (trains once into it).")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--load-core", type=int, default=1)
    p.add_argument("--swap-concurrency", type=int, default=16)
    p.add_argument("--swaps", type=int, default=6, help="Promotions under load (0: skip).")
    p.add_argument("--cold-starts", type=int, default=3, help="Fresh starts (0: skip).")
    p.add_argument("--floor-calls", type=int, default=5000)
    p.add_argument("--tag", default=None, help="Result file name: <tag>.json.")
    add_canonical_flag(p)
    p.add_argument("--report", type=Path, help="Only print/emit tables from this JSON.")
    p.add_argument("--markdown", type=Path, help="Also write the docs table here.")
    args = p.parse_args()
    args.levels = [int(c) for c in args.concurrency.split(",")]
    args.systems = args.systems.split(",")
    if args.report:
        res = json.loads(args.report.read_text())
    else:
        res = {"stamp": stamp(), **run(args)}
        res["meta"] = {
            "duration_s": args.duration,
            "repeats": args.repeats,
            "server_core": args.server_core,
            "load_core": args.load_core,
        }
        tag = args.tag or f"c{args.concurrency.replace(',', '-')}-d{args.duration:g}"
        out = output_dir(AREA, args.canonical) / f"{tag}.json"
        write_json(out, res)
        with out.with_suffix(".csv").open("w", newline="") as f:
            rows = csv_rows(res)
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {out}")
    print(to_text(res))
    if args.markdown:
        args.markdown.write_text(to_markdown(res))
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
