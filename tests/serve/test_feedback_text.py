"""Client text and numbers are made valid before the feedback log stores them: every stored
string is UTF-8, every stored JSON standard, and a record the schema refuses never blocks the
others."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from atlas.serve.feedback import FeedbackLog, PredictionRecord
from atlas.serve.feedback_text import MAX_DEPTH, TOO_DEEP, dumps, plain, valid_text

LONE = "\ud800"  # what json.loads gives for the JSON text "\ud800"
FFFD = "\ufffd"


def _strict(text: str) -> object:
    """Parse as standard JSON: NaN or Infinity tokens are an error."""
    return json.loads(text, parse_constant=lambda token: (_ for _ in ()).throw(ValueError(token)))


def _nested(depth: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(depth):
        node["k"] = {}
        node = node["k"]
    return root


def test_text_is_made_valid_and_valid_text_is_kept() -> None:
    assert valid_text("caf\u00e9 \u4e2d") == "caf\u00e9 \u4e2d"
    assert valid_text(f"a{LONE}b") == f"a{FFFD}b"
    assert valid_text("\udfff") == FFFD
    assert valid_text("\ud83d\ude00") == "\U0001f600"  # a pair of surrogates is its character
    assert plain({LONE: [LONE, float("nan"), float("inf"), -float("inf"), np.float32(0.5)]}) == {
        FFFD: [FFFD, "NaN", "Infinity", "-Infinity", 0.5]
    }
    deep = plain(_nested(MAX_DEPTH + 10))
    for _ in range(MAX_DEPTH):
        deep = deep["k"]
    assert deep == TOO_DEEP
    text = dumps({"n": np.int64(3), "big": 10**30, "x": float("nan")})
    assert _strict(text) == {"n": 3, "big": 10**30, "x": "NaN"}


def test_every_client_string_is_stored_as_valid_utf8(tmp_path: Path) -> None:
    hostile = PredictionRecord(
        request_id=f"id-{LONE}",
        model="credit",
        version=1,
        inputs={
            f"key{LONE}": f"value{LONE}",
            "nan": float("nan"),
            "inf": float("inf"),
            "deep": _nested(200),
            "huge": "x" * 1_000_000,
        },
        output={"label": f"good{LONE}", "probabilities": {"bad": 0.2, f"good{LONE}": 0.8}},
        latency_ms=1.0,
        features={f"f{LONE}": LONE},
        flags={"fallbacks": {"bureau": f"error {LONE}"}},
    )
    plain_record = PredictionRecord("plain", "credit", 1, {"a": 1}, {"prediction": 1.0}, 1.0)
    with FeedbackLog(tmp_path) as log:
        log.record_many([hostile, plain_record])
    assert log.stats()["write_errors"] == 0 and log.written == 2
    (part,) = tmp_path.rglob("part-*.parquet")
    table = pq.read_table(part)  # pyarrow refuses invalid UTF-8: every string is valid
    rows = {r["request_id"]: r for r in table.to_pylist()}
    stored = rows[f"id-{FFFD}"]
    inputs = _strict(stored["inputs"])
    assert inputs[f"key{FFFD}"] == f"value{FFFD}"
    assert (inputs["nan"], inputs["inf"], len(inputs["huge"])) == ("NaN", "Infinity", 1_000_000)
    assert _strict(stored["features"]) == {f"f{FFFD}": FFFD}
    assert stored["label"] == f"good{FFFD}"
    assert _strict(stored["flags"]) == {"fallbacks": {"bureau": f"error {FFFD}"}}
    assert json.dumps(_strict(stored["inputs"])).count(TOO_DEEP) == 1
    assert all(LONE not in str(v) for v in stored.values())


def test_a_record_the_schema_refuses_is_kept_as_a_fallback_row(tmp_path: Path) -> None:
    """A version past int64 cannot be a row: it becomes a log_error row, and the records
    queued with it are written as they are (nothing stays queued for ever)."""
    records = [
        PredictionRecord(f"ok{i}", "credit", 1, {"a": i}, {"prediction": float(i)}, 1.0)
        for i in range(3)
    ]
    records.insert(1, PredictionRecord("huge", "credit", 2**70, {}, {"prediction": 1.0}, 1.0))
    with FeedbackLog(tmp_path) as log:
        log.record_many(records)
    assert log.pending == 0 and log.last_error is None
    assert (log.written, log.dropped, log.write_errors) == (4, 0, 0)
    rows = log.joined("credit").set_index("request_id")
    assert sorted(rows.index) == ["huge", "ok0", "ok1", "ok2"]
    assert rows.loc["huge", "version"] == -1 and "log_error" in rows.loc["huge", "flags"]
    assert rows.loc["ok2", "prediction"] == 2.0 and rows.loc["ok2", "version"] == 1
