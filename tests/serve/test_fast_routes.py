"""The plain-ASGI prediction routes: what they take, what they hand to FastAPI, and that the
real server answers the same through them as through FastAPI."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from atlas.core.errors import AtlasError, NotFoundError
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app
from atlas.serve.fast_routes import FastRoute, FastRoutes, fast_path, fast_routes_of


class Body(BaseModel):
    x: int


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/items/{name}:go")
    async def slow(name: str, body: Body) -> dict:
        return {"via": "fastapi", "name": name, "x": body.x}

    async def fast(request: Request, name: str, body: Body) -> JSONResponse:
        assert request.url.path.endswith(":go")
        if body.x < 0:
            raise NotFoundError(f"no item {body.x}", hint="use a positive x")
        if body.x == 13:
            raise RuntimeError("boom")
        return JSONResponse({"via": "fast", "name": name, "x": body.x})

    def on_error(exc: Exception) -> JSONResponse | None:
        if isinstance(exc, AtlasError):
            return JSONResponse({"error": exc.message}, status_code=exc.http_status)
        return None

    app.add_middleware(
        FastRoutes, routes=[FastRoute("/items/{name}:go", Body, fast)], on_error=on_error
    )
    return app


@pytest.fixture
def client():
    with TestClient(_app(), raise_server_exceptions=False) as c:
        yield c


def test_a_well_formed_request_takes_the_fast_route(client) -> None:
    answer = client.post("/items/a%20b:go", json={"x": 3})
    assert answer.status_code == 200
    assert answer.json() == {"via": "fast", "name": "a b", "x": 3}
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert client.post("/items/z:go", content=b'{"x": 1}', headers=charset).json()["via"] == "fast"


def test_anything_unusual_goes_to_fastapi(client) -> None:
    # invalid JSON and a failing schema: FastAPI's 422, in its own format
    bad = client.post(
        "/items/a:go", content=b'{"x": ', headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and "detail" in bad.json()
    wrong = client.post("/items/a:go", json={"x": "not a number"})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "x"]
    # not a JSON content type: FastAPI decides (and refuses it)
    for kind in (None, "text/plain", "text/x+json"):
        headers = {"Content-Type": kind} if kind else {}
        other = client.post("/items/a:go", content=b'{"x": 2}', headers=headers)
        assert other.status_code == 422 and "detail" in other.json()
    vendor = {"Content-Type": "application/vnd.api+json"}
    assert client.post("/items/a:go", content=b'{"x": 2}', headers=vendor).json()["via"] == "fast"
    # other methods and paths
    assert client.get("/items/a:go").status_code == 405
    assert client.post("/items/a/b:go", json={"x": 1}).status_code == 404


def test_behind_a_path_prefix_the_fast_route_still_matches() -> None:
    """uvicorn ``--root-path /api``: the scope's path carries the prefix, as does root_path."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b'{"x": 4}', "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/items/a:go",
        "raw_path": b"/api/items/a:go",
        "root_path": "/api",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "server": ("testserver", 80),
        "client": ("testclient", 5000),
    }
    asyncio.run(_app()(scope, receive, send))
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"via": "fast", "name": "a", "x": 4}


def test_handler_errors_use_the_apps_handlers(client) -> None:
    missing = client.post("/items/a:go", json={"x": -1})
    assert missing.status_code == 404 and missing.json() == {"error": "no item -1"}
    assert client.post("/items/a:go", json={"x": 13}).status_code == 500


def test_a_streamed_body_is_read_whole(client) -> None:
    small = client.post(
        "/items/a:go",
        content=iter([b'{"x"', b": 5}"]),
        headers={"Content-Type": "application/json"},
    )
    assert small.json() == {"via": "fast", "name": "a", "x": 5}


def test_route_templates() -> None:
    pattern = FastRoute("/v2/models/{name}/versions/{ref}/infer", Body, _never).pattern()
    found = pattern.match("/v2/models/credit.v1/versions/production/infer")
    assert found is not None and found.groupdict() == {"name": "credit.v1", "ref": "production"}
    assert pattern.match("/v2/models/credit/versions/1/infer/more") is None
    assert pattern.match("/v2/models/a/b/versions/1/infer") is None


async def _never(**_kwargs: object) -> JSONResponse:
    raise AssertionError("not called")


def server_app(
    registry: ModelRegistry, fast: bool, calls: list[str], config: ServerConfig | None = None
) -> FastAPI:
    """The real server's app; its fast routes' handlers counted, or the fast routes removed."""
    app = create_app(registry, config or ServerConfig())
    (middleware,) = [m for m in app.user_middleware if m.cls is FastRoutes]
    if not fast:
        app.user_middleware.remove(middleware)
        return app

    def counted(route: FastRoute) -> FastRoute:
        async def handler(request: Request, **kwargs: object) -> object:
            calls.append(route.path)
            return await route.handler(request, **kwargs)

        return FastRoute(route.path, route.model, handler)

    middleware.kwargs["routes"] = [counted(r) for r in middleware.kwargs["routes"]]
    return app


def test_the_fast_routes_are_the_apps_marked_routes(sqlite_settings) -> None:
    app = create_app(ModelRegistry.from_settings(sqlite_settings))
    assert [r.path for r in fast_routes_of(app)] == [
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{ref}/infer",
        "/v1/models/{name}:predict",
        "/v1/models/{name}/versions/{ref}:predict",
    ]


def test_a_fast_route_with_a_dependency_is_refused() -> None:
    """A check added as a FastAPI dependency would be skipped by the fast pipeline."""

    def rate_limit() -> None:
        return None

    router = APIRouter(prefix="/api", dependencies=[Depends(rate_limit)])

    @router.post("/items/{name}:go")
    @fast_path
    async def go(request: Request, name: str, body: Body) -> JSONResponse:
        return JSONResponse({})

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TypeError, match=r"/api/items/\{name\}:go is marked fast_path"):
        fast_routes_of(app)


@pytest.fixture
def served(sqlite_settings, make_draft):
    """Two servers over one registry: with the fast routes, and with FastAPI only."""
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft(seed=0)
    registry.register("credit", draft)
    calls: list[str] = []
    with (
        BackgroundServer(server_app(registry, True, calls)) as fast_srv,
        BackgroundServer(server_app(registry, False, calls)) as slow_srv,
        httpx.Client(base_url=fast_srv.url, timeout=30) as fast,
        httpx.Client(base_url=slow_srv.url, timeout=30) as slow,
    ):
        yield fast, slow, draft, calls


def _records(draft, n: int) -> list[dict]:
    rows = draft.frame.head(n).to_dict("records")
    return [{k: (None if v != v else v) for k, v in r.items()} for r in rows]


def test_the_server_answers_the_same_through_both_paths(served) -> None:
    fast, slow, draft, calls = served
    body = {"records": _records(draft, 3), "request_id": "same"}
    tensors = {
        "id": "t",
        "inputs": [
            {"name": "income", "shape": [2], "datatype": "FP64", "data": [1000.0, None]},
            {"name": "debt", "shape": [2], "datatype": "FP64", "data": [0.5, 2.0]},
            {"name": "region", "shape": [2], "datatype": "BYTES", "data": ["north", "south"]},
        ],
    }
    for path, payload in [
        ("/v1/models/credit:predict", body),
        ("/v1/models/credit/versions/1:predict", body),
        ("/v2/models/credit/infer", tensors),
        ("/v2/models/credit/versions/latest/infer", tensors),
    ]:
        a, b = fast.post(path, json=payload), slow.post(path, json=payload)
        assert a.status_code == b.status_code == 200, (path, a.text, b.text)
        assert a.json() == b.json()
    assert calls == [
        "/v1/models/{name}:predict",
        "/v1/models/{name}/versions/{ref}:predict",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{ref}/infer",
    ]
    assert len(fast.post("/v1/models/credit:predict", json=body).json()["predictions"]) == 3


def test_the_servers_errors_are_the_same_through_both_paths(served) -> None:
    fast, slow, draft, calls = served
    row = _records(draft, 1)
    cases = [
        ("/v1/models/nope:predict", {"records": row}),  # unknown model: 404
        ("/v1/models/credit/versions/9:predict", {"records": row}),  # unknown version: 404
        ("/v1/models/credit:predict", {"records": []}),  # schema: FastAPI's 422
        ("/v1/models/credit:predict", {"records": [{**row[0], "income": "lots"}]}),
        ("/v2/models/credit/infer", {"inputs": [{"name": "income"}]}),
    ]
    for path, payload in cases:
        a, b = fast.post(path, json=payload), slow.post(path, json=payload)
        assert 400 <= a.status_code < 500, (path, a.text)
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    # the unknown model, version and the bad income reached the handler, and the v2 body (the v2
    # handler reads its own body); v1's schema error went to FastAPI
    assert len(calls) == 4
