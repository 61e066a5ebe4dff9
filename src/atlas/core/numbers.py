"""Numbers from outside (CLI options, HTTP bodies and paths, config files, Python arguments):
finite and within their range, or an :class:`InvalidInputError` that names the bounds.

``float("nan")`` compares false with everything, so a plain ``value > 0`` lets it through;
``inf`` passes every lower bound; an integer past int64 passes Python but not the database.
Every edge checks with :func:`check_number` / :func:`check_int` (or a pydantic ``Field`` with
``allow_inf_nan=False`` and both bounds), never with a bare comparison.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from atlas.core.errors import InvalidInputError

MAX_INT64 = 2**63 - 1  # the largest integer a BIGINT column (and numpy's int64) holds
MAX_SEED = 2**32 - 1  # numpy's and Optuna's random seeds are unsigned 32-bit
SHOWN_CHARS = 40  # a longer value is cut in messages


def check_number(
    value: object,
    what: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """``value`` (a number, or text of one) as a float, if finite and in ``[low, high]``
    (``(low, high]`` with ``low_open``)."""
    hint = bounds_hint(low, high, low_open)
    number = _as_float(value, what, hint)
    if not math.isfinite(number) and not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{what} must be a finite number, got {shown(value)}.", hint=hint)
    too_low = low is not None and (number <= low if low_open else number < low)
    if too_low or (high is not None and number > high):
        raise InvalidInputError(f"{what} is out of range: {shown(value)}.", hint=hint)
    return number


def check_int(value: object, what: str, *, low: int | None = None, high: int = MAX_INT64) -> int:
    """``value`` (an integer, a whole float, or text of one) as an ``int`` in ``[low, high]``
    (at most int64 unless ``high`` says less)."""
    hint = bounds_hint(low, high, False, whole=True)
    number = _as_int(value, what, hint)
    if (low is not None and number < low) or number > high:
        raise InvalidInputError(f"{what} is out of range: {shown(value)}.", hint=hint)
    return number


def _as_float(value: object, what: str, hint: str) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"{what} must be a number, got {shown(value)}.", hint=hint
            ) from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{what} must be a number, got {shown(value)}.", hint=hint)
    try:
        return float(value)
    except OverflowError:  # an int past a float's range: past any bound
        return math.inf if value > 0 else -math.inf  # type: ignore[operator]


def _as_int(value: object, what: str, hint: str) -> int:
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-").removeprefix("+")
        if digits.isascii() and digits.isdigit():
            try:
                return int(text)
            except ValueError:  # more digits than Python converts
                raise InvalidInputError(
                    f"{what} is out of range: {shown(value)}.", hint=hint
                ) from None
    elif _is_whole(value):
        return int(value)  # type: ignore[call-overload]
    raise InvalidInputError(f"{what} must be a whole number, got {shown(value)}.", hint=hint)


def _is_whole(value: object) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def bounds_hint(
    low: float | None, high: float | None, low_open: bool = False, whole: bool = False
) -> str:
    """What to give instead: ``"Give a finite number greater than 0 and at most 2592000."``"""
    parts = []
    if low is not None:
        parts.append(f"{'greater than' if low_open else 'at least'} {_bound(low)}")
    if high is not None:
        parts.append(f"at most {_bound(high)}")
    kind = "a whole number" if whole else "a finite number"
    return f"Give {kind}" + (" " + " and ".join(parts) if parts else "") + "."


def shown(value: object, show: Callable[[object], str] = repr) -> str:
    """``value`` for a message, cut to :data:`SHOWN_CHARS` characters."""
    try:
        text = show(value)
    except ValueError:  # an int of more digits than Python prints
        return "(a number of thousands of digits)"
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}..."


def _bound(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"
