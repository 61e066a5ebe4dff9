"""The connector conformance suite over the built-in ``http`` type, loaded as a plugin from its
entry point, against a real local HTTP service (uvicorn on a loopback port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Response

from atlas.serve.external import Connector, connector_types
from atlas.serve.runner import BackgroundServer
from atlas.testing.connector import KEY_FIELD, ConnectorConformance

ANSWER = {"score": 700.5, "defaults": 2, "tier": "gold", "active": True, "extra": [1]}
FIELDS = {"score": "float", "defaults": "int", "tier": "str", "active": "bool"}


def _service() -> FastAPI:
    app = FastAPI()

    @app.get("/score/{key}")
    def score(key: str) -> Any:
        return ANSWER if key != "nobody" else Response(status_code=404)

    @app.post("/lookup")
    def lookup(body: dict[str, Any]) -> Any:
        if body.get(KEY_FIELD) == "nobody":
            return Response(status_code=404)
        return {"data": {"result": ANSWER}}

    @app.get("/down/{key}")
    def down(key: str) -> Response:
        return Response(status_code=503)

    return app


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with BackgroundServer(_service()) as server:
        yield server.url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # free once closed: nothing listens there


def _http(**spec: Any) -> Connector:
    config_class = connector_types.get("http")  # the plugin, from its entry point
    config = config_class.model_validate(
        {"name": "bureau", "key": KEY_FIELD, "fields": FIELDS, **spec}
    )
    return config.connector(None)  # its own client, closed by aclose


class TestHTTPGet(ConnectorConformance):
    unknown_key = "nobody"

    @pytest.fixture(autouse=True)
    def _service(self, service_url: str) -> None:
        self.url = service_url

    def make_connector(self) -> Connector:
        return _http(type="http", url=f"{self.url}/score/{{{KEY_FIELD}}}")

    def make_failing_connector(self) -> Connector:
        return _http(url=f"{self.url}/down/{{{KEY_FIELD}}}")


class TestHTTPPostNested(ConnectorConformance):
    unknown_key = "nobody"

    @pytest.fixture(autouse=True)
    def _service(self, service_url: str) -> None:
        self.url = service_url

    def make_connector(self) -> Connector:
        return _http(method="POST", url=f"{self.url}/lookup", json_path="data.result")

    def make_failing_connector(self) -> Connector:  # nothing listens: connection refused
        return _http(method="POST", url=f"http://127.0.0.1:{_closed_port()}/lookup")
