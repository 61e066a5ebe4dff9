"""Safe rollout by aliases: a canary share (sticky per entity key), a shadow challenger, and an
automatic rollback when the canary's error rate or latency passes its threshold.

The stable version is whatever the ``production`` alias (else the newest version) points at;
the canary and shadow are version numbers set through the management API.

An automatic rollback turns the canary off at once in the replica that saw the failures, and is
then stored as a change of the plan (:mod:`atlas.serve.rollout_store`: a compare-and-set on the
plan's revision, with its event), in the background so no request waits on the database. With
several replicas one records it; every replica follows it on its next refresh. Until it is
stored (the database may be down), the replica keeps the canary off and never re-adopts the
revision it judged, and retries on each refresh.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from atlas.core.database import Database
from atlas.core.logging import get_logger
from atlas.core.schema import isoformat, utcnow
from atlas.core.versions import VersionNumber
from atlas.serve.refresh import Refresher
from atlas.serve.rollout_store import RolloutStore, StoredPlan

log = get_logger(__name__)
EVENTS_KEPT = 1000  # events kept in memory without a database
MAX_P99_MS = 3_600_000.0  # an hour: every number of a plan is finite and bounded
MAX_MIN_REQUESTS = 10_000_000
MAX_WINDOW = 10_000_000  # outcomes kept per canary


class RolloutPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    canary_version: VersionNumber | None = None
    canary_share: float = Field(default=0.0, ge=0.0, le=1.0)
    shadow_version: VersionNumber | None = None
    sticky_field: str | None = Field(
        default=None, description="Request field whose value keeps an entity on one side."
    )
    max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_p99_ms: float = Field(default=250.0, gt=0, le=MAX_P99_MS)
    min_requests: int = Field(default=50, ge=1, le=MAX_MIN_REQUESTS)
    window: int = Field(default=500, ge=10, le=MAX_WINDOW)


def bucket(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (the same entity always lands on the same side)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class _Window:
    outcomes: deque[tuple[bool, float]] = field(default_factory=deque)


@dataclass(frozen=True)
class _Rollback:
    """A rollback decided here: the plan without its canary, to store over ``revision``."""

    revision: int
    plan: RolloutPlan
    detail: dict[str, Any]


class Rollouts:
    """Plans per model, the canary's recent outcomes, and the rollback decision.

    With a database, plans and events are stored (``atlas_rollouts``, ``atlas_rollout_events``)
    and plans re-read every ``ttl`` seconds, so every replica of a server follows the same plan;
    without one (tests, a single process) they live in memory. ``clock`` (monotonic seconds)
    ages the plans, ``refresher`` runs the background re-reads and ``writer`` the rollback
    writes (tests pass :class:`~atlas.serve.refresh.InlineExecutor` to both).
    """

    def __init__(
        self,
        db: Database | None = None,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        refresher: Refresher | None = None,
        writer: Executor | None = None,
    ) -> None:
        self.store = RolloutStore(db) if db is not None else None
        self.ttl = ttl
        self.clock = clock
        self._plans: dict[str, RolloutPlan] = {}
        self._revisions: dict[str, int] = {}
        self._pending: dict[str, _Rollback] = {}
        self._read_at: dict[str, float] = {}
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._refresher = refresher or Refresher("rollouts")
        self._writer = writer
        self._writes: list[Future[None]] = []
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)

    # -- plans ---------------------------------------------------------------------------
    def set(self, model: str, plan: RolloutPlan) -> None:
        """Store ``plan`` (it wins over anything decided before), then follow it here."""
        revision = self.store.put(model, plan) if self.store else self._revisions.get(model, 0) + 1
        with self._lock:
            self._plans[model] = plan
            self._revisions[model] = revision
            self._pending.pop(model, None)
            self._read_at[model] = self.clock()
            self._windows[model] = _Window()
        if self.store is None:
            self._remember(model, "plan", revision, plan.model_dump())

    def get(self, model: str) -> RolloutPlan | None:
        """The model's plan; read from the database the first time, and afterwards refreshed
        in the background once it is ``ttl`` old (the caller never waits for it again)."""
        if self.store is not None:
            read_at = self._read_at.get(model)
            if read_at is None or self.ttl <= 0:  # a TTL of 0: read every time
                self._read(model)
            elif self.clock() - read_at > self.ttl:
                self._refresher.later(model, lambda: self._read(model))
        return self._plans.get(model)

    def known(self, model: str) -> bool:
        """Whether :meth:`get` answers from memory (no database read needed)."""
        return self.store is None or (self.ttl > 0 and model in self._read_at)

    def _read(self, model: str) -> None:
        assert self.store is not None
        stored = self.store.read(model)
        with self._lock:
            self._read_at[model] = self.clock()
            pending = self._pending.get(model)
            if pending is not None and stored is not None and stored.revision == pending.revision:
                retry = pending  # the plan judged bad, still stored: keep it off, store again
            else:
                retry = None
                self._pending.pop(model, None)
                self._adopt(model, stored)
        if retry is not None:
            self._store_rollback(model, retry)

    def _adopt(self, model: str, stored: StoredPlan | None) -> None:
        if stored is None:
            self._plans.pop(model, None)
            self._revisions.pop(model, None)
            return
        self._plans[model] = RolloutPlan.model_validate(stored.plan)
        self._revisions[model] = stored.revision

    # -- requests ------------------------------------------------------------------------
    def choose(self, model: str, sticky_key: str | None) -> tuple[int | None, str]:
        """(version or None for stable, "canary" | "stable") for one request."""
        plan = self._plans.get(model)
        if plan is None or plan.canary_version is None or plan.canary_share <= 0:
            return None, "stable"
        key = sticky_key if sticky_key is not None else f"{time.perf_counter_ns()}"
        if bucket(f"{model}:{key}") < plan.canary_share:
            return plan.canary_version, "canary"
        return None, "stable"

    def observe(self, model: str, ok: bool, seconds: float) -> bool:
        """Record a canary outcome; True when it triggered an automatic rollback (the canary is
        off here at once; the stored plan follows in the background)."""
        plan = self._plans.get(model)
        if plan is None or plan.canary_version is None:
            return False
        with self._lock:
            window = self._windows.setdefault(model, _Window())
            window.outcomes.append((ok, seconds))
            while len(window.outcomes) > plan.window:
                window.outcomes.popleft()
            reason = _breach(plan, window)
            if reason is None:
                return False
            rolled = plan.model_copy(update={"canary_version": None, "canary_share": 0.0})
            self._plans[model] = rolled
            window.outcomes.clear()
            rollback = _Rollback(self._revisions.get(model, 0), rolled, reason)
            if self.store is not None:
                self._pending[model] = rollback
        if self.store is None:
            self._remember(model, "auto_rollback", rollback.revision + 1, reason)
        else:
            self._submit(lambda: self._store_rollback(model, rollback))
        return True

    # -- storing a rollback --------------------------------------------------------------
    def _store_rollback(self, model: str, rollback: _Rollback) -> None:
        """Compare-and-set the rolled-back plan over the revision judged; when another replica
        (or the operator) changed the plan first, follow the stored one instead."""
        assert self.store is not None
        stored = self.store.compare_and_set(
            model, rollback.revision, rollback.plan, "auto_rollback", rollback.detail
        )
        with self._lock:
            if self._pending.get(model) is not rollback:  # a new plan was set meanwhile
                return
            del self._pending[model]
            if stored is not None:
                self._revisions[model] = stored
                return
        log.info("rollout.rollback_seen", model=model, judged=rollback.revision)
        self._read(model)

    def _submit(self, write: Callable[[], None]) -> None:
        def run() -> None:
            try:
                write()
            except Exception as exc:  # the database is down: retried on the next refresh
                log.warning("rollout.rollback_not_stored", error=str(exc))

        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="atlas-rollback")
        self._writes = [f for f in self._writes if not f.done()]
        self._writes.append(self._writer.submit(run))

    def drain(self, timeout: float | None = None) -> None:
        """Wait for the rollback writes started so far (shutdown, tests)."""
        wait(list(self._writes), timeout=timeout)

    def close(self) -> None:
        self.drain()
        if isinstance(self._writer, ThreadPoolExecutor):
            self._writer.shutdown(wait=True)

    # -- events --------------------------------------------------------------------------
    def events(self, model: str, limit: int) -> list[dict[str, Any]]:
        """The model's newest ``limit`` events, oldest first (from the database with one)."""
        if self.store is not None:
            return self.store.events(model, limit)
        return [e for e in self._events if e["model"] == model][-limit:]

    def _remember(self, model: str, kind: str, revision: int, detail: dict[str, Any]) -> None:
        at = isoformat(utcnow())
        event = {"model": model, "event": kind, "revision": revision, "detail": detail, "at": at}
        self._events.append(event)


def _breach(plan: RolloutPlan, window: _Window) -> dict[str, Any] | None:
    """Why the canary must be rolled back (error rate, p99, version), or None."""
    n = len(window.outcomes)
    if n < plan.min_requests:
        return None
    errors = sum(not o for o, _ in window.outcomes) / n
    latencies = sorted(s for _, s in window.outcomes)
    p99_ms = 1000 * latencies[min(n - 1, int(0.99 * n))]
    if errors <= plan.max_error_rate and p99_ms <= plan.max_p99_ms:
        return None
    return {"error_rate": errors, "p99_ms": p99_ms, "canary": plan.canary_version}
