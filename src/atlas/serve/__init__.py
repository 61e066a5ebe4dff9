"""Serving: the inference server over registered model packages."""

from atlas.serve.models import ModelManager
from atlas.serve.runner import BackgroundServer, serve_forever
from atlas.serve.server import ServerConfig, create_app
from atlas.serve.service import PredictionEvent, PredictionService

__all__ = [
    "BackgroundServer",
    "ModelManager",
    "PredictionEvent",
    "PredictionService",
    "ServerConfig",
    "create_app",
    "serve_forever",
]
