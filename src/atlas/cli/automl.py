"""``atlas automl``: search a model for a dataset, show leaderboards."""

from __future__ import annotations

import typer

from atlas.cli import options
from atlas.cli.leaderboard import print_leaderboard, score_lines
from atlas.cli.output import console, metrics_line, print_json
from atlas.cli.progress import SearchProgress
from atlas.core.errors import NotFoundError

app = typer.Typer(help="Tabular AutoML.", no_args_is_help=True)
PARAMS_HELP = "Show every parameter in full (by default each trial is one line, cut to fit)."
QUIET_HELP = "Print no progress while searching (--json prints none either)."


@app.command("fit")
def fit(
    dataset: str = typer.Argument(..., help="Dataset name (atlas data add)."),
    target: str = typer.Option(..., "--target", "-t", help="Column to predict."),
    model: str = typer.Option(..., "--model", "-m", help="Register the result under this name."),
    budget: float = typer.Option(
        60.0, "--budget", "-b", help="Seconds for the whole fit.", parser=options.budget
    ),
    metric: str | None = typer.Option(None, "--metric", help="Default: roc_auc/log_loss/rmse."),
    task: str | None = typer.Option(None, "--task", help="binary, multiclass or regression."),
    trials: int | None = typer.Option(
        None, "--trials", help="Fixed trial count, >= 1 (deterministic).", parser=options.trials
    ),
    seed: int = typer.Option(0, "--seed", help="0 to 2**32-1.", parser=options.seed),
    learners: str | None = typer.Option(
        None, "--learners", help="Comma-separated subset, e.g. lightgbm,catboost,linear."
    ),
    version: int | None = typer.Option(
        None, "--dataset-version", help="Default: newest.", parser=options.optional_version
    ),
    force: bool = typer.Option(False, "--force", help="Train on a version that failed checks."),
    infer_limit: float | None = typer.Option(
        None,
        "--infer-limit",
        help="Seconds a row the chosen models may take to predict (e.g. 0.0005); slower "
        "members are left out of the ensemble.",
    ),
    infer_batch: int | None = typer.Option(
        None,
        "--infer-limit-batch-size",
        help="Rows per predict call the limit is measured at: 1 for online requests, "
        "10000 (default) for batch scoring.",
    ),
    full_params: bool = typer.Option(False, "--params", help=PARAMS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the best model, then register it as the next version of MODEL. Shows progress
    while it searches; when no trial completes, registers nothing and exits with code 2."""
    from atlas.automl import fit_dataset
    from atlas.automl.outcome import NoTrialCompleted

    try:
        with SearchProgress(budget, trials, quiet=quiet or as_json) as progress:
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
                on_trial=progress.on_trial,
                infer_limit=infer_limit,
                infer_limit_batch_size=infer_batch,
            )
    except NoTrialCompleted as exc:
        if exc.leaderboard and not as_json:  # every trial, and why it did not complete
            print_leaderboard(exc.leaderboard, metric or "score", full_params=full_params)
        raise
    if as_json:
        print_json(report.to_json())
        return
    rows = report.leaderboard.to_dict(orient="records")
    print_leaderboard(rows, report.metric, full_params=full_params)
    for line in score_lines(rows, report.metric, report.cv_score):
        console.print(line, highlight=False)
    console.print(f"{report.n_trials} trials in {report.seconds:.1f} s", highlight=False)
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
    for line in score_lines(rows, metric, run["result"].get("cv_score")):
        console.print(line, highlight=False)
