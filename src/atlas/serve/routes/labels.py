"""Ground-truth labels over HTTP: ``POST /v1/models/{name}/labels``.

The body is a list ``[{"request_id": "...", "label": ...}]``. Each label passes the rules of
:mod:`atlas.serve.labels` (its request id is a logged prediction of the model; a classifier's
label one of the classes of the version that answered, a regressor's a finite number); the
valid ones are written at once, the answer says how many matched, were accepted, replaced an
earlier label, or were refused and why. The route needs ``Authorization: Bearer <token>``:
``labels_token`` of the server config, else the admin token; without either it is disabled
(403), never open (:mod:`atlas.serve.policy`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from atlas.core.errors import ConflictError, InvalidInputError
from atlas.serve.feedback import FeedbackLog
from atlas.serve.state import served

router = APIRouter(tags=["labels"])
MAX_REQUEST_ID = 1024  # characters: the server's own ids are 32, a row's adds ':<i>'


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=MAX_REQUEST_ID)
    label: str | int | float | bool | None = Field(
        description="A class of the model (classifiers) or a number (regressors)."
    )


class RefusalOut(BaseModel):
    index: int
    request_id: str
    reason: str
    message: str


class LabelsOut(BaseModel):
    model: str
    received: int
    matched: int = Field(description="Labels whose request id is a logged prediction.")
    accepted: int = Field(description="Labels written.")
    replaced: int = Field(description="Accepted labels that changed a prediction's label.")
    refused: int
    reasons: dict[str, int]
    refusals: list[RefusalOut] = Field(description="The first 100 refused labels.")


@router.post("/v1/models/{name}/labels", response_model=LabelsOut)
def post_labels(
    request: Request, name: str, labels: list[LabelIn] = Body(min_length=1)
) -> dict[str, Any]:
    """Add ground-truth labels to logged predictions (the newest valid label of a prediction
    counts; a refused label is never written)."""
    state = served(request)
    log: FeedbackLog | None = request.app.state.feedback
    if log is None:
        raise ConflictError(
            "This server keeps no feedback log: there are no predictions to label.",
            hint="Start it without --no-feedback, or add labels with 'atlas monitor labels'.",
        )
    limit = state.config.max_records
    if len(labels) > limit:
        raise InvalidInputError(
            f"{len(labels)} labels in one request; at most {limit}.",
            hint=f"Send at most {limit} labels a request.",
        )
    state.registry.get(name)  # a model that does not exist is a 404
    log.flush()  # predictions still queued can be labelled too
    pairs = [(item.request_id, item.label) for item in labels]
    return log.add_labels(name, pairs, source="http").as_dict()
