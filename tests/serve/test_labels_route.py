"""``POST /v1/models/{name}/labels`` through the real server: token-protected (its own token,
else the admin token, else disabled), each label checked against the logged predictions, the
answer counting what matched, was accepted, replaced or refused; the live monitor then shows
AUC/KS over the labelled answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app
from atlas.serve.feedback import FeedbackLog
from atlas.serve.monitoring import Monitor

LABELS_TOKEN = "labels-secret"
ADMIN_TOKEN = "admin-secret"
N_ROWS = 30
URL = "/v1/models/credit/labels"


def _records(frame: Any) -> list[dict[str, Any]]:
    rows = frame.head(N_ROWS).to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def served(sqlite_settings, make_draft, tmp_path: Path) -> Iterator[tuple[httpx.Client, Monitor]]:
    """A server with labels_token set, N_ROWS answers already served (ids r0..r29)."""
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    log = FeedbackLog(tmp_path / "feedback", flush_interval=0.1)
    monitor = Monitor(log, reference={"credit": draft.frame})
    config = ServerConfig(admin_token=ADMIN_TOKEN, labels_token=LABELS_TOKEN)
    app = create_app(registry, config=config, feedback=log, monitor=monitor)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        for i, row in enumerate(_records(draft.frame)):
            body = {"records": [row], "request_id": f"r{i}"}
            assert client.post("/v1/models/credit:predict", json=body).status_code == 200
        log.flush()  # the answers are in the log's files, where the monitor reads them
        yield client, monitor


def test_labels_are_counted_checked_and_reach_the_monitor(served) -> None:
    client, monitor = served
    labels = [{"request_id": f"r{i}", "label": "good" if i % 3 else "bad"} for i in range(N_ROWS)]
    hostile = [
        {"request_id": "never-served", "label": "good"},
        {"request_id": "r1", "label": "excellent"},  # not a class of the model
    ]
    answer = client.post(URL, json=labels + hostile, headers=_auth(LABELS_TOKEN))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["received"], body["matched"], body["accepted"]) == (N_ROWS + 2, N_ROWS + 1, N_ROWS)
    assert body["refused"] == 2 and body["replaced"] == 0
    assert body["reasons"] == {"unknown_request_id": 1, "unknown_class": 1}
    assert {r["index"] for r in body["refusals"]} == {N_ROWS, N_ROWS + 1}
    # the refused class did not overwrite r1's valid label; a new valid one replaces it
    again = client.post(
        URL, json=[{"request_id": "r1", "label": "bad"}], headers=_auth(LABELS_TOKEN)
    )
    assert again.json()["replaced"] == 1
    (version,) = monitor.metrics("credit")
    assert version["labelled"] == N_ROWS
    assert 0 <= version["auc"] <= 1 and version["ks"] is not None
    metrics = client.get("/metrics").text
    assert 'atlas_monitor_auc{model="credit"' in metrics


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": LABELS_TOKEN}, 401),  # not a bearer token
        (_auth(ADMIN_TOKEN), 401),  # labels_token is set: it alone opens the route
    ],
)
def test_the_route_needs_its_token(served, headers: dict[str, str], status: int) -> None:
    client, monitor = served
    answer = client.post(URL, json=[{"request_id": "r0", "label": "good"}], headers=headers)
    assert answer.status_code == status
    assert answer.json()["type"] and "hint" in answer.json()
    (version,) = monitor.metrics("credit")
    assert version["labelled"] == 0  # nothing written


def test_bad_bodies_are_clear_errors_and_write_nothing(served) -> None:
    client, monitor = served
    for body in ([], [{"request_id": "r0"}], [{"request_id": "", "label": "good"}], {"x": 1}):
        answer = client.post(URL, json=body, headers=_auth(LABELS_TOKEN))
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["message"]
    unknown = client.post(
        "/v1/models/nosuch/labels",
        json=[{"request_id": "r0", "label": 1}],
        headers=_auth(LABELS_TOKEN),
    )
    assert unknown.status_code == 404
    (version,) = monitor.metrics("credit")
    assert version["labelled"] == 0


def test_without_a_token_configured_the_route_is_disabled(sqlite_settings, make_draft, tmp_path):
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    app = create_app(registry, feedback=FeedbackLog(tmp_path / "feedback"))
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        answer = client.post(URL, json=[{"request_id": "r0", "label": "good"}])
        assert answer.status_code == 403
        assert "labels_token" in answer.json()["hint"]
        # the prediction routes stay open (no api_token configured)
        assert client.get("/v1/models/credit").status_code == 200
