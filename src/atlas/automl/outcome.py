"""A search that completed no trial registers nothing: :class:`NoTrialCompleted` says why.

``AutoClassifier.fit`` still ends fitted (the prior as a baseline, so scikit-learn code keeps
working), but ``fit_dataset`` and ``atlas automl fit`` never register that baseline as the
next version of a model: it would look like a model and predict nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from atlas.core.errors import AtlasError

MIN_BUDGET_FACTOR = 2.0  # the hint suggests at least this many times the budget given
SHOWN_NOTES = 3  # distinct reasons quoted in the hint (the leaderboard has every one)
NOTE_CHARS = 120  # each cut to this length


class NoTrialCompleted(AtlasError):
    """No trial completed, so nothing was registered; ``leaderboard`` holds every trial and
    why it did not complete."""

    http_status = 422

    def __init__(self, message: str, leaderboard: list[dict[str, Any]], *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.leaderboard = leaderboard


def check_completed(
    best_trial: int | None,
    leaderboard: pd.DataFrame,
    model: str,
    time_budget: float | None,
    n_trials: int | None,
) -> None:
    """Raise :class:`NoTrialCompleted` unless some trial completed (``best_trial`` is set)."""
    if best_trial is not None:
        return
    rows = leaderboard.to_dict(orient="records")
    states = Counter(str(r["state"]) for r in rows)
    ended = ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "none started"
    limit = f"{n_trials} trials" if n_trials is not None else f"{time_budget:g} s"
    raise NoTrialCompleted(
        f"No trial completed within {limit} ({ended}), so nothing was registered as {model}.",
        rows,
        hint=_hint(None if n_trials is not None else time_budget, rows),
    )


def _hint(time_budget: float | None, rows: list[dict[str, Any]]) -> str:
    notes = sorted({str(r["note"])[:NOTE_CHARS] for r in rows if r.get("note")})[:SHOWN_NOTES]
    why = f" What stopped them: {'; '.join(notes)}." if notes else ""
    if time_budget is not None:
        more = f"{MIN_BUDGET_FACTOR * time_budget:g}"
        return f"Give a longer budget (e.g. --budget {more}) or faster --learners.{why}"
    return f"Check the learners (atlas plugins) or give a time budget.{why}"
