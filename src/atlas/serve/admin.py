"""The management API: deploy (preload), promote, roll back, set a rollout plan.

Every route needs ``Authorization: Bearer <token>`` (``ATLAS_ADMIN_TOKEN``); without a
configured token the management API is disabled (403), never open.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field

from atlas.core.errors import AtlasError
from atlas.registry import DEFAULT_ALIAS
from atlas.serve.rollout import RolloutPlan
from atlas.serve.service import PredictionService


class Forbidden(AtlasError):
    http_status = 403


class Unauthorized(AtlasError):
    http_status = 401


class Deploy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, description="Version or alias; default production.")


class Promote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    alias: str = DEFAULT_ALIAS


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alias: str = DEFAULT_ALIAS


def admin_router(service: PredictionService, token: str | None) -> APIRouter:
    def authorize(authorization: str | None = Header(default=None)) -> None:
        if not token:
            raise Forbidden(
                "The management API is disabled.",
                hint="Start the server with ATLAS_ADMIN_TOKEN set.",
            )
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given, token):
            raise Unauthorized(
                "A valid bearer token is required.",
                hint="Send 'Authorization: Bearer <ATLAS_ADMIN_TOKEN>'.",
            )

    router = APIRouter(prefix="/v1/admin", dependencies=[Depends(authorize)], tags=["admin"])
    models = service.models
    registry = models.registry

    @router.get("/models")
    def loaded() -> dict[str, Any]:
        return {"loaded": models.loaded(), "loads": models.loads, "unloads": models.unloads}

    @router.post("/models/{name}/deploy")
    def deploy(name: str, body: Deploy) -> dict[str, Any]:
        """Load a version now, so its first request pays no cold start."""
        model = models.get(name, body.version)
        return {"model": name, "version": model.version, "loaded": True}

    @router.post("/models/{name}/promote")
    def promote(name: str, body: Promote) -> dict[str, Any]:
        models.get(name, body.version)  # load first: the switch is instant, no request fails
        move = registry.promote(name, body.version, body.alias)
        models.refresh_aliases(name)
        return move.__dict__

    @router.post("/models/{name}/rollback")
    def rollback(name: str, body: Rollback) -> dict[str, Any]:
        move = registry.rollback(name, body.alias)
        models.get(name, move.to_version)
        models.refresh_aliases(name)
        return move.__dict__

    @router.put("/models/{name}/rollout")
    def set_rollout(name: str, plan: RolloutPlan) -> dict[str, Any]:
        """Canary share (sticky on ``sticky_field``), shadow challenger, rollback thresholds."""
        for version in (plan.canary_version, plan.shadow_version):
            if version is not None:
                models.get(name, version)
        service.rollouts.set(name, plan)
        return plan.model_dump()

    @router.get("/models/{name}/rollout")
    def get_rollout(name: str) -> dict[str, Any]:
        plan = service.rollouts.get(name)
        events = [e for e in service.rollouts.events if e["model"] == name]
        return {"plan": plan.model_dump() if plan else None, "events": events[-50:]}

    return router
