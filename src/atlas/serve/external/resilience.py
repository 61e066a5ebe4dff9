"""The two pieces of state behind :class:`~atlas.serve.external.guarded.Guarded`: a bounded
TTL cache (least recently used out first) and a circuit breaker.

Both are meant for one event loop (the server's): no locks, no awaits inside.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Literal

from atlas.core.logging import get_logger

State = Literal["closed", "open", "half_open"]
log = get_logger("atlas.serve.external")


class TTLCache:
    """At most ``maxsize`` entries, each fresh for ``ttl`` seconds; ``maxsize=0`` or ``ttl=0``
    disables it. Reads refresh recency, not expiry."""

    def __init__(
        self, maxsize: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maxsize = maxsize if ttl > 0 else 0
        self.ttl = ttl
        self.clock = clock
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return hit[1]

    def put(self, key: str, value: Any) -> None:
        if self.maxsize <= 0:
            return
        self._data[key] = (self.clock() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class CircuitBreaker:
    """Closed -> open after ``failures`` consecutive failures, or when the failure rate of the
    last ``window`` calls reaches ``failure_rate`` (if set). Open: every call is refused for
    ``cooldown_s``. Then half-open: one trial call goes through; its success closes the
    circuit, its failure opens it for another cool-down.
    """

    def __init__(
        self,
        name: str,
        failures: int = 5,
        cooldown_s: float = 10.0,
        failure_rate: float | None = None,
        window: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.failure_rate = failure_rate
        self.clock = clock
        self.state: State = "closed"
        self.opened = 0  # times it opened, for the stats
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=window)  # True = failure
        self._open_until = 0.0
        self._trial = False

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, a True is the one trial call."""
        if self.state == "open":
            if self.clock() < self._open_until:
                return False
            self._set("half_open")
        if self.state == "half_open":
            if self._trial:
                return False
            self._trial = True
        return True

    def success(self) -> None:
        self._recent.append(False)
        self._consecutive = 0
        if self.state == "half_open":
            self._recent.clear()
            self._set("closed")

    def failure(self) -> None:
        self._recent.append(True)
        self._consecutive += 1
        if self.state == "half_open" or self._should_open():
            self._open()

    def _should_open(self) -> bool:
        if self.state != "closed":
            return False
        if self._consecutive >= self.failures:
            return True
        window = self._recent.maxlen or 0
        return (
            self.failure_rate is not None
            and len(self._recent) >= window
            and sum(self._recent) / window >= self.failure_rate
        )

    def _open(self) -> None:
        self._open_until = self.clock() + self.cooldown_s
        self.opened += 1
        self._set("open")

    def _set(self, state: State) -> None:
        if state != self.state:
            self._trial = False
            emit = log.warning if state == "open" else log.info
            emit("circuit_" + state, connector=self.name, consecutive_failures=self._consecutive)
            self.state = state
