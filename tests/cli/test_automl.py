"""``atlas automl``'s leaderboard: one line per trial at 80 columns, every parameter on request,
timeouts said as such (also in runs recorded before the state existed), and which score is the
best trial's and which the registered ensemble's."""

from __future__ import annotations

import io
import json

from rich.console import Console

from atlas.cli.leaderboard import print_leaderboard, score_lines

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


def render(n: int = 3, board: list[dict] | None = None, **kwargs: object) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, color_system=None)
    board = rows(n) if board is None else board
    print_leaderboard(board, "balanced_accuracy", out=console, **kwargs)  # a long metric name
    return out.getvalue().splitlines()


def test_each_trial_is_one_line_that_fits_80_columns() -> None:
    lines = render()
    assert lines[0] == "Leaderboard (each trial's cross-validated balanced_accuracy)"
    header = ["rank", "trial", "learner", "score", "state", "s", "params"]
    assert lines[1].split()[:7] == header
    trials = lines[2:]
    assert len(trials) == 3 and all(len(line) <= WIDTH for line in lines)
    # 1*: the trial is in the registered ensemble (its weight is > 0); trial 1 (skipped) is not
    assert trials[0].split()[:6] == ["1*", "0", "random_forest", "0.7812", "complete", "12.3"]
    assert trials[1].split()[0] == "2"
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


def test_the_lines_under_it_say_whose_score_is_which() -> None:
    assert score_lines(rows(), "roc_auc", 0.77671) == [
        "best trial: #0 random_forest, cross-validated roc_auc 0.7812 (rank 1)",
        "registered model: ensemble of the 2 trials marked *, cross-validated roc_auc 0.7767",
    ]
    alone = [dict(r, ensemble_weight=1.0 if r["trial"] == 0 else 0.0) for r in rows()]
    assert score_lines(alone, "roc_auc", 0.7812)[1] == (
        "registered model: best trial, cross-validated roc_auc 0.7812"
    )


def test_a_trial_stopped_at_its_limit_shows_timeout_and_why() -> None:
    board = rows(2)
    board[1].update(state="timeout", note="per-trial limit (2.5 s)")
    line = render(board=board)[3]
    assert line.split()[4] == "timeout" and line.endswith("timeout   12.3  per-trial limit (2.5 s)")
    assert "failed" not in line


def test_runs_recorded_before_the_timeout_state_read_as_timeouts() -> None:
    board = rows(3)
    board[1].update(state="failed", note="killed: past its time limit")
    board[2].update(state="failed", note="stopped: the time budget ran out", ensemble_weight=0)
    lines = render(board=board)
    assert lines[3].split()[4] == "timeout" and lines[3].endswith("per-trial limit")
    assert lines[4].split()[4] == "timeout" and lines[4].endswith("search deadline")
    board[1].update(note="ValueError: diverged")  # a real failure stays one
    assert render(board=board)[3].split()[4] == "failed"
