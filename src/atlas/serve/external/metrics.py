"""The connectors' state as Prometheus metrics: a custom collector over the counters that every
:class:`~atlas.serve.external.guarded.Guarded` keeps (:meth:`Guarded.stats`), read at scrape
time, so the connectors' behaviour does not change.

Every family is labelled ``model`` and ``connector``:

- ``atlas_connector_breaker_state`` (gauge): 0 closed, 1 half-open, 2 open;
- ``atlas_connector_breaker_opened_total``: times the breaker opened;
- ``atlas_connector_calls_total``, ``_live_total``, ``_cache_hits_total``, ``_fallbacks_total``,
  ``_failures_total``, ``_timeouts_total``, ``_short_circuits_total``, ``_no_key_total``,
  ``_joined_total``, ``_upstream_calls_total`` (counters, see ``guarded.COUNTERS``);
- ``atlas_connector_upstream_latency_seconds`` (histogram of the calls that went upstream);
- ``atlas_connector_cache_entries``, ``atlas_connector_in_flight`` (gauges).

The server registers ``ConnectorCollector(served.enricher)`` on its own registry; anything with
``stats() -> {model: {connector: Guarded.stats()}}`` works (an ``Enricher``), and
:meth:`ConnectorCollector.of_sets` wraps ``ConnectorSet`` objects by model name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from atlas.serve.external.config import ConnectorSet

LABELS = ["model", "connector"]
PREFIX = "atlas_connector"
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
MS_PER_S = 1000.0
STATS_TRIES = 3  # a model's connectors may be built while a scrape reads the stats
# (key in Guarded.stats(), metric name without _total, help)
COUNTER_FAMILIES = (
    ("calls", "calls", "Lookups asked of the connector."),
    ("live", "live", "Lookups answered by the service now."),
    ("cache", "cache_hits", "Lookups answered from the connector's cache."),
    ("fallback", "fallbacks", "Lookups answered with the declared fallback values."),
    ("failures", "failures", "Upstream calls that failed (timeouts included)."),
    ("timeouts", "timeouts", "Upstream calls that ran past the connector's timeout."),
    ("short_circuited", "short_circuits", "Lookups refused by the open circuit breaker."),
    ("no_key", "no_key", "Requests without the connector's key field."),
    ("joined", "joined", "Lookups that joined an upstream call already in flight."),
    ("upstream_calls", "upstream_calls", "Calls that went to the service."),
    ("breaker_opened", "breaker_opened", "Times the circuit breaker opened."),
)
GAUGE_FAMILIES = (
    ("cache_entries", "cache_entries", "Entries in the connector's cache."),
    ("in_flight", "in_flight", "Upstream calls in flight."),
)

Stats = Mapping[str, Mapping[str, Mapping[str, Any]]]  # model -> connector -> Guarded.stats()


class HasStats(Protocol):
    def stats(self) -> Stats: ...


class _Sets:
    """``ConnectorSet`` objects by model name, as one stats source (read at each scrape: sets
    added to the mapping later are exported too)."""

    def __init__(self, sets: Mapping[str, ConnectorSet]) -> None:
        self.sets = sets

    def stats(self) -> Stats:
        return {model: s.stats() for model, s in self.sets.items()}


class ConnectorCollector(Collector):
    """Breaker state, counters and upstream latency of every connector of ``source``."""

    def __init__(self, source: HasStats) -> None:
        self.source = source

    @classmethod
    def of_sets(cls, sets: Mapping[str, ConnectorSet]) -> ConnectorCollector:
        return cls(_Sets(sets))

    def collect(self) -> Iterator[Metric]:
        rows = [
            ((model, name), stats)
            for model, connectors in self._stats().items()
            for name, stats in connectors.items()
        ]
        yield _breaker_family(rows)
        for key, name, doc in COUNTER_FAMILIES:
            counter = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=LABELS)
            for labels, stats in rows:
                counter.add_metric(list(labels), float(stats.get(key, 0)))
            yield counter
        for key, name, doc in GAUGE_FAMILIES:
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=LABELS)
            for labels, stats in rows:
                gauge.add_metric(list(labels), float(stats.get(key, 0)))
            yield gauge
        yield _latency_family(rows)

    def _stats(self) -> Stats:
        for _ in range(STATS_TRIES - 1):
            try:
                return self.source.stats()
            except RuntimeError:  # "dictionary changed size during iteration": read again
                continue
        return self.source.stats()


Row = tuple[tuple[str, str], Mapping[str, Any]]


def _breaker_family(rows: list[Row]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        f"{PREFIX}_breaker_state",
        "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        labels=LABELS,
    )
    for labels, stats in rows:
        gauge.add_metric(list(labels), float(BREAKER_STATES[stats["breaker"]]))
    return gauge


def _latency_family(rows: list[Row]) -> HistogramMetricFamily:
    histogram = HistogramMetricFamily(
        f"{PREFIX}_upstream_latency_seconds",
        "Latency of the calls that went to the service (seconds).",
        labels=LABELS,
    )
    for labels, stats in rows:
        latency = stats["upstream_latency_ms"]
        histogram.add_metric(
            list(labels),
            [(_bound(b), float(n)) for b, n in latency["buckets"].items()],
            latency["sum"] / MS_PER_S,
        )
    return histogram


def _bound(ms: str) -> str:
    return ms if ms == "+Inf" else f"{float(ms) / MS_PER_S:g}"
