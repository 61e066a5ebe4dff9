"""Live monitoring over the feedback log: quality, latency, drift and bad cases per model.

``Monitor(log, reference={"credit": training_frame})`` reads the predictions of a window (the
last ``window``, or ``since``), joins the labels that have arrived, and computes per model
version: counts, latency p50/p99, accuracy and (binary, positive class = the package's second
class) AUC and KS for classifiers, RMSE/MAE for regressors; per input feature the PSI of the
served values against the training reference; and the bad cases the continuous-iteration loop
relabels: ``wrong`` (labelled and mispredicted), ``low_confidence`` (top probability under
``low_confidence``), ``drifted`` (a number outside the training p01..p99, or a category never
seen in training). :func:`prometheus_lines` renders it all in Prometheus' text format.

A metric over nothing is never a number: accuracy, AUC, KS, RMSE and MAE appear only for a
version with labelled answers (AUC and KS are None when the labels hold one class only); a
version with answers and no labels has counts and latency. Rows logged as ``log_error`` count
as predictions but never as answers. No stored record can take ``/metrics`` down: what the log
cannot read is skipped and counted (``skipped_rows``), and a model whose summary fails anyway
is left out of the scrape, logged once and counted (``summary_errors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.data import psi
from atlas.serve import scoring
from atlas.serve.feedback import FeedbackLog
from atlas.serve.feedback_read import json_object
from atlas.serve.prometheus import Metric, metric_families, prometheus_lines
from atlas.serve.reference import (
    TrainingReference,
    drift_reasons,
    inputs_frame,
    reference_from_dataset,
    reference_from_lineage,
)

__all__ = [
    "BadCaseKind",
    "Monitor",
    "prometheus_lines",
    "reference_from_dataset",
    "reference_from_lineage",
]

logger = get_logger(__name__)
MIN_DRIFT_ROWS = 100  # served rows before a PSI over ten bins says anything (~10 a bin)

BadCaseKind = Literal["wrong", "low_confidence", "drifted"]
BAD_CASE_KINDS: tuple[str, ...] = ("wrong", "low_confidence", "drifted")
_BAD_COLUMNS = ["request_id", "version", "timestamp", "label", "confidence", "truth", "reason"]
QUALITY_KEYS = ("accuracy", "auc", "ks", "rmse", "mae")


@dataclass(frozen=True)
class Served:
    """The answered predictions of a window (shadows left out: nobody was answered with
    them) with what each model was given (:func:`inputs_frame`); rows whose stored inputs
    cannot be read are left out and counted."""

    frame: pd.DataFrame
    inputs: pd.DataFrame
    unreadable: int

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Served:
        answered = frame[frame["role"].fillna("") != "shadow"]
        inputs, readable = inputs_frame(answered)
        return cls(answered[readable], inputs[readable], int((~readable).sum()))


class Monitor:
    """Metrics, drift and bad cases of the models in a :class:`FeedbackLog`.

    ``reference`` maps a model name to its training frame; ``reference_loader`` (called once
    per model, e.g. ``lambda m: reference_from_lineage(registry, store, m)``) finds the rest.
    Summaries of the default window are cached ``cache_s`` seconds (``/metrics`` scrapes).
    """

    def __init__(
        self,
        log: FeedbackLog,
        reference: Mapping[str, pd.DataFrame] | None = None,
        *,
        reference_loader: Callable[[str], pd.DataFrame | None] | None = None,
        window: timedelta | None = timedelta(days=1),
        low_confidence: float = 0.6,
        drift_quantiles: tuple[float, float] = (0.01, 0.99),
        psi_bins: int = 10,
        min_drift_rows: int = MIN_DRIFT_ROWS,
        cache_s: float = 10.0,
    ) -> None:
        self.log = log
        self.reference_loader = reference_loader
        self.window = window
        self.low_confidence = low_confidence
        self.drift_quantiles = drift_quantiles
        self.psi_bins = psi_bins
        self.min_drift_rows = min_drift_rows
        self.cache_s = cache_s
        self._refs: dict[str, TrainingReference | None] = {}
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self.summary_errors = 0
        self._failures: set[tuple[str, str]] = set()
        for model, frame in (reference or {}).items():
            self.set_reference(model, frame)

    def set_reference(self, model: str, frame: pd.DataFrame) -> None:
        """Use ``frame`` (training rows; extra columns such as the target are ignored)."""
        self._refs[model] = TrainingReference(frame, self.drift_quantiles)
        self._cache.pop(model, None)

    def _reference(self, model: str) -> TrainingReference | None:
        if model not in self._refs and self.reference_loader is not None:
            try:
                frame = self.reference_loader(model)
            except Exception as exc:  # e.g. the database is down: no drift now, retry later
                logger.warning("monitor_reference_failed", model=model, error=str(exc))
                return None
            self._refs[model] = (
                None if frame is None else TrainingReference(frame, self.drift_quantiles)
            )
        return self._refs.get(model)

    def _since(self, since: datetime | None) -> datetime | None:
        if since is None and self.window is not None:
            return datetime.now(UTC) - self.window
        return since

    def predictions(
        self, model: str, since: datetime | None = None, version: int | None = None
    ) -> pd.DataFrame:
        """The window's predictions joined to their labels (see :meth:`FeedbackLog.joined`)."""
        return self.log.joined(model, self._since(since), version)

    def metrics(self, model: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """One dict per served version: count, labelled, log_errors, fallbacks, latency
        p50/p99 (ms); with labelled answers, accuracy, auc, ks (classifiers) or rmse, mae
        (regressors); None where undefined."""
        return _metrics(model, self.predictions(model, since))

    def drift(
        self, model: str, since: datetime | None = None, version: int | None = None
    ) -> list[dict[str, Any]]:
        """PSI per input feature of the served values (of all versions, or one) against the
        training reference, highest first (0 = same distribution, > 0.2 the usual alarm).
        Empty without a reference; ``psi`` is None below ``min_drift_rows`` served rows (a
        handful of rows in ten bins reads as a huge PSI that means nothing)."""
        return self._drift(model, Served.of(self.predictions(model, since, version)))

    def _drift(self, model: str, served: Served) -> list[dict[str, Any]]:
        ref = self._reference(model)
        if ref is None or served.frame.empty:
            return []
        inputs = served.inputs
        enough = len(inputs) >= self.min_drift_rows
        out = [
            {
                "feature": name,
                "psi": psi(col, ref.served(inputs, name), bins=self.psi_bins) if enough else None,
                "n": len(inputs),
            }
            for name, col in ref.columns.items()
            if name in inputs
        ]
        return sorted(out, key=lambda d: -(d["psi"] or 0.0))

    def bad_cases(
        self, model: str, kind: str, limit: int = 100, since: datetime | None = None
    ) -> pd.DataFrame:
        """Bad cases of one ``kind`` (wrong, low_confidence, drifted), at most ``limit``:
        wrong newest first, low_confidence least confident first, drifted most features
        first. Columns: request_id, version, timestamp, label, confidence, truth, reason,
        inputs (a dict per row: the request's fields over the looked-up features)."""
        served = Served.of(self.predictions(model, since))
        frame = self._bad(model, kind, served).head(limit)
        out = frame[_BAD_COLUMNS].assign(inputs=served.inputs.loc[frame.index].to_dict("records"))
        out["inputs"] = [{k: v for k, v in r.items() if not _missing(v)} for r in out["inputs"]]
        return out.reset_index(drop=True)

    def _bad(self, model: str, kind: str, served: Served) -> pd.DataFrame:
        frame = served.frame
        if kind == "wrong":
            mask = frame["truth"].notna() & frame["label"].notna()
            out = frame[mask & (frame["truth"] != frame["label"])]
            out = out.assign(reason="predicted " + out["label"] + ", labelled " + out["truth"])
            return out.iloc[::-1]
        if kind == "low_confidence":
            out = frame[frame["confidence"] < self.low_confidence]
            out = out.assign(reason="confidence " + out["confidence"].round(3).astype(str))
            return out.sort_values("confidence", kind="stable")
        if kind == "drifted":
            ref = self._reference(model)
            if ref is None:
                raise InvalidInputError(
                    f"No training reference for model {model!r}: drifted cases need one.",
                    hint="Pass reference= or reference_loader= to Monitor (atlas monitor: "
                    "--dataset NAME[:VERSION], else the model's training dataset).",
                )
            reasons = drift_reasons(ref, served.inputs)
            out = frame.assign(reason=reasons)[reasons != ""]
            order = out["reason"].str.count(",").to_numpy()
            return out.iloc[np.lexsort((-np.arange(len(out)), -order))]
        raise InvalidInputError(
            f"Unknown bad-case kind {kind!r}.", hint=f"Use one of: {', '.join(BAD_CASE_KINDS)}."
        )

    def summary(self, model: str, since: datetime | None = None) -> dict[str, Any]:
        """Everything ``atlas monitor`` shows: metrics per version, drift, bad-case counts,
        and the rows of the window that could not be read (``skipped_rows``)."""
        hit = self._cache.get(model) if since is None else None
        if hit is not None and time.monotonic() - hit[0] < self.cache_s:
            return hit[1]
        start = self._since(since)
        frame = self.log.joined(model, start)
        served = Served.of(frame)
        counts = {}
        for kind in BAD_CASE_KINDS:
            has_ref = kind != "drifted" or self._reference(model) is not None
            counts[kind] = len(self._bad(model, kind, served)) if has_ref else None
        skipped = self.log.issues.stats()["skipped_rows"].get(model, 0) + served.unreadable
        out = {
            "model": model,
            "since": start.isoformat() if start else None,
            "versions": _metrics(model, frame),
            "drift": self._drift(model, served),
            "bad_cases": counts,
            "skipped_rows": skipped,
        }
        if since is None:
            self._cache[model] = (time.monotonic(), out)
        return out

    def summaries(self, models: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """:meth:`summary` of every logged model (or ``models``). A model whose summary fails
        is left out, counted in :attr:`summary_errors` and logged once per kind of error: a
        scrape always answers."""
        try:
            names = list(models) if models is not None else self.log.models()
        except Exception as exc:  # the log's storage cannot be listed: no model figures now
            self._failed("*", exc)
            return []
        out = []
        for name in names:
            try:
                out.append(self.summary(name))
            except Exception as exc:  # one model's figures never fail a scrape
                self._failed(name, exc)
        return out

    def _failed(self, model: str, exc: Exception) -> None:
        self.summary_errors += 1
        key = (model, type(exc).__name__)
        if key not in self._failures:
            self._failures.add(key)
            logger.error("monitor_summary_failed", model=model, error=f"{key[1]}: {exc}")

    def log_stats(self) -> dict[str, Any]:
        """The log's counters (:meth:`FeedbackLog.stats`) and this monitor's summary errors."""
        return self.log.stats() | {"summary_errors": self.summary_errors}

    def families(self, models: Iterable[str] | None = None) -> Iterator[Metric]:
        """Prometheus metric families of the default window of every logged model (or
        ``models``) and the log's counters; see :class:`atlas.serve.prometheus.MonitorCollector`."""
        return metric_families(self.summaries(models), self.log_stats())

    def prometheus(self, models: Iterable[str] | None = None) -> str:
        """The same as :meth:`families`, in Prometheus' text format (version 0.0.4)."""
        lines = prometheus_lines(self.summaries(models), self.log_stats())
        return "\n".join(lines) + "\n"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _metrics(model: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for version, rows in frame.groupby("version", sort=True):
        latency = rows["latency_ms"].to_numpy(dtype=float)
        latency = latency[np.isfinite(latency)]
        answered = rows[rows["label"].notna() | rows["prediction"].notna()]
        labelled = answered[answered["truth"].notna()]
        flags = rows["flags"].fillna("")
        item: dict[str, Any] = {
            "model": model,
            "version": int(version),
            "count": len(rows),
            "labelled": len(labelled),
            "log_errors": int(flags.str.contains('"log_error"', regex=False).sum()),
            "fallbacks": int(
                (
                    flags.str.contains('"fallback": true', regex=False)
                    | flags.str.contains('"fallbacks": {"', regex=False)
                ).sum()
            ),
            "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else None,
            "latency_p99_ms": float(np.percentile(latency, 99)) if len(latency) else None,
        }
        if len(labelled):
            item |= _quality(rows, labelled)
        out.append(item)
    return out


def _quality(rows: pd.DataFrame, labelled: pd.DataFrame) -> dict[str, Any]:
    """The quality of a version on its labelled answers (at least one)."""
    if labelled["prediction"].notna().any():
        truth = pd.to_numeric(labelled["truth"], errors="coerce").to_numpy(dtype=float)
        pred = labelled["prediction"].to_numpy(dtype=float)
        ok = np.isfinite(truth) & np.isfinite(pred)
        return {"rmse": scoring.rmse(truth[ok], pred[ok]), "mae": scoring.mae(truth[ok], pred[ok])}
    correct = (labelled["truth"] == labelled["label"]).sum()
    return {"accuracy": float(correct / len(labelled))} | _binary(rows, labelled)


def _binary(rows: pd.DataFrame, labelled: pd.DataFrame) -> dict[str, Any]:
    classes = _classes(rows["probabilities"].dropna())
    if len(classes) != 2:
        return {}
    scored = labelled[np.isfinite(labelled["score"].to_numpy(dtype=float))]
    y = (scored["truth"] == classes[1]).to_numpy()
    score = scored["score"].to_numpy(dtype=float)
    return {"positive_class": classes[1], "auc": scoring.auc(y, score), "ks": scoring.ks(y, score)}


def _classes(probabilities: pd.Series) -> list[str]:
    """The class order of the first readable class probabilities."""
    for text in probabilities:
        found = json_object(text)
        if found:
            return list(found)
    return []
