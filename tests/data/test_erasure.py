import pandas as pd
import pytest

from atlas.apps.erasure import erase_entity_everywhere
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
    # quoted: the hex of the keyed hash may contain the letters c5 by chance
    assert "'c5'" not in str(record) and record["value_sha256"] != "c5"
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
    record = erase_entity_everywhere("customer_id", "c7", "request", settings=sqlite_settings)
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


def fail_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make writing the erasure record fail: the last step inside the transaction."""
    import atlas.data.erasure as module

    def no_record(*_args: object) -> None:
        raise RuntimeError("injected failure just before the commit")

    monkeypatch.setattr(module, "_record", no_record)


def _files(store: DatasetStore, name: str) -> set[str]:
    return {f"datasets/{name}/{f}" for f in store.artifacts.list(f"datasets/{name}")}


def test_failure_between_two_datasets_changes_nothing(settings, monkeypatch) -> None:
    """The second dataset fails after the first was rewritten: neither changes, no record."""
    store = DatasetStore.from_settings(settings)
    full, part = _frames()
    v1, v2 = store.add(full, "credit"), store.add(part, "credit")
    import atlas.data.erasure as module

    calls = []

    def profile_then_crash(frame):
        calls.append(len(frame))
        if len(calls) == 2:
            raise RuntimeError("crash on the second version")
        return module.profile.__wrapped__(frame)

    profile_then_crash.__wrapped__ = module.profile  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "profile", profile_then_crash)
    with pytest.raises(RuntimeError, match="second version"):
        erase(store, "customer_id", "c5", reason="r")
    assert len(calls) == 2  # the first version had been rewritten (its new file written)
    for before in (v1, v2):
        after, frame = store.load("credit", before.version)
        assert after.content_hash == before.content_hash and len(frame) == before.n_rows
    assert _files(store, "credit") == {v1.uri, v2.uri}  # the first's new file is gone again
    assert erasures(store) == []


def test_failure_at_commit_rolls_back_every_dataset(settings, monkeypatch) -> None:
    """The record cannot be written: the switched versions roll back with it."""
    store = DatasetStore.from_settings(settings)
    full, part = _frames()
    v1, v2 = store.add(full, "credit"), store.add(part, "credit")
    fail_before_commit(monkeypatch)
    with pytest.raises(RuntimeError, match="before the commit"):
        erase(store, "customer_id", "c5", reason="r")
    assert [dv.content_hash for dv in store.list_versions()] == [v1.content_hash, v2.content_hash]
    assert _files(store, "credit") == {v1.uri, v2.uri}
    assert erasures(store) == []


def _sibling_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """v1 holds customer c5; v2 is v1 without c5: erasing c5 makes v1 byte-identical to v2."""
    full = _frames()[0]
    return full, full[full["customer_id"] != "c5"].reset_index(drop=True)


def test_erasure_that_makes_a_version_identical_to_its_sibling(settings) -> None:
    store = DatasetStore.from_settings(settings)
    full, without = _sibling_frames()
    v1, v2 = store.add(full, "credit"), store.add(without, "credit")
    record = erase(store, "customer_id", "c5", reason="r")
    assert [(a["version"], a["new_sha256"]) for a in record["affected"]] == [(1, v2.content_hash)]
    one, two = store.get("credit", 1), store.get("credit", 2)
    assert one.uri == two.uri == v2.uri  # both versions share the sibling's file
    assert _files(store, "credit") == {v2.uri} and not store.artifacts.exists(v1.uri)
    _, frame = store.load("credit", 1)
    assert len(frame) == len(without)
    assert store.add(without, "credit").version == 1  # same content: the oldest such version


def test_failed_erasure_keeps_the_identical_siblings_file(settings, monkeypatch) -> None:
    """Rolling back must not delete the sibling's live file that the erasure meant to reuse."""
    store = DatasetStore.from_settings(settings)
    full, without = _sibling_frames()
    v1, v2 = store.add(full, "credit"), store.add(without, "credit")
    fail_before_commit(monkeypatch)
    with pytest.raises(RuntimeError):
        erase(store, "customer_id", "c5", reason="r")
    assert _files(store, "credit") == {v1.uri, v2.uri}
    for before in (v1, v2):
        after, frame = store.load("credit", before.version)
        assert after.uri == before.uri and len(frame) == before.n_rows
