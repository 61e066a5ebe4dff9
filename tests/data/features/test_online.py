"""The online store's conformance suite (atlas.testing.online_store) on SQLite and on the real
Redis; the plugin lookup by URL scheme; bad URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.core.errors import ConfigError, DatabaseUnavailableError
from atlas.data.features import OnlineStore, open_online_store
from atlas.data.features.online import ONLINE_STORES
from atlas.data.features.online.redis import RedisOnlineStore, split_prefix
from atlas.testing.online_store import OnlineStoreConformance
from atlas.testing.plugins import install_fake_distribution


class TestSQLiteOnlineStore(OnlineStoreConformance):
    def make_store(self, tmp_path: Path) -> OnlineStore:
        return open_online_store(f"sqlite:///{tmp_path / 'online.db'}")


class TestRedisOnlineStore(OnlineStoreConformance):
    @pytest.fixture(autouse=True)
    def _server(self, redis_url: str) -> None:
        self.url = redis_url

    def make_store(self, tmp_path: Path) -> OnlineStore:
        return open_online_store(self.url)


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


def test_a_third_party_backend_is_found_by_its_url_scheme(tmp_path: Path, monkeypatch) -> None:
    """An installed package registering ``atlas.online_stores`` (here: a dist-info folder on
    sys.path, which is what pip leaves) serves its scheme; its store passes the suite's
    round trip as any backend must."""
    plugin_dir = install_fake_distribution(
        tmp_path / "site",
        "acme-online",
        {"atlas.online_stores": {"acme": "acme_online:AcmeStore"}},
        {
            "acme_online": "from atlas.data.features.online.sqlite import SQLiteOnlineStore\n"
            "class AcmeStore(SQLiteOnlineStore):\n"
            "    @classmethod\n"
            "    def from_url(cls, url):\n"
            "        return cls(url.split('://', 1)[1])\n"
        },
    )
    monkeypatch.syspath_prepend(str(plugin_dir))
    ONLINE_STORES.refresh()
    try:
        store = open_online_store(f"acme://{tmp_path / 'acme.db'}")
        assert type(store).__name__ == "AcmeStore"
        store.write_batch("v", ["a"], [1], [1], [[5]])
        assert store.read_one("v", 1, ["a"]) == {"a": 5}
        store.close()
    finally:
        monkeypatch.undo()
        ONLINE_STORES.refresh()


def test_a_broken_backend_is_reported_by_name(tmp_path: Path, monkeypatch) -> None:
    plugin_dir = install_fake_distribution(
        tmp_path / "site",
        "broken-online",
        {"atlas.online_stores": {"broken": "broken_online:Store"}},
        {"broken_online": "raise ImportError('needs libfoo')\n"},
    )
    monkeypatch.syspath_prepend(str(plugin_dir))
    ONLINE_STORES.refresh()
    try:
        with pytest.raises(ConfigError, match="needs libfoo"):
            open_online_store("broken://x")
        store = open_online_store(f"sqlite:///{tmp_path / 'ok.db'}")  # the others still work
        store.close()
        assert [f.name for f in ONLINE_STORES.failures()] == ["broken"]
    finally:
        monkeypatch.undo()
        ONLINE_STORES.refresh()
