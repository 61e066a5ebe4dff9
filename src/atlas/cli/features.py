"""``atlas features``: apply definitions, ingest rows, materialize, look up online values."""

from __future__ import annotations

from pathlib import Path

import typer

from atlas.cli.output import console, print_json, table
from atlas.data import read_table
from atlas.data.features import FeatureStore

app = typer.Typer(
    help="The feature store: definitions, materialization, lookups.", no_args_is_help=True
)


@app.command("apply")
def apply(
    path: Path = typer.Argument(..., help="A YAML file with 'entities' and 'feature_views'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register (or update) the entities and feature views defined in a YAML file."""
    changes = FeatureStore().apply(path)
    if as_json:
        print_json([c.to_json() for c in changes])
        return
    for c in changes:
        version = f" v{c.version}" if c.version else ""
        console.print(f"{c.kind.replace('_', ' ')} [bold]{c.name}[/]{version}: {c.action}")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered feature views."""
    views = FeatureStore().views()
    if as_json:
        print_json(
            [
                {**r.view.to_dict(), "version": r.version, "join_key": r.entity.join_key}
                for r in views.values()
            ]
        )
        return
    table(
        "Feature views",
        ["name", "version", "entity", "features", "ttl", "source"],
        [
            (
                n,
                r.version,
                r.entity.name,
                len(r.view.feature_names),
                r.view.to_dict()["ttl"],
                r.view.source or "(ingested)",
            )
            for n, r in views.items()
        ],
    )


@app.command("ingest")
def ingest(
    view: str = typer.Argument(..., help="A feature view without a source."),
    path: Path = typer.Argument(..., help="A CSV or Parquet file of its rows."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add rows to a feature view (a new file; all or nothing)."""
    result = FeatureStore().ingest(view, read_table(path))
    if as_json:
        print_json(result.to_json())
        return
    console.print(f"ingested {result.rows} rows into [bold]{view}[/] ({result.uri})")


@app.command("materialize")
def materialize(
    views: list[str] = typer.Option([], "--view", "-v", help="A view (repeat); default: all."),
    until: str | None = typer.Option(None, "--until", help="Newest event time to load."),
    full: bool = typer.Option(False, "--full", help="Reload everything, not just newer rows."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Load the newest feature values of each entity into the online store (incrementally)."""
    results = FeatureStore().materialize(views or None, until=until, full=full)
    if as_json:
        print_json([r.to_json() for r in results])
        return
    for r in results:
        mark = r.high_water.isoformat() if r.high_water else "-"
        mode = "full" if r.full else "incremental"
        console.print(f"[bold]{r.view}[/]: {r.entities} entities ({mode}), up to {mark}")


@app.command("get")
def get(
    keys: list[str] = typer.Argument(..., help="Entity keys."),
    features: list[str] = typer.Option(
        ..., "--feature", "-f", help="view:feature, view:* or view (repeat)."
    ),
    full_names: bool = typer.Option(False, "--full-names", help="Name values view__feature."),
) -> None:
    """Print the online feature values of entities as JSON (missing entities: found=false)."""
    rows = FeatureStore().get_online(keys, features, full_names=full_names)
    print_json(
        [
            {"key": key, "found": row is not None, "values": row}
            for key, row in zip(keys, rows, strict=True)
        ]
    )
