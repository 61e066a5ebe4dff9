"""``atlas serve``: the inference server in the foreground."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from atlas.core.errors import InvalidInputError
from atlas.core.settings import get_settings


def serve(
    host: str | None = typer.Option(None, "--host", help="Default: ATLAS_SERVE_HOST."),
    port: int | None = typer.Option(None, "--port", help="Default: ATLAS_SERVE_PORT."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="YAML: server limits and, per model, entity key, online "
        "features and external connectors (docs/serving.md).",
    ),
    feedback: bool = typer.Option(
        True, "--feedback/--no-feedback", help="Log every prediction under ATLAS_HOME/feedback."
    ),
    ray: bool = typer.Option(
        False, "--ray", help="Serve on Ray Serve (pip install atlas-ml[ray])."
    ),
    replicas: int = typer.Option(1, "--replicas", min=1, help="Ray Serve replicas."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Join this Ray cluster; default: start a local instance."
    ),
) -> None:
    """Serve every registered model over HTTP (OpenAPI at /docs, metrics at /metrics)."""
    from atlas.data import DatasetStore
    from atlas.registry import ModelRegistry
    from atlas.serve import ServerConfig, create_app, serve_forever
    from atlas.serve.feedback import FeedbackLog
    from atlas.serve.monitoring import Monitor
    from atlas.serve.reference import reference_from_lineage

    settings = get_settings()
    raw: dict[str, object] = {}
    if config is not None:
        if not config.is_file():
            raise InvalidInputError(f"Server config not found: {config}.")
        raw = yaml.safe_load(config.read_text()) or {}
    server_config = ServerConfig.model_validate({"admin_token": settings.admin_token, **raw})
    if ray:
        from atlas.serve import ray_serve

        ray_serve.run(
            server_config.model_dump(),
            host=host or settings.serve_host,
            port=port if port is not None else settings.serve_port,
            num_replicas=replicas,
            address=ray_address,
            feedback=feedback,
        )
        return
    registry = ModelRegistry.from_settings(settings)
    log = FeedbackLog(settings.home / "feedback") if feedback else None
    monitor = None
    if log is not None:
        datasets = DatasetStore.from_settings(settings)
        monitor = Monitor(
            log, reference_loader=lambda model: reference_from_lineage(registry, datasets, model)
        )
    app = create_app(registry, server_config, feedback=log, monitor=monitor)
    serve_forever(
        app, host or settings.serve_host, port if port is not None else settings.serve_port
    )
