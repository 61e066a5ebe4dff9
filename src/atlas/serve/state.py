"""What the routes of one app share, kept in ``app.state.served`` (see server.create_app)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from atlas.registry import ModelRegistry
from atlas.serve.config import ServerConfig
from atlas.serve.enrich import Enricher
from atlas.serve.models import ModelManager
from atlas.serve.service import PredictionService


@dataclass(frozen=True)
class Served:
    service: PredictionService
    enricher: Enricher
    config: ServerConfig

    @property
    def models(self) -> ModelManager:
        return self.service.models

    @property
    def registry(self) -> ModelRegistry:
        return self.service.models.registry


def served(request: Request) -> Served:
    """The app's shared state, for a route handling ``request``."""
    state: Served = request.app.state.served
    return state
