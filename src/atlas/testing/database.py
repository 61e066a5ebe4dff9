"""Conformance suite of the metadata database (``atlas.core.database``): the migrations build
every package's tables, match the ORM exactly (Alembic's ``compare_metadata``), run twice
harmlessly, and a session commits or rolls back whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from atlas.core.database import VERSION_TABLE, Database, open_database
from atlas.core.schema import load_tables


def _ours(name: object, type_: str, _parent: object) -> bool:
    return type_ != "table" or str(name).startswith("atlas_")


def schema_drift(db: Database) -> list[object]:
    """What differs between the tables every package declares and the migrated schema."""
    with db.engine.connect() as conn:
        opts = {"include_name": _ours, "compare_type": True, "version_table": VERSION_TABLE}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), load_tables()))


class DatabaseConformance:
    """Subclass and implement :meth:`make_url` (a URL of a fresh, empty database per test)."""

    def make_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return self.make_url(tmp_path)

    def test_migrations_create_every_table(self, url: str) -> None:
        db = open_database(url)
        declared = set(load_tables().tables)
        assert declared <= set(inspect(db.engine).get_table_names())
        assert db.current_revision() == db.head_revision()

    def test_orm_matches_the_migrated_schema(self, url: str) -> None:
        assert schema_drift(open_database(url)) == []

    def test_migrate_is_idempotent(self, url: str) -> None:
        db = Database(url)
        db.migrate()
        db.migrate()
        assert db.current_revision() == db.head_revision()
        db.dispose()

    def test_session_commits_or_rolls_back_whole(self, url: str) -> None:
        from atlas.registry.tables import ModelRow

        db = open_database(url)
        with db.session() as s:
            s.add(ModelRow(name="kept", task="binary"))
        with pytest.raises(RuntimeError), db.session() as s:
            s.add(ModelRow(name="lost", task="binary"))
            s.flush()
            raise RuntimeError("boom")
        with db.session() as s:
            assert s.scalars(select(ModelRow.name)).all() == ["kept"]

    def test_json_columns_round_trip(self, url: str) -> None:
        from atlas.data.tables import DatasetRow

        db = open_database(url)
        columns = [{"name": "a", "kind": "numeric", "min": 0.5, "top": {"x": 1}}]
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
