"""``atlas serve``: the inference server in the foreground (one process, or ``--workers N`` on
one port), or as Ray Serve replicas."""

from __future__ import annotations

from pathlib import Path

import typer

from atlas.cli import options
from atlas.core.settings import get_settings


def serve(
    host: str | None = typer.Option(None, "--host", help="Default: ATLAS_SERVE_HOST."),
    port: int | None = typer.Option(
        None, "--port", help="1-65535; default: ATLAS_SERVE_PORT.", parser=options.optional_port
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="YAML: server limits and, per model, entity key, online "
        "features and external connectors (docs/serving.md).",
    ),
    feedback: bool = typer.Option(
        True,
        "--feedback/--no-feedback",
        help="Log every prediction under the artifact store (ATLAS_ARTIFACTS_URL/feedback).",
    ),
    ray: bool = typer.Option(
        False, "--ray", help="Serve on Ray Serve (pip install atlas-ml[ray])."
    ),
    replicas: int = typer.Option(
        1, "--replicas", help="Ray Serve replicas (1-1024).", parser=options.replicas
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Join this Ray cluster; default: start a local instance."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        help="Server processes on the one port (1-64), each with its own models; /metrics "
        "sums them (docs/serving.md, Several workers).",
        parser=options.workers,
    ),
) -> None:
    """Serve every registered model over HTTP (OpenAPI at /docs, metrics at /metrics)."""
    from atlas.serve import app_from_settings, load_server_config, serve_forever

    if ray and workers != 1:
        raise typer.BadParameter(
            "--workers starts processes on this machine; on Ray Serve use --replicas.",
            param_hint="'--workers'",
        )
    settings = get_settings()
    server_config = load_server_config(config, {"admin_token": settings.admin_token})
    host = host or settings.serve_host
    port = port if port is not None else settings.serve_port
    if ray:
        from atlas.serve import ray_serve

        ray_serve.run(
            server_config.model_dump(),
            host=host,
            port=port,
            num_replicas=replicas,
            address=ray_address,
            feedback=feedback,
        )
        return
    if workers > 1:
        from atlas.serve.workers import serve_workers

        serve_workers(workers, server_config, host, port, feedback)
        return
    serve_forever(app_from_settings(settings, server_config, feedback=feedback), host, port)
