"""A search's leaderboard for people: one line per trial, and which score is whose.

Each row's ``score`` is that trial's own cross-validated score; a ``*`` after the rank marks
the trials in the registered model (an ensemble of the trials with a weight: ``--json`` has the
weights); the lines under the table say which score is the best trial's and which the
registered ensemble's. A trial stopped at its time
limit shows ``timeout`` and which limit (``per-trial limit (12.0 s)`` or ``search deadline``),
never ``failed``.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from rich.console import Console

from atlas.cli.output import console, fmt

DEFAULT_ROWS = 10  # trials the fit command shows
SECONDS_DIGITS = 1  # a trial's seconds are shown to a tenth
MEMBER_MARK = "*"  # after the rank of a trial in the registered ensemble
COLUMN_GAP = "  "
MIN_PARAMS_WIDTH = 12  # the params column never gets narrower than this
# how runs recorded before the timeout state said it (their rows still read as timeouts)
OLD_TIMEOUT_NOTES = {
    "killed: past its time limit": "per-trial limit",
    "stopped: the time budget ran out": "search deadline",
}


def state_and_note(row: dict[str, Any]) -> tuple[str, str]:
    """The row's state and note, with an old run's time-limit failure read as a timeout."""
    state, note = str(row["state"]), str(row.get("note") or "")
    if state == "failed" and note in OLD_TIMEOUT_NOTES:
        return "timeout", OLD_TIMEOUT_NOTES[note]
    return state, note


def _cells(row: dict[str, Any]) -> list[str]:
    member = (row.get("ensemble_weight") or 0.0) > 0
    return [
        f"{row['rank']}{MEMBER_MARK if member else ''}",
        str(row["trial"]),
        str(row["learner"]),
        fmt(row["score"]),
        state_and_note(row)[0],
        f"{row['seconds']:.{SECONDS_DIGITS}f}",
    ]


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
    header = ["rank", "trial", "learner", "score", "state", "s"]
    cells = [_cells(r) for r in rows[:limit]]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    indent = sum(widths) + len(COLUMN_GAP) * len(widths)
    room = max(out.width - indent, MIN_PARAMS_WIDTH)

    def line(row: list[str], params: str) -> str:
        fixed = COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        return f"{fixed}{COLUMN_GAP}{params}".rstrip()

    out.print(f"Leaderboard (each trial's cross-validated {metric})", highlight=False)
    out.print(line(header, "params (or why not complete)"), style="bold", highlight=False)
    for row, r in zip(cells, rows, strict=False):
        params = _compact(r["params"], exact=full_params)
        note = state_and_note(r)[1]
        if note and not full_params:
            params = note
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


def score_lines(rows: list[dict[str, Any]], metric: str, ensemble_score: float | None) -> list[str]:
    """Which score is the best trial's and which the registered model's: ``best trial: #3
    lightgbm, cross-validated roc_auc 0.7812 (rank 1)`` and ``registered model: ensemble of the
    4 trials marked *, cross-validated roc_auc 0.7901``."""
    complete = [r for r in rows if r["state"] == "complete"]
    if not complete:
        return ["no trial completed: nothing was registered"]
    best = complete[0]  # complete trials come first, best first
    members = sum(1 for r in rows if (r.get("ensemble_weight") or 0) > 0)
    model = (
        f"ensemble of the {members} trials marked {MEMBER_MARK}" if members > 1 else "best trial"
    )
    return [
        f"best trial: #{best['trial']} {best['learner']}, cross-validated {metric} "
        f"{fmt(best['score'])} (rank {best['rank']})",
        f"registered model: {model}, cross-validated {metric} {fmt(ensemble_score)}",
    ]


def _compact(params_json: str, exact: bool = False) -> str:
    """``key=value`` pairs; numbers to three significant digits unless ``exact``."""
    params = json.loads(params_json)
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) and not exact else f"{k}={v}"
        for k, v in params.items()
    )
