"""The inference server (data plane): FastAPI over the model registry.

Endpoints: health and readiness in the Open Inference Protocol v2 paths, model listing and
metadata, and ``POST /v1/models/{name}:predict`` with JSON records. Bad input is a 4xx that
names what to fix; an unknown model or alias is a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import atlas
from atlas.core.errors import AtlasError
from atlas.registry import ModelRegistry
from atlas.serve.models import ModelCache

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_RECORDS = 10_000


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_RECORDS, description="One object per row: field -> value."
    )


class PredictResponse(BaseModel):
    model: str
    version: int
    predictions: list[dict[str, Any]]


class ErrorBody(BaseModel):
    error: str
    message: str
    hint: str | None = None


def create_app(registry: ModelRegistry | None = None) -> FastAPI:
    cache = ModelCache(registry or ModelRegistry.from_settings())
    app = FastAPI(
        title="ATLAS inference server",
        version=atlas.__version__,
        responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    app.state.models = cache

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse(
                status_code=413,
                content={
                    "error": "PayloadTooLarge",
                    "message": f"The body is over {MAX_BODY_BYTES} bytes.",
                    "hint": "Send fewer records per request.",
                },
            )
        return await call_next(request)

    @app.exception_handler(AtlasError)
    async def atlas_error(_request: Request, exc: AtlasError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status,
            content={"error": type(exc).__name__, "message": exc.message, "hint": exc.hint},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid body"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse(
            status_code=422,
            content={
                "error": "InvalidInputError",
                "message": f"{where}: {first['msg']}",
                "hint": 'Send {"records": [{"field": value, ...}, ...]}.',
            },
        )

    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        cache.registry.db.ping()
        return {"ready": True}

    @app.get("/v1/models")
    def list_models() -> list[dict[str, Any]]:
        return [
            {
                "name": m["name"],
                "task": m["task"],
                "aliases": m["aliases"],
                "latest_version": m["latest_version"],
            }
            for m in cache.registry.list_models()
        ]

    @app.get("/v1/models/{name}")
    def model_metadata(name: str, version: str | None = None) -> dict[str, Any]:
        model = cache.get(name, version)
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

    def _predict(name: str, ref: str | None, body: PredictRequest) -> PredictResponse:
        model = cache.get(name, ref)
        return PredictResponse(
            model=name, version=model.version, predictions=model.predict_records(body.records)
        )

    @app.post("/v1/models/{name}:predict", response_model=PredictResponse)
    def predict(name: str, body: PredictRequest) -> PredictResponse:
        """Predict with the ``production`` version (the newest when no alias is set)."""
        return _predict(name, None, body)

    @app.post("/v1/models/{name}/versions/{ref}:predict", response_model=PredictResponse)
    def predict_version(name: str, ref: str, body: PredictRequest) -> PredictResponse:
        """Predict with a version number or an alias."""
        return _predict(name, ref, body)

    return app
