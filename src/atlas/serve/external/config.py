"""Connectors declared in YAML or a dict (validated, never executed), and the set the server
calls once per request.

    connectors:
      - name: bureau
        type: http
        url: "http://127.0.0.1:9100/score/{customer_id}"
        key: customer_id
        fields: {bureau_score: float, bureau_defaults: int}
        timeout_ms: 50
        cache_ttl_s: 300
        breaker: {failures: 5, cooldown_s: 10}
        fallback: {bureau_score: 600.0, bureau_defaults: 0}

A header value may name an environment variable, ``"Bearer ${BUREAU_TOKEN}"``, read when the
set is built, so secrets stay out of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.serve.external.base import FieldType, Outcome, coerce
from atlas.serve.external.guarded import Guarded
from atlas.serve.external.http import HTTPConnector, new_client, placeholders
from atlas.serve.external.resilience import CircuitBreaker

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
HINT = "See docs/external-data.md for the connector fields and an example."
log = get_logger("atlas.serve.external")


class BreakerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failures: int = Field(default=5, ge=1, description="Consecutive failures that open it.")
    cooldown_s: float = Field(default=10.0, gt=0, description="How long it stays open.")
    failure_rate: float | None = Field(default=None, gt=0, le=1, description="Or this rate...")
    window: int = Field(default=20, ge=2, description="...over the last `window` calls.")


class HTTPConnectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    type: Literal["http"] = "http"
    key: str = Field(min_length=1, description="The request field holding the lookup key.")
    method: Literal["GET", "POST"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_path: str | None = None
    fields: dict[str, FieldType] = Field(min_length=1)
    timeout_ms: float = Field(default=100.0, gt=0, le=60_000)
    cache_ttl_s: float = Field(default=0.0, ge=0, description="0 turns the cache off.")
    cache_size: int = Field(default=10_000, ge=0)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    fallback: dict[str, Any] | Literal["missing"] = "missing"

    @field_validator("url")
    @classmethod
    def _url(cls, url: str, info: ValidationInfo) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"'{url}' must start with http:// or https://")
        try:
            names = placeholders(url)
        except ValueError as exc:
            raise ValueError(f"'{url}' is not a valid template: {exc}") from None
        key = info.data.get("key")
        if key is not None and names - {key}:
            raise ValueError(f"'{url}' may only use the placeholder {{{key}}}")
        if key is not None and not names and info.data.get("method", "GET") == "GET":
            raise ValueError(f"'{url}' has no {{{key}}} placeholder for the key")
        return url

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FieldType]) -> dict[str, FieldType]:
        bad = [f for f in fields if not re.match(NAME, f)]
        if bad:
            raise ValueError(f"field name(s) {bad} must be identifiers")
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

    def build(self, client: httpx.AsyncClient | None = None) -> Guarded:
        headers = {k: _expand(v, f"{self.name}.headers.{k}") for k, v in self.headers.items()}
        connector = HTTPConnector(
            self.name,
            self.url,
            self.fields,
            self.method,
            headers,
            self.json_path,
            key_name=self.key,
            client=client,
        )
        b = self.breaker
        return Guarded(
            connector,
            key=self.key,
            timeout_s=self.timeout_ms / 1000,
            cache_ttl_s=self.cache_ttl_s,
            cache_size=self.cache_size,
            breaker=CircuitBreaker(self.name, b.failures, b.cooldown_s, b.failure_rate, b.window),
            fallback=None if self.fallback == "missing" else self.fallback,
        )


class ConnectorsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connectors: list[HTTPConnectorConfig] = Field(default_factory=list)

    @field_validator("connectors")
    @classmethod
    def _unique(cls, items: list[HTTPConnectorConfig]) -> list[HTTPConnectorConfig]:
        names: set[str] = set()
        fields: dict[str, str] = {}
        for item in items:
            if item.name in names:
                raise ValueError(f"two connectors are named '{item.name}'")
            names.add(item.name)
            for field in item.fields:
                if field in fields:
                    raise ValueError(
                        f"field '{field}' comes from both '{fields[field]}' and '{item.name}'"
                    )
                fields[field] = item.name
        return items


def _expand(value: str, where: str) -> str:
    def var(match: re.Match[str]) -> str:
        if match.group(1) not in os.environ:
            raise InvalidInputError(
                f"Connector header {where} needs the environment variable {match.group(1)}, "
                "which is not set.",
                hint="Set it in the server's environment.",
            )
        return os.environ[match.group(1)]

    return ENV_VAR.sub(var, value)


def parse_connectors(data: Any, label: str = "connectors") -> ConnectorsConfig:
    """Validate ``{"connectors": [...]}`` (or the bare list); errors name the connector and the
    field."""
    if isinstance(data, list):
        data = {"connectors": data}
    if data is None:
        data = {}
    try:
        return ConnectorsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) >= 2 and loc[0] == "connectors" and isinstance(loc[1], int):
            with contextlib.suppress(KeyError, IndexError, TypeError):
                loc[1] = f"{loc[1]} ({data['connectors'][loc[1]]['name']})"
        where = ".".join(str(p) for p in loc) or "top level"
        msg = first["msg"].removeprefix("Value error, ")
        raise InvalidInputError(f"Invalid {label} at {where}: {msg}.", hint=HINT) from None


class ConnectorSet:
    """The connectors of a server. :meth:`fetch_all` runs them all concurrently, once per
    request, and never raises for a connector's failure. Use from one event loop."""

    def __init__(self, guards: Sequence[Guarded], client: httpx.AsyncClient | None = None) -> None:
        self.guards = list(guards)
        self._client = client  # owned: closed by aclose

    @classmethod
    def from_config(
        cls, data: Any, client: httpx.AsyncClient | None = None, label: str = "connectors"
    ) -> ConnectorSet:
        """Build from a dict, a list or a :class:`ConnectorsConfig`; HTTP connectors share
        ``client`` (a new pooled one, owned by the set, when None)."""
        config = data if isinstance(data, ConnectorsConfig) else parse_connectors(data, label)
        owned = new_client() if client is None and config.connectors else None
        return cls([item.build(client or owned) for item in config.connectors], owned)

    @classmethod
    def from_yaml(cls, path: str | Path, client: httpx.AsyncClient | None = None) -> ConnectorSet:
        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"Cannot read {file}: {exc}.") from None
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
            raise InvalidInputError(f"{file} is not valid YAML: {first}.", hint=HINT) from None
        return cls.from_config(data, client, label=str(file))

    @property
    def fields(self) -> dict[str, str]:
        """Every field the connectors provide, with its type."""
        return {f: t for g in self.guards for f, t in g.fields.items()}

    @property
    def keys(self) -> set[str]:
        """The request fields the connectors read their keys from."""
        return {g.key for g in self.guards}

    async def fetch_all(
        self, request: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Outcome]]:
        """(merged field values, outcome per connector name) for one request record.

        Cache hits are answered without scheduling a task; the rest run concurrently."""
        found = {g.name: g.cached(request) for g in self.guards}
        misses = [g for g in self.guards if found[g.name] is None]
        if misses:
            answers = await asyncio.gather(
                *(g.get(request) for g in misses), return_exceptions=True
            )
            for guard, answer in zip(misses, answers, strict=True):
                if isinstance(answer, BaseException):  # a bug, not a service failure
                    log.error("connector_crashed", connector=guard.name, error=repr(answer))
                    answer = guard.fallback_outcome(f"{guard.name} crashed: {answer!r}")
                found[guard.name] = answer
        outcomes = {name: o for name, o in found.items() if o is not None}
        values: dict[str, Any] = {}
        for outcome in outcomes.values():
            values.update(outcome.values)
        return values, outcomes

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters per connector name (see :meth:`Guarded.stats`)."""
        return {g.name: g.stats() for g in self.guards}

    async def aclose(self) -> None:
        await asyncio.gather(*(g.aclose() for g in self.guards))
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> ConnectorSet:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()
