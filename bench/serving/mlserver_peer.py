"""The MLServer side of bench.serving.vs_mlflow: its model folder, its server and its requests.

MLServer (Seldon's Python inference server, the one KServe runs for its LightGBM runtime),
from bench/.venv-mlserver (bench/serving/setup_mlserver.sh), started as its users start it:
``mlserver start <folder>``. The folder holds

- ``settings.json`` (server-wide): ``parallel_workers`` 1, MLServer's documented default (the
  inference runs in one worker process beside the HTTP process, both pinned to the server
  core); ``debug`` false, which turns uvicorn's per-request access log off as ATLAS's server
  has it (MLServer's default, true, logs every request); free ports for HTTP, gRPC and
  metrics on 127.0.0.1; everything else MLServer's defaults (Prometheus metrics on, gzip
  middleware on, no adaptive batching).
- ``<model>/model-settings.json``: ``implementation`` ``mlserver_lightgbm.LightGBMModel``,
  ``parameters.uri`` the absolute path of THE booster text file inside the ATLAS package (the
  very file ATLAS serves; nothing is copied or converted).

Requests are V2 (Open Inference Protocol) JSON, POST /v2/models/<name>/infer: one FP32 tensor
of shape [rows, features], the features in the package's input order (every column of the
credit data is an integer below 2**24, exact in FP32). MLServer's LightGBM runtime answers
``Booster.predict``: the probability of the positive class, checked against ATLAS's to
``CHECK_TOLERANCE`` on ``CHECK_ROWS`` held-out rows before anything is measured.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.common.results import BENCH
from bench.serving.load import Server, free_port, http

VENV = BENCH / ".venv-mlserver"
IMPLEMENTATION = "mlserver_lightgbm.LightGBMModel"
PARALLEL_WORKERS = 1  # MLServer's default (mlserver.settings.DEFAULT_PARALLEL_WORKERS)
INPUT = "input-0"
DATATYPE = "FP32"
FP32_EXACT = 2**24  # integers up to this are exact in FP32
CHECK_ROWS = 200
CHECK_TOLERANCE = 1e-6


def infer_path(model: str) -> str:
    return f"/v2/models/{model}/infer"


def ready_path(model: str) -> str:
    return f"/v2/models/{model}/ready"


def booster_file(package: Path) -> Path:
    """The one LightGBM text file of a single-booster ATLAS package."""
    manifest = json.loads((package / "model.json").read_text())
    learners = manifest["learners"]
    if len(learners) != 1 or learners[0]["flavor"] != "lightgbm":
        raise SystemExit("MLServer's LightGBM runtime serves one booster: use --model single.")
    return package / learners[0]["path"]


def columns(package: Path) -> list[str]:
    manifest = json.loads((package / "model.json").read_text())
    kinds = {c["kind"] for c in manifest["inputs"]}
    if not kinds <= {"integer", "numeric", "boolean"}:
        raise SystemExit(f"MLServer gets one FP32 tensor: the inputs must be numbers ({kinds}).")
    return [c["name"] for c in manifest["inputs"]]


def write_repository(package: Path, model: str, work: Path) -> tuple[Path, int]:
    """MLServer's folder for ``model`` (settings.json and model-settings.json); its HTTP port."""
    folder = work / "mlserver-models"
    (folder / model).mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": PARALLEL_WORKERS,
        "debug": False,
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=1))
    model_settings = {
        "name": model,
        "implementation": IMPLEMENTATION,
        "parameters": {"uri": str(booster_file(package).resolve())},
    }
    (folder / model / "model-settings.json").write_text(json.dumps(model_settings, indent=1))
    return folder, port


def server(folder: Path, port: int, logs: Path) -> Server:
    bin_dir = VENV / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    cmd = [str(bin_dir / "mlserver"), "start", str(folder)]
    return Server("mlserver", cmd, env, port, logs / "mlserver.log", folder)


def body(records: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """One V2 request: the rows as one FP32 tensor [rows, features]."""
    data = [float(r[n]) for r in records for n in names]
    if any(abs(v) >= FP32_EXACT or v != int(v) for v in data):
        raise SystemExit("A feature is not exact in FP32: the check against ATLAS would drift.")
    shape = [len(records), len(names)]
    return {"inputs": [{"name": INPUT, "shape": shape, "datatype": DATATYPE, "data": data}]}


def positive_proba(answer: dict[str, Any]) -> list[float]:
    return [float(v) for v in answer["outputs"][0]["data"]]


def check(
    srv: Server, model: str, names: list[str], records: list[dict[str, Any]], proba: Any
) -> float:
    """Largest |MLServer - ATLAS| over ``records`` (one request of all rows, then one row)."""
    status, answer, _ = http("POST", srv.url + infer_path(model), body(records, names))
    assert status == 200, (status, answer)
    got = positive_proba(answer)
    diff = max(abs(g - p[1]) for g, p in zip(got, proba, strict=True))
    status, one, _ = http("POST", srv.url + infer_path(model), body(records[:1], names))
    assert status == 200, (status, one)
    diff = max(diff, abs(positive_proba(one)[0] - proba[0][1]))
    if diff > CHECK_TOLERANCE:
        raise SystemExit(f"MLServer's probabilities differ from ATLAS's by {diff}.")
    return diff


def settings_summary() -> dict[str, Any]:
    """What the result file records of MLServer's settings (the rest are its defaults)."""
    return {
        "command": "mlserver start <folder>",
        "implementation": IMPLEMENTATION,
        "parallel_workers": PARALLEL_WORKERS,
        "debug": False,
        "request": f"one {DATATYPE} tensor [1, features] named {INPUT}",
        "uri": "the booster text file inside the ATLAS package (absolute path)",
    }
