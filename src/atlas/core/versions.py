"""Version numbers from outside: 1 to 2**63-1 (a BIGINT), or a clear 422 before any lookup.

A version comes as a path segment (``/v1/models/m/versions/3``), a JSON field, a CLI argument
or a Python ``int``. Every one of them is read with :func:`parse_version` (or, in a pydantic
body, typed :data:`VersionNumber`), so ``99999999999999999999`` is refused with a message, not
an ``OverflowError`` from the database driver.
"""

from __future__ import annotations

import numbers
from typing import Annotated

from pydantic import BeforeValidator, Field

from atlas.core.errors import InvalidInputError
from atlas.core.names import is_version_number
from atlas.core.numbers import MAX_INT64, shown

MIN_VERSION = 1
MAX_VERSION = MAX_INT64
MAX_DIGITS = len(str(MAX_VERSION))
VERSION_HINT = f"Versions are whole numbers from {MIN_VERSION} to {MAX_VERSION}."


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):  # pydantic would read true as version 1
        raise ValueError("a version is a whole number, not true or false")
    return value


#: A version number in a pydantic model (a request body, a config file).
VersionNumber = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=MIN_VERSION, le=MAX_VERSION)]


def parse_version(ref: object, what: str = "version") -> int:
    """``ref`` (an ``int`` or ASCII digits) as a version number, else :class:`InvalidInputError`
    (a 422 over HTTP, exit code 2 in the CLI)."""
    number = ref
    if isinstance(ref, str) and looks_like_version(ref):
        text = ref.strip()
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-").lstrip("0") or "0"
        number = sign * int(digits) if len(digits) <= MAX_DIGITS else sign * (MAX_VERSION + 1)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral):
        raise InvalidInputError(
            f"{what.capitalize()} {shown(ref)} is not a whole number.", hint=VERSION_HINT
        )
    if not MIN_VERSION <= int(number) <= MAX_VERSION:
        raise InvalidInputError(
            f"{what.capitalize()} {shown(ref, str)} is out of range.", hint=VERSION_HINT
        )
    return int(number)


def looks_like_version(ref: object) -> bool:
    """Whether ``ref`` is meant as a version number: an ``int``, or ASCII digits with an
    optional sign (``"-1"`` is a version out of range, never an alias: aliases start with a
    letter or digit)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return True
    return isinstance(ref, str) and is_version_number(
        ref.strip().removeprefix("-").removeprefix("+")
    )
