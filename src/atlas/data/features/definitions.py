"""Entities and feature views: what a feature is, where its rows come from, how long it lives.

A :class:`FeatureView` names a source of ``(entity key, event timestamp, feature columns)`` rows:
``"dataset:NAME"`` (the newest version of a dataset in :class:`atlas.data.DatasetStore`,
``"dataset:NAME@3"`` for version 3), a Parquet path or glob, or nothing (rows are then fed
with :meth:`FeatureStore.ingest`). Definitions are plain frozen dataclasses; ``to_dict`` and
``from_dict`` are their stored form and the YAML form (see :mod:`atlas.data.features.loading`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, cast

from atlas.core.errors import InvalidInputError
from atlas.core.names import check_name
from atlas.core.numbers import check_number

#: Feature and entity key types, and the DuckDB type each is stored as.
DTYPES: dict[str, str] = {
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}
_ALIASES = {
    "int": "int64",
    "integer": "int64",
    "float": "float64",
    "double": "float64",
    "str": "string",
    "boolean": "bool",
    "datetime": "timestamp",
}
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}", re.ASCII)  # fullmatch: no "\n" after
_TTL = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_TTL_SECONDS = 100 * 365 * 86400  # a century; timedelta itself overflows past ~2.7 million years
TTL_HINT = "Write it like '30d', '12h' or '1d12h' (w, d, h, m, s), at most 100 years; None: never."


def check_dtype(dtype: str, what: str) -> str:
    name = _ALIASES.get(str(dtype).lower(), str(dtype).lower())
    if name not in DTYPES:
        raise InvalidInputError(
            f"{what} has the unknown type {dtype!r}.",
            hint=f"Use one of: {', '.join(DTYPES)}.",
        )
    return name


def check_column(name: str, what: str) -> str:
    if not isinstance(name, str) or not _COLUMN.fullmatch(name) or name.startswith("__atlas"):
        raise InvalidInputError(
            f"{what} {name!r} is not a valid column name.",
            hint="Use letters, digits and '_', starting with a letter or '_' (at most 128).",
        )
    return name


def parse_ttl(value: timedelta | str | int | float | None) -> timedelta | None:
    """``None`` (never expires), a timedelta, seconds, or text such as ``"30d"``, ``"1d12h"``."""
    if value is None or isinstance(value, timedelta):
        ttl = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        ttl = timedelta(seconds=_ttl_seconds(value, value))
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _TTL.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise InvalidInputError(f"TTL {value!r} is not understood.", hint=TTL_HINT)
        ttl = timedelta(seconds=_ttl_seconds(sum(float(n) * _UNITS[u] for n, u in parts), value))
    else:
        raise InvalidInputError(f"TTL {value!r} must be a duration such as '30d'.")
    if ttl is not None and ttl <= timedelta(0):
        raise InvalidInputError(f"TTL {value!r} must be positive (or None: never expires).")
    return ttl


def _ttl_seconds(seconds: float, given: object) -> float:
    """``seconds`` if finite, positive and at most a century (else the error names ``given``)."""
    try:
        return check_number(seconds, "TTL", low=0, low_open=True, high=MAX_TTL_SECONDS)
    except InvalidInputError:
        raise InvalidInputError(
            f"TTL {given!r} is out of range: it must be positive and finite.", hint=TTL_HINT
        ) from None


def format_ttl(ttl: timedelta | None) -> str | None:
    """The stored form: ``"1d12h"``; sub-second parts as decimal seconds."""
    if ttl is None:
        return None
    seconds = ttl.total_seconds()
    if not seconds.is_integer():
        return f"{seconds:.6f}".rstrip("0") + "s"
    rest, parts = int(seconds), []
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class Entity:
    """What features describe (a customer, a merchant); ``join_key`` is its column in the data."""

    name: str
    join_key: str = ""
    dtype: str = "int64"
    description: str = ""

    def __post_init__(self) -> None:
        check_name("entity", self.name)
        object.__setattr__(self, "join_key", check_column(self.join_key or self.name, "Key"))
        dtype = check_dtype(self.dtype, f"Entity {self.name!r}")
        if dtype not in ("int64", "string"):
            raise InvalidInputError(
                f"Entity {self.name!r} has key type {dtype!r}; keys are int64 or string."
            )
        object.__setattr__(self, "dtype", dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "entity",
            "name": self.name,
            "join_key": self.join_key,
            "dtype": self.dtype,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entity:
        known = {"name", "join_key", "dtype", "description"}
        _check_keys(data, known, "entity")
        return cls(**{k: data[k] for k in known if k in data})


@dataclass(frozen=True)
class FeatureView:
    """Features of one entity from one source, with a time to live.

    ``features`` maps names to types (``int64``, ``float64``, ``string``, ``bool``,
    ``timestamp``); a list of names leaves the types to be read from the source at ``apply``.
    A value older than ``ttl`` at an event's time is missing for that event (``None``: values
    never expire). ``timestamp`` is the event-time column of the source.
    """

    name: str
    entity: str
    features: Mapping[str, str | None] | Sequence[str]
    source: str | None = None
    ttl: timedelta | str | int | None = None
    timestamp: str = "event_timestamp"
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("feature view", self.name)
        entity = self.entity.name if isinstance(self.entity, Entity) else self.entity
        object.__setattr__(self, "entity", check_name("entity", entity))
        raw = self.features
        pairs = list(raw.items()) if isinstance(raw, Mapping) else [(n, None) for n in raw]
        if not pairs or isinstance(raw, str):
            raise InvalidInputError(f"Feature view {self.name!r} needs at least one feature.")
        features: dict[str, str | None] = {}
        for fname, dtype in pairs:
            check_column(fname, f"Feature of view {self.name!r}")
            if fname in features:
                raise InvalidInputError(f"Feature {fname!r} is listed twice in {self.name!r}.")
            what = f"Feature {self.name}:{fname}"
            features[fname] = None if dtype is None else check_dtype(dtype, what)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "ttl", parse_ttl(self.ttl))
        check_column(self.timestamp, f"Timestamp column of view {self.name!r}")
        if self.timestamp in features:
            raise InvalidInputError(f"{self.timestamp!r} is the timestamp, not a feature.")
        if self.source is not None and not str(self.source).strip():
            object.__setattr__(self, "source", None)
        object.__setattr__(self, "tags", dict(self.tags))

    @property
    def schema(self) -> dict[str, str | None]:
        """Feature name -> type (``None`` until the type is read from the source)."""
        return cast(dict[str, str | None], self.features)

    @property
    def feature_names(self) -> list[str]:
        return list(self.schema)

    @property
    def ttl_delta(self) -> timedelta | None:
        return self.ttl if isinstance(self.ttl, timedelta) else None

    @property
    def typed(self) -> bool:
        return all(t is not None for t in self.schema.values())

    def dtype(self, feature: str) -> str:
        dtype = self.schema.get(feature)
        if dtype is None:
            raise InvalidInputError(f"Feature {self.name}:{feature} has no known type yet.")
        return dtype

    def with_types(self, types: Mapping[str, str]) -> FeatureView:
        filled = {n: t or types.get(n) for n, t in self.schema.items()}
        return replace(self, features=filled)

    def schema_key(self) -> list[list[str | None]]:
        """What decides the view's version: feature names, types and their order."""
        return [[n, t] for n, t in self.schema.items()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "feature_view",
            "name": self.name,
            "entity": self.entity,
            "features": dict(self.schema),
            "source": self.source,
            "ttl": format_ttl(self.ttl_delta),
            "timestamp": self.timestamp,
            "description": self.description,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureView:
        known = {"name", "entity", "features", "source", "ttl", "timestamp", "description", "tags"}
        _check_keys(data, known, "feature view")
        return cls(**{k: data[k] for k in known if k in data})


def _check_keys(data: Mapping[str, Any], known: set[str], what: str) -> None:
    extra = sorted(set(data) - known - {"kind"})
    if extra:
        raise InvalidInputError(
            f"Unknown field(s) {extra} in the {what} {data.get('name', '?')!r}.",
            hint=f"Known fields: {', '.join(sorted(known))}.",
        )
    for needed in ("name",) + (("entity", "features") if what == "feature view" else ()):
        if needed not in data:
            raise InvalidInputError(f"The {what} {data.get('name', '?')!r} needs '{needed}'.")
