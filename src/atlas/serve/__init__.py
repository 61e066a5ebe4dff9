"""Serving: the inference server over registered model packages."""

from atlas.serve.app_factory import app_from_settings
from atlas.serve.config import ServerConfig, load_server_config
from atlas.serve.models import ModelManager
from atlas.serve.runner import BackgroundServer, serve_forever
from atlas.serve.server import create_app
from atlas.serve.service import PredictionEvent, PredictionService

__all__ = [
    "BackgroundServer",
    "ModelManager",
    "PredictionEvent",
    "PredictionService",
    "ServerConfig",
    "app_from_settings",
    "create_app",
    "load_server_config",
    "serve_forever",
]
