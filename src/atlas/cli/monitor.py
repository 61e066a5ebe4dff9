"""``atlas monitor``: live metrics, drift and bad cases from the serving feedback log.

atlas monitor MODEL [--since 24h] [--server URL] [--json]   (same as: atlas monitor show MODEL)
atlas monitor bad-cases MODEL --kind wrong --limit 20 [--json]
atlas monitor labels MODEL FILE.csv [--json]                  (columns request_id,label)

A model that is neither registered nor in the log is an error (exit 2); labels some of which
were refused exit 1 (the valid ones are written).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from atlas.cli.output import console, print_json, table
from atlas.core.errors import AtlasError, InvalidInputError, NotFoundError
from atlas.core.names import check_name, is_version_number
from atlas.core.settings import Settings, get_settings

EXIT_REFUSED = 1  # some labels were refused (the valid ones are written)
SCRAPE_TIMEOUT_S = 2.0
_LOG_SAMPLES = {  # the server's /metrics samples of its feedback log -> the keys shown
    "atlas_feedback_pending": "pending",
    "atlas_feedback_written_total": "written",
    "atlas_feedback_write_errors_total": "write_errors",
    "atlas_feedback_dropped_total": "dropped",
    "atlas_feedback_unreadable_files": "unreadable_files",
    "atlas_monitor_summary_errors_total": "summary_errors",
}


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


def _log(settings: Settings) -> Any:
    from atlas.serve.feedback import FeedbackLog

    return FeedbackLog.from_settings(settings)


def _known(log: Any, model: str, settings: Settings) -> None:
    """Raise :class:`NotFoundError` unless ``model`` is in the log or the registry."""
    check_name("model", model)
    if model in log.models():
        return
    from atlas.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings)
    if not any(m["name"] == model for m in registry.list_models()):
        raise NotFoundError(
            f"No model {model!r}: it is not registered and has no logged predictions.",
            hint="'atlas models list' lists the registered models.",
        )


def _monitor(model: str, dataset: str | None) -> Any:
    from atlas.data import DatasetStore
    from atlas.registry import ModelRegistry
    from atlas.serve.monitoring import Monitor, reference_from_dataset, reference_from_lineage

    settings = get_settings()
    log = _log(settings)
    _known(log, model, settings)
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


def server_log(url: str) -> dict[str, Any]:
    """The feedback-log counters a running server exports on ``url``/metrics (its queue and
    failed writes live in its memory), or why they cannot be read."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Any] = {"server": url}
    try:
        answer = httpx.get(f"{url.rstrip('/')}/metrics", timeout=SCRAPE_TIMEOUT_S)
        answer.raise_for_status()
        families = list(text_string_to_metric_families(answer.text))
    except (httpx.HTTPError, ValueError) as exc:
        return out | {"reachable": False, "error": f"{type(exc).__name__}: {exc}"}
    samples = {s.name: s.value for f in families for s in f.samples if s.name in _LOG_SAMPLES}
    return out | {"reachable": True} | {_LOG_SAMPLES[k]: int(v) for k, v in samples.items()}


def _default_server(settings: Settings) -> str:
    return f"http://{settings.serve_host}:{settings.serve_port}"


@app.command("show")
def show(
    model: str = typer.Argument(..., help="Model name."),
    since: str | None = typer.Option(None, "--since", help=_SINCE_HELP + " Default 24h."),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Training reference NAME[:VERSION]; default the model's lineage."
    ),
    server: str | None = typer.Option(
        None,
        "--server",
        help="Server whose feedback-log counters to show (its /metrics); "
        "default http://ATLAS_SERVE_HOST:ATLAS_SERVE_PORT.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Metrics per version, per-feature drift (PSI), counts of bad cases, and the serving
    feedback log's health (rows waiting, failed writes)."""
    summary = _monitor(model, dataset).summary(model, parse_since(since))
    summary["log"] = server_log(server or _default_server(get_settings()))
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]{model}[/] since {summary['since'] or 'the beginning'}")
    if summary["versions"]:
        _print_summary(summary)
    else:
        console.print(f"No predictions of {model!r} logged in this window.")
    _print_log(summary["log"], summary["skipped_rows"])


def _print_summary(summary: dict[str, Any]) -> None:
    keys = ["count", "labelled", "log_errors", "fallbacks", "latency_p50_ms", "latency_p99_ms"]
    quality = ["accuracy", "auc", "ks", "rmse", "mae"]
    shown = [k for k in quality if any(v.get(k) is not None for v in summary["versions"])]
    table(
        "Versions (quality over labelled answers; - where there are none)",
        ["version", *keys, *shown],
        [(v["version"], *(v.get(k) for k in [*keys, *shown])) for v in summary["versions"]],
    )
    table(
        "Drift (PSI vs training; > 0.2 is an alarm)",
        ["feature", "psi", "n"],
        [(d["feature"], d["psi"], d["n"]) for d in summary["drift"]],
    )
    table("Bad cases", ["kind", "count"], list(summary["bad_cases"].items()))


def _print_log(log: dict[str, Any], skipped: int) -> None:
    if skipped:
        console.print(f"[yellow]{skipped} logged rows could not be read[/] (left out above).")
    if not log["reachable"]:
        console.print(f"Feedback log of the server at {log['server']}: not reachable.")
        return
    keys = ["pending", "written", "write_errors", "dropped", "unreadable_files"]
    table(f"Feedback log (server at {log['server']})", keys, [[log.get(k) for k in keys]])


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
    model: str = typer.Argument(..., help="Model name."),
    file: Path = typer.Argument(..., help="CSV with the columns request_id,label."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add ground-truth labels that arrived after the predictions. Each passes the same rules
    as the server's label endpoint; the refused ones are listed and exit 1."""
    import pandas as pd

    settings = get_settings()
    log = _log(settings)
    _known(log, model, settings)
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
    report = log.add_labels(model, pairs, source="cli").as_dict()
    if as_json:
        print_json(report)
    else:
        _print_report(report)
    if report["refused"]:
        raise typer.Exit(EXIT_REFUSED)


def _print_report(report: dict[str, Any]) -> None:
    console.print(
        f"{report['received']} labels: {report['matched']} matched a logged prediction, "
        f"{report['accepted']} accepted ({report['replaced']} replaced an earlier label), "
        f"{report['refused']} refused"
    )
    if report["refused"]:
        reasons = ", ".join(f"{n} {reason}" for reason, n in report["reasons"].items())
        console.print(f"refused: {reasons}")
        table(
            "Refused labels (line = CSV line)",
            ["line", "request_id", "reason"],
            [(r["index"] + 2, r["request_id"], r["message"]) for r in report["refusals"]],
        )
