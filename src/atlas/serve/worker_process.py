"""One worker process of ``atlas serve --workers N`` (:mod:`atlas.serve.workers`).

uvicorn calls :func:`worker_app` in each fresh worker: it builds the same app as ``atlas
serve`` (:func:`~atlas.serve.app_factory.app_from_settings`: settings from the inherited
``ATLAS_*`` environment, the config the parent wrote), then keeps the worker's own figures in
the shared metric files (:class:`~atlas.serve.multiprocess_metrics.WorkerMirror`, every
``PUBLISH_S`` seconds and before each scrape). At shutdown, after the app has drained its
feedback queue, the worker publishes its last figures and marks itself dead (its live gauges
leave the totals; its counts stay). A worker whose supervisor is gone stops itself.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client.multiprocess import mark_process_dead

from atlas.core.logging import configure_logging, get_logger
from atlas.core.settings import get_settings
from atlas.serve.app_factory import app_from_settings
from atlas.serve.config import ServerConfig
from atlas.serve.monitoring import Monitor
from atlas.serve.multiprocess_metrics import WorkerMirror, multiprocess_dir, total
from atlas.serve.runner import freeze_heap
from atlas.serve.state import Served
from atlas.serve.workers import read_spec

PUBLISH_S = 1.0
log = get_logger(__name__)


def worker_app() -> FastAPI:
    """The app of this worker process (uvicorn's ``factory=True``)."""
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    spec = read_spec()
    config = ServerConfig.model_validate(spec["config"])
    app = app_from_settings(settings, config, feedback=bool(spec["feedback"]))
    mirror = _mirror(app.state.served, app.state.monitor)
    _publish_while_serving(app, mirror)
    freeze_heap()  # as in `atlas serve`: no full garbage collections over the libraries
    return app


def _mirror(served: Served, monitor: Monitor | None) -> WorkerMirror:
    """The monitor (there with the feedback log) has the log's counters."""
    metrics = served.service.metrics
    stats = monitor.log_stats if monitor is not None else None
    mirror = WorkerMirror(
        lambda: total(metrics.requests), lambda: len(served.models.loaded()), metrics.loaded, stats
    )
    metrics.on_scrape.append(mirror.publish)  # this worker's own figures are exact in a scrape
    return mirror


def _publish_while_serving(app: FastAPI, mirror: WorkerMirror) -> None:
    """A thread publishes the mirror while the app runs; the app's shutdown ends with the
    last figures published and this process marked dead."""
    stop = threading.Event()
    parent = os.getppid()
    inner = app.router.lifespan_context

    def loop() -> None:
        while not stop.wait(PUBLISH_S):
            _publish(mirror)
            if os.getppid() != parent:  # the supervisor died: nobody would stop this worker
                log.warning("worker.orphaned", pid=os.getpid(), parent=parent)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    @asynccontextmanager
    async def lifespan(served_app: FastAPI) -> AsyncIterator[Any]:
        thread = threading.Thread(target=loop, name="atlas-metrics-mirror", daemon=True)
        thread.start()
        try:
            async with inner(served_app) as state:
                yield state
        finally:
            stop.set()
            thread.join()
            _publish(mirror)
            path = multiprocess_dir()
            if path is not None:
                mark_process_dead(os.getpid(), path)

    app.router.lifespan_context = lifespan


def _publish(mirror: WorkerMirror) -> None:
    try:
        mirror.publish()
    except Exception as exc:  # e.g. the feedback storage is down: the next tick retries
        log.warning("worker.publish_failed", error=str(exc))
