"""The management API: deploy (preload), promote, roll back, set a rollout plan.

Every route needs ``Authorization: Bearer <token>`` (``ATLAS_ADMIN_TOKEN``); without a
configured token the management API is disabled (403), never open. The check is the request
policy's (:mod:`atlas.serve.policy`), in front of every route. A change the metadata database
cannot take is a 503 and changes nothing (the registry and the rollout store write first, the
server follows); a promote to the version already there answers ``changed: false``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from atlas.core.versions import VersionNumber
from atlas.registry import DEFAULT_ALIAS
from atlas.serve.policy import ADMIN_PREFIX
from atlas.serve.rollout import RolloutPlan
from atlas.serve.state import served

router = APIRouter(prefix=ADMIN_PREFIX, tags=["admin"])
EVENTS_SHOWN = 50


class Deploy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, description="Version or alias; default production.")


class Promote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: VersionNumber
    alias: str = DEFAULT_ALIAS


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alias: str = DEFAULT_ALIAS


@router.get("/models")
def loaded(request: Request) -> dict[str, Any]:
    models = served(request).models
    return {"loaded": models.loaded(), "loads": models.loads, "unloads": models.unloads}


@router.post("/models/{name}/deploy")
def deploy(request: Request, name: str, body: Deploy) -> dict[str, Any]:
    """Load a version now, so its first request pays no cold start."""
    model = served(request).models.get(name, body.version)
    return {"model": name, "version": model.version, "loaded": True}


@router.post("/models/{name}/promote")
def promote(request: Request, name: str, body: Promote) -> dict[str, Any]:
    state = served(request)
    state.models.get(name, body.version)  # load first: the switch is instant, no request fails
    move = state.registry.promote(name, body.version, body.alias)
    state.models.refresh_aliases(name)
    return move.__dict__


@router.post("/models/{name}/rollback")
def rollback(request: Request, name: str, body: Rollback) -> dict[str, Any]:
    state = served(request)
    move = state.registry.rollback(name, body.alias)
    state.models.get(name, move.to_version)
    state.models.refresh_aliases(name)
    return move.__dict__


@router.put("/models/{name}/rollout")
def set_rollout(request: Request, name: str, plan: RolloutPlan) -> dict[str, Any]:
    """Canary share (sticky on ``sticky_field``), shadow challenger, rollback thresholds."""
    state = served(request)
    state.registry.get(name)  # a plan for a model that does not exist is a 404
    for version in (plan.canary_version, plan.shadow_version):
        if version is not None:
            state.models.get(name, version)
    state.service.rollouts.set(name, plan)
    return plan.model_dump()


@router.get("/models/{name}/rollout")
def get_rollout(request: Request, name: str) -> dict[str, Any]:
    """The plan and its newest events (stored: every replica's, automatic rollbacks too)."""
    state = served(request)
    state.registry.get(name)
    rollouts = state.service.rollouts
    plan = rollouts.get(name)
    events = rollouts.events(name, EVENTS_SHOWN)
    return {"plan": plan.model_dump() if plan else None, "events": events}
