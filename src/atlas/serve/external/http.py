"""A connector over HTTP (JSON answers), on a shared ``httpx.AsyncClient``.

Pass the same client to every HTTP connector of a server so they share one connection pool
(keep-alive, bounded connections); a connector without one opens its own on first use.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx

from atlas.serve.external.base import Connector, ConnectorError, FieldType

# Per-request httpx limits are a backstop only: Guarded's asyncio timeout is the one that counts.
BACKSTOP_TIMEOUT_S = 30.0


def new_client(max_connections: int = 100, keepalive: int = 20) -> httpx.AsyncClient:
    """A pooled client for connectors: keep-alive connections, no redirects, no env proxies."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive),
        timeout=BACKSTOP_TIMEOUT_S,
        follow_redirects=False,
        trust_env=False,
    )


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a URL template (raises ``ValueError`` on a malformed one)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class HTTPConnector(Connector):
    """``GET url_template.format(key=...)`` (or ``POST`` with ``{key_name: key}`` as JSON body)
    and read ``fields`` from the JSON answer, at ``json_path`` (dotted, e.g. ``data.score``)
    when the fields are nested.

    Every placeholder in ``url_template`` is filled with the key, URL-quoted. A status of 400 or
    more, a body that is not JSON, or a missing path is a failure; a 4xx other than 408 and 429
    does not count against the circuit breaker (the service answered).
    """

    def __init__(
        self,
        name: str,
        url_template: str,
        fields: Mapping[str, FieldType],
        method: Literal["GET", "POST"] = "GET",
        headers: Mapping[str, str] | None = None,
        json_path: str | None = None,
        *,
        key_name: str = "key",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.url_template = url_template
        self.fields = dict(fields)
        self.method = method
        self.headers = dict(headers or {})
        self.json_path = [p for p in (json_path or "").split(".") if p]
        self.key_name = key_name
        self._names = placeholders(url_template)
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = new_client()
        return self._client

    def url_for(self, key: str) -> str:
        quoted = quote(key, safe="")
        return self.url_template.format_map(dict.fromkeys(self._names, quoted))

    async def fetch(self, key: str, request: Mapping[str, Any]) -> dict[str, Any]:
        body = {self.key_name: key} if self.method == "POST" else None
        try:
            answer = await self.client.request(
                self.method, self.url_for(key), headers=self.headers, json=body
            )
        except httpx.HTTPError as exc:
            raise ConnectorError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        if answer.status_code >= 400:
            trips = answer.status_code >= 500 or answer.status_code in (408, 429)
            raise ConnectorError(f"{self.name} answered HTTP {answer.status_code}", trips=trips)
        try:
            data: Any = answer.json()
        except ValueError:
            raise ConnectorError(f"{self.name} answered a body that is not JSON") from None
        for step in self.json_path:
            if not isinstance(data, Mapping) or step not in data:
                where = ".".join(self.json_path)
                raise ConnectorError(f"{self.name} answered without '{where}'")
            data = data[step]
        if not isinstance(data, Mapping):
            raise ConnectorError(f"{self.name} answered a {type(data).__name__}, not an object")
        return dict(data)

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
