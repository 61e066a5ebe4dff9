"""``atlas models``: list, show, promote and roll back registered models."""

from __future__ import annotations

import typer

from atlas.cli import options
from atlas.cli.output import console, metrics_line, print_json, table
from atlas.cli.refit import refit_full
from atlas.registry.registry import DEFAULT_ALIAS, ModelRegistry

app = typer.Typer(help="Registered models, versions and aliases.", no_args_is_help=True)
app.command("refit-full")(refit_full)


@app.command("list")
def list_(
    search: str | None = typer.Option(None, "--search", "-s", help="Name contains this."),
    task: str | None = typer.Option(None, "--task", help="binary, multiclass or regression."),
    alias: str | None = typer.Option(None, "--alias", help="Only models that have this alias."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Models, their versions, aliases and metrics."""
    models = ModelRegistry.from_settings().list_models(search, task, alias)
    if as_json:
        print_json(models)
        return
    rows = []
    for m in models:
        for v in m["versions"]:
            rows.append(
                (
                    m["name"],
                    v["version"],
                    m["task"],
                    ",".join(v["aliases"]),
                    metrics_line({k: v["metrics"][k] for k in list(v["metrics"])[:3]}),
                    f"{v['dataset_name']} v{v['dataset_version']}" if v["dataset_name"] else None,
                )
            )
    table("Models", ["model", "version", "task", "aliases", "metrics", "trained on"], rows)


@app.command("show")
def show(
    model: str = typer.Argument(..., help="Model name."),
    ref: str | None = typer.Argument(None, help="Version or alias; default production/newest."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One version's manifest: signature, metrics, lineage."""
    _, manifest, folder = ModelRegistry.from_settings().fetch(model, ref)
    if as_json:
        print_json(manifest.model_dump(mode="json"))
        return
    console.print(
        f"[bold]{manifest.name}[/] v{manifest.version} ({manifest.task}, target "
        f"{manifest.target!r}) at {folder}"
    )
    console.print(f"metrics: {metrics_line(manifest.metrics)}")
    lineage = manifest.lineage
    if lineage.dataset:
        console.print(
            f"dataset: {lineage.dataset.name} v{lineage.dataset.version} "
            f"({lineage.dataset.content_hash[:12]})"
        )
    if lineage.refit_of:
        console.print(f"refit-full of v{lineage.refit_of.version} (each member on all rows)")
    if lineage.search:
        console.print(
            f"search: run {lineage.search.run_id}, study {lineage.search.study_name}, "
            f"{lineage.search.n_trials} trials"
        )
    table(
        "Inputs",
        ["name", "kind", "dtype", "categories"],
        [
            (c.name, c.kind, c.dtype, len(c.categories) if c.categories else None)
            for c in manifest.inputs
        ],
    )


@app.command("promote")
def promote(
    model: str = typer.Argument(..., help="Model name."),
    version: int = typer.Argument(
        ..., help="Version to point the alias at.", parser=options.version
    ),
    alias: str = typer.Option(DEFAULT_ALIAS, "--alias", "-a", help="Alias to move."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Point an alias at a version (atomically)."""
    move = ModelRegistry.from_settings().promote(model, version, alias)
    if as_json:
        print_json(move.__dict__)
        return
    if not move.changed:
        console.print(f"{model}@{alias}: already at {move.to_version}; nothing changed")
        return
    console.print(f"{model}@{alias}: {move.from_version or '-'} -> {move.to_version}")


@app.command("rollback")
def rollback(
    model: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Option(DEFAULT_ALIAS, "--alias", "-a", help="Alias to move back."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move an alias back to the version it pointed at before its last move."""
    move = ModelRegistry.from_settings().rollback(model, alias)
    if as_json:
        print_json(move.__dict__)
        return
    console.print(f"{model}@{alias}: {move.from_version} -> {move.to_version} (rolled back)")
