"""Adaptive micro-batching: concurrent requests share model calls, answers stay per request,
an idle model is called at once, and a bad request never fails its batch-mates."""

from __future__ import annotations

import threading
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


def test_concurrent_requests_are_batched_and_answers_stay_separate() -> None:
    batcher = Batcher()
    results: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        results[i] = batcher.run(slow_sum, {"x": [i, i + 0.5]}, 2)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(call, range(48)))
    for i in range(48):
        np.testing.assert_array_equal(results[i], [2 * i, 2 * i + 1])
    assert batcher.requests == 48 and batcher.calls < 48 / 2  # most calls served many requests


def test_idle_model_is_called_at_once() -> None:
    batcher = Batcher()
    began = time.perf_counter()
    batcher.run(slow_sum, {"x": [1.0]}, 1)
    assert time.perf_counter() - began < 0.1 and batcher.calls == 1


def test_a_bad_request_does_not_fail_its_batch_mates() -> None:
    batcher = Batcher()
    gate = threading.Event()

    def first() -> None:
        batcher.run(lambda c: (gate.wait(), slow_sum(c))[1], {"x": [0.0]}, 1)

    leader = threading.Thread(target=first)
    leader.start()
    time.sleep(0.05)  # the model is busy: the next requests queue up and are batched
    outcomes: dict[str, object] = {}

    def call(name: str, x: float) -> None:
        try:
            outcomes[name] = batcher.run(slow_sum, {"x": [x]}, 1)
        except InvalidInputError as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=call, args=(n, x))
        for n, x in (("good1", 1.0), ("bad", float("nan")), ("good2", 3.0))
    ]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in (*threads, leader):
        t.join()
    assert isinstance(outcomes["bad"], InvalidInputError)
    np.testing.assert_array_equal(outcomes["good1"], [2.0])
    np.testing.assert_array_equal(outcomes["good2"], [6.0])


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
    stats = app.state.service.batching_stats()["credit:1"]
    assert stats["requests"] == 65


@pytest.mark.parametrize("rows", [[{"income": 1.0}], [{"income": 1.0, "debt": 0.2}, {"x": 1}]])
def test_records_with_missing_fields_still_get_named_errors(sqlite_settings, make_draft, rows):
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    with BackgroundServer(create_app(registry)) as server:
        answer = httpx.post(f"{server.url}/v1/models/credit:predict", json={"records": rows})
    assert answer.status_code == 422 and "lacks the field" in answer.json()["message"]
