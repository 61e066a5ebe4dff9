"""Conformance suite of an online store (``atlas.data.features.online.OnlineStore``): typed
round trips, missing entities, evolving layouts, freshness, deletes, large batches, threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from atlas.data.features.online import OnlineStore

FEATURES = ["i", "f", "s", "b", "t", "none"]
MOMENT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
ROW = [7, 2.5, "gold", True, MOMENT, None]
LARGE_BATCH = 12_000  # more than one chunk of every built-in backend
READER_THREADS = 4
READ_STRIDE = 97


class OnlineStoreConformance:
    """Subclass and implement :meth:`make_store` (a fresh, empty store per test); override
    :meth:`reopen` if ``type(store).from_url(store.url)`` does not open the same data."""

    def make_store(self, tmp_path: Path) -> OnlineStore:
        raise NotImplementedError

    def reopen(self, store: OnlineStore) -> OnlineStore:
        """A second handle on the same data, as another process would open it."""
        return type(store).from_url(store.url)

    @pytest.fixture
    def online(self, tmp_path: Path) -> Iterator[OnlineStore]:
        store = self.make_store(tmp_path)
        yield store
        store.close()

    def test_types_round_trip(self, online: OnlineStore) -> None:
        online.write_batch("v", FEATURES, [1, "two"], [10, 20], [ROW, [0, 0.0, "", False, None, 1]])
        one = online.read_one("v", 1, FEATURES)
        assert one == dict(zip(FEATURES, ROW, strict=True))
        assert one is not None
        assert type(one["i"]) is int and type(one["f"]) is float and type(one["b"]) is bool
        two = online.read_one("v", "two", FEATURES)
        assert two == {"i": 0, "f": 0.0, "s": "", "b": False, "t": None, "none": 1}
        nan = online.write_batch("v", ["f"], [3], [1], [[float("nan")]])
        got = online.read_one("v", 3, ["f"])
        assert nan == 1 and got is not None and np.isnan(got["f"])

    def test_missing_entities_are_none_not_zeros(self, online: OnlineStore) -> None:
        online.write_batch("v", FEATURES, [1], [10], [ROW])
        assert online.read_one("v", 999, FEATURES) is None
        assert online.read_one("other-view", 1, FEATURES) is None
        got = online.read_batch("v", [999, 1, 1, "1"], ["s", "i"])
        assert got == [None, {"s": "gold", "i": 7}, {"s": "gold", "i": 7}, {"s": "gold", "i": 7}]
        assert online.read_batch("v", [], ["s"]) == []

    def test_subsets_and_unknown_features(self, online: OnlineStore) -> None:
        online.write_batch("v", FEATURES, [1], [10], [ROW])
        assert online.read_one("v", 1, ["t", "i"]) == {"t": MOMENT, "i": 7}
        assert online.read_one("v", 1, ["added_later"]) == {"added_later": None}

    def test_records_are_replaced_whole_and_layouts_evolve(self, online: OnlineStore) -> None:
        online.write_batch("v", ["a", "b"], [1, 2], [1, 1], [[1, 2], [3, 4]])
        online.write_batch("v", ["b", "c"], [1], [2], [["x", "y"]])  # a new feature list
        assert online.read_one("v", 1, ["a", "b", "c"]) == {"a": None, "b": "x", "c": "y"}
        assert online.read_one("v", 2, ["a", "b", "c"]) == {"a": 3, "b": 4, "c": None}
        fresh = self.reopen(online)  # another process: layouts come from the store
        assert fresh.read_batch("v", [1, 2], ["a", "c"]) == [
            {"a": None, "c": "y"},
            {"a": 3, "c": None},
        ]
        fresh.close()

    def test_freshness_cutoff(self, online: OnlineStore) -> None:
        online.write_batch("v", ["a"], [1, 2], [100, 200], [[1], [2]])
        assert online.read_one("v", 1, ["a"], not_before_us=150) is None
        assert online.read_batch("v", [1, 2], ["a"], not_before_us=150) == [None, {"a": 2}]

    def test_delete_entity(self, online: OnlineStore) -> None:
        online.write_batch("v", ["a"], [1, 2], [1, 1], [[1], [2]])
        online.write_batch("w", ["a"], [1], [1], [[3]])
        assert online.delete_entity(1, ["v", "w", "never"]) == 2
        assert online.read_batch("v", [1, 2], ["a"]) == [None, {"a": 2}]
        assert online.read_one("w", 1, ["a"]) is None
        assert online.delete_entity(1, ["v"]) == 0

    def test_large_batches_and_threads(self, online: OnlineStore) -> None:
        n = LARGE_BATCH
        online.write_batch("v", ["x"], list(range(n)), [1] * n, [[i * 2] for i in range(n)])
        got = online.read_batch("v", list(range(n - 1, -1, -1)), ["x"])
        assert [r["x"] for r in got if r] == [i * 2 for i in range(n - 1, -1, -1)]
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for i in range(0, n, READ_STRIDE):
                    assert online.read_one("v", i, ["x"]) == {"x": i * 2}
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(READER_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
