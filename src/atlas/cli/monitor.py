"""``atlas monitor``: live metrics, drift and bad cases from the serving feedback log.

atlas monitor MODEL [--since 24h] [--json]            (same as: atlas monitor show MODEL)
atlas monitor bad-cases MODEL --kind wrong --limit 20 [--json]
atlas monitor labels FILE.csv                          (columns request_id,label)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from atlas.cli.output import console, print_json, table
from atlas.core.errors import AtlasError, InvalidInputError
from atlas.core.names import is_version_number
from atlas.core.settings import get_settings


class _DefaultShow(TyperGroup):
    """``atlas monitor MODEL`` runs ``show``: a first word that is not a command is a model."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultShow,
    help="Live metrics, drift and bad cases of served models (atlas monitor MODEL).",
    no_args_is_help=True,
)

_SINCE_HELP = "Window start: a duration back from now (30m, 12h, 7d, 2w), an ISO date, or 'all'."


def parse_since(text: str | None, default: timedelta | None = timedelta(days=1)) -> datetime | None:
    """``24h`` -> now minus a day, ``2026-01-31[T..]`` -> that time (UTC), ``all`` -> None."""
    if text is None:
        return datetime.now(UTC) - default if default is not None else None
    if text.strip().lower() == "all":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        return datetime.now(UTC) - timedelta(**{unit[match.group(2)]: float(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"Cannot read --since {text!r}.", hint="Use e.g. 30m, 12h, 7d, 2026-01-31 or all."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _monitor(model: str, dataset: str | None) -> Any:
    from atlas.data import DatasetStore
    from atlas.registry import ModelRegistry
    from atlas.serve.feedback import FeedbackLog
    from atlas.serve.monitoring import Monitor, reference_from_dataset, reference_from_lineage

    settings = get_settings()
    log = FeedbackLog.from_settings(settings)
    store = DatasetStore.from_settings(settings)
    if dataset:
        name, _, version = dataset.partition(":")
        frame = reference_from_dataset(
            store, name, int(version) if is_version_number(version) else None
        )
        return Monitor(log, {model: frame}, window=None)

    def loader(name: str) -> Any:
        try:
            return reference_from_lineage(ModelRegistry.from_settings(settings), store, name)
        except AtlasError:  # no such model or dataset: drift is simply not shown
            return None

    return Monitor(log, reference_loader=loader, window=None)


@app.command("show")
def show(
    model: str = typer.Argument(..., help="Model name."),
    since: str | None = typer.Option(None, "--since", help=_SINCE_HELP + " Default 24h."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Training reference NAME[:VERSION]; default the model's lineage."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Metrics per version, per-feature drift (PSI) and counts of bad cases."""
    summary = _monitor(model, dataset).summary(model, parse_since(since))
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]{model}[/] since {summary['since'] or 'the beginning'}")
    if not summary["versions"]:
        console.print(f"No predictions of {model!r} logged in this window.")
        return
    keys = ["count", "labelled", "fallbacks", "latency_p50_ms", "latency_p99_ms"]
    quality = ["accuracy", "auc", "ks", "rmse", "mae"]
    shown = [k for k in quality if any(v.get(k) is not None for v in summary["versions"])]
    table(
        "Versions",
        ["version", *keys, *shown],
        [(v["version"], *(v.get(k) for k in [*keys, *shown])) for v in summary["versions"]],
    )
    table(
        "Drift (PSI vs training; > 0.2 is an alarm)",
        ["feature", "psi", "n"],
        [(d["feature"], d["psi"], d["n"]) for d in summary["drift"]],
    )
    table("Bad cases", ["kind", "count"], list(summary["bad_cases"].items()))


@app.command("bad-cases")
def bad_cases(
    model: str = typer.Argument(..., help="Model name."),
    kind: str = typer.Option("wrong", "--kind", help="wrong, low_confidence or drifted."),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many."),
    since: str | None = typer.Option(None, "--since", help=_SINCE_HELP + " Default all."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Training reference NAME[:VERSION] (for --kind drifted)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The bad cases the continuous-iteration loop relabels."""
    found = _monitor(model, dataset).bad_cases(model, kind, limit, parse_since(since, None))
    rows = found.assign(timestamp=found["timestamp"].astype(str)).to_dict(orient="records")
    if as_json:
        print_json(rows)
        return
    columns = ["request_id", "version", "timestamp", "label", "confidence", "truth", "reason"]
    table(f"Bad cases: {kind}", columns, [[r[c] for c in columns] for r in rows])


@app.command("labels")
def labels(
    file: Path = typer.Argument(..., help="CSV with the columns request_id,label."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest ground-truth labels that arrived after the predictions."""
    import pandas as pd

    from atlas.serve.feedback import FeedbackLog

    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"Cannot read {file}: {exc}.") from None
    missing = {"request_id", "label"} - set(frame.columns)
    if missing:
        raise InvalidInputError(
            f"{file} has no column {', '.join(sorted(missing))}.",
            hint="The first line must be: request_id,label",
        )
    pairs = list(zip(frame["request_id"], frame["label"], strict=True))
    n = FeedbackLog.from_settings(get_settings()).add_labels(pairs)
    if as_json:
        print_json({"labels": n})
    else:
        console.print(f"ingested {n} labels")
