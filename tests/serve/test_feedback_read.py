"""No stored record takes a reader down: unreadable part files, rows without their keys,
values of the wrong type and JSON that does not parse are skipped, counted and logged once;
the readers (joined, the monitor's summary, bad cases, Prometheus) answer around them."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atlas.serve.feedback import FeedbackLog, PredictionRecord
from atlas.serve.feedback_store import PREDICTIONS_SCHEMA
from atlas.serve.monitoring import Monitor

GOOD = 20


def _rec(rid: str, p: float = 0.7) -> PredictionRecord:
    return PredictionRecord(
        rid,
        "credit",
        1,
        {"income": 100.0, "region": "north"},
        {"label": "good" if p >= 0.5 else "bad", "probabilities": {"bad": 1 - p, "good": p}},
        latency_ms=2.0,
    )


def _day_folder(root: Path) -> Path:
    (folder,) = (root / "predictions" / "model=credit").glob("date=*")
    return folder


def _stored_rows(folder: Path, name: str, rows: list[dict]) -> None:
    """A part file as another writer (an old release, a broken tool) could have left it."""
    full = [{f.name: None for f in PREDICTIONS_SCHEMA} | r for r in rows]
    pq.write_table(pa.Table.from_pylist(full, PREDICTIONS_SCHEMA), folder / name)


@pytest.fixture
def damaged(tmp_path: Path) -> FeedbackLog:
    """20 good predictions, half labelled; beside them every kind of damage."""
    with FeedbackLog(tmp_path) as log:
        log.record_many(_rec(f"r{i}", 0.2 + 0.03 * i) for i in range(GOOD))
    log.add_labels("credit", [(f"r{i}", "good" if i % 3 else "bad") for i in range(10)])
    folder = _day_folder(tmp_path)
    (folder / "part-garbage.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    good = next(folder.glob("part-*.parquet")).read_bytes()
    (folder / "part-truncated.parquet").write_bytes(good[: len(good) // 2])
    wrong_types = pa.table({"request_id": ["t1"], "version": [[1, 2]], "timestamp": ["x"]})
    pq.write_table(wrong_types, folder / "part-wrongtypes.parquet")
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    base = {"model": "credit", "version": 1, "timestamp": now, "latency_ms": 1.0, "flags": "{}"}
    _stored_rows(
        folder,
        "part-rows.parquet",
        [
            base | {"request_id": None, "inputs": "{}"},  # no request id: skipped
            base | {"request_id": "notjson", "inputs": "{not json", "label": "good"},
            base | {"request_id": "list", "inputs": "[1, 2]", "label": "good"},
            # 0.1.x escaped a lone surrogate: it parses back to one, and is made valid
            base | {"request_id": "legacy", "inputs": '{"region": "\\ud800"}', "label": "good"},
            base | {"request_id": "badprobs", "inputs": "{}", "probabilities": "{oops"},
        ],
    )
    return log


def test_joined_skips_unreadable_files_and_rows_without_keys(
    damaged: FeedbackLog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="atlas.serve.feedback_read"):
        first = damaged.joined("credit")
        again = damaged.joined("credit")
    assert len(first) == len(again) == GOOD + 4
    assert set(first["request_id"]) >= {"notjson", "list", "legacy", "badprobs"}
    assert damaged.stats()["unreadable_files"] == 2  # garbage, truncated
    unreadable = [r for r in caplog.records if "feedback_file_unreadable" in str(r.msg)]
    assert len(unreadable) == 2  # each file logged once, however often it is read
    # the row without a request id, and the one whose version and time are not of their type
    assert damaged.issues.stats()["skipped_rows"] == {"credit": 2}
    assert first.set_index("request_id").loc["r1", "truth"] == "good"


def test_the_monitor_answers_around_damaged_records(damaged: FeedbackLog) -> None:
    reference = pd.DataFrame({"income": [90.0, 100.0, 110.0] * 10, "region": ["north"] * 30})
    monitor = Monitor(damaged, {"credit": reference}, min_drift_rows=5)
    summary = monitor.summary("credit")
    (version,) = summary["versions"]
    assert version["count"] == GOOD + 4 and version["labelled"] == 10
    assert 0 <= version["auc"] <= 1
    # the two rows without their keys, and the two whose inputs are not a JSON object
    assert summary["skipped_rows"] == 2 + 2
    assert {d["feature"] for d in summary["drift"]} == {"income", "region"}
    cases = monitor.bad_cases("credit", "drifted")
    assert cases.set_index("request_id").loc["legacy", "inputs"] == {"region": "\ufffd"}
    assert set(monitor.bad_cases("credit", "low_confidence")["request_id"]) <= {
        f"r{i}" for i in range(GOOD)
    }
    families = {f.name: f for f in text_string_to_metric_families(monitor.prometheus())}
    assert families["atlas_feedback_unreadable_files"].samples[0].value == 2
    assert families["atlas_monitor_skipped_rows"].samples[0].value == 4
    assert families["atlas_monitor_summary_errors"].samples[0].value == 0


def test_a_model_whose_summary_fails_is_left_out_and_counted(
    damaged: FeedbackLog, caplog: pytest.LogCaptureFixture
) -> None:
    """A reference loader (a plugin, say) that returns something unusable breaks only its
    model's figures: the scrape answers with the log's counters and the other models."""
    with FeedbackLog(damaged.url) as log:
        log.record(PredictionRecord("p1", "price", 1, {"a": 1}, {"prediction": 2.0}, 1.0))
    monitor = Monitor(damaged, reference_loader=lambda m: "not a frame" if m == "credit" else None)
    with caplog.at_level(logging.ERROR, logger="atlas.serve.monitoring"):
        text = monitor.prometheus()
        monitor.prometheus()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    models = {s.labels["model"] for s in families["atlas_monitor_predictions"].samples}
    assert models == {"price"}
    assert families["atlas_feedback_written"].samples[0].value == GOOD
    assert monitor.summary_errors == 2
    assert len([r for r in caplog.records if "monitor_summary_failed" in str(r.msg)]) == 1


def test_a_folder_that_is_not_a_model_name_is_not_a_model(tmp_path: Path) -> None:
    with FeedbackLog(tmp_path) as log:
        log.record(_rec("a"))
    (tmp_path / "predictions" / "model=bad name\n").mkdir()
    assert log.models() == ["credit"]
    assert "atlas_monitor_predictions" in Monitor(log).prometheus()
