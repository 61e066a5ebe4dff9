"""The same server on Ray Serve (``atlas serve --ray``): replicas of the FastAPI app, each built
inside its replica from the same settings, behind Ray Serve's HTTP proxy.

Ray is the scale-out engine (DESIGN.md): a local instance is started when no cluster address is
given; ``--ray-address ray://head:10001`` joins an existing cluster. Everything the replicas
need travels as environment variables (``ATLAS_*``) and the server config; each replica builds
the app with :func:`~atlas.serve.app_factory.app_from_settings`, as ``atlas serve`` does: the
same routes, feedback log and live monitor. The feedback log is written through the artifact
store's URL, so with a shared store (``s3://...``) every replica's log lands in one place (file
names are unique: replicas never overwrite each other).
"""

from __future__ import annotations

import os
from typing import Any

from atlas.core.errors import MissingDependencyError


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("ATLAS_")}


def build_application(config: dict[str, Any], feedback: bool, num_replicas: int) -> Any:
    """A Ray Serve application whose replicas each build the ATLAS app."""
    try:
        from ray import serve
    except ImportError:
        raise MissingDependencyError("ray", "ray") from None

    def build_app() -> Any:  # runs in every replica
        from atlas.core.settings import get_settings
        from atlas.serve.app_factory import app_from_settings
        from atlas.serve.config import ServerConfig
        from atlas.serve.runner import freeze_heap

        get_settings.cache_clear()
        settings = get_settings()
        app = app_from_settings(settings, ServerConfig.model_validate(config), feedback=feedback)
        freeze_heap()  # as in `atlas serve`: no full garbage collections over the libraries
        return app

    deployment = serve.deployment(name="atlas", num_replicas=num_replicas)(
        serve.ingress(build_app)()
    )
    return deployment.bind()


def run(
    config: dict[str, Any],
    *,
    host: str,
    port: int,
    num_replicas: int = 1,
    address: str | None = None,
    feedback: bool = True,
    blocking: bool = True,
) -> None:
    """Start (or join) Ray, start Serve's proxy on ``host:port``, deploy the app."""
    try:
        import ray
        from ray import serve
    except ImportError:
        raise MissingDependencyError("ray", "ray") from None
    if not ray.is_initialized():
        ray.init(
            address=address,
            runtime_env={"env_vars": _env()},
            include_dashboard=False,
            log_to_driver=False,
        )
    serve.start(http_options={"host": host, "port": port})
    serve.run(
        build_application(config, feedback, num_replicas),
        name="atlas",
        route_prefix="/",
        blocking=blocking,
    )
