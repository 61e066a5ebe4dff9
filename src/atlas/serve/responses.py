"""The server's one error format, ``{"error", "message", "hint"}``, for every refusal: raised by
a handler, refused by the request policy, or answered by FastAPI's validation."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import JSONResponse

from atlas.core.errors import AtlasError
from atlas.serve.service import Overloaded

RETRY_AFTER_S = 1


class ErrorBody(BaseModel):
    error: str
    message: str
    hint: str | None = None


def error(
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


def from_error(exc: AtlasError) -> JSONResponse:
    return error(exc.http_status, type(exc).__name__, exc.message, exc.hint)


def overloaded() -> JSONResponse:
    return error(
        503,
        "Overloaded",
        "Too many requests in flight.",
        "Retry after the delay in Retry-After.",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def handled(exc: Exception) -> JSONResponse | None:
    """The answer to an error a request handler raised (None: not one of ours, a 500)."""
    if isinstance(exc, AtlasError):
        return from_error(exc)
    if isinstance(exc, Overloaded):
        return overloaded()
    return None
