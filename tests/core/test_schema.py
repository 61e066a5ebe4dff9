"""A database made by the last release upgrades in place, and matches the ORM afterwards.

(The ORM-against-migrations comparison on fresh databases is in atlas.testing.database, run by
tests/core/test_database.py on SQLite and PostgreSQL.) The release fixtures in ``fixtures/``
were written by ATLAS 0.1.0 itself (see fixtures/README.md).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from atlas.core import database
from atlas.core.database import Database, open_database
from atlas.core.schema import load_tables
from atlas.data import DatasetStore
from atlas.data.features.registry import FeatureRegistry
from atlas.registry import ModelRegistry
from atlas.serve.rollout import Rollouts
from atlas.testing.database import schema_drift

FIXTURES = Path(__file__).with_name("fixtures")
RELEASE_HEAD = "0004"
# rows ATLAS 0.1.0 wrote into the fixtures (make_release_db.py), table by table
RELEASE_ROWS = {
    "atlas_datasets": 2,
    "atlas_dataset_rules": 1,
    "atlas_erasures": 1,
    "atlas_models": 1,
    "atlas_model_versions": 1,
    "atlas_aliases": 1,
    "atlas_alias_events": 1,
    "atlas_runs": 1,
    "atlas_rollouts": 1,
    "atlas_feature_entities": 1,
    "atlas_feature_views": 1,
    "atlas_feature_files": 1,
    "atlas_feature_watermarks": 1,
}


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in RELEASE_ROWS
        }


def test_every_package_registers_its_tables() -> None:
    tables = set(load_tables().tables)
    assert set(RELEASE_ROWS) <= tables  # data, features, registry, automl, serve


def _sqlite_release(tmp_path: Path) -> str:
    path = tmp_path / "atlas.db"
    path.write_bytes(gzip.decompress((FIXTURES / "release-0.1.0.sqlite.gz").read_bytes()))
    return f"sqlite:///{path}"


def _postgres_release(pg_url: str) -> str:
    dump = gzip.decompress((FIXTURES / "release-0.1.0.postgresql.sql.gz").read_bytes()).decode()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(dump)  # type: ignore[call-overload]  # a whole pg_dump script
    return pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def release_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _sqlite_release(tmp_path)
    return _postgres_release(request.getfixturevalue("pg_url"))


def test_release_database_upgrades_in_place(release_url: str, make_settings) -> None:
    old = Database(release_url)
    assert old.current_revision() == RELEASE_HEAD
    before = _counts(old)
    assert before == RELEASE_ROWS
    old.dispose()
    settings = make_settings(database_url=release_url)
    db = open_database(release_url)
    assert db.current_revision() == db.head_revision() != RELEASE_HEAD
    assert _counts(db) == before
    assert schema_drift(db) == []
    # every package reads its old rows through its own API
    versions = DatasetStore.from_settings(settings).list_versions()
    assert [(v.name, v.version) for v in versions] == [("credit", 1), ("credit", 2)]
    registry = ModelRegistry.from_settings(settings)
    assert registry.get("risk", "production").version == 1
    assert registry.trained_on("credit", 2) == [{"model": "risk", "version": 1}]  # the newest
    assert len(FeatureRegistry(db).files("spend")) == 1
    plan = Rollouts(db).get("risk")
    assert plan is not None and plan.canary_version == 1
    database.close_all()
