"""Parsers of the CLI's numeric options: every number a user types is finite and in range.

Each is a typer ``parser=``: it gets the text (or the default) and returns the number; the
shared checks' :class:`~atlas.core.errors.InvalidInputError` becomes a ``typer.BadParameter``,
which typer prints as ``Invalid value for '--budget': ...`` with exit code 2 before the command
runs. The search's
bounds are :mod:`atlas.automl.limits`' (imported when a search option is parsed: the commands
that have one import AutoML anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

import typer

from atlas.core.errors import InvalidInputError
from atlas.core.numbers import check_int
from atlas.core.versions import parse_version

MAX_REPLICAS = 1024
MAX_WORKERS = 64  # server processes on one machine (``atlas serve --workers``)
MAX_PORT = 65535  # TCP ports are 16 bits; port 0 (any free port) would hide where it serves
T = TypeVar("T")


def _option(parse: Callable[[object], T]) -> Callable[[object], T]:
    """``parse`` with its error as typer's (the message and hint, without a traceback)."""

    @wraps(parse)
    def parser(value: object) -> T:
        try:
            return parse(value)
        except InvalidInputError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parser


@_option
def budget(value: object) -> float:
    """``--budget``: seconds, finite, positive, at most 30 days."""
    from atlas.automl.limits import check_budget

    checked = check_budget(value, "The budget (seconds)")
    assert checked is not None  # the option has a default
    return checked


@_option
def trials(value: object) -> int | None:
    """``--trials``: 1 or more (absent: as many as the budget allows)."""
    from atlas.automl.limits import check_trials

    return check_trials(value, "The trial count")


@_option
def seed(value: object) -> int:
    """``--seed``: 0 to 2**32-1 (numpy's and Optuna's seeds)."""
    from atlas.automl.limits import check_seed

    return check_seed(value, "The seed")


@_option
def replicas(value: object) -> int:
    return check_int(value, "The replica count", low=1, high=MAX_REPLICAS)


@_option
def workers(value: object) -> int:
    """``--workers``: server processes on one port, 1 to 64."""
    return check_int(value, "The worker count", low=1, high=MAX_WORKERS)


@_option
def optional_port(value: object) -> int | None:
    """``--port``: 1 to 65535, or None for the setting's default (ATLAS_SERVE_PORT)."""
    return None if value is None else check_int(value, "The port", low=1, high=MAX_PORT)


@_option
def version(value: object) -> int:
    """A version number: 1 to 2**63-1."""
    return parse_version(value)


@_option
def optional_version(value: object) -> int | None:
    """A version number, or None when the option is not given (the newest)."""
    return None if value is None else parse_version(value)
