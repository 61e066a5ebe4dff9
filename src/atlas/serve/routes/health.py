"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from atlas.serve.state import served

router = APIRouter(tags=["health"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


@router.get("/v2/health/live")
def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/v2/health/ready")
def ready(request: Request) -> dict[str, Any]:
    """Ready when the metadata database can be read and written now; else a 503 whose message
    says what is wrong with it (unreachable, read-only, its file deleted)."""
    db = served(request).registry.db
    db.ping()
    db.check_writable()
    return {"ready": True, "database": "ok"}


@router.get("/metrics")
def prometheus(request: Request) -> Response:
    state = served(request)
    metrics = state.service.metrics
    metrics.loaded.set(len(state.models.loaded()))
    return Response(metrics.render(), media_type=PROMETHEUS_TEXT)
