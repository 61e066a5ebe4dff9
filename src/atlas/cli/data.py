"""``atlas data``: add, list and show datasets."""

from __future__ import annotations

from pathlib import Path

import typer

from atlas.cli.output import console, print_json, table
from atlas.data import DatasetStore

app = typer.Typer(help="Versioned datasets.", no_args_is_help=True)


@app.command("add")
def add(
    path: Path = typer.Argument(..., help="A CSV or Parquet file."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a file as a new dataset version (the same content twice makes no new version)."""
    version = DatasetStore.from_settings().add(path, name)
    if as_json:
        print_json(version.to_json())
        return
    state = "new version" if version.created else "unchanged, existing version"
    console.print(
        f"dataset [bold]{version.name}[/] v{version.version} ({state}): {version.n_rows} rows, "
        f"{version.n_columns} columns, sha256 {version.content_hash[:12]}"
    )


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every dataset version."""
    versions = DatasetStore.from_settings().list()
    if as_json:
        print_json([v.to_json() for v in versions])
        return
    table(
        "Datasets",
        ["name", "version", "rows", "columns", "sha256", "created"],
        [
            (
                v.name,
                v.version,
                v.n_rows,
                v.n_columns,
                v.content_hash[:12],
                v.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for v in versions
        ],
    )


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Dataset name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Default: the newest."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one dataset version and its schema."""
    dv = DatasetStore.from_settings().get(name, version)
    if as_json:
        print_json(dv.to_json())
        return
    console.print(
        f"dataset [bold]{dv.name}[/] v{dv.version}: {dv.n_rows} rows, from {dv.source}, "
        f"sha256 {dv.content_hash}"
    )
    table(
        "Columns",
        ["name", "dtype", "kind", "missing", "distinct", "min", "max"],
        [
            (
                c["name"],
                c["dtype"],
                c["kind"],
                c["missing"],
                c["distinct"],
                c.get("min"),
                c.get("max"),
            )
            for c in dv.columns
        ],
    )
