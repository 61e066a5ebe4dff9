"""``atlas automl``'s leaderboard: one line per trial at 80 columns, every parameter on request."""

from __future__ import annotations

import io
import json

from rich.console import Console

from atlas.cli.automl import print_leaderboard, search_summary

WIDTH = 80
PARAMS = {
    "learning_rate": 0.0512345,
    "num_leaves": 31,
    "min_child_samples": 20,
    "feature_fraction": 0.9,
    "lambda_l2": 0.001,
    "class_weight": "balanced",
}


def rows(n: int = 3) -> list[dict]:
    return [
        {
            "rank": i + 1,
            "trial": i,
            "learner": "random_forest",
            "score": None if i == 1 else 0.781234,
            "state": "skipped" if i == 1 else "complete",
            "seconds": 12.345,
            "params": json.dumps(PARAMS),
            "note": "skipped: needs ~3 s, 1 left" if i == 1 else "",
            "ensemble_weight": 0.5 if i != 1 else 0.0,
        }
        for i in range(n)
    ]


def render(n: int = 3, **kwargs: object) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, color_system=None)
    print_leaderboard(rows(n), "balanced_accuracy", out=console, **kwargs)  # a long metric name
    return out.getvalue().splitlines()


def test_each_trial_is_one_line_that_fits_80_columns() -> None:
    lines = render()
    assert lines[0] == "Leaderboard (cross-validated balanced_accuracy)"
    assert lines[1].split()[:7] == ["rank", "trial", "learner", "score", "state", "s", "params"]
    trials = lines[2:]
    assert len(trials) == 3 and all(len(line) <= WIDTH for line in lines)
    assert trials[0].split()[:6] == ["1", "0", "random_forest", "0.7812", "complete", "12.3"]
    assert trials[1].split()[3] == "-" and trials[1].endswith("skipped: needs ~3 s, 1 left")
    assert "learning_rate=0.0512" in trials[0] and trials[0].endswith("\u2026")


def test_full_params_show_every_parameter_exactly() -> None:
    lines = render(full_params=True)
    assert all(len(line) <= WIDTH for line in lines)
    second = next(i for i, line in enumerate(lines) if line.startswith("2 "))
    first_trial = " ".join(lines[2:second])
    for key, value in PARAMS.items():
        assert f"{key}={value}" in first_trial


def test_rows_past_the_limit_are_counted_not_dropped_silently() -> None:
    lines = render(n=5, limit=2)
    assert len([line for line in lines if line[:1].isdigit()]) == 2
    assert lines[-1] == "... and 3 more trials (--json lists all)"


def test_the_summary_names_the_ensemble_it_scores() -> None:
    line = search_summary(rows(), 12, 15.94, "roc_auc", 0.77671)
    assert line == (
        "12 trials in 15.9 s; registered model (ensemble of 2 trials): cross-validated "
        "roc_auc 0.7767"
    )
