"""Safe rollout by aliases: a canary share (sticky per entity key), a shadow challenger, and an
automatic rollback when the canary's error rate or latency passes its threshold.

The stable version is whatever the ``production`` alias (else the newest version) points at;
the canary and shadow are version numbers set through the management API.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from atlas.core.database import Database
from atlas.core.schema import utcnow
from atlas.serve.refresh import Refresher
from atlas.serve.tables import RolloutRow


class RolloutPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canary_version: int | None = None
    canary_share: float = Field(default=0.0, ge=0.0, le=1.0)
    shadow_version: int | None = None
    sticky_field: str | None = Field(
        default=None, description="Request field whose value keeps an entity on one side."
    )
    max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_p99_ms: float = Field(default=250.0, gt=0)
    min_requests: int = Field(default=50, ge=1)
    window: int = Field(default=500, ge=10)


def bucket(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (the same entity always lands on the same side)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class _Window:
    outcomes: deque[tuple[bool, float]] = field(default_factory=deque)


class Rollouts:
    """Plans per model, the canary's recent outcomes, and the rollback decision.

    With a database, plans are stored in ``atlas_rollouts`` and re-read every ``ttl`` seconds,
    so every replica of a server follows the same plan and an automatic rollback made by one
    reaches the others; without one (tests, a single process) they live in memory. ``clock``
    (monotonic seconds) ages the plans and ``refresher`` runs the background re-reads.
    """

    def __init__(
        self,
        db: Database | None = None,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        refresher: Refresher | None = None,
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._plans: dict[str, RolloutPlan] = {}
        self._read_at: dict[str, float] = {}
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._refresher = refresher or Refresher("rollouts")
        self.events: list[dict[str, Any]] = []

    def set(self, model: str, plan: RolloutPlan) -> None:
        with self._lock:
            self._plans[model] = plan
            self._read_at[model] = self.clock()
            self._windows[model] = _Window()
        self._store(model, plan)
        self._event(model, "plan", plan.model_dump())

    def get(self, model: str) -> RolloutPlan | None:
        """The model's plan; read from the database the first time, and afterwards refreshed
        in the background once it is ``ttl`` old (the caller never waits for it again)."""
        if self.db is not None:
            read_at = self._read_at.get(model)
            if read_at is None or self.ttl <= 0:  # a TTL of 0: read every time
                self._read(model)
            elif self.clock() - read_at > self.ttl:
                self._refresher.later(model, lambda: self._read(model))
        return self._plans.get(model)

    def known(self, model: str) -> bool:
        """Whether :meth:`get` answers from memory (no database read needed)."""
        return self.db is None or (self.ttl > 0 and model in self._read_at)

    def _read(self, model: str) -> None:
        assert self.db is not None
        with self.db.session() as s:
            row = s.get(RolloutRow, model)
            plan = RolloutPlan.model_validate(row.plan) if row else None
        with self._lock:
            if plan is None:
                self._plans.pop(model, None)
            else:
                self._plans[model] = plan
            self._read_at[model] = self.clock()

    def _store(self, model: str, plan: RolloutPlan) -> None:
        if self.db is None:
            return
        with self.db.session() as s:
            row = s.get(RolloutRow, model)
            if row is None:
                s.add(RolloutRow(model_name=model, plan=plan.model_dump()))
            else:
                row.plan, row.updated_at = plan.model_dump(), utcnow()

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
        """Record a canary outcome; True when it triggered an automatic rollback."""
        plan = self._plans.get(model)
        if plan is None or plan.canary_version is None:
            return False
        with self._lock:
            window = self._windows.setdefault(model, _Window())
            window.outcomes.append((ok, seconds))
            while len(window.outcomes) > plan.window:
                window.outcomes.popleft()
            n = len(window.outcomes)
            if n < plan.min_requests:
                return False
            errors = sum(not o for o, _ in window.outcomes) / n
            latencies = sorted(s for _, s in window.outcomes)
            p99_ms = 1000 * latencies[min(n - 1, int(0.99 * n))]
            if errors <= plan.max_error_rate and p99_ms <= plan.max_p99_ms:
                return False
            reason = {"error_rate": errors, "p99_ms": p99_ms, "canary": plan.canary_version}
            self._plans[model] = plan.model_copy(
                update={"canary_version": None, "canary_share": 0.0}
            )
            window.outcomes.clear()
        self._event(model, "auto_rollback", reason)
        return True

    def _event(self, model: str, kind: str, detail: dict[str, Any]) -> None:
        self.events.append({"model": model, "event": kind, "detail": detail, "at": time.time()})
