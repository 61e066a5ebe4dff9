"""The production online store: Redis, one string key per (view, entity).

Keys are ``{prefix}{view}:{entity key}`` (``prefix`` defaults to ``atlas:`` and is set with a
``?prefix=`` query in the URL), so a lookup is one GET and a batch one MGET; writes go in
MULTI/EXEC pipelines of a few thousand keys (each record is replaced whole). Feature-name
layouts live under ``{prefix}__layout__:{view}:{id}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from atlas.core.errors import ConfigError, DatabaseUnavailableError
from atlas.data.features.online.base import OnlineStore

T = TypeVar("T")
_CHUNK = 5000


def split_prefix(url: str) -> tuple[str, str]:
    """``redis://h:6379/0?prefix=app:`` -> (``redis://h:6379/0``, ``app:``)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "atlas:")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisOnlineStore(OnlineStore):
    def __init__(self, url: str, prefix: str | None = None) -> None:
        super().__init__()
        base, url_prefix = split_prefix(url)
        self.prefix = url_prefix if prefix is None else prefix
        self.url = _masked(url if prefix is None else f"{base}?prefix={self.prefix}")
        try:
            self.client = redis.Redis.from_url(base, socket_timeout=5, socket_connect_timeout=5)
        except ValueError as exc:
            raise ConfigError(
                f"The online store URL {_masked(url)!r} is not a valid Redis URL: {exc}.",
                hint="Use redis://host:6379/0 (optionally ?prefix=myapp:).",
            ) from None

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self.url!r})"

    def _key(self, view: str, key: str) -> str:
        return f"{self.prefix}{view}:{key}"

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise DatabaseUnavailableError(
                f"Cannot reach the Redis online store at {self.url}: {exc}.",
                hint="Start Redis or set ATLAS_ONLINE_STORE_URL to one that is running.",
            ) from None

    def _put(self, view: str, items: Sequence[tuple[str, bytes]]) -> None:
        def run() -> None:
            for start in range(0, len(items), _CHUNK):
                chunk = items[start : start + _CHUNK]
                pipe = self.client.pipeline(transaction=True)
                pipe.mset({self._key(view, k): r for k, r in chunk})
                pipe.execute()

        self._call(run)

    def _get(self, view: str, key: str) -> bytes | None:
        value: Any = self._call(lambda: self.client.get(self._key(view, key)))
        return value

    def _get_many(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for start in range(0, len(keys), _CHUNK):
            names = [self._key(view, k) for k in keys[start : start + _CHUNK]]
            values: Any = self._call(lambda names=names: self.client.mget(names))  # type: ignore[misc]
            out.extend(values)
        return out

    def _delete(self, view: str, keys: Sequence[str]) -> int:
        names = [self._key(view, k) for k in keys]
        return int(self._call(lambda: self.client.delete(*names))) if names else 0

    def _layout_key(self, view: str, layout: int) -> str:
        return f"{self.prefix}__layout__:{view}:{layout}"

    def _put_layout(self, view: str, layout: int, names: Sequence[str]) -> None:
        self._call(lambda: self.client.set(self._layout_key(view, layout), json.dumps(list(names))))

    def _get_layout(self, view: str, layout: int) -> list[str] | None:
        raw: Any = self._call(lambda: self.client.get(self._layout_key(view, layout)))
        return None if raw is None else list(json.loads(raw))

    def clear(self) -> int:
        """Delete every key under this store's prefix (tests, decommissioning)."""

        def run() -> int:
            removed = 0
            for batch in _batched(
                self.client.scan_iter(match=_glob(self.prefix) + "*", count=1000)
            ):
                removed += int(self.client.delete(*batch))
            return removed

        return self._call(run)

    def close(self) -> None:
        self.client.close()


def _glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _batched(items: Any, size: int = 1000) -> Any:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
