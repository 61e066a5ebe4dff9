"""The online store's conformance suite: every test runs on SQLite and on the real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from atlas.core.errors import ConfigError, DatabaseUnavailableError
from atlas.data.features import OnlineStore, open_online_store
from atlas.data.features.online.redis import RedisOnlineStore, split_prefix

FEATURES = ["i", "f", "s", "b", "t", "none"]
MOMENT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
ROW = [7, 2.5, "gold", True, MOMENT, None]


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'online.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    store = open_online_store(url)
    yield store
    store.close()


def test_types_round_trip(online: OnlineStore) -> None:
    online.write_batch("v", FEATURES, [1, "two"], [10, 20], [ROW, [0, 0.0, "", False, None, 1]])
    one = online.read_one("v", 1, FEATURES)
    assert one == dict(zip(FEATURES, ROW, strict=True))
    assert type(one["i"]) is int and type(one["f"]) is float and type(one["b"]) is bool
    two = online.read_one("v", "two", FEATURES)
    assert two == {"i": 0, "f": 0.0, "s": "", "b": False, "t": None, "none": 1}
    assert type(two["f"]) is float and type(two["i"]) is int
    nan = online.write_batch("v", ["f"], [3], [1], [[float("nan")]])
    assert nan == 1 and np.isnan(online.read_one("v", 3, ["f"])["f"])


def test_missing_entities_are_none_not_zeros(online: OnlineStore) -> None:
    online.write_batch("v", FEATURES, [1], [10], [ROW])
    assert online.read_one("v", 999, FEATURES) is None
    assert online.read_one("other-view", 1, FEATURES) is None
    got = online.read_batch("v", [999, 1, 1, "1"], ["s", "i"])
    assert got == [None, {"s": "gold", "i": 7}, {"s": "gold", "i": 7}, {"s": "gold", "i": 7}]
    assert online.read_batch("v", [], ["s"]) == []


def test_subsets_and_unknown_features(online: OnlineStore) -> None:
    online.write_batch("v", FEATURES, [1], [10], [ROW])
    assert online.read_one("v", 1, ["t", "i"]) == {"t": MOMENT, "i": 7}
    assert online.read_one("v", 1, ["added_later"]) == {"added_later": None}


def test_records_are_replaced_whole_and_layouts_evolve(online: OnlineStore) -> None:
    online.write_batch("v", ["a", "b"], [1, 2], [1, 1], [[1, 2], [3, 4]])
    online.write_batch("v", ["b", "c"], [1], [2], [["x", "y"]])  # a new feature list
    assert online.read_one("v", 1, ["a", "b", "c"]) == {"a": None, "b": "x", "c": "y"}
    assert online.read_one("v", 2, ["a", "b", "c"]) == {"a": 3, "b": 4, "c": None}
    fresh = open_online_store(online.url)  # another process: layouts come from the store
    assert fresh.read_batch("v", [1, 2], ["a", "c"]) == [
        {"a": None, "c": "y"},
        {"a": 3, "c": None},
    ]
    fresh.close()


def test_freshness_cutoff(online: OnlineStore) -> None:
    online.write_batch("v", ["a"], [1, 2], [100, 200], [[1], [2]])
    assert online.read_one("v", 1, ["a"], not_before_us=150) is None
    assert online.read_batch("v", [1, 2], ["a"], not_before_us=150) == [None, {"a": 2}]


def test_delete_entity(online: OnlineStore) -> None:
    online.write_batch("v", ["a"], [1, 2], [1, 1], [[1], [2]])
    online.write_batch("w", ["a"], [1], [1], [[3]])
    assert online.delete_entity(1, ["v", "w", "never"]) == 2
    assert online.read_batch("v", [1, 2], ["a"]) == [None, {"a": 2}]
    assert online.read_one("w", 1, ["a"]) is None
    assert online.delete_entity(1, ["v"]) == 0


def test_large_batches_and_threads(online: OnlineStore) -> None:
    n = 12_000  # more than one chunk of every backend
    online.write_batch("v", ["x"], list(range(n)), [1] * n, [[i * 2] for i in range(n)])
    got = online.read_batch("v", list(range(n - 1, -1, -1)), ["x"])
    assert [r["x"] for r in got if r] == [i * 2 for i in range(n - 1, -1, -1)]
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for i in range(0, n, 97):
                assert online.read_one("v", i, ["x"]) == {"x": i * 2}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_single_lookup_of_200_features_is_fast(online: OnlineStore) -> None:
    names = [f"f{i}" for i in range(200)]
    values = [[float(i + k) if i % 2 else i + k for i in range(200)] for k in range(100)]
    online.write_batch("wide", names, list(range(100)), [1] * 100, values)
    timings = []
    for k in range(600):
        began = time.perf_counter()
        row = online.read_one("wide", k % 100, names)
        timings.append(time.perf_counter() - began)
        assert row is not None
    # the benchmark's goal is <= 1 ms (SQLite) / 2 ms (Redis) p99; this machine is shared and
    # loaded, so the test keeps a wide margin and only catches gross regressions
    assert np.percentile(timings, 99) < 0.02


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    online = open_online_store(f"sqlite:///{tmp_path / 'o.db'}")
    online.write_batch("v", ["a"], [1], [1], [[1]])
    with pytest.raises(RuntimeError), online.transaction():
        online.write_batch("v", ["a"], [1, 2], [2, 2], [[10], [20]])
        raise RuntimeError("injected")
    assert online.read_batch("v", [1, 2], ["a"]) == [{"a": 1}, None]


def test_bad_urls_and_unreachable_redis() -> None:
    with pytest.raises(ConfigError, match="names no known backend"):
        open_online_store("memcached://x")
    assert split_prefix("redis://h:1/2?prefix=app:&x=1") == ("redis://h:1/2?x=1", "app:")
    down = RedisOnlineStore("redis://:secret@127.0.0.1:1/0")
    with pytest.raises(DatabaseUnavailableError, match="Cannot reach the Redis") as err:
        down.read_one("v", 1, ["a"])
    assert "secret" not in str(err.value)
