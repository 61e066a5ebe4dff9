"""One error body on every status path, on both request pipelines (the real server with its fast
routes, and the same app with FastAPI's routes only), over real HTTP; data-plane 404s do not
list the registry's models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app
from atlas.serve.responses import LISTING_HINT
from tests.serve.test_fast_routes import server_app

API, ADMIN = "data-s3cret", "admin-s3cret"
BEARER = {"Authorization": f"Bearer {API}"}
ADMIN_BEARER = {"Authorization": f"Bearer {ADMIN}"}
MAX_BODY = 4096
ROW = {"income": 1000.0, "debt": 0.5, "region": "north"}
TENSORS = [
    {"name": "income", "shape": [1], "datatype": "FP64", "data": [1000.0]},
    {"name": "debt", "shape": [1], "datatype": "FP64", "data": [0.5]},
    {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
]
ERROR_KEYS = {"error", "type", "message", "hint"}
HIDDEN = "acquisitions-secret"  # a model an anonymous client must not learn of


@pytest.fixture
def pipelines(sqlite_settings, make_draft) -> Iterator[dict[str, Any]]:
    """{pipeline name: (client, app)} over one registry."""
    registry = ModelRegistry.from_settings(sqlite_settings)
    for name in ("credit", HIDDEN):
        registry.register(name, make_draft())
    config = ServerConfig(api_token=API, admin_token=ADMIN, max_body_bytes=MAX_BODY, max_records=2)
    fast_app = server_app(registry, True, [], config)
    slow_app = server_app(registry, False, [], config)
    with (
        BackgroundServer(fast_app) as fast,
        BackgroundServer(slow_app) as slow,
        httpx.Client(base_url=fast.url, timeout=30) as fast_client,
        httpx.Client(base_url=slow.url, timeout=30) as slow_client,
    ):
        yield {"fast": (fast_client, fast_app), "fastapi": (slow_client, slow_app)}


def _v2(**change: Any) -> dict[str, Any]:
    tensors = [dict(t) for t in TENSORS]
    tensors[0].update(change)
    return {"inputs": tensors}


# (what, method, path, request options, status)
CASES: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("v2 tensor lies", "POST", "/v2/models/credit/infer", {"json": _v2(data=["x"])}, 400),
    ("v2 unknown model", "POST", "/v2/models/nope/infer", {"json": _v2()}, 404),
    (
        "v1 too many rows",
        "POST",
        "/v1/models/credit:predict",
        {"json": {"records": [ROW] * 3}},
        400,
    ),
    ("v1 schema", "POST", "/v1/models/credit:predict", {"json": {"records": []}}, 422),
    (
        "v1 bad value",
        "POST",
        "/v1/models/credit:predict",
        {"json": {"records": [{**ROW, "income": "x"}]}},
        422,
    ),
    ("v1 unknown model", "POST", "/v1/models/nope:predict", {"json": {"records": [ROW]}}, 404),
    (
        "v1 unknown version",
        "POST",
        "/v1/models/credit/versions/9:predict",
        {"json": {"records": [ROW]}},
        404,
    ),
    ("metadata of an unknown model", "GET", "/v2/models/nope", {}, 404),
    ("no such route", "GET", "/v3/nothing", {}, 404),
    ("no such method", "DELETE", "/v2/models/credit/infer", {}, 405),
    (
        "declared oversize",
        "POST",
        "/v1/models/credit:predict",
        {"content": b"{" + b" " * MAX_BODY + b"}"},
        413,
    ),
    ("no token", "POST", "/v2/models/credit/infer", {"json": _v2(), "headers": {}}, 401),
    ("admin without its token", "GET", "/v1/admin/models", {}, 401),
]


def _check(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == ERROR_KEYS, body
    assert body["type"] and body["message"]
    line = f"{body['message']} {body['hint']}" if body["hint"] else body["message"]
    assert body["error"] == line  # the line a v2 client shows
    return body


def test_every_status_has_the_one_error_body_on_both_pipelines(pipelines) -> None:
    for what, method, path, options, status in CASES:
        bodies = []
        for client, _ in pipelines.values():
            sent = {"headers": BEARER, **options}
            bodies.append(_check(client.request(method, path, **sent), status))
        assert bodies[0] == bodies[1], what
        if what.endswith("too many rows"):  # says what to do, on both protocols
            assert "at most 2" in bodies[0]["hint"], bodies[0]
    assert bodies[0]["type"] == "Unauthorized"


def test_overload_and_bugs_have_it_too(pipelines) -> None:
    for client, app in pipelines.values():
        service = app.state.served.service
        service.max_in_flight = 0
        full = client.post("/v1/models/credit:predict", json={"records": [ROW]}, headers=BEARER)
        assert _check(full, 503)["type"] == "Overloaded" and full.headers["retry-after"] == "1"
        service.max_in_flight = 64

        async def bug(*_args: Any, **_kwargs: Any) -> None:  # a stand-in for a bug in ATLAS
            raise RuntimeError("boom")

        service.predict = bug
        for path, body in [
            ("/v1/models/credit:predict", {"records": [ROW]}),
            ("/v2/models/credit/infer", _v2()),
        ]:
            # uvicorn closes the connection of a request that raised: a connection of its own
            failed = httpx.post(f"{client.base_url}{path}", json=body, headers=BEARER)
            assert _check(failed, 500)["type"] == "InternalError"
            assert "boom" not in failed.text  # no internals to the client


def test_a_disabled_admin_api_is_403_in_the_one_body(sqlite_settings) -> None:
    app = create_app(ModelRegistry.from_settings(sqlite_settings), ServerConfig())
    with BackgroundServer(app) as srv:
        body = _check(httpx.get(f"{srv.url}/v1/admin/models"), 403)
    assert body["type"] == "Forbidden"


def test_data_plane_404s_do_not_list_the_models(pipelines) -> None:
    for client, _ in pipelines.values():
        for method, path, options in [
            ("POST", "/v1/models/nope:predict", {"json": {"records": [ROW]}}),
            ("POST", "/v2/models/nope/infer", {"json": _v2()}),
            ("GET", "/v2/models/nope", {}),
            ("GET", "/v1/models/nope", {}),
            ("GET", "/v2/models/credit/versions/7", {}),
        ]:
            answer = client.request(method, path, headers=BEARER, **options)
            body = _check(answer, 404)
            assert HIDDEN not in answer.text and body["hint"] == LISTING_HINT, path
        # the listing the hint points at is there, behind the same token
        index = client.post("/v2/repository/index", headers=BEARER)
        assert {m["name"] for m in index.json()} == {"credit", HIDDEN}
        assert client.post("/v2/repository/index").status_code == 401
        # the management API answers a client holding the admin token with the registry's hint
        admin = client.post("/v1/admin/models/nope/deploy", json={}, headers=ADMIN_BEARER)
        assert HIDDEN in _check(admin, 404)["hint"]
