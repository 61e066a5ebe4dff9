"""``atlas automl``'s leaderboard: one line per trial at 80 columns, every parameter on request."""

from __future__ import annotations

import io
import json

from rich.console import Console

from atlas.cli.automl import print_leaderboard

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
        }
        for i in range(n)
    ]


def render(**kwargs: object) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, color_system=None)
    print_leaderboard(rows(), "balanced_accuracy", out=console, **kwargs)  # a long metric name
    return out.getvalue().splitlines()


def test_each_trial_is_one_line_that_fits_80_columns() -> None:
    lines = render()
    assert lines[0] == "Leaderboard (cross-validated balanced_accuracy)"
    assert lines[1].split() == ["rank", "trial", "learner", "score", "state", "s", "params"]
    trials = lines[2:]
    assert len(trials) == 3 and all(len(line) <= WIDTH for line in lines)
    assert trials[0].split()[:6] == ["1", "0", "random_forest", "0.7812", "complete", "12.3"]
    assert trials[1].split()[3] == "-"
    assert "learning_rate=0.0512" in trials[0] and trials[0].endswith("\u2026")


def test_full_params_show_every_parameter_exactly() -> None:
    lines = render(full_params=True)
    assert all(len(line) <= WIDTH for line in lines)
    second = next(i for i, line in enumerate(lines) if line.startswith("2 "))
    first_trial = " ".join(lines[2:second])
    for key, value in PARAMS.items():
        assert f"{key}={value}" in first_trial
