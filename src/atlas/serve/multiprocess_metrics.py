"""``/metrics`` over several worker processes (``atlas serve --workers N``).

A scrape lands on one worker, so what each worker counts in its memory must be summed over all
of them. prometheus_client's multiprocess mode does it: the parent makes an empty folder and
names it in ``PROMETHEUS_MULTIPROC_DIR`` before the workers start; each worker's metric values
then live in memory-mapped files there (one per process and kind), and a scrape reads every
worker's files (:class:`~prometheus_client.multiprocess.MultiProcessCollector`):

- counters and histograms are summed over every worker that ever ran (a restarted worker's
  counts stay: the totals never go down);
- gauges follow their ``multiprocess_mode``: ``livesum`` (in flight, models loaded, feedback
  pending: summed over the live workers), ``livemax`` (unreadable part files: every worker reads
  the same log), ``liveall`` (``atlas_worker_requests``: one sample per live worker, labelled
  ``pid``).

What a worker keeps only in its own memory (the feedback log's counters, its models, what it
answered) is copied into those files by :class:`WorkerMirror` every second and before each
scrape it serves. The monitor's figures (quality, latency, drift, bad cases) are not copied:
every worker computes them from the one feedback log on shared storage, so any worker's
answer covers every worker's predictions (those written: at most ``flush_interval`` behind,
as with one worker).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from atlas.serve.prometheus import LOG_FAMILIES

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_REQUESTS = "atlas_worker_requests"
# the gauges of the feedback log's figures, by how workers' values combine
_LOG_GAUGE_MODES: dict[str, Literal["livesum", "livemax"]] = {
    "pending": "livesum",
    "unreadable_files": "livemax",
}
MIRRORED = frozenset(name for _key, _kind, name, _doc in LOG_FAMILIES)
ZOMBIE = "Z"  # the state letter in /proc/<pid>/stat
_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    """The folder of the workers' metric files, or None (one process: plain metrics)."""
    return os.environ.get(MULTIPROC_ENV) or None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped by the supervisor,
    does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the number: not ours, but alive
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc here (or it just ended): trust the signal check
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != ZOMBIE


def sweep_dead(path: str) -> None:
    """Forget the live gauges of workers that are gone without saying so (killed hard, then
    replaced by the supervisor): their in-flight requests and loaded models are no more."""
    for name in os.listdir(path):
        match = _LIVE_FILE.match(name)
        if match and not _alive(int(match.group(1))):
            mark_process_dead(int(match.group(1)), path)


class _Without:
    """The families of ``registry`` except those named in ``names`` (a collector)."""

    def __init__(self, registry: CollectorRegistry, names: frozenset[str]) -> None:
        self._registry, self._names = registry, names

    def collect(self) -> Iterator[Metric]:
        return (f for f in self._registry.collect() if f.name not in self._names)

    def describe(self) -> list[Metric]:
        return []


def render_aggregated(own: CollectorRegistry, path: str, replaced: Iterable[str]) -> bytes:
    """Every worker's metrics from the files under ``path``, plus the families of this
    worker's ``own`` registry that are not per-process counts (``replaced``: the server's own
    metrics and the mirrored feedback figures, which the files hold for all workers)."""
    sweep_dead(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)
    registry.register(_Without(own, frozenset(replaced) | MIRRORED))
    return generate_latest(registry)


def family_names(metrics: Iterable[Any]) -> frozenset[str]:
    """The family names of prometheus_client metric objects (``atlas_requests`` for the
    counter exposed as ``atlas_requests_total``)."""
    return frozenset(family.name for metric in metrics for family in metric.collect())


def total(metric: Any) -> float:
    """The sum of a counter's ``_total`` samples over its labels, in this process."""
    return sum(
        s.value for family in metric.collect() for s in family.samples if s.name.endswith("_total")
    )


class WorkerMirror:
    """One worker's in-memory figures as multiprocess metrics: how many prediction requests it
    answered (``atlas_worker_requests{pid}``), how many models it holds, and the feedback log's
    counters (``stats()``: :meth:`Monitor.log_stats` or :meth:`FeedbackLog.stats`).

    :meth:`publish` copies them (counters by their increase since the last call)."""

    def __init__(
        self,
        answered: Callable[[], float],
        loaded: Callable[[], int],
        loaded_gauge: Gauge,
        stats: Callable[[], dict[str, Any]] | None,
    ) -> None:
        self._answered, self._loaded, self._loaded_gauge = answered, loaded, loaded_gauge
        self._stats = stats
        registry = CollectorRegistry()  # never scraped: the values live in the files
        self.requests = Gauge(
            WORKER_REQUESTS,
            "Prediction requests answered by each live worker process, by pid.",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.counters: dict[str, Counter] = {}
        self.gauges: dict[str, Gauge] = {}
        for key, kind, name, doc in LOG_FAMILIES if stats is not None else ():
            if kind is CounterMetricFamily:
                self.counters[key] = Counter(name, doc, registry=registry)
            else:
                mode = _LOG_GAUGE_MODES[key]
                self.gauges[key] = Gauge(name, doc, multiprocess_mode=mode, registry=registry)
        self._published: dict[str, float] = {}

    def publish(self) -> None:
        self.requests.set(self._answered())
        self._loaded_gauge.set(self._loaded())
        stats = self._stats() if self._stats is not None else {}
        for key, counter in self.counters.items():
            now = float(stats.get(key, 0))
            grew = now - self._published.get(key, 0.0)
            if grew > 0:
                counter.inc(grew)
                self._published[key] = now
        for key, gauge in self.gauges.items():
            if key in stats:
                gauge.set(float(stats[key]))
