"""The standard v2 clients against the real server (uvicorn on a loopback port): Triton's own
Python HTTP client (``tritonclient[http]``), with JSON and binary tensors in and out, answers
what ``/v1`` answers on the same rows; a client that follows a model's metadata (a model whose
fields the server looks up included) is answered, not refused.

KServe's ``InferenceRESTClient`` (package ``kserve``) cannot be installed beside this project:
kserve 0.21 pins ``pandas<3``, ``protobuf<7`` and ``psutil<6``. Its requests are sent here as it
builds them (read from its ``inference_client.py`` and ``protocol/infer_type.py``): httpx, a
``model_name`` and a uuid ``id`` in the body, ``content-type: application/json``, or
``application/octet-stream`` with ``Inference-Header-Content-Length`` for binary inputs; its
answer is parsed as its ``InferResponse.from_bytes`` does. A stand-in for the client, named so.
"""

from __future__ import annotations

import json
import uuid

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from fastapi import FastAPI
from tritonclient.utils import InferenceServerException

from atlas.data.features import Entity, FeatureStore, FeatureView
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, PredictionEvent, ServerConfig, create_app

ROWS = 6
HEADER = "Inference-Header-Content-Length"


@pytest.fixture
def server(sqlite_settings, make_draft):
    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft(seed=0)
    registry.register("credit", draft)
    events: list[PredictionEvent] = []
    app = create_app(registry, ServerConfig(), hooks=[events.append])
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        yield srv, client, draft, events


def _rows(draft, n: int = ROWS) -> pd.DataFrame:
    return draft.frame.head(n)


def _v1(client: httpx.Client, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    records = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    answer = client.post("/v1/models/credit:predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    proba = np.array([[p["probabilities"]["bad"], p["probabilities"]["good"]] for p in predictions])
    return proba, [str(p["label"]) for p in predictions]


def _triton_inputs(frame: pd.DataFrame, binary: bool) -> list[triton.InferInput]:
    n = len(frame)
    income = frame["income"].to_numpy(np.float64)  # NaN: a missing value
    debt = frame["debt"].to_numpy(np.float64).reshape(n, 1)
    region = np.array([r.encode() for r in frame["region"]], dtype=np.object_)
    inputs = [
        triton.InferInput("income", [n], "FP64"),
        triton.InferInput("debt", [n, 1], "FP64"),
        triton.InferInput("region", [n], "BYTES"),
    ]
    for tensor, values in zip(inputs, (income, debt, region), strict=True):
        tensor.set_data_from_numpy(values, binary_data=binary)
    return inputs


@pytest.mark.parametrize("binary_in", [False, True], ids=["json-in", "binary-in"])
@pytest.mark.parametrize("binary_out", [False, True, None], ids=["json-out", "binary-out", "all"])
def test_triton_client_answers_as_v1(server, binary_in, binary_out) -> None:
    srv, client, draft, events = server
    frame = _rows(draft)
    expected, labels = _v1(client, frame)
    outputs = (
        None  # the client then asks binary_data_output: every output in binary
        if binary_out is None
        else [
            triton.InferRequestedOutput("label", binary_data=binary_out),
            triton.InferRequestedOutput("probabilities", binary_data=binary_out),
        ]
    )
    with triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc:
        result = tc.infer(
            "credit", _triton_inputs(frame, binary_in), outputs=outputs, request_id="t1"
        )
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected, rtol=1e-12)
    assert [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("label")] == labels
    assert result.get_response()["id"] == "t1" and events[-1].request_id == "t1"


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_triton_client_compressed_requests(server, compression) -> None:
    srv, client, draft, _ = server
    frame = _rows(draft)
    with triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc:
        inputs = _triton_inputs(frame, True)
        result = tc.infer("credit", inputs, request_compression_algorithm=compression)
    np.testing.assert_allclose(result.as_numpy("probabilities"), _v1(client, frame)[0])


def test_triton_client_asks_for_one_output_and_reads_metadata(server) -> None:
    srv, client, draft, _ = server
    frame = _rows(draft, 3)
    with triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc:
        assert tc.is_server_live() and tc.is_server_ready()
        assert tc.get_server_metadata()["extensions"] == ["binary_tensor_data"]
        meta = tc.get_model_metadata("credit")
        assert [i["name"] for i in meta["inputs"]] == ["income", "debt", "region"]
        only = [triton.InferRequestedOutput("probabilities")]
        result = tc.infer("credit", _triton_inputs(frame, True), outputs=only)
        assert result.as_numpy("label") is None
        index = tc.get_model_repository_index()
    np.testing.assert_allclose(result.as_numpy("probabilities"), _v1(client, frame)[0])
    assert [(m["name"], m["version"], m["state"]) for m in index] == [("credit", "1", "READY")]


def test_triton_client_shows_what_to_fix(server) -> None:
    """The protocol's error body is {"error": message}: the client shows the server's line."""
    srv, _, draft, events = server
    inputs = _triton_inputs(_rows(draft, 2), binary=True)
    inputs[2] = triton.InferInput("region", [2], "FP64")  # a category sent as a number
    inputs[2].set_data_from_numpy(np.array([1.0, 2.0]))
    with (
        triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc,
        pytest.raises(InferenceServerException) as caught,
    ):
        tc.infer("credit", inputs)
    assert caught.value.status() == "400"
    assert "Input 'region' is categorical: send it as BYTES" in caught.value.message()
    assert events == []


# -- KServe's InferenceRESTClient, its requests as it builds them -----------------------------


def _kserve_answer(response: httpx.Response) -> dict[str, np.ndarray]:
    """The outputs, parsed as kserve's ``InferResponse.from_bytes`` parses the body."""
    assert response.status_code == 200, response.text
    length = int(response.headers.get(HEADER, len(response.content)))
    head = json.loads(response.content[:length])
    assert head["model_name"] == "credit"
    found, start = {}, length
    for output in head["outputs"]:
        size = (output.get("parameters") or {}).get("binary_data_size")
        if size is None:
            values = np.array(output["data"])
        elif output["datatype"] == "BYTES":
            values = np.array(_split_bytes(response.content[start : start + size]))
        else:
            values = np.frombuffer(response.content[start : start + size], dtype="<f8")
        start += size or 0
        found[output["name"]] = values.reshape(output["shape"])
    return found


def _split_bytes(chunk: bytes) -> list[str]:
    values = []
    while chunk:
        size = int.from_bytes(chunk[:4], "little")
        values.append(chunk[4 : 4 + size].decode())
        chunk = chunk[4 + size :]
    return values


def _bytes_tensor(values: list[str]) -> bytes:
    return b"".join(len(v.encode()).to_bytes(4, "little") + v.encode() for v in values)


def test_kserve_rest_client_requests(server) -> None:
    _, client, draft, _ = server
    frame = _rows(draft)
    expected, labels = _v1(client, frame)
    income_data = [None if v != v else v for v in frame["income"]]  # orjson: NaN is null
    inputs = [
        {"name": "income", "shape": [ROWS], "datatype": "FP64", "data": income_data},
        {"name": "debt", "shape": [ROWS], "datatype": "FP64", "data": frame["debt"].tolist()},
        {"name": "region", "shape": [ROWS], "datatype": "BYTES", "data": frame["region"].tolist()},
    ]
    request = {"id": str(uuid.uuid4()), "model_name": "credit", "inputs": inputs}
    body = json.dumps(request).encode()
    sent = client.post(
        "/v2/models/credit/infer", content=body, headers={"content-type": "application/json"}
    )
    answer = _kserve_answer(sent)
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-12)
    assert answer["label"].tolist() == labels
    assert sent.json()["id"] == request["id"]
    # binary inputs (InferInput.set_data_from_numpy(binary_data=True)), binary outputs asked
    income = frame["income"].to_numpy("<f8").tobytes()
    region = _bytes_tensor(frame["region"].tolist())
    inputs[0] = {**inputs[0], "parameters": {"binary_data_size": len(income)}}
    inputs[2] = {**inputs[2], "parameters": {"binary_data_size": len(region)}}
    del inputs[0]["data"], inputs[2]["data"]
    outputs = [{"name": n, "parameters": {"binary_data": True}} for n in ("label", "probabilities")]
    head = json.dumps({**request, "inputs": inputs, "outputs": outputs}).encode()
    binary = client.post(
        "/v2/models/credit/infer",
        content=head + income + region,
        headers={HEADER: str(len(head)), "content-type": "application/octet-stream"},
    )
    answer = _kserve_answer(binary)
    np.testing.assert_allclose(answer["probabilities"], expected, rtol=1e-12)
    assert answer["label"].tolist() == labels


# -- a client that follows the metadata of a model whose fields the server looks up ----------


def _bureau() -> FastAPI:
    app = FastAPI()

    @app.get("/debt/{customer_id}")
    def debt(customer_id: int) -> dict[str, float]:
        return {"debt": 0.1 * customer_id}

    return app


@pytest.fixture
def enriched(sqlite_settings, make_draft):
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    customer = Entity("customer", join_key="customer_id")
    store = FeatureStore(sqlite_settings)
    store.apply([customer, FeatureView("profile", customer, {"income": "float64"}, ttl=None)])
    stamp = pd.Timestamp("2026-01-01", tz="UTC")
    store.ingest(
        "profile",
        pd.DataFrame(
            {"customer_id": [1, 2], "income": [2e4, 4.5e4], "event_timestamp": [stamp] * 2}
        ),
    )
    store.materialize()
    with BackgroundServer(_bureau()) as bureau:
        connector = {
            "name": "bureau",
            "key": "customer_id",
            "url": f"{bureau.url}/debt/{{customer_id}}",
            "fields": {"debt": "float"},
            "timeout_ms": 1000,
        }
        serving = {"credit": {"entity_key": "customer_id", "features": ["profile:income"]}}
        serving["credit"]["connectors"] = [connector]
        app = create_app(registry, ServerConfig(models=serving), feature_store=store)
        with BackgroundServer(app) as srv:
            yield srv, registry
    store.online.close()


def test_a_client_following_the_metadata_of_an_enriched_model(enriched) -> None:
    srv, registry = enriched
    with triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc:
        meta = tc.get_model_metadata("credit")
        assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [
            ("customer_id", "BYTES"),
            ("region", "BYTES"),
        ]
        optional = meta["parameters"]["optional_inputs"]
        assert [(i["name"], i["datatype"]) for i in optional] == [
            ("income", "FP64"),
            ("debt", "FP64"),
        ]
        values = {"customer_id": [b"1", b"2"], "region": [b"north", b"south"]}
        inputs = []
        for spec in meta["inputs"]:  # exactly what the metadata asks for, nothing else
            tensor = triton.InferInput(spec["name"], [2], spec["datatype"])
            tensor.set_data_from_numpy(np.array(values[spec["name"]], dtype=np.object_))
            inputs.append(tensor)
        result = tc.infer("credit", inputs)
        with pytest.raises(InferenceServerException) as caught:
            tc.infer("credit", inputs[1:])  # without the entity key
    expected = registry.load("credit").predict_proba(
        [
            {"income": 2e4, "debt": 0.1, "region": "north"},
            {"income": 4.5e4, "debt": 0.2, "region": "south"},
        ]
    )
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected, rtol=1e-7)
    assert caught.value.status() == "400" and "['customer_id']" in caught.value.message()


def test_triton_client_readiness_loads_a_registered_model(server) -> None:
    """A model not yet in memory is loaded by its ready probe (it would answer), so a client
    that waits for readiness is told the truth; an unknown model is not ready."""
    srv, client, _, _ = server
    with triton.InferenceServerClient(f"127.0.0.1:{srv.port}") as tc:
        before = tc.get_model_repository_index()
        assert [(m["name"], m["state"]) for m in before] == [("credit", "UNAVAILABLE")]
        assert tc.is_model_ready("credit")
        after = tc.get_model_repository_index()
        assert not tc.is_model_ready("nosuch")
    assert [(m["name"], m["state"]) for m in after] == [("credit", "READY")]
    assert client.get("/v2/models/credit/ready").json() == {"name": "credit", "ready": True}
    assert client.get("/v2/models/nosuch/ready").status_code == 404
