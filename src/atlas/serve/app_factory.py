"""The one way a served app is built from settings: ``atlas serve`` and every Ray Serve replica
call :func:`app_from_settings` (so does each worker process of ``atlas serve --workers N``,
:mod:`atlas.serve.workers`), so all serve the same app (the feedback log, the live monitor
and its drift reference included)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from atlas.core.settings import Settings
from atlas.serve.config import ServerConfig
from atlas.serve.server import create_app


def app_from_settings(
    settings: Settings,
    config: ServerConfig | None = None,
    *,
    feedback: bool = True,
    feature_store: Any = None,
) -> FastAPI:
    """The server over the settings' registry; with ``feedback``, every prediction goes to the
    feedback log under the artifact store and ``/metrics`` carries the live monitor's quality
    and drift (reference: the dataset each model version was trained on)."""
    from atlas.data import DatasetStore
    from atlas.registry import ModelRegistry
    from atlas.serve.feedback import FeedbackLog
    from atlas.serve.monitoring import Monitor
    from atlas.serve.reference import reference_from_lineage

    registry = ModelRegistry.from_settings(settings)
    log = FeedbackLog.from_settings(settings) if feedback else None
    monitor = None
    if log is not None:
        datasets = DatasetStore.from_settings(settings)
        monitor = Monitor(
            log, reference_loader=lambda model: reference_from_lineage(registry, datasets, model)
        )
    app = create_app(registry, config, feature_store=feature_store, feedback=log, monitor=monitor)
    app.state.monitor = monitor  # a worker process mirrors its log counters (serve.workers)
    return app
