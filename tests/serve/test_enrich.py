"""The three components of a request: online features from the feature store, external data
from a (fake) credit bureau over real HTTP, then the model; fallbacks are flagged."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI

from atlas.data.features import Entity, FeatureStore, FeatureView
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, PredictionEvent, ServerConfig, create_app

CUSTOMER = Entity("customer", join_key="customer_id")
# The connector's timeout is generous so that a loaded test machine does not trip it on the
# bureau's fast answers; the slow customer sleeps well past it.
TIMEOUT_MS, SLOW_S = 1000, 3.0


def bureau_app() -> FastAPI:
    app = FastAPI()

    @app.get("/debt/{customer_id}")
    def debt(customer_id: int) -> dict[str, float]:
        if customer_id == 99:
            time.sleep(SLOW_S)  # past the connector's timeout
        return {"debt": 0.1 * customer_id}

    return app


@pytest.fixture
def setup(sqlite_settings, make_draft):
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    store = FeatureStore(sqlite_settings)
    store.apply([CUSTOMER, FeatureView("profile", CUSTOMER, {"income": "float64"}, ttl=None)])
    store.ingest(
        "profile",
        pd.DataFrame(
            {
                "customer_id": [1, 2, 99],
                "income": [20000.0, 45000.0, 30000.0],
                "event_timestamp": [pd.Timestamp("2026-01-01", tz="UTC")] * 3,
            }
        ),
    )
    store.materialize()
    with BackgroundServer(bureau_app()) as bureau:
        serving = {
            "credit": {
                "entity_key": "customer_id",
                "features": ["profile:income"],
                "connectors": [
                    {
                        "name": "bureau",
                        "type": "http",
                        "key": "customer_id",
                        "url": f"{bureau.url}/debt/{{customer_id}}",
                        "fields": {"debt": "float"},
                        "timeout_ms": TIMEOUT_MS,
                        "fallback": {"debt": 0.5},
                    }
                ],
            }
        }
        events: list[PredictionEvent] = []
        app = create_app(
            registry, ServerConfig(models=serving), hooks=[events.append], feature_store=store
        )
        with (
            BackgroundServer(app) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            yield client, registry, events
    store.online.close()


def test_features_and_bureau_fill_the_record(setup) -> None:
    client, registry, events = setup
    answer = client.post(
        "/v1/models/credit:predict",
        json={
            "records": [
                {"customer_id": 1, "region": "north"},
                {"customer_id": 2, "region": "south"},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    model = registry.load("credit")
    expected = model.predict_proba(
        [
            {"income": 20000.0, "debt": 0.1, "region": "north"},
            {"income": 45000.0, "debt": 0.2, "region": "south"},
        ]
    )
    got = [
        [p["probabilities"]["bad"], p["probabilities"]["good"]]
        for p in answer.json()["predictions"]
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    assert events[-1].extra == {}


def test_unknown_entity_and_bureau_timeout_are_flagged(setup) -> None:
    client, registry, events = setup
    began = time.monotonic()
    answer = client.post(
        "/v1/models/credit:predict",
        json={
            "records": [
                {"customer_id": 99, "region": "north"},
                {"customer_id": 7, "region": "east"},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - began < SLOW_S - 0.5  # did not wait for the slow bureau
    flags = events[-1].extra["flags"]
    assert "bureau" in flags[0]["fallbacks"] and flags[1]["unknown_entity"] is True
    model = registry.load("credit")
    expected = model.predict_proba([{"income": 30000.0, "debt": 0.5, "region": "north"}])
    got = answer.json()["predictions"][0]["probabilities"]
    assert got["good"] == pytest.approx(expected[0][1])


def test_missing_entity_key_is_a_422(setup) -> None:
    client, *_ = setup
    answer = client.post("/v1/models/credit:predict", json={"records": [{"region": "north"}]})
    assert answer.status_code == 422 and "customer_id" in answer.json()["message"]


def test_v2_with_server_side_fields(setup) -> None:
    client, *_ = setup
    body = {
        "inputs": [
            {"name": "customer_id", "shape": [1], "datatype": "INT64", "data": [1]},
            {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
        ]
    }
    answer = client.post("/v2/models/credit/infer", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][1]["shape"] == [1, 2]
