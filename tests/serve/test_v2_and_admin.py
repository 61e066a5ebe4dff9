"""/metrics, the management API and rollouts, over real HTTP, on each metadata database
(SQLite and PostgreSQL: the server reads registry and rollout tables). The v2 protocol's own
tests are in test_v2_protocol.py and test_v2_clients.py."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, PredictionEvent, ServerConfig, create_app

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(settings, make_draft):
    registry = ModelRegistry.from_settings(settings)
    drafts = [make_draft(seed=s) for s in (0, 1)]
    for d in drafts:
        registry.register("credit", d)
    registry.promote("credit", 1)
    events: list[PredictionEvent] = []
    app = create_app(registry, ServerConfig(admin_token=TOKEN), hooks=[events.append])
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client, drafts, events, registry


def _tensors(draft, n: int = 4) -> list[dict]:
    frame = draft.frame.head(n)
    income = [None if v != v else float(v) for v in frame["income"]]
    return [
        {"name": "income", "shape": [n], "datatype": "FP64", "data": income},
        {"name": "debt", "shape": [n, 1], "datatype": "FP64", "data": frame["debt"].tolist()},
        {"name": "region", "shape": [n], "datatype": "BYTES", "data": frame["region"].tolist()},
    ]


def test_metrics_are_prometheus_text(server) -> None:
    client, drafts, _, _ = server
    client.post("/v2/models/credit/infer", json={"inputs": _tensors(drafts[0])})
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ok = [
        s
        for s in families["atlas_requests"].samples
        if s.labels.get("status") == "ok" and s.name == "atlas_requests_total"
    ]
    assert ok and ok[0].value >= 1
    assert "atlas_model_load_seconds" in families and "atlas_request_seconds" in families


def test_admin_needs_the_token(server) -> None:
    client, *_ = server
    assert client.get("/v1/admin/models").status_code == 401
    bad = client.get("/v1/admin/models", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert client.get("/v1/admin/models", headers=AUTH).status_code == 200


def test_promote_through_admin_is_immediate_and_preloaded(server) -> None:
    client, _drafts, _, _ = server
    body = {"records": [{"income": 1.0, "debt": 0.3, "region": "north"}]}
    assert client.post("/v1/models/credit:predict", json=body).json()["version"] == 1
    moved = client.post("/v1/admin/models/credit/promote", json={"version": 2}, headers=AUTH)
    assert moved.json()["to_version"] == 2
    assert client.post("/v1/models/credit:predict", json=body).json()["version"] == 2
    back = client.post("/v1/admin/models/credit/rollback", json={}, headers=AUTH).json()
    assert back["to_version"] == 1
    assert client.post("/v1/models/credit:predict", json=body).json()["version"] == 1
    loaded = client.get("/v1/admin/models", headers=AUTH).json()["loaded"]
    assert {(m["model"], m["version"]) for m in loaded} == {("credit", 1), ("credit", 2)}


def test_canary_is_sticky_and_shadow_is_recorded_not_returned(server) -> None:
    client, _, events, _ = server
    plan = {
        "canary_version": 2,
        "canary_share": 0.5,
        "shadow_version": 2,
        "sticky_field": "region",
        "min_requests": 1000,
    }
    assert client.put("/v1/admin/models/credit/rollout", json=plan, headers=AUTH).is_success
    served = {}
    for region in ["north", "south", "east", "west", "x1", "x2", "x3", "x4", "x5", "x6"]:
        versions = {
            client.post(
                "/v1/models/credit:predict",
                json={"records": [{"income": 1.0, "debt": 0.5, "region": region}]},
            ).json()["version"]
            for _ in range(3)
        }
        assert len(versions) == 1  # sticky
        served[region] = versions.pop()
    assert set(served.values()) == {1, 2}  # both sides get traffic
    shadow = [e for e in events if e.role == "shadow"]
    assert shadow and all(e.version == 2 for e in shadow)


def test_canary_rolls_back_automatically_when_too_slow(server) -> None:
    client, _, _, _ = server
    plan = {"canary_version": 2, "canary_share": 1.0, "max_p99_ms": 0.0001, "min_requests": 5}
    client.put("/v1/admin/models/credit/rollout", json=plan, headers=AUTH)
    body = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}
    versions = [
        client.post("/v1/models/credit:predict", json=body).json()["version"] for _ in range(8)
    ]
    assert versions[:5] == [2] * 5 and versions[-1] == 1
    state = client.get("/v1/admin/models/credit/rollout", headers=AUTH).json()
    assert state["plan"]["canary_version"] is None
    assert state["events"][-1]["event"] == "auto_rollback"


def test_an_automatic_rollback_sticks_on_every_replica(settings, make_draft) -> None:
    """Two servers on one database: the one that saw the canary fail rolls it back in the
    stored plan; the other stops sending canary traffic on its next read, and both list the
    event from the database."""
    registry = ModelRegistry.from_settings(settings)
    for seed in (0, 1):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    config = ServerConfig(admin_token=TOKEN, alias_ttl=0)  # every request reads the plan
    body = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}
    app_a = create_app(registry, config)
    with BackgroundServer(app_a) as a, BackgroundServer(create_app(registry, config)) as b:
        plan = {"canary_version": 2, "canary_share": 1.0, "max_p99_ms": 0.0001, "min_requests": 3}
        httpx.put(f"{a.url}/v1/admin/models/credit/rollout", json=plan, headers=AUTH)
        assert httpx.post(f"{b.url}/v1/models/credit:predict", json=body).json()["version"] == 2
        served = [
            httpx.post(f"{a.url}/v1/models/credit:predict", json=body).json()["version"]
            for _ in range(4)
        ]
        assert served == [2, 2, 2, 1]
        app_a.state.served.service.rollouts.drain()  # the stored write has landed
        for _ in range(3):  # and the stored plan never brings the canary back
            for url in (a.url, b.url):
                answer = httpx.post(f"{url}/v1/models/credit:predict", json=body)
                assert answer.json()["version"] == 1
        state = httpx.get(f"{b.url}/v1/admin/models/credit/rollout", headers=AUTH).json()
    assert state["plan"]["canary_version"] is None
    assert [e["event"] for e in state["events"]] == ["plan", "auto_rollback"]
    assert state["events"][-1]["detail"]["canary"] == 2


def test_promote_to_the_current_version_is_a_no_op(server) -> None:
    client, *_ = server
    same = client.post("/v1/admin/models/credit/promote", json={"version": 1}, headers=AUTH)
    assert same.status_code == 200
    assert same.json() == {
        "model": "credit",
        "alias": "production",
        "from_version": 1,
        "to_version": 1,
        "changed": False,
    }
    # history unchanged: there is still nothing to roll back to
    assert client.post("/v1/admin/models/credit/rollback", json={}, headers=AUTH).status_code == 409


def test_rollouts_of_unknown_models_are_404(server) -> None:
    client, *_ = server
    for name in ("nope", "a" * 300, "%00"):
        path = f"/v1/admin/models/{name}/rollout"
        assert client.put(path, json={}, headers=AUTH).status_code == 404
        assert client.get(path, headers=AUTH).status_code == 404


def test_overload_is_503_with_retry_after(sqlite_settings, make_draft) -> None:
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    # a config file cannot say 0 (it would refuse every request): set past the validation
    app = create_app(registry, ServerConfig().model_copy(update={"max_in_flight": 0}))
    with BackgroundServer(app) as srv:
        answer = httpx.post(
            f"{srv.url}/v1/models/credit:predict",
            json={"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]},
        )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


def test_models_load_on_demand_and_unload_when_idle(sqlite_settings, make_draft) -> None:
    registry = ModelRegistry.from_settings(sqlite_settings)
    for name in ("a", "b"):
        registry.register(name, make_draft())
    app = create_app(registry, ServerConfig(idle_seconds=0.0, admin_token=TOKEN))
    manager = app.state.served.models
    assert manager.loaded() == []
    body = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}
    with BackgroundServer(app) as srv:
        httpx.post(f"{srv.url}/v1/models/a:predict", json=body).raise_for_status()
        httpx.post(f"{srv.url}/v1/models/b:predict", json=body).raise_for_status()
    assert [m["model"] for m in manager.loaded()] == ["b"]  # a was idle: unloaded
    assert manager.loads == 2 and manager.unloads == 1
    assert all(c < 5 for c in manager.cold_starts)


def test_rollout_plans_are_shared_by_replicas(settings, make_draft) -> None:
    """Two server processes (replicas) on one metadata database follow the same plan."""
    registry = ModelRegistry.from_settings(settings)
    for seed in (0, 1):
        registry.register("credit", make_draft(seed=seed))
    registry.promote("credit", 1)
    config = ServerConfig(admin_token=TOKEN, alias_ttl=0)
    body = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}]}
    with (
        BackgroundServer(create_app(registry, config)) as a,
        BackgroundServer(create_app(registry, config)) as b,
    ):
        plan = {"canary_version": 2, "canary_share": 1.0}
        assert httpx.put(
            f"{a.url}/v1/admin/models/credit/rollout", json=plan, headers=AUTH
        ).is_success
        assert httpx.post(f"{b.url}/v1/models/credit:predict", json=body).json()["version"] == 2
        httpx.put(f"{b.url}/v1/admin/models/credit/rollout", json={}, headers=AUTH)
        assert httpx.post(f"{a.url}/v1/models/credit:predict", json=body).json()["version"] == 1
