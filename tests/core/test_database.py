"""Conformance suite of the metadata database: runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from atlas.core.database import Database, masked, open_database
from atlas.core.errors import ConfigError, DatabaseUnavailableError
from atlas.core.schema import DatasetRow, ModelRow

TABLES = {
    "atlas_datasets",
    "atlas_models",
    "atlas_model_versions",
    "atlas_aliases",
    "atlas_alias_events",
    "atlas_runs",
    "atlas_alembic_version",
}


def test_migrations_create_every_table(db_url: str) -> None:
    db = open_database(db_url)
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert db.current_revision() == db.head_revision()


def test_migrate_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    db.migrate()
    assert db.current_revision() == db.head_revision()
    db.dispose()


def test_session_commits_or_rolls_back_whole(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as s:
        s.add(ModelRow(name="kept", task="binary"))
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(ModelRow(name="lost", task="binary"))
        s.flush()
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalars(select(ModelRow.name)).all() == ["kept"]


def test_json_columns_round_trip(db_url: str) -> None:
    db = open_database(db_url)
    columns = [{"name": "a", "kind": "numeric", "min": 0.5}]
    with db.session() as s:
        s.add(
            DatasetRow(
                name="d",
                version=1,
                content_hash="x" * 64,
                uri="u",
                n_rows=1,
                n_columns=1,
                columns=columns,
                source="test",
            )
        )
    with db.session() as s:
        assert s.scalar(select(DatasetRow.columns)) == columns


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
