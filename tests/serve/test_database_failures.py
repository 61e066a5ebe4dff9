"""The real server on a metadata database it cannot use: readiness says so (503, naming the
cause), management writes are 503 and change nothing, and loaded models keep answering. A
read-only SQLite file, its file deleted under the running server, PostgreSQL read-only and
PostgreSQL unreachable (a wrong port)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from atlas.core import database
from atlas.core.database import Database
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app
from tests.conftest import PG_ADMIN
from tests.core.read_only import read_only

TOKEN = "s3cret"


def error_kind(body: dict) -> str:
    """The kind of an error body (``type``; ``error`` in the bodies of ATLAS <= 0.2)."""
    return str(body.get("type") or body["error"])


AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}
PLAN = {"canary_version": 2, "canary_share": 0.5}


def _registered(settings, make_draft) -> None:
    registry = ModelRegistry.from_settings(settings)
    for seed in (0, 1):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    registry.promote("credit", 2)  # production: 2, with 1 to roll back to
    database.close_all()


@pytest.fixture
def serve() -> Iterator:
    servers: list[BackgroundServer] = []

    def start(registry: ModelRegistry) -> httpx.Client:
        srv = BackgroundServer(create_app(registry, ServerConfig(admin_token=TOKEN))).start()
        servers.append(srv)
        return httpx.Client(base_url=srv.url, timeout=30)

    yield start
    for srv in servers:
        srv.stop()


def _unavailable(answer: httpx.Response, fragment: str) -> None:
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert error_kind(body) == "DatabaseUnavailableError" and fragment in body["message"]
    assert body["hint"]


def _writes_refused(client: httpx.Client, fragment: str) -> None:
    _unavailable(client.get("/v2/health/ready"), fragment)
    promote = client.post("/v1/admin/models/credit/promote", json={"version": 1}, headers=AUTH)
    _unavailable(promote, fragment)
    _unavailable(client.post("/v1/admin/models/credit/rollback", json={}, headers=AUTH), fragment)
    _unavailable(client.put("/v1/admin/models/credit/rollout", json=PLAN, headers=AUTH), fragment)


def test_a_read_only_sqlite_file(sqlite_settings, make_draft, serve) -> None:
    _registered(sqlite_settings, make_draft)
    with read_only(Path(sqlite_settings.home / "atlas.db")):
        client = serve(ModelRegistry.from_settings(sqlite_settings))
        _writes_refused(client, "readonly database")
        assert client.post("/v1/models/credit:predict", json=BODY).json()["version"] == 2
        rollout = client.get("/v1/admin/models/credit/rollout", headers=AUTH).json()
        assert rollout == {"plan": None, "events": []}  # the refused plan is not half-set
    assert ModelRegistry.from_settings(sqlite_settings).get("credit").version == 2  # unmoved


def test_the_sqlite_file_deleted_under_the_server(sqlite_settings, make_draft, serve) -> None:
    _registered(sqlite_settings, make_draft)
    client = serve(ModelRegistry.from_settings(sqlite_settings))
    assert client.get("/v2/health/ready").json() == {"ready": True, "database": "ok"}
    assert client.post("/v1/models/credit:predict", json=BODY).json()["version"] == 2
    path = sqlite_settings.home / "atlas.db"
    backup = path.with_name("backup.db")
    shutil.move(path, backup)  # deleted, as far as the server can tell
    _writes_refused(client, "was deleted")
    assert not path.exists()  # no empty database was made in its place
    assert client.post("/v1/models/credit:predict", json=BODY).json()["version"] == 2
    shutil.move(backup, path)  # restored
    assert client.get("/v2/health/ready").status_code == 200
    promote = client.post("/v1/admin/models/credit/promote", json={"version": 1}, headers=AUTH)
    assert promote.status_code == 200 and promote.json()["to_version"] == 1
    assert ModelRegistry.from_settings(sqlite_settings).get("credit").version == 1  # kept


def test_postgres_read_only(make_settings, pg_url, make_draft, serve) -> None:
    settings = make_settings(database_url=pg_url)
    _registered(settings, make_draft)
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    client = serve(ModelRegistry.from_settings(settings))
    _writes_refused(client, "read-only transaction")
    assert client.post("/v1/models/credit:predict", json=BODY).json()["version"] == 2


def test_postgres_unreachable(make_settings, pg_url, make_draft, serve) -> None:
    settings = make_settings(database_url=pg_url)
    _registered(settings, make_draft)
    registry = ModelRegistry.from_settings(settings)
    wrong_port = pg_url.replace(":5432/", ":1/")
    client = serve(ModelRegistry(Database(wrong_port), registry.artifacts, registry.cache_dir))
    _writes_refused(client, "Connection refused")
    _unavailable(client.post("/v1/models/credit:predict", json=BODY), "Connection refused")
