"""The real `atlas` command on a metadata database it cannot write: a read-only SQLite file or
folder, PostgreSQL read-only or unreachable. Each write is one clear line and exit code 2 (no
traceback), and leaves nothing behind (no dataset file or empty folder, no alias moved)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from atlas.core import database
from atlas.registry import ModelRegistry
from tests.conftest import CREDIT_G, PG_ADMIN
from tests.core.read_only import read_only

ATLAS = str(Path(sys.executable).with_name("atlas"))


def _atlas(home: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env |= {"ATLAS_HOME": str(home), "COLUMNS": "200"}
    if url:
        env["ATLAS_DATABASE_URL"] = url
    return subprocess.run(
        [ATLAS, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def _refused(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "sqlalchemy" not in result.stderr.lower()


@pytest.fixture
def home(make_settings, make_draft) -> Path:
    """A home whose registry holds credit v1 and v2 (production, promoted after v1)."""
    settings = make_settings()
    registry = ModelRegistry.from_settings(settings)
    for seed in (0, 1):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    registry.promote("credit", 2)
    database.close_all()
    return settings.home


def _datasets(home: Path) -> list[str]:
    root = home / "artifacts" / "datasets"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_a_read_only_sqlite_file(home: Path) -> None:
    with read_only(home / "atlas.db"):
        added = _atlas(home, "data", "add", str(CREDIT_G), "--name", "credit-g")
        _refused(added, "readonly database")
        assert "writable" in added.stderr  # the hint says what to fix
        _refused(_atlas(home, "models", "promote", "credit", "1"), "readonly database")
        _refused(_atlas(home, "models", "rollback", "credit"), "readonly database")
        listed = _atlas(home, "models", "list")  # reading still works
        assert listed.returncode == 0 and "credit" in listed.stdout
    assert _datasets(home) == []  # no file, no empty folder
    assert ModelRegistry.from_settings().get("credit", "production").version == 2


def test_a_read_only_sqlite_folder(home: Path) -> None:
    with read_only(home):
        _refused(_atlas(home, "data", "add", str(CREDIT_G), "--name", "c"), "unable to open")
        _refused(_atlas(home, "models", "promote", "credit", "1"), "unable to open")
    assert _datasets(home) == []


def test_postgres_read_only_and_unreachable(make_settings, pg_url: str, tmp_path: Path) -> None:
    home = make_settings(database_url=pg_url).home
    database.open_database(pg_url)
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    added = _atlas(home, "data", "add", str(CREDIT_G), "--name", "credit-g", url=pg_url)
    _refused(added, "read-only transaction")
    assert _datasets(home) == []
    wrong_port = pg_url.replace(":5432/", ":1/")
    _refused(_atlas(home, "models", "list", url=wrong_port), "Connection refused")
    _refused(_atlas(home, "data", "add", str(CREDIT_G), "--name", "c", url=wrong_port), "refused")
    assert _datasets(home) == []
