"""Erasure reaches the feature store: ingested rows and online records of the entity go."""

from __future__ import annotations

import pandas as pd
import pytest

from atlas.data import DatasetStore, erase, erasures
from atlas.data.features import FeatureStore, FeatureView
from atlas.data.features.erasure import erase_entity
from tests.data.features.conftest import CUSTOMER
from tests.data.test_erasure import fail_before_commit


def _spending(store: FeatureStore) -> None:
    view = FeatureView("spending", CUSTOMER, {"amount": "float64"}, ttl=None)
    store.apply([CUSTOMER, view])
    now = pd.Timestamp("2026-01-01", tz="UTC")
    store.ingest(
        "spending",
        pd.DataFrame(
            {
                "customer_id": [1, 2, 3, 2],
                "event_timestamp": [now] * 4,
                "amount": [1.0, 2.0, 3.0, 4.0],
            }
        ),
    )
    store.ingest(
        "spending", pd.DataFrame({"customer_id": [4], "event_timestamp": [now], "amount": [5.0]})
    )
    store.materialize()


def test_erase_entity_from_files_and_online(store: FeatureStore) -> None:
    _spending(store)
    assert store.get_online(2, ["spending:amount"]) is not None
    before = store.registry.files("spending")
    result = erase_entity(store, 2)
    assert result["files"] == [{"view": "spending", "file": before[0], "rows_removed": 2}]
    assert result["online_records_removed"] == 1
    assert store.get_online(2, ["spending:amount"]) is None
    assert store.get_online(1, ["spending:amount"]) == {"amount": 1.0}
    after = store.registry.files("spending")
    assert after[1] == before[1] and after[0] != before[0] and not store.files.exists(before[0])
    events = pd.DataFrame(
        {"customer_id": [1, 2, 4], "event_timestamp": [pd.Timestamp("2026-02-01", tz="UTC")] * 3}
    )
    matched = store.match(events, ["spending:amount"])
    assert matched["amount"].tolist()[0] == 1.0 and pd.isna(matched["amount"].tolist()[1])


def test_data_erase_covers_datasets_and_features(store: FeatureStore, fs_settings) -> None:
    _spending(store)
    datasets = DatasetStore.from_settings(fs_settings)
    datasets.add(pd.DataFrame({"customer_id": [1, 2, 3], "target": [0, 1, 0]}), "labels")
    record = erase(datasets, "customer_id", 2, reason="request", features=store)
    assert record["affected"][0]["rows_removed"] == 1
    assert record["affected"][1]["feature_store"]["online_records_removed"] == 1
    assert erasures(datasets)[0]["affected"] == record["affected"]  # the stored record agrees


def test_failed_erasure_keeps_feature_files_and_online_records(
    store: FeatureStore, fs_settings, monkeypatch
) -> None:
    _spending(store)
    datasets = DatasetStore.from_settings(fs_settings)
    datasets.add(pd.DataFrame({"customer_id": [1, 2, 3], "target": [0, 1, 0]}), "labels")
    before = store.registry.files("spending")
    listed = sorted(f for f in store.files.list("spending"))
    fail_before_commit(monkeypatch)
    with pytest.raises(RuntimeError):
        erase(datasets, "customer_id", 2, reason="request", features=store)
    assert store.registry.files("spending") == before
    assert sorted(store.files.list("spending")) == listed  # rewritten copies deleted again
    assert store.get_online(2, ["spending:amount"]) is not None
    assert datasets.load("labels")[0].n_rows == 3
