"""The inference server (data plane): FastAPI over the model registry.

Endpoints: the Open Inference Protocol v2 (health, server and model metadata, ``infer``), the
JSON-records API ``/v1/models/{name}:predict``, ``/metrics`` for Prometheus, and the management
API under ``/v1/admin`` (token required; see admin.py). Bad input is a 4xx naming what to fix;
an unknown model or alias is a 404; overload is a 503 with Retry-After; nothing is a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

import atlas
from atlas.core.errors import AtlasError
from atlas.registry import ModelRegistry
from atlas.registry.flavors import preload_flavors
from atlas.serve import protocol
from atlas.serve.admin import admin_router
from atlas.serve.enrich import Enricher, ModelServing
from atlas.serve.fast_routes import FastRoute, FastRoutes
from atlas.serve.feedback import FeedbackLog
from atlas.serve.metrics import ServerMetrics
from atlas.serve.models import ModelManager
from atlas.serve.monitoring import Monitor
from atlas.serve.prometheus import MonitorCollector
from atlas.serve.rollout import Rollouts
from atlas.serve.service import Overloaded, PredictionEvent, PredictionService
from atlas.serve.shaping import rows_of, sticky_key, to_batch


class BodyLimit:
    """Refuses bodies over ``max_bytes`` (by Content-Length) with a 413, as plain ASGI: a
    Starlette ``@app.middleware`` costs ~0.2 ms a request."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"content-length":
                    if not value.isdigit() or int(value) > self.max_bytes:
                        await _too_large(self.max_bytes)(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = 8 * 1024 * 1024
    max_records: int = 10_000
    max_in_flight: int = 64
    admin_token: str | None = Field(default=None, description="Bearer token of /v1/admin.")
    idle_seconds: float = 900.0
    memory_cap: int | None = None
    alias_ttl: float = 1.0
    models: dict[str, ModelServing] = Field(
        default_factory=dict, description="Per model: entity key, online features, connectors."
    )


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(min_length=1, description="One object per row.")
    request_id: str | None = None


class PredictResponse(BaseModel):
    model: str
    version: int
    request_id: str
    predictions: list[dict[str, Any]]


class ErrorBody(BaseModel):
    error: str
    message: str
    hint: str | None = None


def _error(
    status: int,
    kind: str,
    message: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        headers=headers,
        content={"error": kind, "message": message, "hint": hint},
    )


def _too_large(max_bytes: int) -> JSONResponse:
    return _error(
        413,
        "PayloadTooLarge",
        f"The body is over {max_bytes} bytes.",
        "Send fewer records per request.",
    )


def _overloaded() -> JSONResponse:
    return _error(
        503,
        "Overloaded",
        "Too many requests in flight.",
        "Retry after the delay in Retry-After.",
        {"Retry-After": "1"},
    )


def _handled(exc: Exception) -> JSONResponse | None:
    """The answer to an error a request handler raised (None: not one of ours, a 500)."""
    if isinstance(exc, AtlasError):
        return _error(exc.http_status, type(exc).__name__, exc.message, exc.hint)
    if isinstance(exc, Overloaded):
        return _overloaded()
    return None


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
    models = ModelManager(
        registry, idle_seconds=cfg.idle_seconds, memory_cap=cfg.memory_cap, alias_ttl=cfg.alias_ttl
    )
    metrics = ServerMetrics()
    all_hooks = list(hooks)
    if feedback is not None:
        all_hooks.append(lambda event: feedback.record(to_batch(event)))
    service = PredictionService(
        models, metrics, Rollouts(registry.db, cfg.alias_ttl), cfg.max_in_flight, all_hooks
    )
    if monitor is not None:
        metrics.registry.register(MonitorCollector(monitor.families))
    enricher = Enricher(cfg.models, feature_store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await enricher.aclose()
        service.close()  # finish shadow work so no feedback record is lost
        if feedback is not None:
            feedback.close()  # drain the queue: every prediction reaches the log

    app = FastAPI(
        lifespan=lifespan,
        title="ATLAS inference server",
        version=atlas.__version__,
        responses={
            404: {"model": ErrorBody},
            413: {"model": ErrorBody},
            422: {"model": ErrorBody},
            503: {"model": ErrorBody},
        },
    )
    app.state.service = service
    app.state.config = cfg
    app.include_router(admin_router(service, cfg.admin_token))

    @app.exception_handler(AtlasError)
    @app.exception_handler(Overloaded)
    async def handled(_request: Request, exc: Exception) -> JSONResponse:
        response = _handled(exc)
        assert response is not None
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid body"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _error(
            422,
            "InvalidInputError",
            f"{where}: {first['msg']}",
            "See the request schema in /openapi.json.",
        )

    # -- health and metadata ------------------------------------------------------------
    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        registry.db.ping()
        return {"ready": True}

    @app.get("/v2")
    def server_metadata() -> dict[str, Any]:
        return {"name": "atlas", "version": atlas.__version__, "extensions": ["model_repository"]}

    @app.get("/v2/models/{name}")
    def v2_metadata(name: str) -> dict[str, Any]:
        return _v2_metadata(name, None)

    @app.get("/v2/models/{name}/versions/{ref}")
    def v2_version_metadata(name: str, ref: str) -> dict[str, Any]:
        return _v2_metadata(name, ref)

    def _v2_metadata(name: str, ref: str | None) -> dict[str, Any]:
        model = models.get(name, ref)
        versions = [v.version for v in registry.versions(name)]
        return protocol.model_metadata(model.manifest, versions)

    @app.get("/v2/models/{name}/ready")
    def v2_ready(name: str) -> dict[str, Any]:
        version = models.resolve(name, None)
        return {"name": name, "ready": models.is_loaded(name, version)}

    @app.get("/metrics")
    def prometheus() -> Response:
        metrics.loaded.set(len(models.loaded()))
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    # -- v2 inference -------------------------------------------------------------------
    async def _v2_columns(
        name: str, ref: str | None, body: protocol.InferenceRequest
    ) -> tuple[dict[str, list[Any]], int]:
        model = models.peek(name, ref)
        if model is None:
            model = await run_in_threadpool(models.get, name, ref)
        columns, rows = protocol.to_columns(body, model.manifest, partial=enricher.applies_to(name))
        if rows > cfg.max_records:
            raise AtlasError(f"{rows} rows in one request; at most {cfg.max_records}.")
        return columns, rows

    async def _infer(name: str, ref: str | None, body: protocol.InferenceRequest) -> Response:
        columns, rows = await _v2_columns(name, ref, body)
        await service.prepare(name)
        sticky = sticky_key(service, name, columns)
        data: Any = columns
        flags = None
        if enricher.applies_to(name):
            data, flags = await enricher.enrich(name, rows_of(columns, rows))
        result = await service.predict(name, ref, data, "v2", body.id, sticky, flags)
        answer = protocol.to_response(
            result.model.manifest, result.raw, result.labels, body.id or result.request_id
        )
        # a Response skips FastAPI's second validation of the (already typed) answer
        return JSONResponse(answer.model_dump(mode="json"))

    @app.post("/v2/models/{name}/infer", response_model=protocol.InferenceResponse)
    async def v2_infer(name: str, body: protocol.InferenceRequest) -> Response:
        """Infer with the production version (the newest if none), or the canary's share."""
        return await _infer(name, None, body)

    @app.post("/v2/models/{name}/versions/{ref}/infer", response_model=protocol.InferenceResponse)
    async def v2_infer_version(name: str, ref: str, body: protocol.InferenceRequest) -> Response:
        return await _infer(name, ref, body)

    # -- v1 records API -----------------------------------------------------------------
    @app.get("/v1/models")
    def list_models() -> list[dict[str, Any]]:
        return [
            {
                "name": m["name"],
                "task": m["task"],
                "aliases": m["aliases"],
                "latest_version": m["latest_version"],
            }
            for m in registry.list_models()
        ]

    @app.get("/v1/models/{name}")
    def model_metadata(name: str, version: str | None = None) -> dict[str, Any]:
        model = models.get(name, version)
        return model.manifest.model_dump(
            include={
                "name",
                "version",
                "task",
                "target",
                "classes",
                "inputs",
                "outputs",
                "metrics",
                "lineage",
            }
        )

    async def _predict(name: str, ref: str | None, body: PredictRequest) -> Response:
        if len(body.records) > cfg.max_records:
            raise AtlasError(f"{len(body.records)} records; at most {cfg.max_records}.")
        await service.prepare(name)
        sticky = sticky_key(service, name, body.records)
        records: list[dict[str, Any]] = body.records
        flags = None
        if enricher.applies_to(name):
            records, flags = await enricher.enrich(name, records)
        result = await service.predict(name, ref, records, "v1", body.request_id, sticky, flags)
        return JSONResponse(
            {
                "model": name,
                "version": result.model.version,
                "request_id": result.request_id,
                "predictions": result.model.answers(result.raw, result.labels),
            }
        )

    @app.post("/v1/models/{name}:predict", response_model=PredictResponse)
    async def predict(name: str, body: PredictRequest) -> Response:
        """Predict with the production version (the newest if none), or the canary's share."""
        return await _predict(name, None, body)

    @app.post("/v1/models/{name}/versions/{ref}:predict", response_model=PredictResponse)
    async def predict_version(name: str, ref: str, body: PredictRequest) -> Response:
        """Predict with a version number or an alias."""
        return await _predict(name, ref, body)

    # the same endpoints, for well-formed requests, without FastAPI's per-request layers
    fast = [
        FastRoute("/v1/models/{name}:predict", PredictRequest, predict),
        FastRoute("/v1/models/{name}/versions/{ref}:predict", PredictRequest, predict_version),
        FastRoute("/v2/models/{name}/infer", protocol.InferenceRequest, v2_infer),
        FastRoute(
            "/v2/models/{name}/versions/{ref}/infer", protocol.InferenceRequest, v2_infer_version
        ),
    ]
    app.add_middleware(
        FastRoutes,
        routes=fast,
        max_bytes=cfg.max_body_bytes,
        on_error=_handled,
        too_large=lambda: _too_large(cfg.max_body_bytes),
    )
    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)
    return app
