"""Names of datasets, models and aliases: safe as folder names, URLs and database keys."""

from __future__ import annotations

import re

from atlas.core.errors import InvalidInputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RESERVED_ALIASES = frozenset({"latest"})


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid ``kind`` name, else raise :class:`InvalidInputError`."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidInputError(
            f"{kind.capitalize()} name {name!r} is not allowed.",
            hint="Use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(no '/', no '..', no spaces).",
        )
    return name


def check_alias(alias: str) -> str:
    """An alias is a name that is not a number (numbers are versions) and not reserved."""
    check_name("alias", alias)
    if alias.isdigit() or alias in RESERVED_ALIASES:
        raise InvalidInputError(
            f"Alias {alias!r} is not allowed: it would be read as a version reference.",
            hint="Pick a word such as 'production', 'staging' or 'challenger'.",
        )
    return alias


def is_version_number(text: str) -> bool:
    """Whether ``text`` is a version number: ASCII digits only (``"¹".isdigit()`` is True, but
    ``int("¹")`` fails)."""
    return text.isascii() and text.isdigit()
