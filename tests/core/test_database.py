"""The metadata database's conformance suite (atlas.testing.database) on SQLite and on the real
PostgreSQL, and its error messages: a database that cannot be reached, read or written (a
read-only SQLite file or folder, a deleted file, PostgreSQL read-only) is a 503-class error."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from atlas.core.database import Database, close_all, masked, open_database
from atlas.core.errors import ConfigError, DatabaseUnavailableError, InvalidInputError
from atlas.registry.tables import ModelRow
from atlas.testing.database import DatabaseConformance
from tests.conftest import PG_ADMIN
from tests.core.read_only import read_only


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


def _write(db: Database, name: str) -> None:
    with db.session() as s:
        s.add(ModelRow(name=name, task="binary"))


def _names(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(ModelRow.name).order_by(ModelRow.name)))


def test_a_read_only_sqlite_file_is_read_but_refuses_writes_clearly(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'atlas.db'}"
    _write(open_database(url), "kept")
    close_all()
    with read_only(tmp_path / "atlas.db"):
        db = Database(url)
        db.ping()
        assert _names(db) == ["kept"]
        with pytest.raises(DatabaseUnavailableError, match="readonly database") as err:
            _write(db, "lost")
        assert err.value.http_status == 503 and "writable" in str(err.value.hint)
        with pytest.raises(DatabaseUnavailableError, match="readonly database"):
            db.check_writable()
        db.dispose()
    assert _names(Database(url)) == ["kept"]


def test_a_read_only_sqlite_folder_is_unavailable(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'meta' / 'atlas.db'}"
    _write(open_database(url), "kept")
    close_all()
    with read_only(tmp_path / "meta"):
        db = Database(url)
        with pytest.raises(DatabaseUnavailableError, match="unable to open"):
            db.ping()
        with pytest.raises(DatabaseUnavailableError):
            _write(db, "lost")
        db.dispose()


def test_a_deleted_sqlite_file_is_unavailable_until_restored(tmp_path) -> None:
    path = tmp_path / "atlas.db"
    db = open_database(f"sqlite:///{path}")
    _write(db, "kept")
    db.dispose()  # checkpointed: the file holds everything
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    assert _names(db) == ["kept"]  # connections are open on the file again
    path.unlink()
    for attempt in (lambda: _write(db, "lost"), db.ping, db.check_writable):
        with pytest.raises(DatabaseUnavailableError, match="was deleted"):
            attempt()
    assert not path.exists()  # no empty database was made in its place
    shutil.copy(backup, path)  # restored: the new file is used
    assert _names(db) == ["kept"]
    _write(db, "after")
    assert _names(db) == ["after", "kept"]


def test_postgres_in_read_only_mode_refuses_writes_clearly(pg_url: str) -> None:
    db = open_database(pg_url)
    _write(db, "kept")
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    db.dispose()  # new sessions are read-only
    assert _names(db) == ["kept"]
    with pytest.raises(DatabaseUnavailableError, match="read-only transaction") as err:
        _write(db, "lost")
    assert "primary" in str(err.value.hint)
    with pytest.raises(DatabaseUnavailableError, match="read-only transaction"):
        db.check_writable()


def test_a_value_postgres_refuses_is_invalid_input(pg_url: str) -> None:
    db = open_database(pg_url)
    with pytest.raises(InvalidInputError, match="NUL"):
        _write(db, "nul\x00name")
    assert _names(db) == []
