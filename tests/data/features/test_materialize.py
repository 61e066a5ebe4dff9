"""Materialization into both online stores, online lookups through the store, and failures."""

from __future__ import annotations

import pandas as pd
import pytest

from atlas.core.settings import Settings
from atlas.data.features import FeatureStore, FeatureView, open_online_store
from atlas.data.features.offline import DuckDBEngine
from tests.data.features.conftest import CUSTOMER

T0 = pd.Timestamp("2024-06-01", tz="UTC")
VIEW = FeatureView(
    "acct", entity="customer", features={"balance": "float64", "n": "int64", "tier": "string"}
)


def _rows(keys: list[int], hours: list[int], balance: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": keys,
            "event_timestamp": [T0 + pd.Timedelta(hours=h) for h in hours],
            "balance": balance,
            "n": [int(b) for b in balance],
            "tier": [f"t{int(b)}" for b in balance],
        }
    )


@pytest.fixture(params=["embedded", "production"])
def fs(request: pytest.FixtureRequest, fs_settings: Settings, make_settings) -> FeatureStore:
    """Embedded: SQLite registry and online store; production: PostgreSQL registry (files,
    watermarks) and Redis online store."""
    url = fs_settings.online_store_url
    if request.param == "production":
        fs_settings = make_settings(database_url=request.getfixturevalue("pg_url"))
        url = request.getfixturevalue("redis_url")
    store = FeatureStore(fs_settings, online=open_online_store(url))
    store.apply([CUSTOMER, VIEW])
    return store


class CountingEngine(DuckDBEngine):
    """Records how many rows each ``latest`` call read (to prove incrementality)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[int] = []

    def latest(self, source, after, until):  # type: ignore[no-untyped-def]
        batches = list(super().latest(source, after, until))
        self.read.append(sum(b.num_rows for b in batches))
        yield from batches


def test_incremental_materialization(fs: FeatureStore) -> None:
    engine = CountingEngine()
    fs.offline = engine
    fs.ingest("acct", _rows([1, 1, 2], [1, 5, 2], [10, 11, 20]))
    first = fs.materialize()
    assert [(r.view, r.entities, r.full) for r in first] == [("acct", 2, True)]
    names = ["acct:balance", "acct:n", "acct:tier"]
    assert fs.get_online(1, names) == {"balance": 11.0, "n": 11, "tier": "t11"}
    assert fs.get_online([2, 3], ["acct:n"]) == [{"n": 20}, None]

    fs.ingest("acct", _rows([2, 3, 1], [9, 9, 3], [21, 30, 99]))  # 1@3h is older than 1@5h
    second = fs.materialize()
    assert second[0].entities == 2 and not second[0].full
    assert second[0].after == T0 + pd.Timedelta(hours=5)
    assert engine.read == [2, 2]  # only the rows newer than the mark were read
    assert fs.get_online([1, 2, 3], ["acct:n"]) == [{"n": 11}, {"n": 21}, {"n": 30}]
    assert fs.materialize()[0].entities == 0
    assert fs.materialize(full=True)[0].entities == 3


def test_until_and_ttl_online(fs: FeatureStore) -> None:
    fs.ingest("acct", _rows([1, 2], [1, 10], [1, 2]))
    fs.materialize(until=T0 + pd.Timedelta(hours=4))
    assert fs.get_online([1, 2], ["acct:n"]) == [{"n": 1}, None]
    fs.materialize()
    assert fs.get_online(2, ["acct:n"]) == {"n": 2}
    fs.apply([FeatureView("acct", "customer", dict(VIEW.schema), ttl="2h")])
    later = T0 + pd.Timedelta(hours=11)
    assert fs.get_online([1, 2], ["acct:n"], now=later) == [None, {"n": 2}]


def test_new_features_rematerialize_the_view(fs: FeatureStore) -> None:
    fs.ingest("acct", _rows([1], [1], [5]))
    fs.materialize()
    grown = FeatureView("acct", "customer", {**VIEW.schema, "extra": "bool"})
    changes = fs.apply([grown])
    assert changes[-1].action == "updated" and changes[-1].version == 2
    assert fs.get_online(1, ["acct:n", "acct:extra"]) == {"n": 5, "extra": None}
    fs.ingest("acct", _rows([2], [2], [6]).assign(extra=True))
    result = fs.materialize()[0]
    assert result.full and result.entities == 2
    assert fs.get_online([1, 2], ["acct:extra"]) == [{"extra": None}, {"extra": True}]


def test_several_views_and_full_names(fs: FeatureStore) -> None:
    other = FeatureView("other", "customer", {"n": "int64"})
    fs.apply([other])
    fs.ingest("acct", _rows([1], [1], [5]))
    fs.ingest("other", pd.DataFrame({"customer_id": [2], "event_timestamp": [T0], "n": [9]}))
    fs.materialize()
    got = fs.get_online([1, 2, 3], ["acct:n", "other:n"], full_names=True)
    assert got == [{"acct__n": 5, "other__n": None}, {"acct__n": None, "other__n": 9}, None]
    assert fs.get_online(2, ["other"]) == {"n": 9}
    assert fs.delete_online(1) == 1 and fs.get_online(1, ["acct:n"]) is None


def test_failed_materialization_keeps_the_previous_state(fs: FeatureStore) -> None:
    fs.ingest("acct", _rows([1, 2], [1, 1], [1, 2]))
    fs.materialize()
    fs.ingest("acct", _rows([1, 2], [2, 2], [10, 20]))
    online = fs.online
    calls = {"n": 0}
    real = online._put

    def failing(view, items):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        raise ConnectionError("injected failure while writing")

    online._put = failing  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        fs.materialize()
    online._put = real  # type: ignore[method-assign]
    assert calls["n"] == 1
    assert fs.get_online([1, 2], ["acct:n"]) == [{"n": 1}, {"n": 2}]  # nothing half-written
    mark = fs.registry.watermark("acct", online.url)
    assert mark is not None and mark[1] == T0 + pd.Timedelta(hours=1)  # the mark did not move
    assert fs.materialize()[0].entities == 2  # a rerun does the work
    assert fs.get_online([1, 2], ["acct:n"]) == [{"n": 10}, {"n": 20}]
