"""Names of datasets, models and aliases: safe as folder names, URLs and database keys.

Every rule here is checked with ``fullmatch``: ``re.match(r"^...$")`` accepts a trailing newline
(``$`` matches before it), and a name is compared, stored and shown byte for byte.
"""

from __future__ import annotations

import re

from atlas.core.errors import InvalidInputError

MAX_NAME_LENGTH = 128
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME_LENGTH - 1}}}", re.ASCII)
RESERVED_ALIASES = frozenset({"latest"})


def is_name(text: object) -> bool:
    """Whether ``text`` is 1-128 ASCII letters, digits, '.', '_' or '-', starting with a letter
    or digit, without '..' (nothing before or after: no newline, no look-alike letters)."""
    return isinstance(text, str) and _NAME.fullmatch(text) is not None and ".." not in text


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid ``kind`` name, else raise :class:`InvalidInputError`."""
    if not is_name(name):
        raise InvalidInputError(
            f"{kind.capitalize()} name {name!r} is not allowed.",
            hint=f"Use 1-{MAX_NAME_LENGTH} ASCII letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (no '/', no '..', no spaces or other whitespace).",
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
