"""``atlas demo``: the main job end to end on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer

from atlas.cli import options
from atlas.cli.leaderboard import print_leaderboard, score_lines
from atlas.cli.output import console, metrics_line, table
from atlas.cli.progress import SearchProgress
from atlas.core.errors import InvalidInputError


def demo(
    data: Path | None = typer.Option(
        None, "--data", help="CSV with a 'target' column (default: the shipped German credit set)."
    ),
    target: str = typer.Option("target", "--target", help="Column to predict."),
    budget: float = typer.Option(
        60.0, "--budget", "-b", help="AutoML seconds.", parser=options.budget
    ),
    model: str = typer.Option("credit-risk", "--model", help="Model name to register."),
) -> None:
    """Ingest a credit table (German credit by default), run AutoML, register, serve over
    HTTP, print served predictions."""
    from atlas.apps.demo import run_demo
    from atlas.data.samples import sample_path

    if data is None:
        data = sample_path()
    elif not data.is_file():
        raise InvalidInputError(
            f"Demo data not found at {data.absolute()}.",
            hint="Pass --data PATH to a CSV file, or leave --data out to use the shipped sample.",
        )
    with SearchProgress(budget) as progress:
        report = run_demo(
            data,
            target=target,
            model=model,
            time_budget=budget,
            on_step=lambda msg: console.print(f"[cyan]>[/] {msg}"),
            on_trial=progress.on_trial,
        )
    fit = report.fit
    rows = fit.leaderboard.to_dict(orient="records")
    print_leaderboard(rows, fit.metric)
    for line in score_lines(rows, fit.metric, fit.cv_score):
        console.print(line, highlight=False)
    console.print(f"{fit.n_trials} trials in {fit.seconds:.1f} s", highlight=False)
    console.print(f"[bold]test metrics[/] (held-out 20%): {metrics_line(fit.test_metrics)}")
    table(
        f"Served predictions from {report.server_url}/v1/models/{model}:predict",
        ["request", "version", "label", "probabilities", "actual"],
        [
            (
                i + 1,
                s["version"],
                s.get("label", s.get("prediction")),
                ", ".join(f"{k}={v:.3f}" for k, v in s.get("probabilities", {}).items()),
                t,
            )
            for i, (s, t) in enumerate(zip(report.served, report.truth, strict=True))
        ],
    )
    console.print(
        f"served == in-process predictions (max |diff| {report.max_abs_diff:.2e}); "
        f"{model} v{fit.model.version} is now production."
    )
