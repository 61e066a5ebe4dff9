"""The Open Inference Protocol v2: server and model metadata, readiness, the repository index,
``infer``.

``infer`` reads its body itself, whatever the ``Content-Type`` (Triton's client sends none; with
binary tensors it is ``application/octet-stream``), gzip or deflate compressed or not, as JSON
or as JSON followed by binary tensor data (``Inference-Header-Content-Length``). A request it
refuses is a 400, as the protocol says, with the server's one error body
(:mod:`atlas.serve.responses`), whose ``error`` is the message that v2 clients show.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import atlas
from atlas.core.errors import AtlasError, InvalidInputError
from atlas.registry import LoadedModel
from atlas.serve import binary_tensors, encodings, protocol, responses
from atlas.serve.fast_routes import fast_path
from atlas.serve.routes.v2_schema import INFER_OPENAPI
from atlas.serve.shaping import rows_of, sticky_key
from atlas.serve.state import Served, served
from atlas.serve.v2_signature import AcceptedInput, accepted_inputs

router = APIRouter(tags=["v2"])
EXTENSIONS = ["binary_tensor_data"]
BAD_REQUEST = 400  # the protocol's status for a refused inference request
BINARY_MEDIA = "application/octet-stream"


@router.get("/v2")
def server_metadata() -> dict[str, Any]:
    return {"name": "atlas", "version": atlas.__version__, "extensions": EXTENSIONS}


@router.get("/v2/models/{name}")
def v2_metadata(request: Request, name: str) -> dict[str, Any]:
    return _metadata(served(request), name, None)


@router.get("/v2/models/{name}/versions/{ref}")
def v2_version_metadata(request: Request, name: str, ref: str) -> dict[str, Any]:
    return _metadata(served(request), name, ref)


def _metadata(state: Served, name: str, ref: str | None) -> dict[str, Any]:
    model = state.models.get(name, ref)
    versions = [v.version for v in state.registry.versions(name)]
    return protocol.model_metadata(model.manifest, versions, _accepted(state, model))


def _accepted(state: Served, model: LoadedModel) -> list[AcceptedInput]:
    return accepted_inputs(model.manifest, state.enricher.serving.get(model.manifest.name))


@router.get("/v2/models/{name}/ready")
async def v2_ready(request: Request, name: str) -> dict[str, Any]:
    """200 once the model serves. A registered model not yet in memory is loaded now, so a
    client (tritonclient's ``is_model_ready``) or a probe that waits for readiness warms it
    instead of being told "not ready" about a model that would answer; one that cannot load
    answers the load's error (a corrupt package, say), never 200."""
    models = served(request).models
    version = models.resolve(name, None)
    if not models.is_loaded(name, version):
        await run_in_threadpool(models.get, name, None)
    return {"name": name, "ready": True}


@router.post("/v2/repository/index")
def repository_index(request: Request) -> list[dict[str, Any]]:
    """Every model with the version that serves it; state READY when it is in memory (a model
    that is not loads on its first request)."""
    state = served(request)
    index = []
    for model in state.registry.list_models():
        version = state.models.resolve(model["name"], None)
        loaded = state.models.is_loaded(model["name"], version)
        index.append(
            {
                "name": model["name"],
                "version": str(version),
                "state": "READY" if loaded else "UNAVAILABLE",
                "reason": "" if loaded else "not in memory: it loads on its first request",
            }
        )
    return index


async def _infer(request: Request, name: str, ref: str | None) -> Response:
    state = served(request)
    try:
        encoding = request.headers.get("content-encoding")
        body = encodings.decoded(await request.body(), encoding, state.config.max_body_bytes)
        decoded = protocol.decode(body, request.headers.get(binary_tensors.HEADER))
        if decoded.request.model_name not in (None, name):
            raise InvalidInputError(
                f"The request names the model {decoded.request.model_name!r}; the path {name!r}.",
                hint="Send model_name as in the path, or leave it out.",
            )
        model = state.models.peek(name, ref)
        if model is None:
            model = await run_in_threadpool(state.models.get, name, ref)
        return await _predict(state, name, ref, decoded, model)
    except InvalidInputError as exc:  # the v2 status for a refused request
        return responses.from_error(exc, status=BAD_REQUEST)


async def _predict(
    state: Served, name: str, ref: str | None, decoded: protocol.Decoded, model: LoadedModel
) -> Response:
    partial = state.enricher.applies_to(name)
    columns, rows = protocol.to_columns(decoded, _accepted(state, model), keep_extra=partial)
    wanted = protocol.requested_outputs(decoded.request, model.manifest)
    limit = state.config.max_records
    if rows > limit:
        raise AtlasError(
            f"{rows} rows in one request; at most {limit}.",
            hint=f"Split the rows into requests of at most {limit}.",
        )
    service = state.service
    await service.prepare(name)
    sticky = sticky_key(service, name, columns)
    data: Any = columns
    flags = None
    if partial:
        data, flags = await state.enricher.enrich(name, rows_of(columns, rows))
    rid = decoded.request.id
    result = await service.predict(name, ref, data, "v2", rid, sticky, flags)
    header, chunks = protocol.answer(
        result.model.manifest, result.raw, result.labels, rid or result.request_id, wanted
    )
    if not chunks:  # a Response skips FastAPI's second validation of the (typed) answer
        return JSONResponse(header)
    head = json.dumps(header, separators=(",", ":")).encode()
    return Response(
        head + b"".join(chunks),
        media_type=BINARY_MEDIA,
        headers={binary_tensors.HEADER: str(len(head))},
    )


@router.post(
    "/v2/models/{name}/infer",
    response_model=protocol.InferenceResponse,
    openapi_extra=INFER_OPENAPI,
)
@fast_path
async def v2_infer(request: Request, name: str) -> Response:
    """Infer with the production version (the newest if none), or the canary's share."""
    return await _infer(request, name, None)


@router.post(
    "/v2/models/{name}/versions/{ref}/infer",
    response_model=protocol.InferenceResponse,
    openapi_extra=INFER_OPENAPI,
)
@fast_path
async def v2_infer_version(request: Request, name: str, ref: str) -> Response:
    return await _infer(request, name, ref)
