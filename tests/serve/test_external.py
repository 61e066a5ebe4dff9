"""External data connectors against a real HTTP service: a fake credit bureau under uvicorn on
a loopback port, called through httpx. Each test runs its own event loop (``asyncio.run``).
Cache expiry and breaker cool-downs run on a fake clock; the one real timeout (a bureau that
answers too late) is asserted by its outcome, a fallback, never by elapsed time."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from fastapi import FastAPI, Request, Response

from atlas.core.errors import InvalidInputError
from atlas.serve.external import (
    CircuitBreaker,
    Connector,
    ConnectorConfig,
    ConnectorSet,
    Guarded,
    HTTPConnector,
    TTLCache,
    connector_types,
    parse_connectors,
)
from atlas.serve.runner import BackgroundServer
from atlas.testing.plugins import install_fake_distribution

FIELDS: dict[str, Any] = {"bureau_score": "float", "bureau_defaults": "int"}
FALLBACK = {"bureau_score": 600.0, "bureau_defaults": 0}
ANSWER = {"bureau_score": 712.5, "bureau_defaults": 1, "ignored": "x"}
TTL_S, COOLDOWN_S = 300.0, 10.0


class Clock:
    """A fake monotonic clock: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Bureau:
    """The fake bureau's state: calls per (endpoint, customer) and whether /flaky is down."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.down = False
        self.url = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/{kind}/{cid}")
        async def score(kind: str, cid: str, request: Request) -> Any:
            self.calls[kind, cid] += 1
            if kind == "slow":
                await asyncio.sleep(0.6)
            if kind == "delay":
                await asyncio.sleep(0.2)
            if kind == "error" or (kind == "flaky" and self.down):
                return Response(status_code=500 if kind == "error" else 503)
            if kind == "missing":
                return Response(status_code=404)
            if kind == "malformed":
                return Response(b'{"bureau_score": 7', media_type="application/json")
            if kind == "wrongtype":
                return {"bureau_score": "high", "bureau_defaults": 1}
            if kind == "nested":
                return {"data": {"result": ANSWER}}
            if kind == "auth" and request.headers.get("authorization") != "Bearer s3cret":
                return Response(status_code=401)
            return ANSWER

        @app.post("/lookup")
        async def lookup(body: dict[str, Any]) -> Any:
            self.calls["lookup", str(body.get("customer_id"))] += 1
            return ANSWER

        return app


@pytest.fixture(scope="module")
def bureau() -> Iterator[Bureau]:
    state = Bureau()
    with BackgroundServer(state.app()) as server:
        state.url = server.url
        yield state


@pytest.fixture
def fresh(bureau: Bureau) -> Bureau:
    bureau.calls.clear()
    bureau.down = False
    return bureau


def guard(bureau: Bureau, kind: str, **options: Any) -> Guarded:
    connector = HTTPConnector(
        "bureau", f"{bureau.url}/{kind}/{{customer_id}}", FIELDS, key_name="customer_id"
    )
    options.setdefault("fallback", FALLBACK)
    return Guarded(connector, key="customer_id", **options)


def config(bureau: Bureau, kind: str = "score", **extra: Any) -> dict[str, Any]:
    return {
        "name": "bureau",
        "type": "http",
        "url": f"{bureau.url}/{kind}/{{customer_id}}",
        "key": "customer_id",
        "fields": FIELDS,
        "timeout_ms": 1000,
        "fallback": FALLBACK,
        **extra,
    }


def test_live_values_then_cache_then_expiry(fresh: Bureau) -> None:
    clock = Clock()

    async def main() -> None:
        cached = guard(fresh, "score", timeout_s=1.0, cache_ttl_s=TTL_S, clock=clock)
        async with ConnectorSet([cached]) as connectors:
            values, outcomes = await connectors.fetch_all({"customer_id": "c1", "x": 1})
            assert values == {"bureau_score": 712.5, "bureau_defaults": 1}
            first = outcomes["bureau"].to_dict()
            assert first["source"] == "live" and first["error"] is None
            clock.advance(TTL_S - 1)
            _, again = await connectors.fetch_all({"customer_id": "c1"})
            assert again["bureau"].source == "cache" and again["bureau"].values == values
            assert fresh.calls["score", "c1"] == 1
            clock.advance(1)  # TTL_S after the live answer: expired
            _, later = await connectors.fetch_all({"customer_id": "c1"})
            assert later["bureau"].source == "live" and fresh.calls["score", "c1"] == 2
            stats = connectors.stats()["bureau"]
            assert (stats["calls"], stats["live"], stats["cache"], stats["upstream_calls"]) == (
                3,
                2,
                1,
                2,
            )
            latency = stats["upstream_latency_ms"]
            assert latency["count"] == 2 and latency["buckets"]["+Inf"] == 2
            assert connectors.fields == FIELDS and connectors.keys == {"customer_id"}

    asyncio.run(main())


def test_latencies_are_measured_on_the_clock() -> None:
    clock = Clock()

    class Slow(Connector):  # "takes" 30 ms of the fake clock
        name = "slow"
        fields = {"risk": "float"}  # noqa: RUF012

        async def fetch(self, key: str, request: Any) -> dict[str, Any]:
            clock.advance(0.03)
            return {"risk": 0.1}

    async def main() -> None:
        slow = Guarded(Slow(), key="customer_id", clock=clock)
        outcome = await slow.get({"customer_id": "c9"})
        assert outcome.source == "live" and outcome.latency_ms == pytest.approx(30.0)
        buckets = slow.stats()["upstream_latency_ms"]["buckets"]
        assert (buckets["25"], buckets["50"]) == (0, 1)

    asyncio.run(main())


def test_a_bureau_that_answers_too_late_falls_back(fresh: Bureau) -> None:
    """A real timeout (the bureau sleeps past it): asserted by the outcome, not by time."""

    async def main() -> None:
        slow = guard(fresh, "slow", timeout_s=0.1)
        outcome = await slow.get({"customer_id": "c2"})
        assert outcome.source == "fallback" and outcome.is_fallback
        assert outcome.values == FALLBACK
        assert outcome.error == "bureau timed out after 100 ms"
        assert slow.stats()["timeouts"] == 1 and slow.stats()["failures"] == 1
        await slow.aclose()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("kind", "message", "trips"),
    [
        ("error", "bureau answered HTTP 500", True),
        ("malformed", "bureau answered a body that is not JSON", True),
        ("wrongtype", "bureau: field 'bureau_score' expected float, got str", True),
        ("missing", "bureau answered HTTP 404", False),
    ],
)
def test_bad_answers_fall_back(fresh: Bureau, kind: str, message: str, trips: bool) -> None:
    async def main() -> None:
        bad = guard(fresh, kind, fallback=None, breaker=CircuitBreaker("bureau", failures=1))
        outcome = await bad.get({"customer_id": "c3"})
        assert outcome.source == "fallback" and outcome.error == message
        assert outcome.values == {"bureau_score": None, "bureau_defaults": None}  # "missing"
        assert bad.breaker.state == ("open" if trips else "closed")
        await bad.aclose()

    asyncio.run(main())


def test_breaker_opens_short_circuits_and_recovers(fresh: Bureau) -> None:
    clock = Clock()
    breaker = CircuitBreaker("bureau", failures=3, cooldown_s=COOLDOWN_S, clock=clock)

    async def main() -> None:
        flaky = guard(fresh, "flaky", breaker=breaker, clock=clock)
        fresh.down = True
        for i in range(3):
            assert (await flaky.get({"customer_id": f"k{i}"})).error == "bureau answered HTTP 503"
        assert flaky.breaker.state == "open" and sum(fresh.calls.values()) == 3
        clock.advance(COOLDOWN_S - 0.1)
        for i in range(5):
            outcome = await flaky.get({"customer_id": f"k{i}"})
            assert outcome.source == "fallback" and "circuit open" in (outcome.error or "")
        assert sum(fresh.calls.values()) == 3  # the bureau was not touched
        fresh.down = False
        clock.advance(0.1)  # the cool-down is over
        # Half-open: one trial goes out; calls that arrive meanwhile still fall back.
        trial, *others = await asyncio.gather(
            *(flaky.get({"customer_id": f"t{i}"}) for i in range(3))
        )
        assert trial.source == "live" and all(o.source == "fallback" for o in others)
        assert flaky.breaker.state == "closed" and sum(fresh.calls.values()) == 4
        assert (await flaky.get({"customer_id": "after"})).source == "live"
        stats = flaky.stats()
        assert stats["short_circuited"] == 7 and stats["breaker_opened"] == 1
        await flaky.aclose()

    asyncio.run(main())


def test_concurrent_calls_for_one_key_share_one_upstream_call(fresh: Bureau) -> None:
    async def main() -> None:
        delayed = guard(fresh, "delay", timeout_s=3.0)
        same = await asyncio.gather(*(delayed.get({"customer_id": "hot"}) for _ in range(20)))
        assert all(o.source == "live" and o.values["bureau_score"] == 712.5 for o in same)
        assert fresh.calls["delay", "hot"] == 1
        assert delayed.stats()["joined"] == 19 and delayed.stats()["in_flight"] == 0
        await asyncio.gather(*(delayed.get({"customer_id": f"d{i}"}) for i in range(3)))
        assert sum(fresh.calls.values()) == 4
        await delayed.aclose()

    asyncio.run(main())


class Crashing(Connector):
    name = "crashing"
    fields = {"risk": "float"}  # noqa: RUF012

    async def fetch(self, key: str, request: Any) -> dict[str, Any]:
        raise RuntimeError("boom")


class Flag(Connector):
    name = "buggy"
    fields = {"flag": "bool"}  # noqa: RUF012

    async def fetch(self, key: str, request: Any) -> dict[str, Any]:
        return {"flag": True}


class Buggy(Guarded):
    async def get(self, request: Any) -> Any:  # a bug in the wrapper itself
        raise KeyError("bug")


def test_connector_set_isolates_failures_and_missing_keys(fresh: Bureau) -> None:
    async def main() -> None:
        connectors = ConnectorSet.from_config([config(fresh)])
        connectors.guards.append(Guarded(Crashing(), key="customer_id", fallback={"risk": 0.5}))
        connectors.guards.append(Buggy(Flag(), key="customer_id", fallback={"flag": False}))
        values, outcomes = await connectors.fetch_all({"customer_id": 7})
        assert values == {"bureau_score": 712.5, "bureau_defaults": 1, "risk": 0.5, "flag": False}
        assert outcomes["crashing"].error == "crashing failed: RuntimeError: boom"
        assert outcomes["buggy"].error == "buggy crashed: KeyError('bug')"
        assert list(outcomes) == ["bureau", "crashing", "buggy"]
        assert fresh.calls["score", "7"] == 1
        values, outcomes = await connectors.fetch_all({"other": 1})
        assert values == {**FALLBACK, "risk": 0.5, "flag": False}
        assert outcomes["bureau"].error == "the request has no 'customer_id'"
        assert connectors.stats()["bureau"]["no_key"] == 1 and sum(fresh.calls.values()) == 1
        await connectors.aclose()

    asyncio.run(main())


def test_post_json_path_quoting_and_secret_headers(
    fresh: Bureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUREAU_TOKEN", "s3cret")
    post = {**config(fresh), "name": "post", "method": "POST", "url": f"{fresh.url}/lookup"}
    nested = {**config(fresh, "nested"), "name": "nested", "json_path": "data.result"}
    nested.update(fields={"ignored": "str"}, fallback="missing")
    auth = {**config(fresh, "auth"), "headers": {"Authorization": "Bearer ${BUREAU_TOKEN}"}}
    auth["url"] = f"{fresh.url}/auth/{{customer_id}}"

    async def main() -> None:
        async with ConnectorSet.from_config([post, nested]) as connectors:
            values, outcomes = await connectors.fetch_all({"customer_id": "a b"})
            assert values == {"bureau_score": 712.5, "bureau_defaults": 1, "ignored": "x"}
            assert {o.source for o in outcomes.values()} == {"live"}
        assert fresh.calls["lookup", "a b"] == 1 and fresh.calls["nested", "a b"] == 1
        async with ConnectorSet.from_config([auth]) as authed:
            _, outcomes = await authed.fetch_all({"customer_id": "z"})
            assert outcomes["bureau"].source == "live"  # else HTTP 401

    asyncio.run(main())


def test_yaml_example_builds(tmp_path: Any) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(
        """
connectors:
  - name: bureau
    type: http
    url: "http://127.0.0.1:9100/score/{customer_id}"
    key: customer_id
    fields: {bureau_score: float, bureau_defaults: int}
    timeout_ms: 50
    cache_ttl_s: 300
    cache_size: 100000
    breaker: {failures: 5, cooldown_s: 10}
    fallback: {bureau_score: 600, bureau_defaults: 0}
"""
    )
    connectors = ConnectorSet.from_yaml(path)
    (only,) = connectors.guards
    assert only.timeout_s == 0.05 and only.cache.maxsize == 100_000
    assert only.fallback == {"bureau_score": 600.0, "bureau_defaults": 0}
    assert isinstance(only.fallback["bureau_score"], float)
    asyncio.run(connectors.aclose())
    path.write_text("connectors: [name: x")
    with pytest.raises(InvalidInputError, match="is not valid YAML"):
        ConnectorSet.from_yaml(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fields": {"bureau_score": "decimal"}}, "connectors.0 (bureau).fields.bureau_score"),
        ({"fallback": {"bureau_score": "high"}}, "fallback for 'bureau_score': expected float"),
        ({"fallback": {"nope": 1}}, "fallback names ['nope'], which are not in fields"),
        ({"url": "ftp://x/{customer_id}"}, "must start with http:// or https://"),
        ({"url": "http://x/{customer_id}/{other}"}, "may only use the placeholder {customer_id}"),
        ({"url": "http://x/score"}, "has no {customer_id} placeholder"),
        ({"timeout_ms": 0}, "connectors.0 (bureau).timeout_ms"),
        ({"breaker": {"failures": 0}}, "breaker.failures"),
        ({"retries": 3}, "connectors.0 (bureau).retries: Extra inputs are not permitted"),
        ({"type": "grpc"}, "connectors.0 (bureau).type"),
        ({"name": "bad name"}, "connectors.0 (bad name).name"),
    ],
)
def test_config_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    spec = {**config(Bureau()), "url": "http://x/{customer_id}", **change}
    with pytest.raises(InvalidInputError) as caught:
        parse_connectors({"connectors": [spec]})
    assert message in caught.value.message
    assert caught.value.hint and "external-data.md" in caught.value.hint


def test_config_errors_across_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {**config(Bureau()), "url": "http://x/{customer_id}"}
    with pytest.raises(InvalidInputError, match="two connectors are named 'bureau'"):
        parse_connectors([spec, spec])
    with pytest.raises(InvalidInputError, match="field 'bureau_score' comes from both"):
        parse_connectors([spec, {**spec, "name": "other"}])
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    secret = {**spec, "headers": {"X-Key": "${NO_SUCH_TOKEN}"}}
    with pytest.raises(InvalidInputError, match="environment variable NO_SUCH_TOKEN"):
        ConnectorSet.from_config([secret])
    assert ConnectorSet.from_config(None).guards == []


def test_ttl_cache_is_a_bounded_lru() -> None:
    now = [0.0]
    cache = TTLCache(2, ttl=10, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and len(cache) == 2
    now[0] = 10.0
    assert cache.get("a") is None and cache.get("c") is None and len(cache) == 0
    off = TTLCache(100, ttl=0)
    off.put("a", 1)
    assert off.get("a") is None


def test_breaker_by_failure_rate_and_failed_trial() -> None:
    now = [0.0]
    breaker = CircuitBreaker("b", failures=100, cooldown_s=5, failure_rate=0.5, window=4)
    breaker.clock = lambda: now[0]
    for failed in (True, False, True):
        breaker.failure() if failed else breaker.success()
    assert breaker.state == "closed"  # the window is not full yet
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 5.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # one trial at a time
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.opened == 2


class Static(Connector):
    """A connector type from outside ATLAS: fixed values for every key."""

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        self.name = name
        self.fields = {k: "float" for k in values}
        self.values = values

    async def fetch(self, key: str, request: Any) -> dict[str, Any]:
        return dict(self.values)


class StaticConfig(ConnectorConfig):
    type: Literal["static"] = "static"
    values: dict[str, float]

    def connector(self, client: Any) -> Connector:
        return Static(self.name, self.values)


@pytest.fixture
def outside_types(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed distribution (a real .dist-info on sys.path) registering three connector
    types: one that works, one whose module is missing, one that is no ConnectorConfig."""
    points = {
        "static": "tests.serve.test_external:StaticConfig",
        "broken": "acme_no_such_module:Config",
        "notaconfig": "tests.serve.test_external:Static",
    }
    install_fake_distribution(tmp_path, "acme-connectors", {"atlas.connectors": points})
    monkeypatch.syspath_prepend(str(tmp_path))
    connector_types.refresh()
    yield
    connector_types.refresh()


def test_a_connector_type_from_an_entry_point(outside_types: None, fresh: Bureau) -> None:
    static = {"name": "rates", "type": "static", "key": "customer_id"}
    static |= {"fields": {"rate": "float"}, "values": {"rate": 0.07}}

    async def main() -> None:
        async with ConnectorSet.from_config([config(fresh), static]) as connectors:
            values, outcomes = await connectors.fetch_all({"customer_id": "c1"})
            assert values == {"bureau_score": 712.5, "bureau_defaults": 1, "rate": 0.07}
            assert {o.source for o in outcomes.values()} == {"live"}

    asyncio.run(main())


@pytest.mark.parametrize(
    ("kind", "fragments"),
    [
        ("broken", ["type 'broken' failed to load", "ModuleNotFoundError"]),
        ("notaconfig", ["type 'notaconfig' failed to load", "not a subclass of"]),
        ("grpc", ["unknown connector type 'grpc'; known types: http, static."]),
    ],
)
def test_unknown_or_broken_types_are_named_and_the_others_work(
    outside_types: None, kind: str, fragments: list[str]
) -> None:
    spec = {**config(Bureau()), "url": "http://x/{customer_id}", "type": kind}
    with pytest.raises(InvalidInputError) as caught:
        parse_connectors([spec])
    assert "connectors.0 (bureau).type" in caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.message
    http = {**config(Bureau()), "url": "http://x/{customer_id}"}
    assert [c.name for c in parse_connectors([http]).connectors] == ["bureau"]
    assert connector_types.load("static") is StaticConfig
    if kind != "grpc":
        assert kind in {f.name for f in connector_types.failures()}
