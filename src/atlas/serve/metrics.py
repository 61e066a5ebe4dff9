"""Prometheus metrics of one server instance (its own registry: no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
            "atlas_models_loaded", "Model versions in memory.", registry=self.registry
        )
        self.in_flight = Gauge(
            "atlas_requests_in_flight", "Prediction requests being served.", registry=self.registry
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
