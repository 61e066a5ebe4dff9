"""The JSON-records API: ``/v1/models`` and ``/v1/models/{name}:predict``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field

from atlas.core.errors import AtlasError
from atlas.serve.fast_routes import fast_path
from atlas.serve.feedback_text import valid_text
from atlas.serve.shaping import sticky_key
from atlas.serve.state import served

router = APIRouter(tags=["v1"])
METADATA_FIELDS = {"name", "version", "task", "target", "classes", "inputs", "outputs"}
METADATA_FIELDS |= {"metrics", "lineage"}


class PredictRequest(BaseModel):
    records: list[dict[str, Any]] = Field(min_length=1, description="One object per row.")
    # answered and logged as valid text (a lone surrogate is U+FFFD): the same id in both
    request_id: Annotated[str, AfterValidator(valid_text)] | None = None


class PredictResponse(BaseModel):
    model: str
    version: int
    request_id: str
    predictions: list[dict[str, Any]]


@router.get("/v1/models")
def list_models(request: Request) -> list[dict[str, Any]]:
    keep = ("name", "task", "aliases", "latest_version")
    return [{k: m[k] for k in keep} for m in served(request).registry.list_models()]


@router.get("/v1/models/{name}")
def model_metadata(request: Request, name: str, version: str | None = None) -> dict[str, Any]:
    model = served(request).models.get(name, version)
    return model.manifest.model_dump(include=METADATA_FIELDS)


async def _predict(request: Request, name: str, ref: str | None, body: PredictRequest) -> Response:
    state = served(request)
    limit = state.config.max_records
    if len(body.records) > limit:
        raise AtlasError(
            f"{len(body.records)} records in one request; at most {limit}.",
            hint=f"Split the records into requests of at most {limit} (max_records).",
        )
    service = state.service
    await service.prepare(name)
    sticky = sticky_key(service, name, body.records)
    records: list[dict[str, Any]] = body.records
    flags = None
    if state.enricher.applies_to(name):
        records, flags = await state.enricher.enrich(name, records)
    result = await service.predict(name, ref, records, "v1", body.request_id, sticky, flags)
    return JSONResponse(
        {
            "model": name,
            "version": result.model.version,
            "request_id": result.request_id,
            "predictions": result.model.answers(result.raw, result.labels),
        }
    )


@router.post("/v1/models/{name}:predict", response_model=PredictResponse)
@fast_path
async def predict(request: Request, name: str, body: PredictRequest) -> Response:
    """Predict with the production version (the newest if none), or the canary's share."""
    return await _predict(request, name, None, body)


@router.post("/v1/models/{name}/versions/{ref}:predict", response_model=PredictResponse)
@fast_path
async def predict_version(request: Request, name: str, ref: str, body: PredictRequest) -> Response:
    """Predict with a version number or an alias."""
    return await _predict(request, name, ref, body)
