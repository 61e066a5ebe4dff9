"""Online stores behind one interface; the URL's scheme picks the backend.

Backends register under the ``atlas.online_stores`` entry point, one name per URL scheme
(``sqlite``, ``redis``, ``rediss``, ``unix`` are built in): an :class:`OnlineStore` subclass whose
``from_url`` opens it. A third-party package adds e.g. ``dynamodb = "pkg.store:DynamoStore"``.
"""

from __future__ import annotations

from atlas.core.errors import ConfigError
from atlas.core.plugins import PluginGroup, check_subclass
from atlas.data.features.online.base import OnlineStore, Row, entity_key

__all__ = ["ONLINE_STORES", "OnlineStore", "Row", "entity_key", "open_online_store"]

ONLINE_STORES: PluginGroup[type[OnlineStore]] = PluginGroup(
    "atlas.online_stores", "online store", check_subclass(OnlineStore)
)


def open_online_store(url: str) -> OnlineStore:
    """``sqlite:///path/online.db`` (embedded), ``redis://host:6379/0[?prefix=app:]``, or the
    scheme of any installed online-store plugin."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    backend = ONLINE_STORES.load(scheme) if scheme else None
    if backend is None:
        broken = {f.name: f.error for f in ONLINE_STORES.failures()}
        reason = f" (its plugin failed to load: {broken[scheme]})" if scheme in broken else ""
        raise ConfigError(
            f"The online store URL {url.split('@')[-1]!r} names no known backend{reason}.",
            hint="Use sqlite:///path/to/online.db or redis://host:6379/0 "
            f"(installed schemes: {', '.join(ONLINE_STORES.names()) or 'none'}).",
        )
    return backend.from_url(url)
