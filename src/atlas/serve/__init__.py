"""Serving: the inference server over registered model packages."""

from atlas.serve.models import ModelCache
from atlas.serve.runner import BackgroundServer, serve_forever
from atlas.serve.server import create_app

__all__ = ["BackgroundServer", "ModelCache", "create_app", "serve_forever"]
