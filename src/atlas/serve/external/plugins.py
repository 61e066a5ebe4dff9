"""Connector types as plugins: the ``type`` of a connector in the YAML names an entry point of
the group ``atlas.connectors``, whose object is a :class:`ConnectorConfig` subclass. ATLAS's
own ``http`` type registers the same way (``pyproject.toml``)::

    [project.entry-points."atlas.connectors"]
    sanctions = "my_package.sanctions:SanctionsConfig"

A connector type is a pydantic model: the fields every connector has (``name``, ``key``,
``fields``, timeout, cache, breaker, fallback) come from :class:`ConnectorConfig`; a subclass
adds its own, fixes ``type`` with a ``Literal``, and returns its
:class:`~atlas.serve.external.base.Connector` from :meth:`ConnectorConfig.connector`.
:meth:`ConnectorConfig.build` wraps it in :class:`~atlas.serve.external.guarded.Guarded`. A
type that fails to import is reported (``atlas plugins``, the log) and only the connectors that
use it fail; the other types keep working.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from atlas.core.errors import AtlasError, InvalidInputError, NotFoundError
from atlas.core.names import MAX_NAME_LENGTH
from atlas.core.plugins import PluginGroup, check_subclass
from atlas.serve.external.base import Connector, FieldType, coerce
from atlas.serve.external.guarded import Guarded
from atlas.serve.external.resilience import CircuitBreaker

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
GROUP = "atlas.connectors"
MAX_TIMEOUT_MS = 60_000
DEFAULT_CACHE_SIZE = 10_000
# every number has both bounds and is finite (allow_inf_nan=False): nan passes a lone gt=0
MAX_CACHE_TTL_S = 7 * 24 * 3600.0
MAX_CACHE_SIZE = 100_000_000
MAX_BREAKER_FAILURES = 1_000_000
MAX_COOLDOWN_S = 24 * 3600.0
MAX_WINDOW = 1_000_000


class BreakerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    failures: int = Field(
        default=5, ge=1, le=MAX_BREAKER_FAILURES, description="Consecutive failures that open it."
    )
    cooldown_s: float = Field(
        default=10.0, gt=0, le=MAX_COOLDOWN_S, description="How long it stays open."
    )
    failure_rate: float | None = Field(default=None, gt=0, le=1, description="Or this rate...")
    window: int = Field(
        default=20, ge=2, le=MAX_WINDOW, description="...over the last `window` calls."
    )


class ConnectorConfig(BaseModel, ABC):
    """The config of one connector of some type; subclass it for a new type.

    ``client`` in :meth:`connector` is the server's shared ``httpx.AsyncClient`` (one pool for
    every HTTP-based connector); a type that does not speak HTTP ignores it.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(pattern=NAME, max_length=MAX_NAME_LENGTH)
    type: str
    key: str = Field(min_length=1, description="The request field holding the lookup key.")
    fields: dict[str, FieldType] = Field(min_length=1)
    timeout_ms: float = Field(default=100.0, gt=0, le=MAX_TIMEOUT_MS)
    cache_ttl_s: float = Field(
        default=0.0, ge=0, le=MAX_CACHE_TTL_S, description="0 turns the cache off."
    )
    cache_size: int = Field(default=DEFAULT_CACHE_SIZE, ge=0, le=MAX_CACHE_SIZE)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    fallback: dict[str, Any] | Literal["missing"] = "missing"

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FieldType]) -> dict[str, FieldType]:
        bad = [  # fullmatch: no trailing newline
            f for f in fields if not re.fullmatch(NAME, f) or len(f) > MAX_NAME_LENGTH
        ]
        if bad:
            raise ValueError(
                f"field name(s) {bad} must be identifiers of at most {MAX_NAME_LENGTH} characters"
            )
        return fields

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, value: Any, info: ValidationInfo) -> dict[str, Any] | Literal["missing"]:
        fields = info.data.get("fields")
        if value == "missing" or fields is None:
            return value
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ValueError(f"fallback names {unknown}, which are not in fields")
        out = {}
        for name, item in value.items():
            try:
                out[name] = None if item is None else coerce(item, fields[name])
            except ValueError as exc:
                raise ValueError(f"fallback for '{name}': {exc}") from None
        return out

    @abstractmethod
    def connector(self, client: httpx.AsyncClient | None) -> Connector:
        """The connector this config describes (called once, when the server starts)."""

    def build(self, client: httpx.AsyncClient | None = None) -> Guarded:
        """The connector behind its timeout, cache, circuit breaker and fallback."""
        b = self.breaker
        return Guarded(
            self.connector(client),
            key=self.key,
            timeout_s=self.timeout_ms / 1000,
            cache_ttl_s=self.cache_ttl_s,
            cache_size=self.cache_size,
            breaker=CircuitBreaker(self.name, b.failures, b.cooldown_s, b.failure_rate, b.window),
            fallback=None if self.fallback == "missing" else self.fallback,
        )


connector_types: PluginGroup[type[ConnectorConfig]] = PluginGroup(
    GROUP, "connector type", check_subclass(ConnectorConfig)
)


def connector_type(kind: Any, where: str, hint: str | None = None) -> type[ConnectorConfig]:
    """The config class of connector type ``kind``; ``where`` names the connector in errors
    (an unknown type lists the known ones, a broken one says why it failed to load)."""
    try:
        return connector_types.get(str(kind))
    except NotFoundError:
        known = ", ".join(sorted(connector_types.all())) or "none"  # the ones that load
        raise InvalidInputError(
            f"{where}.type: unknown connector type {kind!r}; known types: {known}.", hint=hint
        ) from None
    except AtlasError as exc:  # registered, but failed to load: why
        raise InvalidInputError(f"{where}.type: {exc}", hint=hint) from None
