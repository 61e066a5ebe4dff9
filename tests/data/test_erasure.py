import pandas as pd
import pytest

from atlas.automl import fit_dataset
from atlas.data import DatasetStore, erase, erasures
from tests.conftest import CREDIT_G


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(CREDIT_G)
    frame.insert(0, "customer_id", [f"c{i % 700}" for i in range(len(frame))])
    return frame, frame.head(600)


def test_erase_one_customer_everywhere(settings) -> None:
    store = DatasetStore.from_settings(settings)
    full, part = _frames()
    v1, v2 = store.add(full, "credit"), store.add(part, "credit")
    store.add(pd.DataFrame({"other": [1]}), "unrelated")
    record = erase(store, "customer_id", "c5", reason="GDPR request #42")
    assert [(a["dataset"], a["version"], a["rows_removed"]) for a in record["affected"]] == [
        ("credit", 1, 2),
        ("credit", 2, 1),
    ]
    assert "c5" not in str(record) and record["value_sha256"] != "c5"
    for version, rows in ((1, 998), (2, 599)):
        dv, frame = store.load("credit", version)
        assert len(frame) == rows == dv.n_rows and "c5" not in set(frame["customer_id"])
    assert not store.artifacts.exists(v1.uri) and not store.artifacts.exists(v2.uri)
    assert erasures(store)[0]["reason"] == "GDPR request #42"


def test_erasure_names_models_to_retrain(sqlite_settings) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    store.add(_frames()[0], "credit")
    fit_dataset(
        "credit", "target", "risk", n_trials=1, learners=["linear"], settings=sqlite_settings
    )
    record = erase(store, "customer_id", "c7", reason="request")
    assert record["affected"][0]["models_trained_on_it"] == [{"model": "risk", "version": 1}]


def test_failed_erasure_leaves_data_intact(settings, monkeypatch) -> None:
    store = DatasetStore.from_settings(settings)
    dv = store.add(_frames()[0], "credit")
    import atlas.data.erasure as module

    def broken(_frame):
        raise RuntimeError("crash while profiling")

    monkeypatch.setattr(module, "profile", broken)
    with pytest.raises(RuntimeError):
        erase(store, "customer_id", "c5", reason="r")
    after, frame = store.load("credit")
    assert after.content_hash == dv.content_hash and len(frame) == 1000
    assert store.artifacts.list("datasets/credit") == [dv.uri.rsplit("/", 1)[1]]
    assert erasures(store) == []
