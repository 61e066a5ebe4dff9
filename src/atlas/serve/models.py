"""Models in memory, serverless-style: loaded on first use, unloaded when idle or when the
memory cap needs room (least recently used first). Many models share one process.

Aliases are resolved through the registry and cached: a promotion through this server's
management API takes effect at once; one made elsewhere about ``alias_ttl`` seconds later, when
a request finds the cached answer stale, keeps using it, and has a background thread ask the
registry again (stale-while-revalidate: no request waits for the registry once a model is in
use). Loading never blocks requests for other models, and a model being replaced keeps
answering until the new one is ready (hot swap). :meth:`ModelManager.peek` answers only from
memory, for callers on the event loop.

``clock`` (monotonic seconds: alias ages, idleness, cold starts) and ``refresher`` (where
background alias refreshes run) are injectable, so tests need no sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atlas.core.errors import NotFoundError
from atlas.core.versions import looks_like_version, parse_version
from atlas.registry import LoadedModel, ModelRegistry
from atlas.serve.refresh import Refresher


@dataclass
class Entry:
    model: LoadedModel
    size: int
    loaded_at: float
    cold_start_s: float
    last_used: float


def _package_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class ModelManager:
    def __init__(
        self,
        registry: ModelRegistry,
        *,
        idle_seconds: float = 900.0,
        memory_cap: int | None = None,
        alias_ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        refresher: Refresher | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.memory_cap = memory_cap
        self.alias_ttl = alias_ttl
        self._entries: dict[tuple[str, int], Entry] = {}
        self._aliases: dict[tuple[str, str], tuple[int, float]] = {}
        self._loading: dict[tuple[str, int], threading.Lock] = {}
        self._refresher = refresher or Refresher("aliases")
        self._lock = threading.Lock()
        self.loads = 0
        self.unloads = 0
        self.cold_starts: list[float] = []

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, name: str, ref: str | int | None = None) -> int:
        """The version number ``ref`` (version, alias, ``latest`` or None) points at now; asks
        the registry only the first time (later, a stale answer is refreshed in the
        background)."""
        version = self._cached(name, ref)
        return self._ask((name, str(ref or ""))) if version is None else version

    def _cached(self, name: str, ref: str | int | None) -> int | None:
        if looks_like_version(ref):
            return parse_version(ref)
        key = (name, str(ref or ""))
        hit = self._aliases.get(key)
        if hit is None or self.alias_ttl <= 0:  # a TTL of 0: ask the registry every time
            return None
        if self.clock() - hit[1] >= self.alias_ttl:
            self._refresher.later(key, lambda: self._refresh(key))
        return hit[0]

    def _ask(self, key: tuple[str, str]) -> int:
        version = self.registry.get(key[0], key[1] or None).version
        self._aliases[key] = (version, self.clock())
        return version

    def _refresh(self, key: tuple[str, str]) -> None:
        try:
            self._ask(key)
        except NotFoundError:  # the alias is gone: the next request asks (and gets a 404)
            self._aliases.pop(key, None)

    def refresh_aliases(self, name: str) -> None:
        """Ask the registry again, now, for every cached alias of ``name`` (after a promotion
        or rollback made here): requests keep answering from memory, with the new version."""
        for key in [k for k in list(self._aliases) if k[0] == name]:
            self._refresh(key)

    # -- loading -------------------------------------------------------------------------
    def peek(self, name: str, ref: str | int | None = None) -> LoadedModel | None:
        """The model if ``ref`` is already resolved and loaded, without any I/O; else None."""
        version = self._cached(name, ref)
        entry = None if version is None else self._entries.get((name, version))
        if entry is None:
            return None
        entry.last_used = self.clock()
        return entry.model

    def get(self, name: str, ref: str | int | None = None) -> LoadedModel:
        version = self.resolve(name, ref)
        entry = self._entries.get((name, version))
        if entry is None:
            entry = self._load(name, version)
        entry.last_used = self.clock()
        return entry.model

    def _load(self, name: str, version: int) -> Entry:
        key = (name, version)
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # one loader per model; other models load in parallel
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            began = self.clock()
            _, manifest, folder = self.registry.fetch(name, version)
            model = LoadedModel(manifest, folder)
            cold = self.clock() - began
            now = self.clock()
            entry = Entry(model, _package_size(folder) * 3, now, cold, last_used=now)
            with self._lock:
                self._entries[key] = entry
                self.loads += 1
                self.cold_starts.append(cold)
                self._loading.pop(key, None)
            self._evict(keep=key)
            return entry

    def _evict(self, keep: tuple[str, int] | None = None) -> None:
        """Unload idle models, then the least recently used ones until under the cap."""
        now = self.clock()
        with self._lock:
            for key, entry in list(self._entries.items()):
                if key != keep and now - entry.last_used > self.idle_seconds:
                    del self._entries[key]
                    self.unloads += 1
            if self.memory_cap is None:
                return
            by_age = sorted(self._entries.items(), key=lambda kv: kv[1].last_used)
            total = sum(e.size for e in self._entries.values())
            for key, entry in by_age:
                if total <= self.memory_cap:
                    break
                if key == keep:
                    continue
                del self._entries[key]
                total -= entry.size
                self.unloads += 1

    def sweep(self) -> None:
        """Unload idle models (the server calls this periodically)."""
        self._evict()

    def loaded(self) -> list[dict[str, object]]:
        now = self.clock()
        return [
            {
                "model": k[0],
                "version": k[1],
                "size_bytes": e.size,
                "idle_s": round(now - e.last_used, 3),
                "cold_start_ms": round(1000 * e.cold_start_s, 2),
            }
            for k, e in sorted(self._entries.items())
        ]

    def is_loaded(self, name: str, version: int) -> bool:
        return (name, version) in self._entries
