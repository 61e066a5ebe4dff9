"""A connector made safe to call on the request path.

:class:`Guarded` wraps one :class:`~atlas.serve.external.base.Connector` with, in this order:
a TTL cache, single-flight de-duplication (concurrent calls for one key share one upstream
call), a circuit breaker, a per-call timeout, type checks of the answer, and a declared
fallback. :meth:`Guarded.get` never raises for a failure of the service: it answers an
:class:`~atlas.serve.external.base.Outcome` whose ``source`` says which path was taken.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Mapping
from typing import Any

from atlas.serve.external.base import Connector, ConnectorError, Outcome, Source, check_values
from atlas.serve.external.resilience import CircuitBreaker, TTLCache

# Upper bounds of the upstream latency histogram, in ms (the server's seconds buckets x 1000).
LATENCY_BUCKETS_MS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
COUNTERS = (
    "calls",  # every get/fetch
    "live",  # answered by the service now (including calls that joined an in-flight one)
    "cache",  # answered from the cache
    "fallback",  # answered with the fallback values, for any reason below
    "failures",  # upstream calls that failed (timeouts included), once per upstream call
    "timeouts",  # upstream calls that ran past timeout_s
    "short_circuited",  # calls refused by the open circuit (no upstream call)
    "no_key",  # requests without the key field (no upstream call)
    "joined",  # calls that waited on an upstream call already in flight for the same key
    "upstream_calls",  # calls that actually went to the service
)


class Guarded:
    """``connector`` with a timeout, cache, breaker, single-flight and fallback.

    ``key`` is the request field whose value is the lookup key. ``fallback`` gives a value per
    field; a field it leaves out (or ``fallback=None``) falls back to ``None`` ("missing").
    ``cache_ttl_s=0`` turns the cache off. ``clock`` (seconds, monotonic) times the cache, the
    default breaker and the latencies; tests pass a fake one. Use from one event loop.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        key: str,
        timeout_s: float = 0.1,
        cache_ttl_s: float = 0.0,
        cache_size: int = 10_000,
        breaker: CircuitBreaker | None = None,
        fallback: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connector = connector
        self.name = connector.name
        self.key = key
        self.timeout_s = timeout_s
        self.clock = clock
        self.cache = TTLCache(cache_size, cache_ttl_s, clock)
        self.breaker = breaker or CircuitBreaker(connector.name, clock=clock)
        self.fallback = {f: (fallback or {}).get(f) for f in connector.fields}
        self._flights: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        self._latency_sum_ms = 0.0

    @property
    def fields(self) -> Mapping[str, str]:
        return self.connector.fields

    def key_of(self, request: Mapping[str, Any]) -> str | None:
        """The lookup key in ``request``, or None when it is absent, null, empty or not a
        scalar."""
        value = request.get(self.key)
        if value is None or value == "" or isinstance(value, Mapping | list | tuple | set):
            return None
        return str(value)

    def cached(self, request: Mapping[str, Any]) -> Outcome | None:
        """The cached outcome for the request's key, without awaiting; None on a miss."""
        key = self.key_of(request)
        values = None if key is None else self.cache.get(key)
        if values is None:
            return None
        self._counts["calls"] += 1
        return self._answer("cache", values, self.clock())

    async def get(self, request: Mapping[str, Any]) -> Outcome:
        """The connector's values for the request's key; never raises for a failure."""
        key = self.key_of(request)
        if key is None:
            self._counts["calls"] += 1
            self._counts["no_key"] += 1
            return self.fallback_outcome(f"the request has no '{self.key}'")
        return await self.fetch(key, request)

    async def fetch(self, key: str, request: Mapping[str, Any]) -> Outcome:
        """The connector's values for ``key``; never raises for a failure."""
        start = self.clock()
        self._counts["calls"] += 1
        cached = self.cache.get(key)
        if cached is not None:
            return self._answer("cache", cached, start)
        flight = self._flights.get(key)
        if flight is not None:
            self._counts["joined"] += 1
        elif not self.breaker.allow():
            self._counts["short_circuited"] += 1
            return self.fallback_outcome(f"{self.name}: circuit open after failures", start)
        else:
            flight = asyncio.create_task(self._live(key, request), name=f"{self.name}:{key}")
            self._flights[key] = flight
            flight.add_done_callback(lambda task: self._landed(key, task))
        try:
            values = await asyncio.shield(flight)
        except ConnectorError as exc:
            return self.fallback_outcome(str(exc), start)
        return self._answer("live", values, start)

    async def _live(self, key: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """One upstream call: timed out, checked, recorded by the breaker, cached."""
        self._counts["upstream_calls"] += 1
        began = self.clock()
        try:
            raw = await asyncio.wait_for(self.connector.fetch(key, request), self.timeout_s)
            values = check_values(self.name, self.connector.fields, raw)
        except TimeoutError:
            self._counts["timeouts"] += 1
            error = ConnectorError(f"{self.name} timed out after {1000 * self.timeout_s:g} ms")
        except ConnectorError as exc:
            error = exc
        except Exception as exc:
            error = ConnectorError(f"{self.name} failed: {type(exc).__name__}: {exc}")
        except BaseException:  # cancelled (shutdown): a half-open trial must not stay taken
            self.breaker.failure()
            raise
        else:
            self._observe(began)
            self.breaker.success()
            self.cache.put(key, values)
            return values
        self._observe(began)
        self._counts["failures"] += 1
        if error.trips:
            self.breaker.failure()
        else:  # the service answered (say, 404 for an unknown key): it is healthy
            self.breaker.success()
        raise error

    def _landed(self, key: str, task: asyncio.Task[dict[str, Any]]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved, even when every waiter was cancelled

    def _answer(self, source: Source, values: dict[str, Any], start: float) -> Outcome:
        self._counts[source] += 1
        latency = 1000 * (self.clock() - start)
        return Outcome(self.name, dict(values), source, None, latency)

    def fallback_outcome(self, error: str, start: float | None = None) -> Outcome:
        """The declared fallback values, flagged with ``error`` (counted as a fallback)."""
        self._counts["fallback"] += 1
        latency = 0.0 if start is None else 1000 * (self.clock() - start)
        return Outcome(self.name, dict(self.fallback), "fallback", error, latency)

    def _observe(self, began: float) -> None:
        ms = 1000 * (self.clock() - began)
        self._latency_sum_ms += ms
        self._buckets[bisect.bisect_left(LATENCY_BUCKETS_MS, ms)] += 1

    def stats(self) -> dict[str, Any]:
        """Plain counters for export (Prometheus counters and a histogram, or JSON).

        ``upstream_latency_ms.buckets`` is cumulative, keyed by upper bound (``+Inf`` last),
        like a Prometheus histogram."""
        cumulative, total = {}, 0
        for bound, count in zip((*LATENCY_BUCKETS_MS, "+Inf"), self._buckets, strict=True):
            total += count
            cumulative[str(bound)] = total
        return {
            **self._counts,
            "upstream_latency_ms": {
                "sum": round(self._latency_sum_ms, 3),
                "count": total,
                "buckets": cumulative,
            },
            "breaker": self.breaker.state,
            "breaker_opened": self.breaker.opened,
            "cache_entries": len(self.cache),
            "in_flight": len(self._flights),
        }

    async def aclose(self) -> None:
        """Cancel upstream calls in flight and close the connector."""
        for task in list(self._flights.values()):
            task.cancel()
        await asyncio.gather(*self._flights.values(), return_exceptions=True)
        await self.connector.aclose()
