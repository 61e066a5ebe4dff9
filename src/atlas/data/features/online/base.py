"""The online store: the newest feature values of each entity, for lookups in a request.

One record per (view, entity key): a MessagePack array ``[layout, time_us, v0, v1, ...]``.
MessagePack keeps the types the model saw (int stays int, float float, str str, bool bool,
None None, timestamps as aware UTC datetimes) in a compact binary form that its C extension
packs and unpacks in microseconds, with no field names repeated per record: ``layout`` is a
32-bit id of the view's feature-name list, stored once per view. Old records keep decoding
after a view gains features (the new ones read as None).

A backend implements six small byte-level methods and ``from_url``; the typed methods here are
the interface the store and the conformance suite (``atlas.testing.online_store``) use. A
backend registers under the ``atlas.online_stores`` entry point by its URL scheme.
"""

from __future__ import annotations

import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgpack

Row = dict[str, Any]


def layout_id(names: Sequence[str]) -> int:
    return zlib.crc32(json.dumps(list(names)).encode())


def entity_key(key: Any) -> str:
    """Keys are stored as text: 42, np.int64(42) and "42" are the same entity."""
    return key if isinstance(key, str) else str(int(key)) if hasattr(key, "__index__") else str(key)


class OnlineStore(ABC):
    """Backends subclass this and implement the ``_``-methods (bytes in, bytes out)."""

    url: str = ""

    @classmethod
    def from_url(cls, url: str) -> OnlineStore:
        """The store a URL of this backend's scheme names (``scheme://...``)."""
        return cls(url)  # type: ignore[call-arg]  # backends take their URL unless overridden

    def __init__(self) -> None:
        self._layouts: dict[tuple[str, int], list[str]] = {}
        self._positions: dict[tuple[str, int, tuple[str, ...]], list[int | None]] = {}

    # -- the backend's part -------------------------------------------------------------------
    @abstractmethod
    def _put(self, view: str, items: Sequence[tuple[str, bytes]]) -> None: ...

    @abstractmethod
    def _get(self, view: str, key: str) -> bytes | None: ...

    @abstractmethod
    def _get_many(self, view: str, keys: Sequence[str]) -> list[bytes | None]: ...

    @abstractmethod
    def _delete(self, view: str, keys: Sequence[str]) -> int: ...

    @abstractmethod
    def _put_layout(self, view: str, layout: int, names: Sequence[str]) -> None: ...

    @abstractmethod
    def _get_layout(self, view: str, layout: int) -> list[str] | None: ...

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside are all-or-nothing where the backend can do it (SQLite)."""
        yield

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""

    # -- the typed interface -------------------------------------------------------------------
    def write_batch(
        self,
        view: str,
        features: Sequence[str],
        keys: Sequence[Any],
        times_us: Sequence[int],
        rows: Sequence[Sequence[Any]],
    ) -> int:
        """Replace the records of ``keys`` (each whole) with ``rows`` of ``features`` values."""
        layout = layout_id(features)
        if (view, layout) not in self._layouts:
            self._put_layout(view, layout, list(features))
            self._layouts[(view, layout)] = list(features)
        pack = msgpack.Packer(datetime=True).pack
        items = [
            (entity_key(k), pack([layout, int(t), *row]))
            for k, t, row in zip(keys, times_us, rows, strict=True)
        ]
        if items:
            self._put(view, items)
        return len(items)

    def read_one(
        self, view: str, key: Any, features: Sequence[str], not_before_us: int | None = None
    ) -> Row | None:
        """The values of ``features`` for one entity; None when it has no (fresh) record."""
        raw = self._get(view, entity_key(key))
        return None if raw is None else self._decode(view, raw, tuple(features), not_before_us)

    def read_batch(
        self,
        view: str,
        keys: Sequence[Any],
        features: Sequence[str],
        not_before_us: int | None = None,
    ) -> list[Row | None]:
        """:meth:`read_one` for many keys in one round trip, in the order of ``keys``."""
        wanted = tuple(features)
        raws = self._get_many(view, [entity_key(k) for k in keys]) if keys else []
        return [
            None if raw is None else self._decode(view, raw, wanted, not_before_us) for raw in raws
        ]

    def delete_entity(self, key: Any, views: Sequence[str]) -> int:
        """Remove the entity's records from ``views``; returns how many existed."""
        return sum(self._delete(view, [entity_key(key)]) for view in views)

    def _decode(
        self, view: str, raw: bytes, features: tuple[str, ...], not_before_us: int | None
    ) -> Row | None:
        record = msgpack.unpackb(raw, timestamp=3, strict_map_key=False)
        if not_before_us is not None and record[1] < not_before_us:
            return None
        positions = self._positions.get((view, record[0], features))
        if positions is None:
            positions = self._positions_of(view, record[0], features)
        return {
            f: None if p is None else record[p] for f, p in zip(features, positions, strict=True)
        }

    def _positions_of(self, view: str, layout: int, features: tuple[str, ...]) -> list[int | None]:
        names = self._layouts.get((view, layout)) or self._get_layout(view, layout) or []
        self._layouts[(view, layout)] = names
        where = {n: i + 2 for i, n in enumerate(names)}
        positions = [where.get(f) for f in features]
        if len(self._positions) > 10_000:
            self._positions.clear()
        self._positions[(view, layout, features)] = positions
        return positions
