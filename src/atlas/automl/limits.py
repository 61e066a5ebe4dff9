"""The numbers that bound a search, checked where a search starts (``fit``, ``fit_dataset``,
the CLI): a finite, positive budget, at least one trial, a seed numpy accepts.

A ``time_budget`` of ``nan`` used to mean no deadline at all (``nan`` compares false with the
clock), ``inf`` the same, and ``n_trials=0`` a search of nothing whose fallback was registered
as a model; each is now an :class:`~atlas.core.errors.InvalidInputError` (a ``ValueError``).
"""

from __future__ import annotations

from atlas.core.errors import InvalidInputError
from atlas.core.numbers import MAX_SEED, check_int, check_number

MAX_BUDGET_SECONDS = 30 * 24 * 3600  # a search longer than 30 days is a typo
MAX_TRIALS = 1_000_000
MAX_TEST_SHARE = 0.9  # at most this share of the labelled rows is held out for the test


def check_budget(time_budget: object, what: str = "time_budget") -> float | None:
    """Seconds for the whole search (None: no deadline, only with ``n_trials``)."""
    if time_budget is None:
        return None
    return check_number(time_budget, what, low=0, low_open=True, high=MAX_BUDGET_SECONDS)


def check_trials(n_trials: object, what: str = "n_trials") -> int | None:
    """A trial count of 1 or more (None: as many as the budget allows)."""
    if n_trials is None:
        return None
    return check_int(n_trials, what, low=1, high=MAX_TRIALS)


def check_seed(seed: object, what: str = "seed") -> int:
    return check_int(seed, what, low=0, high=MAX_SEED)


def check_search_limits(
    time_budget: object, n_trials: object, seed: object = 0
) -> tuple[float | None, int | None]:
    """``(time_budget, n_trials)`` checked; one of them is needed."""
    budget, trials = check_budget(time_budget), check_trials(n_trials)
    check_seed(seed)
    if budget is None and trials is None:
        raise InvalidInputError(
            "Give time_budget (seconds), n_trials, or both.",
            hint="For example time_budget=60, or n_trials=20 for a deterministic search.",
        )
    return budget, trials


def check_test_size(test_size: object) -> float:
    """The held-out share of the labelled rows."""
    return check_number(test_size, "test_size", low=0, low_open=True, high=MAX_TEST_SHARE)
