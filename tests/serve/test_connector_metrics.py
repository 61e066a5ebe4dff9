"""The connectors' state on a Prometheus registry: real connectors (the server's ``Enricher``
building HTTP connectors from a serving config) against a real HTTP service under uvicorn that
fails on purpose; the exposition text is parsed back with ``prometheus_client.parser``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from atlas.serve.enrich import Enricher, ModelServing
from atlas.serve.external import ConnectorSet
from atlas.serve.external.metrics import ConnectorCollector
from atlas.serve.runner import BackgroundServer

MODEL = "credit"
FAILURES_TO_OPEN = 2
REQUESTS = 5
OPEN = 2.0
CLOSED = 0.0


def _service() -> FastAPI:
    app = FastAPI()

    @app.get("/down/{cid}")
    async def down(cid: str) -> Response:
        return Response(status_code=503)

    @app.get("/score/{cid}")
    async def score(cid: str) -> dict[str, Any]:
        return {"price": 700.0}

    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with BackgroundServer(_service()) as server:
        yield server.url


def _connector(url: str, name: str, path: str, field: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "http",
        "url": f"{url}/{path}/{{customer_id}}",
        "key": "customer_id",
        "fields": {field: "float"},
        "timeout_ms": 5000,
        "breaker": {"failures": FAILURES_TO_OPEN, "cooldown_s": 3600},
        "fallback": {field: 0.0},
    }


def _samples(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    """(sample name, model, connector) -> value, for the samples without other labels."""
    text = generate_latest(registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if set(s.labels) == {"model", "connector"}:
                out[s.name, s.labels["model"], s.labels["connector"]] = s.value
    return out


def test_a_failing_service_reads_open_with_its_fallbacks_counted(url: str) -> None:
    serving = ModelServing(
        connectors=[
            _connector(url, "bureau", "down", "bureau_score"),
            _connector(url, "pricing", "score", "price"),
        ]
    )
    enricher = Enricher({MODEL: serving})
    registry = CollectorRegistry()
    registry.register(ConnectorCollector(enricher))

    async def main() -> dict[tuple[str, str, str], float]:
        records = [{"customer_id": f"c{i}"} for i in range(REQUESTS)]
        for record in records:  # one at a time: the breaker sees each failure in turn
            await enricher.enrich(MODEL, [record])
        try:
            return _samples(registry)
        finally:
            await enricher.aclose()

    got = asyncio.run(main())
    down, up = (MODEL, "bureau"), (MODEL, "pricing")
    assert got[("atlas_connector_breaker_state", *down)] == OPEN
    assert got[("atlas_connector_breaker_state", *up)] == CLOSED
    assert got[("atlas_connector_fallbacks_total", *down)] == REQUESTS
    assert got[("atlas_connector_failures_total", *down)] == FAILURES_TO_OPEN
    assert got[("atlas_connector_upstream_calls_total", *down)] == FAILURES_TO_OPEN
    assert got[("atlas_connector_short_circuits_total", *down)] == REQUESTS - FAILURES_TO_OPEN
    assert got[("atlas_connector_breaker_opened_total", *down)] == 1
    assert got[("atlas_connector_calls_total", *down)] == REQUESTS
    assert got[("atlas_connector_live_total", *up)] == REQUESTS
    assert got[("atlas_connector_fallbacks_total", *up)] == 0
    assert got[("atlas_connector_upstream_latency_seconds_count", *up)] == REQUESTS
    assert got[("atlas_connector_upstream_latency_seconds_sum", *up)] > 0


def test_the_latency_histogram_has_second_buckets(url: str) -> None:
    sets: dict[str, ConnectorSet] = {}
    registry = CollectorRegistry()
    registry.register(ConnectorCollector.of_sets(sets))

    async def main() -> str:
        sets[MODEL] = ConnectorSet.from_config([_connector(url, "pricing", "score", "price")])
        async with sets[MODEL] as connectors:
            await connectors.fetch_all({"customer_id": "c1"})
            return generate_latest(registry).decode()

    text = asyncio.run(main())
    (family,) = (
        f
        for f in text_string_to_metric_families(text)
        if f.name == "atlas_connector_upstream_latency_seconds"
    )
    bounds = [s.labels["le"] for s in family.samples if s.name.endswith("_bucket")]
    assert bounds[0] == "0.0005" and bounds[-1] == "+Inf"
    assert family.type == "histogram"


def test_no_connectors_export_empty_families() -> None:
    registry = CollectorRegistry()
    registry.register(ConnectorCollector(Enricher({})))
    assert _samples(registry) == {}
