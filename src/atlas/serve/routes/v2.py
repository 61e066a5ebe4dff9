"""The Open Inference Protocol v2: server and model metadata, readiness, ``infer``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import atlas
from atlas.core.errors import AtlasError
from atlas.serve import protocol
from atlas.serve.fast_routes import fast_path
from atlas.serve.shaping import rows_of, sticky_key
from atlas.serve.state import Served, served

router = APIRouter(tags=["v2"])


@router.get("/v2")
def server_metadata() -> dict[str, Any]:
    return {"name": "atlas", "version": atlas.__version__, "extensions": ["model_repository"]}


@router.get("/v2/models/{name}")
def v2_metadata(request: Request, name: str) -> dict[str, Any]:
    return _metadata(served(request), name, None)


@router.get("/v2/models/{name}/versions/{ref}")
def v2_version_metadata(request: Request, name: str, ref: str) -> dict[str, Any]:
    return _metadata(served(request), name, ref)


def _metadata(state: Served, name: str, ref: str | None) -> dict[str, Any]:
    model = state.models.get(name, ref)
    versions = [v.version for v in state.registry.versions(name)]
    return protocol.model_metadata(model.manifest, versions)


@router.get("/v2/models/{name}/ready")
def v2_ready(request: Request, name: str) -> dict[str, Any]:
    models = served(request).models
    return {"name": name, "ready": models.is_loaded(name, models.resolve(name, None))}


async def _columns(
    state: Served, name: str, ref: str | None, body: protocol.InferenceRequest
) -> tuple[dict[str, list[Any]], int]:
    model = state.models.peek(name, ref)
    if model is None:
        model = await run_in_threadpool(state.models.get, name, ref)
    partial = state.enricher.applies_to(name)
    columns, rows = protocol.to_columns(body, model.manifest, partial=partial)
    limit = state.config.max_records
    if rows > limit:
        raise AtlasError(f"{rows} rows in one request; at most {limit}.")
    return columns, rows


async def _infer(
    request: Request, name: str, ref: str | None, body: protocol.InferenceRequest
) -> Response:
    state = served(request)
    columns, rows = await _columns(state, name, ref, body)
    service = state.service
    await service.prepare(name)
    sticky = sticky_key(service, name, columns)
    data: Any = columns
    flags = None
    if state.enricher.applies_to(name):
        data, flags = await state.enricher.enrich(name, rows_of(columns, rows))
    result = await service.predict(name, ref, data, "v2", body.id, sticky, flags)
    answer = protocol.to_response(
        result.model.manifest, result.raw, result.labels, body.id or result.request_id
    )
    # a Response skips FastAPI's second validation of the (already typed) answer
    return JSONResponse(answer.model_dump(mode="json"))


@router.post("/v2/models/{name}/infer", response_model=protocol.InferenceResponse)
@fast_path
async def v2_infer(request: Request, name: str, body: protocol.InferenceRequest) -> Response:
    """Infer with the production version (the newest if none), or the canary's share."""
    return await _infer(request, name, None, body)


@router.post("/v2/models/{name}/versions/{ref}/infer", response_model=protocol.InferenceResponse)
@fast_path
async def v2_infer_version(
    request: Request, name: str, ref: str, body: protocol.InferenceRequest
) -> Response:
    return await _infer(request, name, ref, body)
