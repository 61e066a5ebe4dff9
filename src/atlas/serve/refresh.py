"""Background refreshes for stale-while-revalidate caches: at most one refresh per key runs at a
time, in one worker thread, and a failing refresh is logged while the cached value stays."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

from atlas.core.logging import get_logger

log = get_logger(__name__)


class Refresher:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._running: set[Hashable] = set()
        self._pool: ThreadPoolExecutor | None = None

    def later(self, key: Hashable, refresh: Callable[[], None]) -> None:
        """Run ``refresh()`` in the background unless one for ``key`` is already running."""
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"atlas-{self.name}")
        self._pool.submit(self._run, key, refresh)

    def _run(self, key: Hashable, refresh: Callable[[], None]) -> None:
        try:
            refresh()
        except Exception as exc:  # the source is unreachable: keep serving the cached value
            log.warning("refresh.failed", cache=self.name, key=str(key), error=str(exc))
        finally:
            with self._lock:
                self._running.discard(key)
