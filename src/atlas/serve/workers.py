"""``atlas serve --workers N``: N server processes accepting on one port, under uvicorn's
supervisor.

The parent binds the socket once and starts N worker processes (``spawn``: fresh interpreters)
that accept on it; each builds the app itself with :func:`atlas.serve.worker_process.worker_app`
(its own models, feedback writer and monitor). The supervisor pings every worker and replaces
one that dies or hangs; SIGINT or SIGTERM to the parent stops every worker gracefully (each
drains its feedback queue), then the parent. What the workers need travels in a private
temporary folder the parent makes and removes: the server config (``spec.json``, mode 0600)
and the Prometheus multiprocess folder (:mod:`atlas.serve.multiprocess_metrics`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from atlas.core.errors import AtlasError
from atlas.serve.config import ServerConfig
from atlas.serve.multiprocess_metrics import MULTIPROC_ENV

SPEC_ENV = "ATLAS_SERVE_WORKER_SPEC"
WORKER_APP = "atlas.serve.worker_process:worker_app"
PRIVATE = 0o600
# seconds a worker may leave the supervisor's ping unanswered before it is replaced: a fresh
# worker answers once its interpreter has imported the CLI (seconds on a busy machine; uvicorn's
# default of 5 s had busy workers killed and restarted in a loop)
HEALTHCHECK_S = 60


class WorkerStartFailed(AtlasError):
    """A worker process could not build the app (the same error would stop every restart)."""


def write_spec(folder: Path, config: ServerConfig, feedback: bool) -> Path:
    """The workers' server config and feedback switch, readable by this user only."""
    path = folder / "spec.json"
    spec = {"config": config.model_dump(mode="json"), "feedback": feedback}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(fd, "w") as out:
        json.dump(spec, out)
    return path


def read_spec() -> dict[str, Any]:
    """In a worker: what the parent wrote (:func:`write_spec`)."""
    spec: dict[str, Any] = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    return spec


def serve_workers(workers: int, config: ServerConfig, host: str, port: int, feedback: bool) -> None:
    """Serve with ``workers`` processes until SIGINT/SIGTERM; raise if a worker cannot start."""
    with tempfile.TemporaryDirectory(prefix="atlas-serve-") as tmp:
        metrics = Path(tmp) / "metrics"
        metrics.mkdir()
        env = {SPEC_ENV: str(write_spec(Path(tmp), config, feedback)), MULTIPROC_ENV: str(metrics)}
        os.environ.update(env)  # the workers inherit them (the parent never records metrics)
        try:
            _supervise(
                uvicorn.Config(
                    WORKER_APP,
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_level="info",
                    access_log=False,
                    timeout_worker_healthcheck=HEALTHCHECK_S,
                )
            )
        finally:
            for key in env:
                os.environ.pop(key, None)


def _supervise(config: uvicorn.Config) -> None:
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = [p.pid for p in supervisor.processes if p.exitcode == STARTUP_FAILURE]
    if failed:
        raise WorkerStartFailed(
            f"Worker process {failed[0]} could not start the server.",
            hint="Its error is in the log above; the same one stops every worker.",
        )
