"""The Open Inference Protocol (v2) edge over real HTTP: metadata, datatypes, shapes, outputs,
content types and the binary tensor extension, against a uvicorn server on a loopback port.

Every way a tensor can lie is a 400 naming the tensor, and nothing is predicted or logged for
it (the server's prediction hook sees no event)."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import httpx
import numpy as np
import pytest

from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, PredictionEvent, ServerConfig, create_app
from atlas.serve.tensor_data import DATATYPES

INFER = "/v2/models/credit/infer"
HEADER = "Inference-Header-Content-Length"
ERROR_KEYS = {"error", "type", "message", "hint"}


@pytest.fixture
def server(sqlite_settings, make_draft):
    registry = ModelRegistry.from_settings(sqlite_settings)
    drafts = [make_draft(seed=s) for s in (0, 1)]
    for d in drafts:
        registry.register("credit", d)
    registry.promote("credit", 1)
    events: list[PredictionEvent] = []
    app = create_app(registry, ServerConfig(), hooks=[events.append])
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client, drafts, events


def _tensors(draft, n: int = 4) -> list[dict]:
    frame = draft.frame.head(n)
    income = [None if v != v else float(v) for v in frame["income"]]
    return [
        {"name": "income", "shape": [n], "datatype": "FP64", "data": income},
        {"name": "debt", "shape": [n, 1], "datatype": "FP64", "data": frame["debt"].tolist()},
        {"name": "region", "shape": [n], "datatype": "BYTES", "data": frame["region"].tolist()},
    ]


def _one_row(income: object = 1000.0, datatype: str = "FP64") -> list[dict]:
    return [
        {"name": "income", "shape": [1], "datatype": datatype, "data": [income]},
        {"name": "debt", "shape": [1], "datatype": "FP64", "data": [0.5]},
        {"name": "region", "shape": [1], "datatype": "BYTES", "data": ["north"]},
    ]


def _refused(answer: httpx.Response, *fragments: str) -> dict:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == ERROR_KEYS and body["hint"], body
    for fragment in fragments:
        assert fragment in body["error"], (fragment, body)
    return body


def _probabilities(answer: httpx.Response) -> np.ndarray:
    out = {o["name"]: o for o in answer.json()["outputs"]}
    proba = out["probabilities"]
    return np.array(proba["data"]).reshape(proba["shape"])


def test_v2_metadata_and_infer(server) -> None:
    client, drafts, events = server
    assert client.get("/v2").json()["extensions"] == ["binary_tensor_data"]
    meta = client.get("/v2/models/credit").json()
    assert meta["versions"] == ["1", "2"]
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [
        ("income", "FP64"),
        ("debt", "FP64"),
        ("region", "BYTES"),
    ]
    assert [o["name"] for o in meta["outputs"]] == ["label", "probabilities"]
    body = {"id": "req-1", "inputs": _tensors(drafts[0])}
    answer = client.post(INFER, json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert (data["model_name"], data["model_version"], data["id"]) == ("credit", "1", "req-1")
    np.testing.assert_allclose(_probabilities(answer), drafts[0].expected[:4], rtol=1e-7)
    v2 = client.post("/v2/models/credit/versions/2/infer", json=body).json()
    assert v2["model_version"] == "2"
    assert events[-1].request_id == "req-1" and events[-1].version == 2


# (what the tensor says, its datatype, a bad element, fragments of the message)
BAD_ELEMENTS = [
    ("a string declared FP64", "FP64", "12", ["'income' is FP64", "element 0 is '12'"]),
    ("a boolean declared FP64", "FP64", True, ["'income' is FP64", "(bool)"]),
    ("a fraction declared INT32", "INT32", 12.5, ["'income' is INT32", "whole number"]),
    ("a whole float declared INT64", "INT64", 3.0, ["'income' is INT64", "3.0"]),
    ("1 declared BOOL", "BOOL", 1, ["'income' is BOOL", "true or false"]),
    ("a string declared BOOL", "BOOL", "true", ["'income' is BOOL"]),
    ("128 declared INT8", "INT8", 128, ["'income' is INT8", "from -128 to 127"]),
    ("-129 declared INT8", "INT8", -129, ["from -128 to 127"]),
    ("32768 declared INT16", "INT16", 2**15, ["'income' is INT16", "to 32767"]),
    ("2**31 declared INT32", "INT32", 2**31, ["to 2147483647"]),
    ("2**63 declared INT64", "INT64", 2**63, ["to 9223372036854775807"]),
    ("-1 declared UINT8", "UINT8", -1, ["'income' is UINT8", "from 0 to 255"]),
    ("256 declared UINT8", "UINT8", 256, ["from 0 to 255"]),
    ("65536 declared UINT16", "UINT16", 2**16, ["to 65535"]),
    ("2**32 declared UINT32", "UINT32", 2**32, ["to 4294967295"]),
    ("2**64 declared UINT64", "UINT64", 2**64, ["to 18446744073709551615"]),
    ("FP16 overflow", "FP16", 70000.0, ["'income' is FP16", "from -65504 to 65504"]),
    ("FP32 overflow", "FP32", 3.5e38, ["'income' is FP32"]),
    ("FP64 overflow (an integer)", "FP64", 10**400, ["'income' is FP64", "finite"]),
    ("a number declared BYTES", "BYTES", 3, ["'income' is BYTES", "a string"]),
    ("a list as an element", "FP64", [1.0], ["'income'"]),
    ("an object as an element", "FP64", {"v": 1}, ["'income' is FP64"]),
]


def test_every_datatype_refuses_what_it_cannot_hold(server) -> None:
    client, _, events = server
    assert {case[1] for case in BAD_ELEMENTS} == set(DATATYPES)  # every datatype is sent
    for what, datatype, value, fragments in BAD_ELEMENTS:
        answer = client.post(INFER, json={"inputs": _one_row(value, datatype)})
        assert answer.status_code == 400, (what, answer.text)
        _refused(answer, *fragments)
    assert events == []  # nothing refused was predicted or logged


def test_a_bad_element_among_many_is_found_and_named(server) -> None:
    """Long tensors are checked in one pass; the refusal still names the element."""
    client, _, events = server
    n = 40
    for datatype, bad, fragment in [
        ("FP32", 3.5e38, "element 37 is 3.5e+38"),
        ("FP16", -70000.0, "element 37 is -70000.0"),
        ("FP64", 10**400, "element 37 is 1000"),
        ("INT8", -200, "element 37 is -200"),
    ]:
        income = [1.0 if datatype.startswith("FP") else 1] * n
        income[37] = bad
        tensors = [
            {"name": "income", "shape": [n], "datatype": datatype, "data": income},
            {"name": "debt", "shape": [n], "datatype": "FP64", "data": [0.5] * n},
            {"name": "region", "shape": [n], "datatype": "BYTES", "data": ["north"] * n},
        ]
        _refused(client.post(INFER, json={"inputs": tensors}), f"is {datatype}", fragment)
        tensors[0]["data"][37] = None  # missing: taken
        assert client.post(INFER, json={"inputs": tensors}).status_code == 200
    assert len(events) == 4


def test_non_finite_json_numbers_are_refused(server) -> None:
    """Infinity (Python's json writes it; JSON has none) and 1e400 (past FP64) are refused;
    NaN and null are missing values."""
    client, _, events = server
    for token in (b"Infinity", b"-Infinity", b"1e400"):
        body = json.dumps({"inputs": _one_row(0.0)}).replace("0.0", token.decode(), 1)
        _refused(client.post(INFER, content=body.encode()), "'income' is FP64", "finite")
    assert events == []
    for missing in (b"NaN", b"null"):
        body = json.dumps({"inputs": _one_row(0.0)}).replace("0.0", missing.decode(), 1)
        assert client.post(INFER, content=body.encode()).status_code == 200


def test_every_numeric_datatype_takes_its_values(server) -> None:
    """Each numeric datatype carries a number the model takes: the answer is the FP64 one."""
    client, _, _ = server
    expected = _probabilities(client.post(INFER, json={"inputs": _one_row(100.0)}))
    for datatype in ("FP16", "FP32", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT64"):
        answer = client.post(INFER, json={"inputs": _one_row(100, datatype)})
        assert answer.status_code == 200, (datatype, answer.text)
        np.testing.assert_allclose(_probabilities(answer), expected, rtol=1e-12)
    boolean = client.post(INFER, json={"inputs": _one_row(True, "BOOL")})
    assert boolean.status_code == 200, boolean.text


@pytest.mark.parametrize(
    ("shape", "data", "fragments"),
    [
        ([-1], [1.0], ["'income' has the shape [-1]", "non-negative integers"]),
        ([1.0], [1.0], ["'income' has the shape [1.0]"]),
        ("1", [1.0], ["'income' has the shape '1'"]),
        ([True], [1.0], ["'income' has the shape [True]"]),
        ([2], [1.0], ["shape [2] (2 elements) but its data holds 1"]),
        ([10**12], [1.0], ["(1000000000000 elements) but its data holds 1"]),
        ([10**30, 0], [], ["'income' has shape [10000000000000000000000000000"]),
        ([1, 2], [1.0, 2.0], ["'income' has shape [1, 2]; use [n] or [n, 1]"]),
        ([1, 1, 1], [1.0], ["use [n] or [n, 1]"]),
        ([2, 1], [[1.0], 2.0], ["nested data mixes arrays and elements"]),
        ([2, 1], [[1.0, 2.0]], ["nested data does not have the shape [2, 1]"]),
        ([1], 5, ["data must be a JSON array"]),
        ([1], None, ["'income' has no data"]),
    ],
)
def test_shapes_and_data_that_lie_are_refused(server, shape, data, fragments) -> None:
    client, _, events = server
    tensors = _one_row()
    tensors[0].update(shape=shape, data=data)  # the first input: refused before the others
    _refused(client.post(INFER, json={"inputs": tensors}), *fragments)
    assert events == []


def test_nested_data_is_the_flat_data(server) -> None:
    client, drafts, _ = server
    flat = _tensors(drafts[0], 3)
    nested = _tensors(drafts[0], 3)
    nested[1]["data"] = [[v] for v in nested[1]["data"]]
    a, b = client.post(INFER, json={"inputs": flat}), client.post(INFER, json={"inputs": nested})
    assert a.status_code == b.status_code == 200, b.text
    assert a.json()["outputs"] == b.json()["outputs"]


def test_tensors_that_contradict_the_model_are_refused(server) -> None:
    client, drafts, events = server
    cases = [
        (lambda t: t.pop(0), ["lack the tensor(s) ['income']"]),
        (lambda t: t.append(dict(t[0])), ["Input 'income' is sent twice"]),
        (lambda t: t[0].update(datatype="BYTES", data=["1", "2", "3", "4"]), ["is numeric"]),
        (lambda t: t[2].update(datatype="FP64", data=[1.0] * 4), ["'region' is categorical"]),
        (lambda t: t[0].update(datatype="COMPLEX"), ["'COMPLEX', which is not a v2 datatype"]),
        (lambda t: t[1].update(shape=[3], data=[0.1] * 3), ["'debt' has 3 rows, others have 4"]),
    ]
    for change, fragments in cases:
        tensors = _tensors(drafts[0])
        change(tensors)
        _refused(client.post(INFER, json={"inputs": tensors}), *fragments)
    zero = [dict(t, shape=[0], data=[]) for t in _tensors(drafts[0])]
    _refused(client.post(INFER, json={"inputs": zero}), "no rows")
    assert events == []


def test_outputs_are_honoured(server) -> None:
    client, drafts, events = server
    tensors = _tensors(drafts[0], 2)
    only = client.post(INFER, json={"inputs": tensors, "outputs": [{"name": "probabilities"}]})
    assert [o["name"] for o in only.json()["outputs"]] == ["probabilities"]
    both = [{"name": "probabilities"}, {"name": "label"}]
    ordered = client.post(INFER, json={"inputs": tensors, "outputs": both})
    assert [o["name"] for o in ordered.json()["outputs"]] == ["probabilities", "label"]
    seen = len(events)
    unknown = client.post(INFER, json={"inputs": tensors, "outputs": [{"name": "score"}]})
    _refused(unknown, "Output 'score' is not one of the model's outputs", "['label'")
    twice = client.post(INFER, json={"inputs": tensors, "outputs": [{"name": "label"}] * 2})
    _refused(twice, "Output 'label' is asked for twice")
    flag = [{"name": "label", "parameters": {"binary_data": "yes"}}]
    _refused(client.post(INFER, json={"inputs": tensors, "outputs": flag}), "binary_data")
    assert len(events) == seen  # a refused output request predicts nothing


def test_the_request_names_its_model(server) -> None:
    client, drafts, _ = server
    tensors = _tensors(drafts[0], 1)
    same = client.post(INFER, json={"model_name": "credit", "inputs": tensors})
    assert same.status_code == 200, same.text
    other = client.post(INFER, json={"model_name": "fraud", "inputs": tensors})
    _refused(other, "names the model 'fraud'")
    extra = client.post(INFER, json={"inputs": tensors, "priority": 1})
    _refused(extra, "priority", "Extra inputs are not permitted")


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "text/plain", "application/octet-stream"]
)
def test_a_json_body_is_read_whatever_its_content_type(server, content_type) -> None:
    client, drafts, _ = server
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"inputs": _tensors(drafts[0], 2)}).encode()
    request = client.build_request("POST", INFER, content=body, headers=headers)
    assert request.headers.get("Content-Type") == content_type  # None: as Triton's client
    answer = client.send(request)
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose(_probabilities(answer), drafts[0].expected[:2], rtol=1e-7)
    _refused(client.post(INFER, content=b"not json", headers=headers), "Not a v2 inference")


def test_compressed_bodies(server) -> None:
    """gzip and deflate bodies are read; a bad, truncated or unknown encoding is a 400, and a
    body that inflates past max_body_bytes a 413, as an oversize body is."""
    client, drafts, events = server
    body = json.dumps({"inputs": _tensors(drafts[0], 2)}).encode()
    plain = client.post(INFER, content=body)
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        answer = client.post(INFER, content=packed, headers={"Content-Encoding": encoding})
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"] == plain.json()["outputs"]
        cut = client.post(INFER, content=packed[:-9], headers={"Content-Encoding": encoding})
        _refused(cut, f"{encoding} data ends early")
    seen = len(events)
    _refused(
        client.post(INFER, content=body, headers={"Content-Encoding": "gzip"}), "not valid gzip"
    )
    _refused(client.post(INFER, content=body, headers={"Content-Encoding": "br"}), "'br'")
    bomb = gzip.compress(b" " * (ServerConfig().max_body_bytes + 1))
    inflated = client.post(INFER, content=bomb, headers={"Content-Encoding": "gzip"})
    assert inflated.status_code == 413 and "inflates past" in inflated.json()["error"]
    assert len(events) == seen


# -- the binary tensor extension, byte by byte ------------------------------------------------


def _bytes_elements(values: list[str]) -> bytes:
    return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)


def _binary(
    n: int, income: bytes, region: bytes, debt: list[float], outputs: list[dict] | None = None
) -> tuple[dict, bytes]:
    """A request with income (FP64) and region (BYTES) in binary, debt in the JSON."""
    header: dict = {
        "inputs": [
            {"name": "income", "shape": [n], "datatype": "FP64"},
            {"name": "debt", "shape": [n], "datatype": "FP64", "data": debt},
            {"name": "region", "shape": [n, 1], "datatype": "BYTES"},
        ]
    }
    header["inputs"][0]["parameters"] = {"binary_data_size": len(income)}
    header["inputs"][2]["parameters"] = {"binary_data_size": len(region)}
    if outputs is not None:
        header["outputs"] = outputs
    return header, income + region


def _binary_request(draft, n: int, outputs: list[dict] | None = None) -> tuple[dict, bytes]:
    frame = draft.frame.head(n)
    income = frame["income"].to_numpy(np.float64).astype("<f8").tobytes()  # NaN: missing
    region = _bytes_elements(frame["region"].tolist())
    return _binary(n, income, region, frame["debt"].tolist(), outputs)


def _post_binary(client: httpx.Client, header: dict, data: bytes, **extra: str) -> httpx.Response:
    head = json.dumps(header).encode()
    headers = {HEADER: str(len(head)), "Content-Type": "application/octet-stream", **extra}
    return client.post(INFER, content=head + data, headers=headers)


def test_binary_inputs_and_outputs(server) -> None:
    client, drafts, _ = server
    n = 5
    outputs = [{"name": "label", "parameters": {"binary_data": True}}, {"name": "probabilities"}]
    header, data = _binary_request(drafts[0], n, outputs)
    answer = _post_binary(client, header, data)
    assert answer.status_code == 200, answer.text
    head_length = int(answer.headers[HEADER])
    assert answer.headers["content-type"] == "application/octet-stream"
    head = json.loads(answer.content[:head_length])
    label, proba = head["outputs"]
    assert label["parameters"]["binary_data_size"] == len(answer.content) - head_length
    np.testing.assert_allclose(
        np.array(proba["data"]).reshape(n, 2), drafts[0].expected[:n], rtol=1e-7
    )
    rest, labels = answer.content[head_length:], []
    while rest:
        (size,) = struct.unpack_from("<I", rest)
        labels.append(rest[4 : 4 + size].decode())
        rest = rest[4 + size :]
    json_labels = client.post(INFER, json={"inputs": _tensors(drafts[0], n)}).json()["outputs"][0]
    assert labels == json_labels["data"]
    # binary_data_output: every output in binary, FP64 little-endian row-major
    header["parameters"] = {"binary_data_output": True}
    header.pop("outputs")
    every = _post_binary(client, header, data)
    head_length = int(every.headers[HEADER])
    label, proba = json.loads(every.content[:head_length])["outputs"]
    start = head_length + label["parameters"]["binary_data_size"]
    got = np.frombuffer(every.content[start:], dtype="<f8").reshape(n, 2)
    np.testing.assert_allclose(got, drafts[0].expected[:n], rtol=1e-7)


def test_binary_bodies_that_lie_are_refused(server) -> None:
    client, drafts, events = server
    header, data = _binary_request(drafts[0], 2)
    head = json.dumps(header).encode()

    def send(body: bytes, length: str) -> httpx.Response:
        return client.post(INFER, content=body, headers={HEADER: length})

    _refused(send(head + data, "x"), "Inference-Header-Content-Length is 'x'")
    _refused(send(head + data, str(len(head) + len(data) + 1)), "for a body of")
    _refused(send(head + data, "0"), "raw binary request")
    _refused(send(head + data + b"\0", str(len(head))), "1 bytes follow the JSON header")
    _refused(send(head + data[:-1], str(len(head))), "'region' declares")
    cases = [
        ("income", {"binary_data_size": 15}, "'income' carries 15 bytes"),
        ("income", {"binary_data_size": -1}, "'income' has binary_data_size -1"),
        ("region", {"binary_data_size": 3}, "exactly 2 BYTES elements"),
        ("debt", {"binary_data_size": 16}, "'debt' has both data and binary_data_size"),
    ]
    for name, parameters, fragment in cases:
        changed = json.loads(head)
        tensor = next(t for t in changed["inputs"] if t["name"] == name)
        tensor["parameters"] = parameters
        _refused(_post_binary(client, changed, data), fragment)
    # a BOOL byte that is neither 0 nor 1, a BYTES element that is not UTF-8, an FP64 infinity
    regions, debt = _bytes_elements(["north", "south"]), [0.1, 0.2]
    bools, bool_data = _binary(2, b"\x01\x07", regions, debt)
    bools["inputs"][0]["datatype"] = "BOOL"
    _refused(_post_binary(client, bools, bool_data), "element 1 is the byte 7")
    not_utf8 = struct.pack("<I", 2) + b"\xff\xfe" + _bytes_elements(["south"])
    two = np.array([1000.0, 2000.0], dtype="<f8").tobytes()
    _refused(_post_binary(client, *_binary(2, two, not_utf8, debt)), "element 0 is not UTF-8")
    infinite = np.array([np.inf, 1.0], dtype="<f8").tobytes()
    _refused(_post_binary(client, *_binary(2, infinite, regions, debt)), "'income' is FP64", "inf")
    assert events == []
