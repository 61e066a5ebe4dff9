"""``atlas serve``: the inference server in the foreground."""

from __future__ import annotations

import typer

from atlas.core.settings import get_settings


def serve(
    host: str | None = typer.Option(None, "--host", help="Default: ATLAS_SERVE_HOST."),
    port: int | None = typer.Option(None, "--port", help="Default: ATLAS_SERVE_PORT."),
) -> None:
    """Serve every registered model over HTTP (OpenAPI at /docs)."""
    from atlas.registry import ModelRegistry
    from atlas.serve import create_app, serve_forever

    settings = get_settings()
    app = create_app(ModelRegistry.from_settings(settings))
    serve_forever(
        app, host or settings.serve_host, port if port is not None else settings.serve_port
    )
