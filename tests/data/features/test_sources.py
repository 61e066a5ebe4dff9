"""Sources and ingest: datasets, Parquet globs, type inference, schema changes, corrupt files,
duplicate rows, and an ingest that fails half-way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atlas.core.errors import ConflictError, InvalidInputError
from atlas.data import DatasetStore
from atlas.data.features import FeatureStore, FeatureView
from tests.data.features.conftest import CUSTOMER

T0 = pd.Timestamp("2024-06-01", tz="UTC")


def _frame(keys: list[int], hours: list[int], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": keys,
            "event_timestamp": [T0 + pd.Timedelta(hours=h) for h in hours],
            "v": values,
            "note": [f"n{x}" for x in values],
        }
    )


def _events(keys: list[int], hours: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": keys, "event_timestamp": [T0 + pd.Timedelta(hours=h) for h in hours]}
    )


def test_parquet_glob_source_with_inferred_types(store: FeatureStore, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    _frame([1, 2], [1, 1], [1.0, 2.0]).to_parquet(folder / "a.parquet")
    _frame([1], [1], [9.0]).to_parquet(folder / "b.parquet")  # same (key, time): b wins
    store.apply([CUSTOMER, FeatureView("g", "customer", ["v", "note"], source=str(folder))])
    assert store.view("g").view.schema == {"v": "float64", "note": "string"}
    got = store.match(_events([1, 2, 1], [2, 2, 0]), ["g:v", "g:note"])
    assert got["v"].tolist()[:2] == [9.0, 2.0] and pd.isna(got["v"][2])
    assert got["note"].tolist()[:2] == ["n9.0", "n2.0"]
    with pytest.raises(InvalidInputError, match="only views without a source"):
        store.ingest("g", _frame([1], [1], [1.0]))
    _frame([3], [1], [5.0]).drop(columns="note").to_parquet(folder / "0-old.parquet")
    got = store.match(_events([3, 1], [2, 2]), ["g:v", "g:note"])  # an older file lacks 'note'
    assert got["v"].tolist() == [5.0, 9.0] and pd.isna(got["note"][0])


def test_dataset_source(store: FeatureStore, fs_settings) -> None:
    datasets = DatasetStore.from_settings(fs_settings)
    datasets.add(_frame([1], [1], [1.0]), "feats")
    datasets.add(_frame([1], [1], [2.0]), "feats")
    store.apply(
        [
            CUSTOMER,
            FeatureView("d1", "customer", ["v"], source="dataset:feats@1"),
            FeatureView("d2", "customer", ["v"], source="dataset:feats"),
        ]
    )
    got = store.match(_events([1], [5]), ["d1:v", "d2:v"], full_names=True)
    assert (got["d1__v"][0], got["d2__v"][0]) == (1.0, 2.0)


def test_schema_changes_are_clear_errors(store: FeatureStore, tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    _frame([1], [1], [1.0]).to_parquet(path)
    store.apply([CUSTOMER, FeatureView("s", "customer", {"v": "float64"}, source=str(path))])
    _frame([1], [1], [1.0]).assign(v="text").to_parquet(path)  # the file changed under us
    with pytest.raises(InvalidInputError, match="declares float64: the schema changed"):
        store.match(_events([1], [2]), ["s:v"])
    with pytest.raises(ConflictError, match="change type from float64 to string"):
        store.apply([FeatureView("s", "customer", {"v": "string"}, source=str(path))])
    _frame([1], [1], [1.0]).drop(columns="v").to_parquet(path)
    with pytest.raises(InvalidInputError, match=r"lacks the column\(s\) \['v'\]"):
        store.match(_events([1], [2]), ["s:v"])


def test_corrupt_and_missing_parquet(store: FeatureStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet" * 10)
    with pytest.raises(InvalidInputError, match=r"Cannot read .*bad\.parquet"):
        store.apply([CUSTOMER, FeatureView("c", "customer", {"v": "float64"}, source=str(bad))])
    with pytest.raises(InvalidInputError, match="No Parquet file found"):
        store.apply([CUSTOMER, FeatureView("m", "customer", ["v"], source=str(tmp_path / "x*"))])
    store.apply([CUSTOMER, FeatureView("i", "customer", {"v": "float64", "note": "string"})])
    result = store.ingest("i", _frame([1], [1], [1.0]))
    Path(store.files.path(result.uri)).write_bytes(b"garbage")
    with pytest.raises(InvalidInputError, match="Cannot read"):
        store.match(_events([1], [2]), ["i:v"])


def test_ingest_rules(store: FeatureStore) -> None:
    store.apply([CUSTOMER, FeatureView("i", "customer", {"v": "float64", "note": "string"})])
    # duplicate (key, time) rows: the last one wins, within an ingest and across ingests
    store.ingest("i", _frame([1, 1, 2], [1, 1, 1], [1.0, 2.0, 3.0]))
    assert store.match(_events([1, 2], [1, 1]), ["i:v"])["v"].tolist() == [2.0, 3.0]
    store.ingest("i", _frame([2], [1], [4.0]))
    assert store.match(_events([1, 2], [1, 1]), ["i:v"])["v"].tolist() == [2.0, 4.0]
    # events older than every feature row get missing values, not an error
    assert store.match(_events([1], [-100]), ["i:v"])["v"].isna().all()
    with pytest.raises(InvalidInputError, match=r"lack the column\(s\) \['note'\]"):
        store.ingest("i", _frame([1], [1], [1.0]).drop(columns="note"))
    with pytest.raises(InvalidInputError, match=r"'v' holds .* not float64"):
        store.ingest("i", _frame([1], [1], [1.0]).assign(v="abc"))
    with pytest.raises(InvalidInputError, match="empty timestamp"):
        store.ingest("i", _frame([1], [1], [1.0]).assign(event_timestamp=[pd.NaT]))
    with pytest.raises(InvalidInputError, match="holds numbers"):
        store.ingest("i", _frame([1], [1], [1.0]).assign(event_timestamp=[1717200000]))


def test_failed_ingest_leaves_the_view_intact(store: FeatureStore, monkeypatch) -> None:
    store.apply([CUSTOMER, FeatureView("i", "customer", {"v": "float64", "note": "string"})])
    store.ingest("i", _frame([1], [1], [1.0]))
    before = sorted(store.files.list("i"))

    def fail(*args: object) -> None:
        raise RuntimeError("injected: the database went away")

    monkeypatch.setattr(store.registry, "add_file", fail)
    with pytest.raises(RuntimeError, match="injected"):
        store.ingest("i", _frame([1], [2], [5.0]))
    assert sorted(store.files.list("i")) == before  # the new file was removed
    monkeypatch.undo()
    assert store.match(_events([1], [3]), ["i:v"])["v"].tolist() == [1.0]
