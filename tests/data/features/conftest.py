"""Fixtures of the feature store: a store on SQLite in a temporary home, and the real Redis.

Redis is the server on 127.0.0.1:6379 (``.ci/run`` starts it); every test gets a key prefix of
its own and its keys are deleted afterwards. ``ATLAS_TEST_REDIS_URL`` points elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from atlas.core.settings import Settings
from atlas.data.features import Entity, FeatureStore
from atlas.data.features.online.redis import RedisOnlineStore

REDIS_URL = os.environ.get("ATLAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CUSTOMER = Entity("customer", join_key="customer_id")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis URL with a fresh ``?prefix=``; its keys are removed afterwards."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({exc}). Start it with: redis-server "
            '--daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
        )
    url = f"{REDIS_URL}?prefix=atlas-test-{uuid.uuid4().hex[:12]}:"
    yield url
    store = RedisOnlineStore(url)
    store.clear()
    store.close()


@pytest.fixture
def fs_settings(sqlite_settings: Settings) -> Settings:
    return sqlite_settings


@pytest.fixture
def store(fs_settings: Settings) -> Iterator[FeatureStore]:
    """A feature store on SQLite (metadata and online) under a temporary ATLAS_HOME."""
    fs = FeatureStore(fs_settings)
    yield fs
    fs.online.close()
