"""Values from outside made storable before the feedback log keeps them.

Everything a client controls (the request's fields and values, its request id, labels, the
flags a connector's error message fills) reaches the log as valid UTF-8 JSON, whatever was sent:

- text: a lone UTF-16 surrogate (JSON ``"\\ud800"``, which Python's ``json`` accepts) becomes
  U+FFFD, the replacement character; a surrogate pair is joined into its character. Valid text
  is kept as is.
- numbers: NaN and +/-Infinity (which Python's ``json`` also accepts) are kept as the strings
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"``: the stored JSON stays standard, and a reader that
  converts to numbers gets them back (``pandas.to_numeric("Infinity")`` is ``inf``).
- nesting: a value nested deeper than :data:`MAX_DEPTH` levels is kept as the text
  :data:`TOO_DEEP` (no reader recurses without bound).
- anything else (NumPy scalars, dates) as JSON's nearest type, or as its text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np

MAX_DEPTH = 32  # levels of nesting kept in the log
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels: not kept>"
REPLACEMENT = "\ufffd"
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def valid_text(text: str) -> str:
    """``text`` as valid Unicode: lone surrogates replaced by U+FFFD, pairs joined."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready Python whose every string is valid (see the module docstring)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE.get(value, "NaN")
    if isinstance(value, np.generic):
        return plain(value.item(), depth)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple | np.ndarray) and depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, Mapping):
        return {valid_text(str(k)): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v, depth + 1) for v in value]
    return valid_text(str(value))


def dumps(value: Any) -> str:
    """``value`` as standard JSON text (valid UTF-8, no NaN tokens)."""
    return json.dumps(plain(value), ensure_ascii=False, allow_nan=False)


def optional_text(value: Any) -> str | None:
    """A client's scalar as valid text (None stays None)."""
    return None if value is None else valid_text(str(value))
