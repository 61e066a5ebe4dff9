"""The server's one error body, for every refusal on every path: raised by a handler, refused by
the request policy, answered by FastAPI's validation or routing, or a bug (500)::

    {"error": "<message> <hint>", "type": "InvalidInputError", "message": "...", "hint": "..."}

``error`` is the whole line a person reads: the Open Inference Protocol's error body is
``{"error": "<message>"}``, and that is what KServe's and Triton's clients show. ``type`` names
the kind of refusal, ``message`` and ``hint`` are the line's two parts (what is wrong, what to
do).

A 404 of the data plane never lists the registry's models, versions or aliases (its client may
be anonymous); it says how to list them instead. The management API's 404s, answered to a
client that holds the admin token, keep the registry's hints.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import JSONResponse

from atlas.core.errors import AtlasError, NotFoundError
from atlas.serve.service import Overloaded

RETRY_AFTER_S = 1
INTERNAL_ERROR = 500
LISTING_HINT = (
    "GET /v1/models (or POST /v2/repository/index) lists the models; "
    "GET /v2/models/{name} lists a model's versions."
)


class ErrorBody(BaseModel):
    error: str
    type: str
    message: str
    hint: str | None = None


def error(
    status: int,
    kind: str,
    message: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    line = f"{message} {hint}" if hint else message
    return JSONResponse(
        status_code=status,
        headers=headers,
        content={"error": line, "type": kind, "message": message, "hint": hint},
    )


def from_error(exc: AtlasError, status: int | None = None, public: bool = True) -> JSONResponse:
    """The answer to ``exc`` (with another ``status`` when the protocol says so); ``public``:
    its client may not have authenticated, so a 404 does not list what exists."""
    hint = LISTING_HINT if public and isinstance(exc, NotFoundError) else exc.hint
    return error(status or exc.http_status, type(exc).__name__, exc.message, hint)


def overloaded() -> JSONResponse:
    return error(
        503,
        "Overloaded",
        "Too many requests in flight.",
        "Retry after the delay in Retry-After.",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def internal_error() -> JSONResponse:
    return error(
        INTERNAL_ERROR,
        "InternalError",
        "The server failed on this request; this is a bug in ATLAS.",
        "The server's log has the traceback; please report it.",
    )


def handled(exc: Exception, public: bool = True) -> JSONResponse | None:
    """The answer to an error a request handler raised (None: not one of ours, a 500)."""
    if isinstance(exc, AtlasError):
        return from_error(exc, public=public)
    if isinstance(exc, Overloaded):
        return overloaded()
    return None
