"""The serving caches: aliases and rollout plans are refreshed in the background once stale
(stale-while-revalidate), ``peek`` answers from memory only, and an unreachable registry or
database leaves the known answer in place."""

from __future__ import annotations

import time

import pytest

from atlas.core.errors import NotFoundError
from atlas.registry import ModelRegistry
from atlas.serve.models import ModelManager
from atlas.serve.rollout import RolloutPlan, Rollouts


def _until(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def registry(sqlite_settings, make_draft) -> ModelRegistry:
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    registry.register("credit", make_draft(seed=1))
    registry.promote("credit", 1)
    return registry


def test_stale_alias_is_served_then_refreshed_in_the_background(registry) -> None:
    models = ModelManager(registry, alias_ttl=0.05)
    assert models.peek("credit", "production") is None  # nothing resolved or loaded yet
    assert models.get("credit", "production").version == 1
    assert models.peek("credit", "production").version == 1  # memory only now
    registry.promote("credit", 2)
    time.sleep(0.1)  # stale: the next answer is still the cached one, and a refresh starts
    assert models.resolve("credit", "production") == 1
    assert _until(lambda: models.resolve("credit", "production") == 2)
    assert models.peek("credit", "production") is None  # v2 is known but not loaded yet
    assert models.get("credit", "production").version == 2


def test_unreachable_registry_keeps_the_known_version(registry, monkeypatch) -> None:
    models = ModelManager(registry, alias_ttl=0.05)
    assert models.get("credit", "latest").version == 2
    calls = []

    def down(*_args, **_kwargs):
        calls.append(1)
        raise ConnectionError("database is down")

    monkeypatch.setattr(registry, "get", down)
    time.sleep(0.1)
    for _ in range(20):
        assert models.get("credit", "latest").version == 2
        time.sleep(0.01)
    assert calls  # the background refresh did try, and failed quietly


def test_an_alias_gone_from_the_registry_is_forgotten(registry, monkeypatch) -> None:
    models = ModelManager(registry, alias_ttl=0.05)
    assert models.resolve("credit", "production") == 1

    def gone(name, ref=None):
        raise NotFoundError(f"Model {name!r} has no alias {ref!r}.")

    monkeypatch.setattr(registry, "get", gone)
    time.sleep(0.1)
    models.resolve("credit", "production")  # stale: starts the refresh, which finds no alias
    assert _until(lambda: models.peek("credit", "production") is None)
    with pytest.raises(NotFoundError):  # the next request asks, and gets the 404's error
        models.resolve("credit", "production")


def test_zero_ttl_asks_every_time(registry) -> None:
    models = ModelManager(registry, alias_ttl=0)
    models.get("credit", "production")
    assert models.peek("credit", "production") is None
    registry.promote("credit", 2)
    assert models.resolve("credit", "production") == 2


def test_rollout_plans_follow_the_database_in_the_background(registry) -> None:
    writer, reader = Rollouts(registry.db, ttl=0.05), Rollouts(registry.db, ttl=0.05)
    assert not reader.known("credit") and reader.get("credit") is None
    assert reader.known("credit")
    writer.set("credit", RolloutPlan(canary_version=2, canary_share=0.5))
    time.sleep(0.1)
    reader.get("credit")  # stale: answers from memory, refreshes in the background
    assert _until(lambda: (p := reader.get("credit")) is not None and p.canary_version == 2)
