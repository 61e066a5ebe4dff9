"""``atlas automl``: search a model for a dataset, show leaderboards."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from atlas.cli.output import console, fmt, metrics_line, print_json
from atlas.core.errors import NotFoundError

if TYPE_CHECKING:
    from atlas.automl import TrialProgress

app = typer.Typer(help="Tabular AutoML.", no_args_is_help=True)
DEFAULT_ROWS = 10  # trials the fit command shows
SECONDS_DIGITS = 1  # a trial's seconds are shown to a tenth
COLUMN_GAP = "  "
MIN_PARAMS_WIDTH = 12  # the params column never gets narrower than this
PARAMS_HELP = "Show every parameter in full (by default each trial is one line, cut to fit)."


def print_leaderboard(
    rows: list[dict[str, Any]],
    metric: str,
    limit: int = DEFAULT_ROWS,
    full_params: bool = False,
    out: Console | None = None,
) -> None:
    """One line per trial, its parameters cut to the console's width with an ellipsis (a
    trial that did not complete shows why instead); ``full_params`` wraps them onto more lines,
    so every parameter shows."""
    out = out or console
    header = ["rank", "trial", "learner", "score", "state", "s"]  # the title names the metric
    cells = [
        [
            str(r["rank"]),
            str(r["trial"]),
            str(r["learner"]),
            fmt(r["score"]),
            str(r["state"]),
            f"{r['seconds']:.{SECONDS_DIGITS}f}",
        ]
        for r in rows[:limit]
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    indent = sum(widths) + len(COLUMN_GAP) * len(widths)
    room = max(out.width - indent, MIN_PARAMS_WIDTH)

    def line(row: list[str], params: str) -> str:
        fixed = COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return f"{fixed}{COLUMN_GAP}{params}".rstrip()

    out.print(f"Leaderboard (cross-validated {metric})", highlight=False)
    out.print(line(header, "params (or why not complete)"), style="bold", highlight=False)
    for row, r in zip(cells, rows, strict=False):
        params = _compact(r["params"], exact=full_params)
        if r.get("note") and not full_params:
            params = str(r["note"])
        if not full_params:
            cut = params if len(params) <= room else params[: room - 1] + "\u2026"
            out.print(line(row, cut), markup=False, highlight=False)
            continue
        first, *rest = textwrap.wrap(params, room, break_long_words=False) or [""]
        out.print(line(row, first), markup=False, highlight=False)
        for more in rest:
            out.print(" " * indent + more, markup=False, highlight=False)
    if len(rows) > limit:
        out.print(f"... and {len(rows) - limit} more trials (--json lists all)", highlight=False)


def search_summary(
    rows: list[dict[str, Any]], n_trials: int, seconds: float, metric: str, score: float | None
) -> str:
    """One line under the leaderboard: what was searched and what the registered model scored
    (the ensemble of the trials with a weight, whose score no single row shows)."""
    members = sum(1 for r in rows if (r.get("ensemble_weight") or 0) > 0)
    model = f"ensemble of {members} trials" if members > 1 else "best trial"
    return (
        f"{n_trials} trials in {seconds:.1f} s; registered model ({model}): cross-validated "
        f"{metric} {fmt(score)}"
    )


def _compact(params_json: str, exact: bool = False) -> str:
    """``key=value`` pairs; numbers to three significant digits unless ``exact``."""
    params = json.loads(params_json)
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) and not exact else f"{k}={v}"
        for k, v in params.items()
    )


@app.command("fit")
def fit(
    dataset: str = typer.Argument(..., help="Dataset name (atlas data add)."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    model: str = typer.Option(..., "--model", "-m", help="Register the result under this name."),
    budget: float = typer.Option(60.0, "--budget", "-b", help="Seconds for the whole fit."),
    metric: str | None = typer.Option(None, "--metric", help="Default: roc_auc/log_loss/rmse."),
    task: str | None = typer.Option(None, "--task", help="binary, multiclass or regression."),
    trials: int | None = typer.Option(None, "--trials", help="Fixed trial count (deterministic)."),
    seed: int = typer.Option(0, "--seed"),
    learners: str | None = typer.Option(
        None, "--learners", help="Comma-separated subset, e.g. lightgbm,catboost,linear."
    ),
    version: int | None = typer.Option(None, "--dataset-version", help="Default: newest."),
    force: bool = typer.Option(False, "--force", help="Train on a version that failed checks."),
    full_params: bool = typer.Option(False, "--params", help=PARAMS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the best model, then register it as the next version of MODEL."""
    from atlas.automl import fit_dataset

    with Progress(
        TextColumn("[bold]searching"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[trials]} trials, best {task.fields[best]}"),
        console=console,
        disable=as_json,
        transient=True,
    ) as progress:
        bar = progress.add_task("fit", total=budget, trials=0, best="-")

        def on_trial(p: TrialProgress) -> None:
            best = f"{p.best_score:.4f}" if p.best_score is not None else "-"
            progress.update(bar, completed=min(p.elapsed, budget), trials=p.n_trials, best=best)

        report = fit_dataset(
            dataset,
            target,
            model,
            time_budget=budget,
            n_trials=trials,
            metric=metric,
            task=task,
            seed=seed,
            dataset_version=version,
            learners=learners.split(",") if learners else None,
            force=force,
            on_trial=on_trial,
        )
    if as_json:
        print_json(report.to_json())
        return
    rows = report.leaderboard.to_dict(orient="records")
    print_leaderboard(rows, report.metric, full_params=full_params)
    console.print(
        search_summary(rows, report.n_trials, report.seconds, report.metric, report.cv_score)
    )
    console.print(f"test: {metrics_line(report.test_metrics)}")
    console.print(
        f"registered [bold]{report.model.name}[/] v{report.model.version} (run {report.run_id})"
    )


@app.command("leaderboard")
def leaderboard(
    ref: str = typer.Argument(..., help="A model name (its newest version's run) or a run id."),
    version: str | None = typer.Option(None, "--version", "-v", help="Model version or alias."),
    full_params: bool = typer.Option(False, "--params", help=PARAMS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The leaderboard of the search that produced a model (or of a run)."""
    from atlas.automl.runs import RunLog
    from atlas.registry import ModelRegistry

    runs = RunLog.from_settings()
    try:
        run = runs.get(ref)
    except NotFoundError:
        mv = ModelRegistry.from_settings().get(ref, version or "latest")
        if mv.run_id is None:
            raise NotFoundError(f"Model {ref} v{mv.version} was not produced by a run.") from None
        run = runs.get(mv.run_id)
    rows = run["result"].get("leaderboard", [])
    if as_json:
        print_json(rows)
        return
    metric = run["params"].get("metric", "score")
    print_leaderboard(rows, metric, limit=len(rows), full_params=full_params)
