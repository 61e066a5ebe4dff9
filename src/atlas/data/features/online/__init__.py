"""Online stores behind one interface; the URL in settings picks the backend."""

from __future__ import annotations

from atlas.core.errors import ConfigError
from atlas.data.features.online.base import OnlineStore, Row, entity_key

__all__ = ["OnlineStore", "Row", "entity_key", "open_online_store"]


def open_online_store(url: str) -> OnlineStore:
    """``sqlite:///path/online.db`` (embedded) or ``redis://host:6379/0[?prefix=app:]``."""
    if url.startswith("sqlite:///"):
        from atlas.data.features.online.sqlite import SQLiteOnlineStore

        return SQLiteOnlineStore(url[len("sqlite:///") :])
    if url.startswith(("redis://", "rediss://", "unix://")):
        from atlas.data.features.online.redis import RedisOnlineStore

        return RedisOnlineStore(url)
    raise ConfigError(
        f"The online store URL {url.split('@')[-1]!r} names no known backend.",
        hint="Use sqlite:///path/to/online.db or redis://host:6379/0.",
    )
