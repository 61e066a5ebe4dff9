"""One prediction, end to end: pick the version (alias, canary), predict, measure, mirror to
the shadow, and hand the event to the feedback hooks. Both HTTP protocols call this, on the
event loop."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from atlas.core.errors import AtlasError
from atlas.core.logging import get_logger
from atlas.registry import LoadedModel
from atlas.serve.batching import Batcher
from atlas.serve.metrics import ServerMetrics
from atlas.serve.models import ModelManager
from atlas.serve.rollout import Rollouts

log = get_logger(__name__)


class Overloaded(Exception):
    """More requests in flight than the server takes; the caller answers 503."""


@dataclass
class PredictionEvent:
    request_id: str
    model: str
    version: int
    role: str  # stable | canary | pinned | shadow
    inputs: Mapping[str, Sequence[Any]]
    raw: np.ndarray
    labels: np.ndarray
    latency_ms: float
    extra: dict[str, Any] = field(default_factory=dict)
    classes: list[Any] | None = None


@dataclass
class Prediction:
    model: LoadedModel
    raw: np.ndarray
    labels: np.ndarray
    request_id: str
    role: str


class PredictionService:
    def __init__(
        self,
        models: ModelManager,
        metrics: ServerMetrics,
        rollouts: Rollouts,
        max_in_flight: int = 64,
        hooks: Sequence[Callable[[PredictionEvent], None]] = (),
        max_batch_rows: int = 512,
    ) -> None:
        self.models = models
        self.metrics = metrics
        self.rollouts = rollouts
        self.max_in_flight = max_in_flight
        self.hooks = list(hooks)
        self._in_flight = 0
        self._lock = threading.Lock()
        self.max_batch_rows = max_batch_rows
        self._batchers: dict[tuple[str, int], Batcher] = {}
        self._shadow = ThreadPoolExecutor(max_workers=2, thread_name_prefix="atlas-shadow")

    async def predict(
        self,
        name: str,
        ref: str | None,
        columns: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
        protocol: str,
        request_id: str | None = None,
        sticky_key: str | None = None,
        flags: list[dict[str, Any]] | None = None,
    ) -> Prediction:
        """Runs on the event loop: a model in use answers from memory (micro-batched with the
        requests that arrived with it); reading the registry, loading a model and predicting a
        large request go to a worker thread."""
        with self._lock:
            if self._in_flight >= self.max_in_flight:
                self.metrics.rejected.inc()
                raise Overloaded()
            self._in_flight += 1
            self.metrics.in_flight.set(self._in_flight)
        began = time.perf_counter()
        role, version_label = "pinned", str(ref)
        try:
            picked = self._pick(name, ref, sticky_key, io=False)
            if picked is None:  # first use: read the registry, load the model, off the loop
                picked = await run_in_threadpool(self._pick, name, ref, sticky_key, True)
            assert picked is not None
            model, role = picked
            version_label = str(model.version)
            shaped = _as_columns(columns)
            if shaped is not None and shaped[1] <= self.max_batch_rows:
                raw = await self._batcher(name, model.version).run(model.raw, *shaped)
            else:  # large, or records with differing fields (alone: clear errors)
                raw = await run_in_threadpool(model.raw, columns)
            labels = model.labels(raw)
        except AtlasError:
            self.metrics.requests.labels(name, version_label, protocol, "4xx").inc()
            raise
        except Exception:
            self.metrics.requests.labels(name, version_label, protocol, "error").inc()
            if role == "canary":
                self._observe_canary(name, False, time.perf_counter() - began)
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
                self.metrics.in_flight.set(self._in_flight)
        seconds = time.perf_counter() - began
        self.metrics.requests.labels(name, version_label, protocol, "ok").inc()
        self.metrics.rows.labels(name, version_label).inc(len(raw))
        self.metrics.latency.labels(name, version_label).observe(seconds)
        if role == "canary":
            self._observe_canary(name, True, seconds)
        rid = request_id or uuid.uuid4().hex
        extra = {"flags": flags} if flags and any(flags) else {}
        self._emit(
            PredictionEvent(
                rid,
                name,
                model.version,
                role,
                _columns(columns),
                raw,
                labels,
                1000 * seconds,
                extra,
                model.manifest.classes,
            )
        )
        self._mirror(name, model.version, columns, rid)
        return Prediction(model, raw, labels, rid, role)

    async def prepare(self, name: str) -> None:
        """Read the model's rollout plan off the loop the first time (sticky keys need it)."""
        if not self.rollouts.known(name):
            await run_in_threadpool(self.rollouts.get, name)

    def _pick(
        self, name: str, ref: str | None, sticky_key: str | None, io: bool
    ) -> tuple[LoadedModel, str] | None:
        """The model that answers (the canary's share goes to the canary) and its role; with
        ``io=False`` only from memory (None when that is not enough)."""
        role = "pinned"
        if ref is None:
            if not io and not self.rollouts.known(name):
                return None
            self.rollouts.get(name)
            canary, role = self.rollouts.choose(name, sticky_key)
            ref = str(canary) if canary is not None else None
        if not io:
            model = self.models.peek(name, ref)
            return None if model is None else (model, role)
        loads = self.models.loads
        model = self.models.get(name, ref)
        if self.models.loads != loads:
            self.metrics.cold_start.labels(name).observe(self.models.cold_starts[-1])
            self.metrics.loaded.set(len(self.models.loaded()))
        return model, role

    def _batcher(self, name: str, version: int) -> Batcher:
        batcher = self._batchers.get((name, version))
        if batcher is None:  # on the event loop: no other thread creates batchers
            batcher = self._batchers[(name, version)] = Batcher(self.max_batch_rows)
        return batcher

    def batching_stats(self) -> dict[str, dict[str, int]]:
        return {
            f"{n}:{v}": {"requests": b.requests, "calls": b.calls}
            for (n, v), b in self._batchers.items()
        }

    def _observe_canary(self, name: str, ok: bool, seconds: float) -> None:
        if self.rollouts.observe(name, ok, seconds):
            self.metrics.rollout.labels(name, "auto_rollback").inc()
            log.warning("rollout.auto_rollback", model=name)

    def _mirror(self, name: str, served: int, columns: Any, rid: str) -> None:
        plan = self.rollouts.get(name)
        if plan is None or plan.shadow_version is None or plan.shadow_version == served:
            return
        shadow = plan.shadow_version

        def run() -> None:
            began = time.perf_counter()
            try:
                model = self.models.get(name, shadow)
                raw = model.raw(columns)
                self._emit(
                    PredictionEvent(
                        rid,
                        name,
                        shadow,
                        "shadow",
                        _columns(columns),
                        raw,
                        model.labels(raw),
                        1000 * (time.perf_counter() - began),
                        {},
                        model.manifest.classes,
                    )
                )
                self.metrics.rollout.labels(name, "shadow").inc()
            except Exception as exc:  # a failing challenger never affects the answer
                log.warning("rollout.shadow_failed", model=name, version=shadow, error=str(exc))

        self._shadow.submit(run)

    def _emit(self, event: PredictionEvent) -> None:
        for hook in self.hooks:
            try:
                hook(event)
            except Exception as exc:  # logging must not fail a prediction
                log.error("feedback.hook_failed", error=str(exc))

    def close(self) -> None:
        self._shadow.shutdown(wait=True)
        self.rollouts.close()  # an automatic rollback decided here is stored before exit


def _as_columns(data: Any) -> tuple[Mapping[str, Sequence[Any]], int] | None:
    """Columns and row count, or None for records whose fields differ from row to row."""
    if isinstance(data, Mapping):
        lengths = {len(v) for v in data.values()}
        return (data, lengths.pop()) if len(lengths) == 1 else None
    if not data or any(not isinstance(r, Mapping) for r in data):
        return None
    keys = set(data[0])
    if any(set(r) != keys for r in data):
        return None
    return {k: [r[k] for r in data] for k in data[0]}, len(data)


def _columns(data: Any) -> Mapping[str, Sequence[Any]]:
    if isinstance(data, Mapping):
        return data
    keys = list(data[0]) if data else []
    return {k: [row.get(k) for row in data] for k in keys}
