"""``atlas data``: add, list and show datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from atlas.cli import options
from atlas.cli.output import EXIT_CHECK_FAILED, console, print_json, table
from atlas.core.errors import InvalidInputError
from atlas.data import DatasetStore, DatasetVersion
from atlas.data.samples import DEMO_SAMPLE, SAMPLES, sample_bytes
from atlas.data.verdicts import describe, failed
from atlas.registry.registry import ModelRegistry

app = typer.Typer(help="Versioned datasets.", no_args_is_help=True)
VERSION_HELP = "Default: the newest."
STRICT_HELP = "Refuse a version that fails a quality rule: nothing is stored (exit code 1)."


def print_verdicts(results: list[dict[str, Any]], failures_only: bool = False) -> None:
    """One line per rule: ok or FAIL, the rule and column, observed against expected."""
    for r in failed(results) if failures_only else results:
        mark = "ok  " if r["passed"] else "FAIL"
        console.print(f"  {mark} {describe(r)}", markup=False, highlight=False)


def _exit_if_failed(dv: DatasetVersion) -> None:
    """Exit code 1 when the version failed its rules (scripts can tell; docs/cli.md)."""
    if dv.status == "failed":
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("add")
def add(
    path: Path = typer.Argument(..., help="A CSV or Parquet file."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a file as a new dataset version (the same content twice makes no new version).
    Exit code 1 when the version fails a quality rule (kept and marked failed; with --strict,
    not stored)."""
    version = DatasetStore.from_settings().add(path, name, strict=strict)
    if as_json:
        print_json(version.to_json())
        _exit_if_failed(version)
        return
    state = "new version" if version.created else "unchanged, existing version"
    verdict = ", FAILED its quality checks" if version.status == "failed" else ""
    console.print(
        f"dataset [bold]{version.name}[/] v{version.version} ({state}{verdict}): "
        f"{version.n_rows} rows, {version.n_columns} columns, "
        f"sha256 {version.content_hash[:12]}"
    )
    if version.status == "failed":
        print_verdicts((version.checks or {}).get("results", []), failures_only=True)
        console.print("training refuses this version unless --force is given")
    _exit_if_failed(version)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every dataset version."""
    versions = DatasetStore.from_settings().list_versions()
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
    version: int | None = typer.Option(
        None, "--version", "-v", help=VERSION_HELP, parser=options.optional_version
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one dataset version: profile, quality checks, models trained on it."""
    store = DatasetStore.from_settings()
    dv = store.get(name, version)
    models = ModelRegistry.from_settings().trained_on(dv.name, dv.version)
    if as_json:
        print_json({**dv.to_json(), "models": models})
        return
    console.print(
        f"dataset [bold]{dv.name}[/] v{dv.version} ({dv.status}): {dv.n_rows} rows, "
        f"from {dv.source}, sha256 {dv.content_hash}"
    )
    table(
        "Profile",
        ["name", "dtype", "kind", "missing %", "distinct", "min", "p50", "max", "top"],
        [
            (
                c["name"],
                c["dtype"],
                c["kind"],
                100 * c.get("missing_rate", 0.0),
                c["distinct"],
                c.get("min"),
                c.get("p50"),
                c.get("max"),
                ", ".join(list(c.get("top", {}))[:3]) or None,
            )
            for c in dv.columns
        ],
    )
    checks = dv.checks or {}
    if checks.get("results"):
        table(
            "Quality checks",
            ["rule", "column", "passed", "observed", "expected"],
            [
                (
                    r["rule"]["type"],
                    r.get("column"),
                    "yes" if r["passed"] else "NO",
                    r.get("observed", r["detail"]),
                    r.get("expected"),
                )
                for r in checks["results"]
            ],
        )
    changes = checks.get("schema_changes") or {}
    if any(changes.values()):
        console.print(f"schema changes since v{checks.get('compared_with')}: {changes}")
    if models:
        console.print(
            "trained on it: " + ", ".join(f"{m['model']} v{m['version']}" for m in models)
        )


@app.command("rules")
def rules(
    name: str = typer.Argument(..., help="Dataset name."),
    file: Path | None = typer.Option(None, "--file", "-f", help="YAML or JSON list of rules."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Set (with --file) or show the quality rules of a dataset."""
    store = DatasetStore.from_settings()
    if file is not None:
        if not file.is_file():
            raise InvalidInputError(f"Rules file not found: {file}.")
        try:
            raw = yaml.safe_load(file.read_text())
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{file} is not valid YAML: {exc}.") from None
        current = store.set_rules(name, raw)
    else:
        current = store.rules(name)
    dumped = [r.model_dump(exclude_none=True) for r in current]
    if as_json:
        print_json(dumped)
        return
    for rule in dumped:
        console.print(rule)
    if not dumped:
        console.print(f"{name} has no quality rules")


@app.command("check")
def check(
    name: str = typer.Argument(..., help="Dataset name."),
    version: int | None = typer.Option(
        None, "--version", "-v", help=VERSION_HELP, parser=options.optional_version
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run the dataset's current rules on a version and record the verdict (exit code 1 when
    a rule fails)."""
    dv = DatasetStore.from_settings().check(name, version)
    if as_json:
        print_json(dv.checks)
        _exit_if_failed(dv)
        return
    console.print(f"{dv.name} v{dv.version}: {dv.status}")
    print_verdicts((dv.checks or {}).get("results", []))
    _exit_if_failed(dv)


@app.command("erase")
def erase_(
    column: str = typer.Option(..., "--column", "-c", help="The entity key column."),
    value: str = typer.Option(..., "--value", help="The entity whose rows go."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the erasure record)."),
    dataset: list[str] | None = typer.Option(None, "--dataset", "-d", help="Default: all."),
    features: bool = typer.Option(
        True, "--features/--no-features", help="Also erase the entity from the feature store."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Erase one entity's rows from every dataset version and the feature store (ingested
    files and online records), and record that it was done: all of it, or nothing."""
    from atlas.apps.erasure import erase_entity_everywhere

    record = erase_entity_everywhere(column, value, reason, dataset or None, features=features)
    if as_json:
        print_json(record)
        return
    for a in record["affected"]:
        if "feature_store" in a:
            fs = a["feature_store"]
            console.print(
                f"feature store: {sum(f['rows_removed'] for f in fs['files'])} rows "
                f"in {len(fs['files'])} files, {fs['online_records_removed']} online "
                "records removed"
            )
            continue
        console.print(f"{a['dataset']} v{a['version']}: {a['rows_removed']} rows removed")
        for m in a["models_trained_on_it"]:
            console.print(f"  retrain {m['model']} (v{m['version']} was trained on these rows)")
    console.print(f"erasure #{record['id']} recorded ({len(record['affected'])} versions)")


@app.command("sample")
def sample(
    name: str = typer.Argument(DEMO_SAMPLE, help="A sample shipped with ATLAS."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Default: ./NAME.csv"),
    list_: bool = typer.Option(False, "--list", help="List the samples instead."),
) -> None:
    """Write a public sample dataset shipped inside ATLAS to a CSV file (for the quickstart)."""
    if list_:
        table(
            "Samples",
            ["name", "target", "what"],
            [(s.name, s.target, s.description) for s in SAMPLES.values()],
        )
        return
    data = sample_bytes(name)
    path = out or Path(f"{name}.csv")
    if path.exists():
        raise InvalidInputError(f"{path} already exists.", hint="Pass --out to another path.")
    path.write_bytes(data)
    console.print(
        f"wrote {path} (sample {name!r}, {len(data)} bytes); add it with: "
        f"atlas data add {path} --name {name}"
    )
