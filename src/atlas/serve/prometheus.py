"""The monitor's figures as Prometheus metrics: a collector for a server's own
``CollectorRegistry`` (no global state), and the same families as exposition text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

_VERSION_GAUGES = (
    ("count", "atlas_monitor_predictions", "Predictions logged in the monitoring window."),
    ("labelled", "atlas_monitor_labelled", "Predictions in the window with a ground-truth label."),
    ("fallbacks", "atlas_monitor_fallbacks", "Predictions in the window made by a fallback."),
    (
        "log_errors",
        "atlas_monitor_log_errors",
        "Predictions in the window the log could keep only without their output.",
    ),
    ("accuracy", "atlas_monitor_accuracy", "Accuracy on the labelled predictions."),
    ("auc", "atlas_monitor_auc", "ROC AUC on the labelled predictions (binary)."),
    ("ks", "atlas_monitor_ks", "Kolmogorov-Smirnov statistic on the labelled predictions."),
    ("rmse", "atlas_monitor_rmse", "Root mean squared error on the labelled predictions."),
    ("mae", "atlas_monitor_mae", "Mean absolute error on the labelled predictions."),
)


def metric_families(
    summaries: Iterable[dict[str, Any]], log_stats: dict[str, Any] | None = None
) -> Iterator[Metric]:
    """Gauges per (model, version), per (model, feature) and per (model, kind) from
    :meth:`Monitor.summary` results, plus the feedback log's counters."""
    summaries = list(summaries)
    for key, name, doc in _VERSION_GAUGES:
        family = GaugeMetricFamily(name, doc, labels=["model", "version"])
        for s in summaries:
            for v in s["versions"]:
                if v.get(key) is not None:
                    family.add_metric([s["model"], str(v["version"])], float(v[key]))
        yield family
    latency = GaugeMetricFamily(
        "atlas_monitor_latency_ms",
        "Prediction latency in the window, by quantile (ms).",
        labels=["model", "version", "quantile"],
    )
    psi = GaugeMetricFamily(
        "atlas_monitor_feature_psi",
        "Population stability index of served inputs against the training data.",
        labels=["model", "feature"],
    )
    bad = GaugeMetricFamily(
        "atlas_monitor_bad_cases", "Bad cases in the window, by kind.", labels=["model", "kind"]
    )
    skipped = GaugeMetricFamily(
        "atlas_monitor_skipped_rows",
        "Logged rows of the window that could not be read (left out of every figure).",
        labels=["model"],
    )
    for s in summaries:
        for v in s["versions"]:
            for q, key in (("0.5", "latency_p50_ms"), ("0.99", "latency_p99_ms")):
                if v.get(key) is not None:
                    latency.add_metric([s["model"], str(v["version"]), q], float(v[key]))
        for d in s["drift"]:
            if d["psi"] is not None:
                psi.add_metric([s["model"], d["feature"]], float(d["psi"]))
        for kind, n in s["bad_cases"].items():
            if n is not None:
                bad.add_metric([s["model"], kind], float(n))
        skipped.add_metric([s["model"]], float(s.get("skipped_rows", 0)))
    yield from (latency, psi, bad, skipped)
    if log_stats is not None:
        yield from log_families(log_stats)


LOG_FAMILIES = (
    ("pending", GaugeMetricFamily, "atlas_feedback_pending", "Predictions waiting to be written."),
    ("written", CounterMetricFamily, "atlas_feedback_written", "Predictions written to the log."),
    (
        "write_errors",
        CounterMetricFamily,
        "atlas_feedback_write_errors",
        "Failed feedback-log writes (their records are kept and retried).",
    ),
    (
        "dropped",
        CounterMetricFamily,
        "atlas_feedback_dropped",
        "Predictions no row could be made of (left out of the log).",
    ),
    (
        "unreadable_files",
        GaugeMetricFamily,
        "atlas_feedback_unreadable_files",
        "Part files of the log that readers skip (cannot be read).",
    ),
    (
        "summary_errors",
        CounterMetricFamily,
        "atlas_monitor_summary_errors",
        "Model summaries that failed and were left out of a scrape.",
    ),
)


def log_families(log_stats: dict[str, Any]) -> Iterator[Metric]:
    """The feedback log's counters (:meth:`FeedbackLog.stats`, plus the monitor's
    ``summary_errors``): one family each, for the keys present."""
    for key, kind, name, doc in LOG_FAMILIES:
        if key in log_stats:
            family = kind(name, doc)
            family.add_metric([], float(log_stats[key]))
            yield family


class MonitorCollector:
    """A custom collector: ``registry.register(MonitorCollector(monitor.families))`` adds the
    monitor's metrics to a server's registry; figures are computed on each scrape."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families()

    def describe(self) -> list[Metric]:
        return []  # registering must not compute anything


def prometheus_lines(
    summaries: Iterable[dict[str, Any]], log_stats: dict[str, Any] | None = None
) -> list[str]:
    """:func:`metric_families` in Prometheus' text exposition format, one line each."""
    families = list(metric_families(summaries, log_stats))
    registry = CollectorRegistry()
    registry.register(MonitorCollector(lambda: families))
    return generate_latest(registry).decode().splitlines()
