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

``type`` (default ``http``) picks the connector type, a plugin of the entry-point group
``atlas.connectors`` (see :mod:`atlas.serve.external.plugins`). A header value may name an
environment variable, ``"Bearer ${BUREAU_TOKEN}"``, read when the set is built, so secrets stay
out of the file.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx
import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.serve.external.base import Connector, Outcome
from atlas.serve.external.guarded import Guarded
from atlas.serve.external.http import HTTPConnector, new_client, placeholders
from atlas.serve.external.plugins import BreakerConfig, ConnectorConfig, connector_type

__all__ = [
    "BreakerConfig",
    "ConnectorConfig",
    "ConnectorSet",
    "ConnectorsConfig",
    "HTTPConnectorConfig",
    "parse_connectors",
]

ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
HINT = "See docs/external-data.md for the connector fields and an example."
DEFAULT_TYPE = "http"
log = get_logger("atlas.serve.external")


class HTTPConnectorConfig(ConnectorConfig):
    """The built-in ``http`` type: a JSON answer from ``GET url`` (the key filled in) or from
    ``POST url`` with ``{key: value}``."""

    type: Literal["http"] = "http"
    method: Literal["GET", "POST"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_path: str | None = None

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

    def connector(self, client: httpx.AsyncClient | None) -> Connector:
        headers = {k: _expand(v, f"{self.name}.headers.{k}") for k, v in self.headers.items()}
        return HTTPConnector(
            self.name,
            self.url,
            self.fields,
            self.method,
            headers,
            self.json_path,
            key_name=self.key,
            client=client,
        )


@dataclass(frozen=True)
class ConnectorsConfig:
    """Validated connectors (of any types), unique by name and by provided field."""

    connectors: list[ConnectorConfig] = field(default_factory=list)


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
    """Validate ``{"connectors": [...]}`` (or the bare list), each item by its type's config;
    errors name the connector and the field."""
    if isinstance(data, Mapping) and set(data) <= {"connectors"}:
        data = data.get("connectors")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InvalidInputError(f"Invalid {label}: expected a list of connectors.", hint=HINT)
    items = [_parse_one(item, i, label) for i, item in enumerate(data)]
    _check_unique(items, label)
    return ConnectorsConfig(items)


def _parse_one(item: Any, index: int, label: str) -> ConnectorConfig:
    name = item.get("name") if isinstance(item, Mapping) else None
    where = f"connectors.{index}" + (f" ({name})" if name is not None else "")
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"Invalid {label} at {where}: expected a mapping.", hint=HINT)
    kind = connector_type(item.get("type", DEFAULT_TYPE), f"Invalid {label} at {where}", HINT)
    try:
        return kind.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join([where, *(str(p) for p in first["loc"])])
        msg = first["msg"].removeprefix("Value error, ")
        raise InvalidInputError(f"Invalid {label} at {path}: {msg}.", hint=HINT) from None


def _check_unique(items: list[ConnectorConfig], label: str) -> None:
    names: set[str] = set()
    fields: dict[str, str] = {}
    for item in items:
        if item.name in names:
            raise InvalidInputError(
                f"Invalid {label}: two connectors are named '{item.name}'.", hint=HINT
            )
        names.add(item.name)
        for name in item.fields:
            if name in fields:
                raise InvalidInputError(
                    f"Invalid {label}: field '{name}' comes from both '{fields[name]}' and "
                    f"'{item.name}'.",
                    hint=HINT,
                )
            fields[name] = item.name


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
