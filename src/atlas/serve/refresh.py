"""Background refreshes for stale-while-revalidate caches: at most one refresh per key runs at a
time, in one worker thread, and a failing refresh is logged while the cached value stays.

The worker is an injectable :class:`~concurrent.futures.Executor`: tests pass
:class:`InlineExecutor`, which runs each refresh at once in the caller's thread, so what a
refresh changed is visible right after the call that started it (no waiting on a thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from atlas.core.logging import get_logger

log = get_logger(__name__)


class InlineExecutor(Executor):
    """Runs every submitted call at once, in the submitting thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done


class Refresher:
    def __init__(self, name: str, executor: Executor | None = None) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._running: set[Hashable] = set()
        self._pool = executor  # default: one worker thread, started on first use

    def later(self, key: Hashable, refresh: Callable[[], None]) -> None:
        """Run ``refresh()`` in the background unless one for ``key`` is already running."""
        with self._lock:
            if key in self._running:
                return
            self._running.add(key)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"atlas-{self.name}")
            pool = self._pool
        pool.submit(self._run, key, refresh)

    def _run(self, key: Hashable, refresh: Callable[[], None]) -> None:
        try:
            refresh()
        except Exception as exc:  # the source is unreachable: keep serving the cached value
            log.warning("refresh.failed", cache=self.name, key=str(key), error=str(exc))
        finally:
            with self._lock:
                self._running.discard(key)
