from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from atlas.core.errors import IntegrityError, InvalidInputError, NotFoundError
from atlas.data import DatasetStore
from tests.conftest import CREDIT_G, small_frame


@pytest.fixture
def store(settings) -> DatasetStore:
    return DatasetStore.from_settings(settings)


def test_add_csv_and_load_back(store: DatasetStore, credit_g: pd.DataFrame) -> None:
    dv = store.add(CREDIT_G, "credit-g")
    assert (dv.version, dv.n_rows, dv.n_columns, dv.created) == (1, 1000, 21, True)
    kinds = {c["name"]: c["kind"] for c in dv.columns}
    assert kinds["duration"] == "numeric" and kinds["purpose"] == "categorical"
    _, frame = store.load("credit-g")
    pd.testing.assert_frame_equal(frame, credit_g, check_dtype=False)


def test_same_content_makes_no_new_version(store: DatasetStore, tmp_path: Path) -> None:
    first = store.add(CREDIT_G, "credit-g")
    again = store.add(CREDIT_G, "credit-g")
    assert again.version == first.version and not again.created
    changed = pd.read_csv(CREDIT_G).head(500)
    second = store.add(changed, "credit-g")
    assert second.version == 2 and second.content_hash != first.content_hash
    assert [d.version for d in store.list_versions()] == [1, 2]
    assert store.get("credit-g").version == 2
    assert store.get("credit-g", 1).n_rows == 1000


def test_parquet_arrow_and_dataframe_sources(store: DatasetStore, tmp_path: Path) -> None:
    frame = small_frame()
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    a = store.add(path, "t")
    b = store.add(pa.Table.from_pandas(frame, preserve_index=False), "t")
    c = store.add(frame, "t")
    assert a.version == b.version == c.version == 1


def test_malformed_csv_is_a_clear_error(store: DatasetStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(InvalidInputError, match="not a well-formed CSV"):
        store.add(bad, "bad")
    assert store.list_versions() == []
    assert store.artifacts.list("datasets") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "is empty"), ("a,b\n", "holds no data"), ("a,a\n1,2\n", "duplicate column")],
)
def test_empty_or_odd_files(
    store: DatasetStore, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        store.add(path, "x")


def test_missing_file_bad_name_unknown_dataset(store: DatasetStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="File not found"):
        store.add(tmp_path / "nope.csv", "x")
    with pytest.raises(InvalidInputError, match="not allowed"):
        store.add(CREDIT_G, "a/b")
    with pytest.raises(NotFoundError, match="no dataset 'ghost'"):
        store.get("ghost")


def test_corrupt_stored_file_is_detected(store: DatasetStore) -> None:
    dv = store.add(small_frame(), "t")
    store.artifacts.delete(dv.uri)
    small_frame(seed=1).to_parquet(store.artifacts.path(dv.uri))
    with pytest.raises(IntegrityError, match="content hash"):
        store.load("t")
