"""The inference server (data plane): FastAPI over the model registry.

Endpoints: the Open Inference Protocol v2 (health, server and model metadata, ``infer``), the
JSON-records API ``/v1/models/{name}:predict``, ``/metrics`` for Prometheus, and the management
API under ``/v1/admin`` (token required). Bad input is a 4xx naming what to fix; an unknown
model or alias is a 404; overload is a 503 with Retry-After; nothing is a 500.

The routes live in :mod:`atlas.serve.routes` (one router a group); what every request must pass
is the :class:`~atlas.serve.policy.Guard` in front of both request pipelines (FastAPI's routes
and the fast routes derived from them, :mod:`atlas.serve.fast_routes`). Build the app from
settings with :func:`atlas.serve.app_factory.app_from_settings`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import atlas
from atlas.core.errors import AtlasError
from atlas.registry import ModelRegistry
from atlas.registry.flavors import preload_flavors
from atlas.serve import responses
from atlas.serve.config import ServerConfig
from atlas.serve.enrich import Enricher
from atlas.serve.external.metrics import ConnectorCollector
from atlas.serve.fast_routes import FastRoutes, fast_routes_of
from atlas.serve.feedback import FeedbackLog
from atlas.serve.metrics import ServerMetrics
from atlas.serve.models import ModelManager
from atlas.serve.monitoring import Monitor
from atlas.serve.policy import ADMIN_PREFIX, Guard, RequestPolicy, route_path
from atlas.serve.prometheus import MonitorCollector
from atlas.serve.rollout import Rollouts
from atlas.serve.routes import admin, health, labels, v1, v2
from atlas.serve.service import Overloaded, PredictionEvent, PredictionService
from atlas.serve.shaping import looked_up, to_batch
from atlas.serve.state import Served

__all__ = ["ServerConfig", "create_app"]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": responses.ErrorBody} for status in (400, 401, 403, 404, 413, 422, 503)
}


def create_app(
    registry: ModelRegistry | None = None,
    config: ServerConfig | None = None,
    hooks: Sequence[Callable[[PredictionEvent], None]] = (),
    feature_store: Any = None,
    feedback: FeedbackLog | None = None,
    monitor: Monitor | None = None,
) -> FastAPI:
    """The app. ``hooks`` get every prediction event; ``feedback`` logs them durably;
    ``monitor`` adds live quality and drift metrics to ``/metrics``."""
    cfg = config or ServerConfig()
    registry = registry or ModelRegistry.from_settings()
    preload_flavors()  # import model libraries now, not inside the first request's cold start
    served = _served(registry, cfg, hooks, feature_store, feedback)
    served.service.metrics.registry.register(ConnectorCollector(served.enricher))
    if monitor is not None:
        served.service.metrics.registry.register(MonitorCollector(monitor.families))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await served.enricher.aclose()
        served.service.close()  # finish shadow work so no feedback record is lost
        if feedback is not None:
            feedback.close()  # drain the queue: every prediction reaches the log

    app = FastAPI(
        lifespan=lifespan,
        title="ATLAS inference server",
        version=atlas.__version__,
        responses=ERROR_RESPONSES,
    )
    app.state.served = served
    app.state.feedback = feedback
    for group in (health, v2, v1, labels, admin):
        app.include_router(group.router)
    _add_error_handlers(app)
    # the prediction endpoints again, for well-formed requests, without FastAPI's layers ...
    app.add_middleware(FastRoutes, routes=fast_routes_of(app), on_error=responses.handled)
    # ... and in front of both pipelines, the one place every request is checked
    policy = RequestPolicy.of(cfg.max_body_bytes, cfg.admin_token, cfg.api_token, cfg.labels_token)
    app.add_middleware(Guard, policy=policy)
    return app


def _served(
    registry: ModelRegistry,
    cfg: ServerConfig,
    hooks: Sequence[Callable[[PredictionEvent], None]],
    feature_store: Any,
    feedback: FeedbackLog | None,
) -> Served:
    models = ModelManager(
        registry, idle_seconds=cfg.idle_seconds, memory_cap=cfg.memory_cap, alias_ttl=cfg.alias_ttl
    )
    all_hooks = list(hooks)
    if feedback is not None:
        fields = {name: looked_up(serving) for name, serving in cfg.models.items()}
        all_hooks.append(
            lambda event: feedback.record(to_batch(event, fields.get(event.model, ())))
        )
    rollouts = Rollouts(registry.db, cfg.alias_ttl)
    service = PredictionService(models, ServerMetrics(), rollouts, cfg.max_in_flight, all_hooks)
    return Served(service, Enricher(cfg.models, feature_store), cfg)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error in the one body of :mod:`atlas.serve.responses`, on both pipelines (the fast
    routes answer with ``responses.handled`` too)."""

    @app.exception_handler(AtlasError)
    @app.exception_handler(Overloaded)
    async def handled(request: Request, exc: Exception) -> JSONResponse:
        public = not route_path(request.scope).startswith(ADMIN_PREFIX)
        response = responses.handled(exc, public=public)
        assert response is not None
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid body"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return responses.error(
            422,
            "InvalidInputError",
            f"{where}: {first['msg']}",
            "See the request schema in /openapi.json.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def routing(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """No such route (404) or method (405): FastAPI's routing, in the one error body."""
        known = exc.status_code in HTTPStatus._value2member_map_
        kind = HTTPStatus(exc.status_code).phrase.replace(" ", "") if known else "HTTPError"
        where = f"{request.method} {route_path(request.scope)}"
        return responses.error(
            exc.status_code,
            kind,
            f"{where}: {exc.detail}.",
            "The API is described in /openapi.json.",
            dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def bug(_request: Request, _exc: Exception) -> JSONResponse:
        return responses.internal_error()  # Starlette logs the traceback after this answer
