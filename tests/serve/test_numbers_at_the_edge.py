"""Numbers from outside, over real HTTP and through the server config loader: a version past
int64 in a path or a body, nan/inf/negative/huge numbers in a rollout plan or a config field,
each answered with a 422 (or a config error) that names the field, never a 500."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from atlas.core.errors import InvalidInputError
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, ServerConfig, create_app, load_server_config

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECORD = {"records": [{"income": 1.0, "debt": 0.3, "region": "north"}]}
V2_BODY = {
    "inputs": [
        {"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]},
        {"name": "debt", "shape": [1], "datatype": "FP64", "data": [0.3]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
    ]
}
# the class of bad version numbers, as path segments
BAD_VERSIONS = ["0", str(2**63), str(2**64), "1" * 400, "9" * 5000]
# the class of bad numbers, as JSON values (nan/inf as the literals Python's json writes)
BAD_NUMBERS = [math.nan, math.inf, -math.inf, 0, -5, 2**63, 2**64, "1e309", "x", None, [1]]


@pytest.fixture
def client(settings, make_draft):
    registry = ModelRegistry.from_settings(settings)
    registry.register("credit", make_draft())
    registry.register("credit", make_draft(seed=1))
    app = create_app(registry, ServerConfig(admin_token=TOKEN))
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        yield http


def _refused(response: httpx.Response, fragment: str) -> None:
    """A 4xx naming the problem (v1 answers 422, the Open Inference Protocol's v2 400)."""
    assert response.status_code in (400, 422), (response.status_code, response.text)
    assert fragment in response.text, response.text


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_version_out_of_range_in_a_path_is_a_422(client, version: str) -> None:
    for path in (
        f"/v1/models/credit/versions/{version}:predict",
        f"/v2/models/credit/versions/{version}/infer",
    ):
        body = RECORD if path.startswith("/v1") else V2_BODY
        _refused(client.post(path, json=body), "out of range")
    _refused(client.get(f"/v2/models/credit/versions/{version}"), "out of range")
    _refused(client.get("/v1/models/credit", params={"version": version}), "out of range")
    ok = client.post("/v1/models/credit/versions/2:predict", json=RECORD)
    assert ok.status_code == 200 and ok.json()["version"] == 2  # the server is fine after


@pytest.mark.parametrize("version", [0, -1, 2**63, 2**64, 1.5, "x", True])
def test_a_version_out_of_range_in_a_body_is_a_422(client, version: object) -> None:
    for path, body in (
        ("/v1/admin/models/credit/promote", {"version": version}),
        ("/v1/admin/models/credit/deploy", {"version": str(version)}),
        ("/v1/admin/models/credit/rollout", {"canary_version": version, "canary_share": 0.1}),
    ):
        method = client.put if path.endswith("rollout") else client.post
        response = method(path, json=body, headers=AUTH)
        if path.endswith("deploy") and (isinstance(version, bool) or not isinstance(version, int)):
            assert response.status_code == 404  # "1.5", "x", "None", "True": aliases, not there
            continue
        assert response.status_code == 422, (path, body, response.text)
        assert "version" in response.text.lower()
    assert (
        client.post("/v1/admin/models/credit/promote", json={"version": 2}, headers=AUTH).json()[
            "to_version"
        ]
        == 2
    )


@pytest.mark.parametrize("field", ["canary_share", "max_error_rate", "max_p99_ms", "window"])
def test_rollout_numbers_are_finite_and_bounded(client, field: str) -> None:
    for value in BAD_NUMBERS:
        content = f'{{"canary_version": 2, "{field}": {_json(value)}}}'
        response = client.put(
            "/v1/admin/models/credit/rollout",
            content=content,
            headers={**AUTH, "Content-Type": "application/json"},
        )
        if value == 0 and field in ("canary_share", "max_error_rate"):
            assert response.status_code == 200  # 0 is in range for a share
            continue
        assert response.status_code == 422, (field, value, response.text)
        assert field in response.text


def _json(value: object) -> str:
    """The JSON text a client may send: NaN and Infinity literals, a number past float."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == "1e309":
        return "1e309"
    import json

    return json.dumps(value)


SERVER_FIELDS = ["max_body_bytes", "max_records", "max_in_flight", "idle_seconds", "alias_ttl"]


@pytest.mark.parametrize("field", [*SERVER_FIELDS, "memory_cap"])
def test_server_config_numbers_are_checked_by_the_loader(tmp_path: Path, field: str) -> None:
    path = tmp_path / "serving.yaml"
    values = [".nan", ".inf", "-.inf", "-5", str(2**64), "1e309", "x", "[1]"]
    if field not in ("alias_ttl", "idle_seconds"):  # 0: ask the registry / unload at once
        values.append("0")  # 0 in-flight requests would answer every request with a 503
    for value in values:
        path.write_text(f"{field}: {value}\n")
        with pytest.raises(InvalidInputError, match=f"serving.yaml: {field}: ") as info:
            load_server_config(path, {})
        assert "got" in info.value.message
    path.write_text(f"{field}: 3\n")
    assert getattr(load_server_config(path, {}), field) == 3
