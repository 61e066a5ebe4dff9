"""The connector contract: one async lookup per key, returning declared, typed fields.

A :class:`Connector` only fetches; timeouts, caching, the circuit breaker, de-duplication and
the fallback live in :class:`~atlas.serve.external.guarded.Guarded`, so every connector gets
them the same way. A connector signals a failure by raising (any exception); it raises
:class:`ConnectorError` with ``trips=False`` for an answer that is not the service's fault (an
unknown key, a 404), which falls back without counting against the breaker.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["float", "int", "str", "bool"]
Source = Literal["live", "cache", "fallback"]
FIELD_TYPES: tuple[str, ...] = ("float", "int", "str", "bool")


class ConnectorError(Exception):
    """A lookup failed. ``trips`` says whether it counts as a failure of the service."""

    def __init__(self, message: str, *, trips: bool = True) -> None:
        super().__init__(message)
        self.trips = trips


class Connector(ABC):
    """An external data source: ``fetch`` returns at least the ``fields`` it declares.

    ``fields`` maps each field it provides to its type (``float``, ``int``, ``str``,
    ``bool``). Extra keys in the answer are ignored; a missing, null or wrongly typed field is
    a failure (see :func:`check_values`).
    """

    name: str
    fields: Mapping[str, FieldType]

    @abstractmethod
    async def fetch(self, key: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The fields for ``key``; ``request`` is the whole request record, for context."""

    async def aclose(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections; the default holds none."""


def coerce(value: Any, kind: FieldType) -> Any:
    """``value`` as ``kind``, or raise ``ValueError``. Booleans are never numbers, an ``int``
    is a valid ``float``, and a whole ``float`` (``3.0``) a valid ``int``."""
    if value is None or isinstance(value, bool) != (kind == "bool"):
        raise ValueError(f"expected {kind}, got {_kind_of(value)}")
    if kind == "float" and isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite float, got {value!r}")
        return float(value)
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if (kind == "str" and isinstance(value, str)) or kind == "bool":
        return value
    raise ValueError(f"expected {kind}, got {_kind_of(value)}")


def _kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_values(
    name: str, fields: Mapping[str, FieldType], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """The declared fields of ``raw``, typed; a :class:`ConnectorError` names the first bad one."""
    if not isinstance(raw, Mapping):
        raise ConnectorError(f"{name} answered a {_kind_of(raw)}, not an object")
    out: dict[str, Any] = {}
    for field_name, kind in fields.items():
        if field_name not in raw:
            raise ConnectorError(f"{name} answered without the field '{field_name}'")
        try:
            out[field_name] = coerce(raw[field_name], kind)
        except ValueError as exc:
            raise ConnectorError(f"{name}: field '{field_name}' {exc}") from None
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one connector gave one request, and how.

    ``source`` is ``live`` (the service answered now), ``cache`` (a fresh cached answer) or
    ``fallback`` (the declared fallback values; ``error`` says why: a timeout, an open circuit,
    an HTTP error, a malformed answer, a request without the key).
    """

    connector: str
    values: dict[str, Any]
    source: Source
    error: str | None = None
    latency_ms: float = 0.0

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    def to_dict(self) -> dict[str, Any]:
        """``{"values", "source", "error", "latency_ms"}``: the shape the request log stores."""
        return {
            "values": dict(self.values),
            "source": self.source,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 3),
        }
