"""An automatic rollback sticks: it is a stored change of the plan, made once (compare-and-set
on the plan's revision), with its event in the database, and every replica follows it on its
next refresh. Two prediction services (replicas) share one metadata database (SQLite and
PostgreSQL); a fake clock ages their caches and refreshes and writes run inline (no sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from atlas.core.settings import Settings
from atlas.registry import ModelRegistry
from atlas.serve.metrics import ServerMetrics
from atlas.serve.models import ModelManager
from atlas.serve.refresh import InlineExecutor, Refresher
from atlas.serve.rollout import RolloutPlan, Rollouts
from atlas.serve.service import PredictionService
from tests.conftest import PG_ADMIN
from tests.core.read_only import read_only
from tests.serve.test_model_cache import Clock

TTL = 5.0
MIN_REQUESTS = 3
ROW = {"income": 1000.0, "debt": 0.5, "region": "north"}
# every real prediction takes longer than this: the canary breaches its p99 by construction
TOO_SLOW = RolloutPlan(canary_version=2, canary_share=1.0, max_p99_ms=1e-6, min_requests=3)


@pytest.fixture
def registry(settings: Settings, make_draft) -> ModelRegistry:
    registry = ModelRegistry.from_settings(settings)
    for seed in (0, 1):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    return registry


def _replica(registry: ModelRegistry, clock: Clock) -> PredictionService:
    def inline(name: str) -> Refresher:
        return Refresher(name, InlineExecutor())

    models = ModelManager(registry, alias_ttl=TTL, clock=clock, refresher=inline("aliases"))
    rollouts = Rollouts(registry.db, TTL, clock, inline("rollouts"), writer=InlineExecutor())
    return PredictionService(models, ServerMetrics(), rollouts)


def _served(replica: PredictionService) -> int:
    async def one() -> int:
        await replica.prepare("credit")
        return (await replica.predict("credit", None, [ROW], "v1")).model.version

    return asyncio.run(one())


def _events(replica: PredictionService) -> list[str]:
    return [e["event"] for e in replica.rollouts.events("credit", 50)]


def test_a_replica_that_saw_no_failures_follows_the_rollback(registry) -> None:
    clock = Clock()
    a, b = _replica(registry, clock), _replica(registry, clock)
    a.rollouts.set("credit", TOO_SLOW)
    assert _served(b) == 2  # b reads the plan: canary
    assert [_served(a) for _ in range(MIN_REQUESTS)] == [2] * MIN_REQUESTS  # the last breaches
    assert _served(a) == 1
    stored = a.rollouts.store.read("credit")
    assert stored is not None and stored.plan["canary_version"] is None and stored.revision == 2
    clock.advance(TTL - 0.1)
    assert _served(b) == 2  # its plan is fresh: not read again yet
    clock.advance(0.2)
    assert _served(b) == 1  # stale: re-read (inline), the rollback is followed at once
    assert _served(a) == 1  # and a's own refresh keeps it (the stored plan has no canary)
    assert _events(b) == _events(a) == ["plan", "auto_rollback"]
    detail = b.rollouts.events("credit", 50)[-1]["detail"]
    assert detail["canary"] == 2 and detail["p99_ms"] > TOO_SLOW.max_p99_ms


def test_replicas_that_both_roll_back_record_it_once(registry) -> None:
    clock = Clock()
    a, b = _replica(registry, clock), _replica(registry, clock)
    a.rollouts.set("credit", TOO_SLOW)
    b.rollouts.get("credit")
    for replica in (a, b):  # both judged revision 1; a stores first, b's write finds it taken
        assert [replica.rollouts.observe("credit", False, 0.01) for _ in range(3)][-1]
    assert _events(a) == ["plan", "auto_rollback"]
    for replica in (a, b):
        plan = replica.rollouts.get("credit")
        assert plan is not None and plan.canary_version is None
    assert b.rollouts.store.read("credit").revision == 2


def test_a_plan_set_meanwhile_wins_over_a_late_rollback(registry) -> None:
    clock = Clock()
    a, b = _replica(registry, clock), _replica(registry, clock)
    a.rollouts.set("credit", TOO_SLOW)
    b.rollouts.get("credit")
    a.rollouts.set("credit", TOO_SLOW.model_copy(update={"canary_share": 0.5}))  # revision 2
    for _ in range(MIN_REQUESTS):
        b.rollouts.observe("credit", False, 0.01)  # b judged revision 1: its write is refused
    plan = b.rollouts.get("credit")
    assert plan is not None and plan.canary_share == 0.5  # it follows the operator's plan
    assert _events(a) == ["plan", "plan"]


@contextmanager
def _unwritable(settings: Settings, db_url: str) -> Iterator[None]:
    """The metadata database, really read-only (its readers keep working)."""
    db = ModelRegistry.from_settings(settings).db
    if db.dialect == "sqlite":
        path = Path(str(make_url(db_url).database))
        db.dispose()
        with read_only(path):
            yield
    else:
        name = db_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        db.dispose()
        try:
            yield
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
    db.dispose()


def test_a_rollback_the_database_cannot_take_is_kept_and_stored_later(
    registry, settings, db_url
) -> None:
    clock = Clock()
    a = _replica(registry, clock)
    a.rollouts.set("credit", TOO_SLOW)
    with _unwritable(settings, db_url):
        for _ in range(MIN_REQUESTS):
            a.rollouts.observe("credit", False, 0.01)  # decided; its write fails
        assert a.rollouts.store.read("credit").plan["canary_version"] == 2
        clock.advance(TTL + 0.1)
        plan = a.rollouts.get("credit")  # the refresh reads the judged plan: not re-adopted
        assert plan is not None and plan.canary_version is None
        assert a.rollouts.choose("credit", "anyone") == (None, "stable")
    clock.advance(TTL + 0.1)
    a.rollouts.get("credit")  # writable again: the refresh stores the rollback
    stored = a.rollouts.store.read("credit")
    assert stored.plan["canary_version"] is None and stored.revision == 2
    assert _events(a) == ["plan", "auto_rollback"]
