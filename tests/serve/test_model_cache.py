"""The serving caches: aliases and rollout plans are refreshed in the background once stale
(stale-while-revalidate), ``peek`` answers from memory only, and an unreachable registry or
database leaves the known answer in place. A fake clock ages the caches and refreshes run
inline (no sleeps), on each metadata database."""

from __future__ import annotations

import pytest

from atlas.core.errors import NotFoundError
from atlas.registry import ModelRegistry
from atlas.serve.models import ModelManager
from atlas.serve.refresh import InlineExecutor, Refresher
from atlas.serve.rollout import RolloutPlan, Rollouts

TTL = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(settings, make_draft) -> ModelRegistry:
    registry = ModelRegistry.from_settings(settings)
    registry.register("credit", make_draft())
    registry.register("credit", make_draft(seed=1))
    registry.promote("credit", 1)
    return registry


def _manager(registry: ModelRegistry, clock: Clock, **options: float) -> ModelManager:
    inline = Refresher("aliases", InlineExecutor())
    return ModelManager(registry, alias_ttl=TTL, clock=clock, refresher=inline, **options)


def test_stale_alias_is_served_then_refreshed_in_the_background(registry, clock) -> None:
    models = _manager(registry, clock)
    assert models.peek("credit", "production") is None  # nothing resolved or loaded yet
    assert models.get("credit", "production").version == 1
    assert models.peek("credit", "production").version == 1  # memory only now
    registry.promote("credit", 2)
    clock.advance(TTL - 0.1)
    assert models.resolve("credit", "production") == 1  # fresh: the registry is not asked
    clock.advance(0.1)
    assert models.resolve("credit", "production") == 1  # stale: answered, refresh started
    assert models.resolve("credit", "production") == 2  # the refresh landed
    assert models.peek("credit", "production") is None  # v2 is known but not loaded yet
    assert models.get("credit", "production").version == 2


def test_unreachable_registry_keeps_the_known_version(registry, clock, monkeypatch) -> None:
    models = _manager(registry, clock)
    assert models.get("credit", "latest").version == 2
    calls = []

    def down(*_args, **_kwargs):
        calls.append(1)
        raise ConnectionError("database is down")

    monkeypatch.setattr(registry, "get", down)
    for _ in range(3):
        clock.advance(TTL)
        assert models.get("credit", "latest").version == 2
    assert len(calls) == 3  # each stale read tried a refresh, which failed quietly


def test_an_alias_gone_from_the_registry_is_forgotten(registry, clock, monkeypatch) -> None:
    models = _manager(registry, clock)
    assert models.resolve("credit", "production") == 1

    def gone(name, ref=None):
        raise NotFoundError(f"Model {name!r} has no alias {ref!r}.")

    monkeypatch.setattr(registry, "get", gone)
    clock.advance(TTL)
    models.resolve("credit", "production")  # stale: the refresh finds no alias
    assert models.peek("credit", "production") is None
    with pytest.raises(NotFoundError):  # the next request asks, and gets the 404's error
        models.resolve("credit", "production")


def test_zero_ttl_asks_every_time(registry) -> None:
    models = ModelManager(registry, alias_ttl=0)
    models.get("credit", "production")
    assert models.peek("credit", "production") is None
    registry.promote("credit", 2)
    assert models.resolve("credit", "production") == 2


def test_idle_models_are_unloaded_by_the_clock(registry, clock) -> None:
    models = _manager(registry, clock, idle_seconds=60.0)
    models.get("credit", 1)
    clock.advance(30)
    models.get("credit", 2)
    clock.advance(31)  # v1 idle for 61 s, v2 for 31 s
    models.sweep()
    assert [(m["version"], m["idle_s"]) for m in models.loaded()] == [(2, 31.0)]
    assert models.unloads == 1


def test_rollout_plans_follow_the_database_in_the_background(registry, clock) -> None:
    def rollouts() -> Rollouts:
        return Rollouts(registry.db, TTL, clock, Refresher("rollouts", InlineExecutor()))

    writer, reader = rollouts(), rollouts()
    assert not reader.known("credit") and reader.get("credit") is None
    assert reader.known("credit")
    writer.set("credit", RolloutPlan(canary_version=2, canary_share=0.5))
    assert reader.get("credit") is None  # fresh for TTL seconds: not read again
    clock.advance(TTL + 0.1)
    plan = reader.get("credit")  # stale: re-read in the background (inline here)
    assert plan is not None and plan.canary_version == 2
