"""The metadata database's conformance suite (atlas.testing.database) on SQLite and on the real
PostgreSQL, and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.core.database import Database, masked, open_database
from atlas.core.errors import ConfigError, DatabaseUnavailableError
from atlas.testing.database import DatabaseConformance


class TestSQLite(DatabaseConformance):
    def make_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'meta' / 'atlas.db'}"


class TestPostgreSQL(DatabaseConformance):
    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.pg_url = pg_url

    def make_url(self, tmp_path: Path) -> str:
        return self.pg_url


def test_unreachable_postgres_is_a_clear_error() -> None:
    db = Database("postgresql://atlas:secret@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailableError) as err:
        db.ping()
    assert "127.0.0.1:1" in str(err.value)
    assert "secret" not in str(err.value)
    assert "ATLAS_DATABASE_URL" in str(err.value)


def test_unopenable_sqlite_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailableError, match="writable"):
        open_database(f"sqlite:///{blocker}/sub/atlas.db")


def test_malformed_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid SQLAlchemy URL"):
        Database("no-scheme-here")
    with pytest.raises(ConfigError, match="driver"):
        Database("nosuchdb://x/y")


def test_masked_hides_password() -> None:
    assert masked("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
