"""The ``atlas`` command. Errors ATLAS raises on purpose print one line and exit with code 2;
data that fails its quality rules exits with code 1 (docs/cli.md lists the codes)."""

from __future__ import annotations

import sys

import typer

from atlas import __version__
from atlas.cli import automl, data, demo, features, init, models, monitor, plugins, serve
from atlas.cli.output import EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_INTERRUPTED, errors
from atlas.core.errors import AtlasError
from atlas.core.logging import configure_logging
from atlas.core.settings import get_settings

app = typer.Typer(
    name="atlas",
    help="ATLAS: from a table to a monitored production model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(automl.app, name="automl")
app.add_typer(models.app, name="models")
app.add_typer(features.app, name="features")
app.add_typer(monitor.app, name="monitor")
app.command("init")(init.init)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("plugins")(plugins.plugins)


def _version(value: bool) -> None:
    if value:
        print(f"atlas {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    settings = get_settings()
    configure_logging("DEBUG" if debug else settings.log_level, settings.log_format)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="atlas")
    except AtlasError as exc:
        if debug:
            raise
        print_error(exc)
        sys.exit(exit_code(exc))
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)


def print_error(exc: AtlasError) -> None:
    """``error: ...`` and ``hint: ...`` on stderr (the message is not rich markup)."""
    errors.print("[bold red]error:[/] ", end="", highlight=False)
    errors.print(exc.message, markup=False, highlight=False)
    if exc.hint:
        errors.print("[yellow]hint:[/] ", end="", highlight=False)
        errors.print(exc.hint, markup=False, highlight=False)


def exit_code(exc: AtlasError) -> int:
    """1 when data failed its quality rules (a refusal scripts may want to tell apart), else
    2."""
    from atlas.data.verdicts import QualityCheckFailed

    return EXIT_CHECK_FAILED if isinstance(exc, QualityCheckFailed) else EXIT_ERROR


if __name__ == "__main__":
    main()
