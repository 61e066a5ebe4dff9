"""The inference server over real HTTP: a uvicorn server on a loopback port, httpx as client, on
each metadata database (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app


@pytest.fixture
def served(settings, make_draft):
    registry = ModelRegistry.from_settings(settings)
    first, second = make_draft(seed=0), make_draft(seed=1)
    registry.register("credit", first)
    registry.register("credit", second)
    registry.promote("credit", 1)
    with (
        BackgroundServer(create_app(registry, ServerConfig(alias_ttl=0))) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield registry, client, first, second


def _records(draft, n: int = 3) -> list[dict]:
    rows = draft.frame.head(n).to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]


def test_health_and_listing(served) -> None:
    _, client, *_ = served
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True, "database": "ok"}
    models = client.get("/v1/models").json()
    assert models == [
        {"name": "credit", "task": "binary", "aliases": {"production": 1}, "latest_version": 2}
    ]
    meta = client.get("/v1/models/credit").json()
    assert meta["version"] == 1 and [c["name"] for c in meta["inputs"]] == [
        "income",
        "debt",
        "region",
    ]
    assert "/v1/models/{name}:predict" in client.get("/openapi.json").json()["paths"]


def test_predictions_match_the_package(served) -> None:
    _, client, first, _ = served
    body = {"records": _records(first)}
    answer = client.post("/v1/models/credit:predict", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["version"] == 1  # production alias
    got = np.array(
        [[p["probabilities"]["bad"], p["probabilities"]["good"]] for p in data["predictions"]]
    )
    np.testing.assert_allclose(got, first.expected[:3], rtol=1e-7)
    v2 = client.post("/v1/models/credit/versions/2:predict", json=body).json()
    assert v2["version"] == 2
    latest = client.post("/v1/models/credit/versions/latest:predict", json=body).json()
    assert latest["version"] == 2


def test_promotion_and_rollback_take_effect_on_next_request(served) -> None:
    registry, client, first, _ = served
    body = {"records": _records(first, 1)}
    registry.promote("credit", 2)
    assert client.post("/v1/models/credit:predict", json=body).json()["version"] == 2
    registry.rollback("credit")
    assert client.post("/v1/models/credit:predict", json=body).json()["version"] == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/v1/models/ghost:predict", {"records": [{"a": 1}]}, 404, "no model named 'ghost'"),
        (
            "/v1/models/credit/versions/canary:predict",
            {"records": [{"a": 1}]},
            404,
            "no alias 'canary'",
        ),
        ("/v1/models/credit/versions/9:predict", {"records": [{"a": 1}]}, 404, "no version 9"),
        # "¹".isdigit() is True but it is no version number
        ("/v1/models/credit/versions/¹:predict", {"records": [{"a": 1}]}, 404, "no alias '¹'"),
        ("/v1/models/credit:predict", {"records": []}, 422, "records"),
        ("/v1/models/credit:predict", {"rows": []}, 422, "records"),
        (
            "/v1/models/credit:predict",
            {"records": [{"income": 1.0, "debt": 0.2}]},
            422,
            "lacks the field(s) ['region']",
        ),
        (
            "/v1/models/credit:predict",
            {"records": [{"income": "rich", "debt": 0.2, "region": "north"}]},
            422,
            "Field 'income' must be a number",
        ),
    ],
)
def test_bad_requests_get_clear_4xx(served, path, body, status, fragment) -> None:
    _, client, *_ = served
    answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["message"]


def test_oversize_and_malformed_bodies(served) -> None:
    _, client, *_ = served
    big = b'{"records": [' + b'{"income": 1.0},' * 600_000 + b"{}]}"
    answer = client.post(
        "/v1/models/credit:predict", content=big, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    broken = client.post(
        "/v1/models/credit:predict",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422
