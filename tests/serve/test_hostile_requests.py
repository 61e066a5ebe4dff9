"""No header or path byte a client can send gets a 500: raw HTTP/1.1 over a socket (a client
library would refuse to send most of these) against the real server, on both request
pipelines; paths on each metadata database (PostgreSQL refuses NUL bytes and long strings
that SQLite takes)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig
from tests.serve.test_fast_routes import server_app

TOKEN = b"s3cret"
HUGE = 6000  # bytes: past any name column, under the HTTP servers' head limits
V1_BODY = b'{"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}'
V2_BODY = (
    b'{"inputs": [{"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]},'
    b' {"name": "debt", "shape": [1], "datatype": "FP64", "data": [0.5]},'
    b' {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]}]}'
)
HEADER_VALUES = [
    "caf\u00e9 \u2603".encode(),  # UTF-8
    b"\xff\xfe latin-1",
    b"a\x01b\x7fc",  # control characters
    b"x" * HUGE,
    b"",
    b"Bearer \xed\xa0\x80",  # an encoded lone surrogate
]
HEADER_NAMES = [
    b"Authorization",
    b"Content-Type",
    b"X-Request-Id",
    b"Inference-Header-Content-Length",
    b"Accept",
]
NAMES = [
    b"%00",
    b"a%0Ab",
    b"%ff%fe",
    b"caf%C3%A9",
    b"%ED%A0%80",
    b"a" * HUGE,
    b"%20",
    b"..",
    b"x%2F..%2Fy",
]
REFS = [b"%00", b"9" * 40, b"-1", b"1e3", b"%ED%A0%80", b"a" * HUGE]


def _request(port: int, method: bytes, path: bytes, headers: list[bytes], body: bytes) -> int:
    """The status code the server answers a raw request with."""
    head = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    head += [*headers, b"Content-Length: " + str(len(body)).encode()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), (path[:80], answer[:200])
    return int(status_line.split()[1])


@pytest.fixture(params=["fast", "fastapi"])
def port(request: pytest.FixtureRequest, settings, make_draft) -> Iterator[int]:
    registry = ModelRegistry.from_settings(settings)
    registry.register("credit", make_draft())
    config = ServerConfig(admin_token=TOKEN.decode(), api_token=TOKEN.decode())
    app = server_app(registry, request.param == "fast", [], config)
    with BackgroundServer(app) as srv:
        yield srv.port


def _auth(extra: bytes | None = None) -> list[bytes]:
    return [b"Authorization: Bearer " + TOKEN, b"Content-Type: application/json"] + (
        [extra] if extra else []
    )


ROUTES = [
    (b"POST", b"/v1/models/{name}:predict", V1_BODY),
    (b"POST", b"/v1/models/{name}/versions/{ref}:predict", V1_BODY),
    (b"GET", b"/v1/models/{name}", b""),
    (b"GET", b"/v2/models/{name}", b""),
    (b"GET", b"/v2/models/{name}/ready", b""),
    (b"GET", b"/v2/models/{name}/versions/{ref}", b""),
    (b"POST", b"/v2/models/{name}/infer", V2_BODY),
    (b"POST", b"/v2/models/{name}/versions/{ref}/infer", V2_BODY),
    (b"POST", b"/v1/admin/models/{name}/deploy", b"{}"),
    (b"POST", b"/v1/admin/models/{name}/promote", b'{"version": 1}'),
    (b"POST", b"/v1/admin/models/{name}/rollback", b"{}"),
    (b"PUT", b"/v1/admin/models/{name}/rollout", b"{}"),
    (b"GET", b"/v1/admin/models/{name}/rollout", b""),
]


def test_hostile_path_segments_are_never_a_500(port: int) -> None:
    seen = set()
    for method, template, body in ROUTES:
        for name in NAMES:
            for ref in REFS if b"{ref}" in template else [b"1"]:
                path = template.replace(b"{name}", name).replace(b"{ref}", ref)
                status = _request(port, method, path, _auth(), body)
                assert status < 500, (method, path[:120], status)
                seen.add(status)
    assert seen <= {400, 404, 405, 422}, seen


def test_hostile_header_values_are_never_a_500(port: int) -> None:
    paths = [
        (b"POST", b"/v1/models/credit:predict", V1_BODY),
        (b"POST", b"/v2/models/credit/infer", V2_BODY),
        (b"GET", b"/v1/admin/models", b""),
        (b"GET", b"/v2/health/ready", b""),
        (b"GET", b"/metrics", b""),
    ]
    for method, path, body in paths:
        for name in HEADER_NAMES:
            for value in HEADER_VALUES:
                header = name + b": " + value
                headers = [header] if name == b"Authorization" else _auth(header)
                status = _request(port, method, path, headers, body)
                assert status < 500, (method, path, header[:80], status)
