"""Adaptive micro-batching on the event loop: requests that arrive together share model calls,
answers stay per request, a lone request is called at once, and a bad request never fails its
batch-mates."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from atlas.core.errors import InvalidInputError
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, create_app
from atlas.serve.batching import Batcher


def slow_sum(columns) -> np.ndarray:
    time.sleep(0.02)  # a model call that costs the same for 1 row or 50
    values = np.asarray(columns["x"], dtype=float)
    if np.isnan(values).any():
        raise InvalidInputError("x must not be NaN")
    return values * 2


async def _gather(batcher: Batcher, fn, calls: list[tuple[dict, int]]) -> list[object]:
    """The calls as concurrent tasks that all reach the batcher in the same turn of the loop."""
    tasks = [asyncio.ensure_future(batcher.run(fn, c, n)) for c, n in calls]
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_concurrent_requests_are_batched_and_answers_stay_separate() -> None:
    batcher = Batcher(max_rows=20)
    calls = [({"x": [i, i + 0.5]}, 2) for i in range(48)]
    results = asyncio.run(_gather(batcher, slow_sum, calls))
    for i in range(48):
        np.testing.assert_array_equal(results[i], [2 * i, 2 * i + 1])
    assert batcher.requests == 48 and batcher.calls == 5  # 10 requests (20 rows) per call


def test_a_lone_request_is_called_at_once() -> None:
    batcher = Batcher()

    async def one() -> float:
        began = time.perf_counter()
        await batcher.run(slow_sum, {"x": [1.0]}, 1)
        return time.perf_counter() - began

    assert asyncio.run(one()) < 0.1 and batcher.calls == 1


def test_requests_with_other_fields_or_models_are_not_merged() -> None:
    batcher = Batcher()

    def other(columns) -> np.ndarray:
        return np.asarray(columns["x"], dtype=float) * 10

    calls = [({"x": [1.0]}, 1), ({"x": [2.0], "y": [0]}, 1), ({"x": [3.0]}, 1)]
    results = asyncio.run(_gather(batcher, slow_sum, calls))
    assert [r.tolist() for r in results] == [[2.0], [4.0], [6.0]]
    assert batcher.calls == 2  # x and x merged; x,y alone

    async def mixed() -> list[object]:
        a = asyncio.ensure_future(batcher.run(slow_sum, {"x": [1.0]}, 1))
        b = asyncio.ensure_future(batcher.run(other, {"x": [1.0]}, 1))
        return list(await asyncio.gather(a, b))

    assert [r.tolist() for r in asyncio.run(mixed())] == [[2.0], [10.0]]


def test_a_bad_request_does_not_fail_its_batch_mates() -> None:
    batcher = Batcher()
    calls = [({"x": [1.0]}, 1), ({"x": [float("nan")]}, 1), ({"x": [3.0]}, 1)]
    good1, bad, good2 = asyncio.run(_gather(batcher, slow_sum, calls))
    assert isinstance(bad, InvalidInputError)
    np.testing.assert_array_equal(good1, [2.0])
    np.testing.assert_array_equal(good2, [6.0])
    assert batcher.calls == 1 and batcher.requests == 3


def test_server_answers_match_under_concurrency(sqlite_settings, make_draft) -> None:
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    app = create_app(registry)
    rows = draft.frame.head(64).to_dict(orient="records")
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        client.post("/v1/models/credit:predict", json={"records": rows[:1]})  # warm up

        def ask(row: dict) -> list[float]:
            answer = client.post("/v1/models/credit:predict", json={"records": [row]})
            p = answer.json()["predictions"][0]["probabilities"]
            return [p["bad"], p["good"]]

        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(ask, rows))
    np.testing.assert_allclose(got, draft.expected[:64], rtol=1e-7)
    stats = app.state.served.service.batching_stats()["credit:1"]
    assert stats["requests"] == 65


@pytest.mark.parametrize("rows", [[{"income": 1.0}], [{"income": 1.0, "debt": 0.2}, {"x": 1}]])
def test_records_with_missing_fields_still_get_named_errors(sqlite_settings, make_draft, rows):
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    with BackgroundServer(create_app(registry)) as server:
        answer = httpx.post(f"{server.url}/v1/models/credit:predict", json={"records": rows})
    assert answer.status_code == 422 and "lacks the field" in answer.json()["message"]
