"""The erasure record keeps a keyed hash (HMAC-SHA256 with the installation's key) of the
erased value: not reversible by trying every small integer id, stable under one key, checkable
by whoever holds the key; records written before keep their plain sha256 and still check."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from atlas.core import database
from atlas.core.errors import ConfigError
from atlas.core.keys import KEY_BYTES, KEY_FILE_MODE, key_file
from atlas.core.settings import Settings, get_settings
from atlas.data import DatasetStore, erase, erasure_key, erasures, was_erased
from atlas.data.erasure import ERASURE_KEY_FILE, HMAC_SHA256, SHA256
from tests.core.test_schema import _postgres_release, _sqlite_release

CUSTOMER = 42
OTHER_KEY = "ab" * KEY_BYTES


def _add(store: DatasetStore, name: str) -> None:
    store.add(pd.DataFrame({"customer_id": [CUSTOMER, 7, 8], "x": [1.0, 2.0, 3.0]}), name)


def _plain(value: object) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def test_the_stored_hash_is_keyed_not_the_plain_sha256(settings: Settings) -> None:
    store = DatasetStore.from_settings(settings)
    _add(store, "credit")
    record = erase(store, "customer_id", CUSTOMER, reason="request")
    key = key_file(settings.home / ERASURE_KEY_FILE)
    assert record["value_sha256"] != _plain(CUSTOMER)
    assert record["value_sha256"] == hmac.new(key, b"42", hashlib.sha256).hexdigest()
    assert record["hash_scheme"] == HMAC_SHA256 == erasures(store)[0]["hash_scheme"]


def test_the_hash_is_stable_under_one_key_and_checks(settings: Settings) -> None:
    store = DatasetStore.from_settings(settings)
    _add(store, "credit")
    first = erase(store, "customer_id", CUSTOMER, reason="first request")
    _add(store, "loans")  # the customer came back in new data
    second = erase(store, "customer_id", str(CUSTOMER), reason="second request")
    assert first["value_sha256"] == second["value_sha256"]
    found = was_erased(store, "customer_id", CUSTOMER)
    assert [r["id"] for r in found] == [first["id"], second["id"]]
    assert was_erased(store, "customer_id", 43) == []
    assert was_erased(store, "other_column", CUSTOMER) == []


def test_another_key_gives_another_hash(settings: Settings, monkeypatch) -> None:
    store = DatasetStore.from_settings(settings)
    _add(store, "credit")
    with_file = erase(store, "customer_id", CUSTOMER, reason="r")
    monkeypatch.setenv("ATLAS_ERASURE_KEY", OTHER_KEY)
    get_settings.cache_clear()
    assert erasure_key() == bytes.fromhex(OTHER_KEY)
    _add(store, "loans")
    with_env = erase(store, "customer_id", CUSTOMER, reason="r")
    assert with_env["value_sha256"] != with_file["value_sha256"]
    assert [r["id"] for r in was_erased(store, "customer_id", CUSTOMER)] == [with_env["id"]]
    file_key = key_file(settings.home / ERASURE_KEY_FILE)
    found = was_erased(store, "customer_id", CUSTOMER, key=file_key)
    assert [r["id"] for r in found] == [with_file["id"]]


def test_the_key_file_is_made_once_with_mode_0600(sqlite_settings: Settings) -> None:
    path = sqlite_settings.home / ERASURE_KEY_FILE
    assert not path.exists()
    key = erasure_key()
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == KEY_FILE_MODE
    before = path.read_bytes()
    assert erasure_key() == key and key_file(path) == key and path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_key_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key_file(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == KEY_FILE_MODE


@pytest.mark.parametrize("bad", ["not hex", "abcd"])
def test_a_bad_configured_key_is_refused_before_anything_changes(
    sqlite_settings: Settings, monkeypatch, bad: str
) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    _add(store, "credit")
    monkeypatch.setenv("ATLAS_ERASURE_KEY", bad)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="ATLAS_ERASURE_KEY"):
        erase(store, "customer_id", CUSTOMER, reason="r")
    assert erasures(store) == [] and store.load("credit")[0].n_rows == 3


@pytest.fixture(params=["sqlite", "postgresql"])
def release_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _sqlite_release(tmp_path)
    return _postgres_release(request.getfixturevalue("pg_url"))


def test_a_record_of_the_last_release_upgrades_and_still_checks(
    release_url: str, make_settings
) -> None:
    """ATLAS 0.1.0 erased customer 'c3' with the plain sha256 (tests/core/fixtures)."""
    store = DatasetStore.from_settings(make_settings(database_url=release_url))
    (old,) = was_erased(store, "customer_id", "c3")
    assert old["hash_scheme"] == SHA256 and old["value_sha256"] == _plain("c3")
    assert was_erased(store, "customer_id", "c4") == []
    # the fixture has no artifact files: a column no dataset has is erased without reading one
    new = erase(store, "account_id", "c3", reason="after the upgrade")
    assert [r["hash_scheme"] for r in erasures(store)] == [SHA256, HMAC_SHA256]
    assert was_erased(store, "account_id", "c3") == [new]
    database.close_all()
