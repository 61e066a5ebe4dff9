"""Prometheus metrics of one server instance (its own registry: no global state).

With several worker processes (``atlas serve --workers N``) the values live in the workers'
shared metric files and a scrape sums them (:mod:`atlas.serve.multiprocess_metrics`); the
gauges say how: ``livesum`` over the live workers."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from atlas.serve.multiprocess_metrics import family_names, multiprocess_dir, render_aggregated

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "atlas_requests_total",
            "Prediction requests by model, version, protocol and status.",
            ["model", "version", "protocol", "status"],
            registry=self.registry,
        )
        self.rows = Counter(
            "atlas_predicted_rows_total",
            "Rows predicted.",
            ["model", "version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "atlas_request_seconds",
            "Time to answer a prediction request.",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cold_start = Histogram(
            "atlas_model_load_seconds",
            "Time to load a model version (cold start).",
            ["model"],
            buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.loaded = Gauge(
            "atlas_models_loaded",
            "Model versions in memory (summed over worker processes: each loads its own).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "atlas_requests_in_flight",
            "Prediction requests being served.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.rejected = Counter(
            "atlas_overload_rejections_total",
            "Requests refused with 503 (overload).",
            registry=self.registry,
        )
        self.rollout = Counter(
            "atlas_rollout_events_total",
            "Canary, shadow and rollback events.",
            ["model", "event"],
            registry=self.registry,
        )

        own = [self.requests, self.rows, self.latency, self.cold_start, self.loaded]
        self._own = family_names([*own, self.in_flight, self.rejected, self.rollout])
        self.on_scrape: list[Callable[[], None]] = []  # run before each render

    def render(self) -> bytes:
        """The exposition text: this process's registry, or with worker processes every
        worker's counts summed (plus this registry's other collectors, e.g. the monitor)."""
        for hook in self.on_scrape:
            hook()
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        return render_aggregated(self.registry, path, self._own)
