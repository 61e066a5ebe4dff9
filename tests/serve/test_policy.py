"""The request policy holds on both pipelines: every case runs against the real server with its
fast routes and against the same app with FastAPI's routes only, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig
from atlas.serve.policy import Forbidden, RequestPolicy
from tests.serve.test_database_failures import error_kind
from tests.serve.test_fast_routes import server_app

API_TOKEN, ADMIN_TOKEN = "data-s3cret", "admin-s3cret"
MAX_BODY = 4096
ROW = {"income": 1000.0, "debt": 0.5, "region": "north"}
V1 = "/v1/models/credit:predict"
V2 = "/v2/models/credit/infer"
TENSORS = {
    "inputs": [
        {"name": "income", "shape": [1], "datatype": "FP64", "data": [1000.0]},
        {"name": "debt", "shape": [1], "datatype": "FP64", "data": [0.5]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
    ]
}
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def registry(sqlite_settings, make_draft) -> ModelRegistry:
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    return registry


@pytest.fixture(params=["fast", "fastapi"])
def pipeline(request: pytest.FixtureRequest, registry: ModelRegistry) -> Iterator[Any]:
    """(client, handler calls seen by the fast routes, pipeline name)."""
    config = ServerConfig(
        api_token=API_TOKEN, admin_token=ADMIN_TOKEN, max_body_bytes=MAX_BODY, max_records=2
    )
    calls: list[str] = []
    app = server_app(registry, request.param == "fast", calls, config)
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client, calls, request.param


def _streamed(size: int) -> Iterator[bytes]:
    yield b'{"records": [' + b'{"income": 1.0},' * (size // 16)
    yield b"{}]}"


CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    # (name, path, request options, status, error kind)
    ("no token", V1, {"json": {"records": [ROW]}}, 401, "Unauthorized"),
    ("no token, v2", V2, {"json": TENSORS}, 401, "Unauthorized"),
    (
        "wrong token",
        V1,
        {"json": {"records": [ROW]}, "headers": {"Authorization": "Bearer x"}},
        401,
        "Unauthorized",
    ),
    (
        "not a bearer",
        V2,
        {"json": TENSORS, "headers": {"Authorization": "Basic eDp5"}},
        401,
        "Unauthorized",
    ),
    (
        "declared oversize",
        V1,
        {"content": b"{" + b" " * MAX_BODY + b"}", "headers": {**BEARER, **JSON}},
        413,
        "PayloadTooLarge",
    ),
    (
        "streamed oversize",
        V1,
        {"content": lambda: _streamed(2 * MAX_BODY), "headers": {**BEARER, **JSON}},
        413,
        "PayloadTooLarge",
    ),
    (
        "too many records",
        V1,
        {"json": {"records": [ROW] * 3}, "headers": BEARER},
        400,
        "AtlasError",
    ),
    ("admin without its token", "/v1/admin/models", {"headers": BEARER}, 401, "Unauthorized"),
    (
        "bare token, no Bearer",
        V1,
        {"json": {"records": [ROW]}, "headers": {"Authorization": API_TOKEN}},
        401,
        "Unauthorized",
    ),
    (
        "admin bare token",
        "/v1/admin/models",
        {"headers": {"Authorization": ADMIN_TOKEN}},
        401,
        "Unauthorized",
    ),
    (
        "two Authorization headers",
        V1,
        {"json": {"records": [ROW]}, "headers": [("Authorization", f"Bearer {API_TOKEN}")] * 2},
        401,
        "Unauthorized",
    ),
    (
        "admin token with a non-ASCII byte",
        "/v1/admin/models",
        {"headers": [(b"Authorization", f"Bearer {ADMIN_TOKEN}\u00e9".encode())]},
        401,
        "Unauthorized",
    ),
    (
        "admin token in Latin-1",
        "/v1/admin/models",
        {"headers": [(b"Authorization", b"Bearer \xe9" + ADMIN_TOKEN.encode())]},
        401,
        "Unauthorized",
    ),
    (
        "a scheme without a token",
        "/v1/admin/models",
        {"headers": {"Authorization": "Bearer"}},
        401,
        "Unauthorized",
    ),
]


@pytest.mark.parametrize(
    ("path", "options", "status", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_refusals_are_the_same_on_both_pipelines(pipeline, path, options, status, kind) -> None:
    client, calls, name = pipeline
    calls.clear()
    method = "GET" if path.startswith("/v1/admin") else "POST"
    fresh = {k: v() if callable(v) else v for k, v in options.items()}  # a new stream each run
    answer = client.request(method, path, **fresh)
    assert answer.status_code == status, answer.text
    assert error_kind(answer.json()) == kind and answer.json()["message"]
    # a refusal by the policy reaches no handler; the records limit is the handler's own
    reached = kind == "AtlasError" and name == "fast"
    assert calls == (["/v1/models/{name}:predict"] if reached else [])


def test_the_token_and_a_streamed_body_within_the_limit_pass(pipeline) -> None:
    client, calls, name = pipeline
    calls.clear()
    ok = client.post(V1, json={"records": [ROW]}, headers=BEARER)
    assert ok.status_code == 200 and ok.json()["version"] == 1
    streamed = client.post(
        V2,
        content=iter([b'{"inputs": ', _dumps(TENSORS["inputs"]), b"}"]),
        headers={**BEARER, **JSON},
    )
    assert streamed.status_code == 200, streamed.text
    admin = client.get("/v1/admin/models", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert admin.status_code == 200
    scheme = client.get("/v1/admin/models", headers={"Authorization": f"bearer  {ADMIN_TOKEN}"})
    assert scheme.status_code == 200  # the scheme is case-insensitive (RFC 7235)
    assert calls == (
        ["/v1/models/{name}:predict", "/v2/models/{name}/infer"] if name == "fast" else []
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_open_model_routes_without_a_token_and_disabled_admin() -> None:
    policy = RequestPolicy.of(MAX_BODY, admin_token=None, api_token=None)
    scope = {"path": "/v1/models/credit:predict", "headers": []}
    policy.check(scope)  # no api_token: the model routes are open
    with pytest.raises(Forbidden, match="disabled"):
        policy.check({"path": "/v1/admin/models", "headers": []})


def test_a_non_ascii_token_is_compared_as_the_bytes_sent(registry) -> None:
    token = "s\u00e9same-\u00fcber"
    app = server_app(registry, True, [], ServerConfig(admin_token=token))
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        utf8 = [(b"Authorization", b"Bearer " + token.encode())]
        assert client.get("/v1/admin/models", headers=utf8).status_code == 200
        latin1 = [(b"Authorization", b"Bearer " + token.encode("latin-1"))]
        assert client.get("/v1/admin/models", headers=latin1).status_code == 401
