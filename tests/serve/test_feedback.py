"""The feedback log: no lost record under concurrency, atomic files, retries, labels join."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from atlas.core.errors import InvalidInputError
from atlas.registry import ModelRegistry
from atlas.serve import BackgroundServer, app_from_settings, feedback_store
from atlas.serve.feedback import (
    FeedbackLog,
    FeedbackWriteError,
    PredictionBatch,
    PredictionRecord,
    feedback_url,
)
from atlas.serve.monitoring import Monitor


def _rec(rid: str, model: str = "credit", p: float = 0.7, **extra) -> PredictionRecord:
    return PredictionRecord(
        request_id=rid,
        model=model,
        version=1,
        inputs={"income": 1000.0, "region": "north"},
        output={"label": "good" if p >= 0.5 else "bad", "probabilities": {"bad": 1 - p, "good": p}},
        latency_ms=2.0,
        **extra,
    )


def _files(folder: Path) -> tuple[list[Path], list[Path]]:
    return sorted(folder.rglob("part-*.parquet")), sorted(folder.rglob("*.tmp"))


def test_no_record_lost_under_concurrent_writers(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path, batch_size=500, flush_interval=0.05, max_pending=3000)

    def writer(t: int) -> None:
        for i in range(2000):
            log.record(_rec(f"t{t}-{i}"))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    rows = log.joined("credit")
    assert len(rows) == 16_000 and rows["request_id"].is_unique
    assert log.stats() == {
        "pending": 0,
        "written": 16_000,
        "dropped": 0,
        "write_errors": 0,
        "last_error": None,
        "unreadable_files": 0,
    }
    parts, tmps = _files(tmp_path)
    assert parts and not tmps
    assert all("model=credit" in str(p) and "date=" in str(p) for p in parts)
    with pytest.raises(RuntimeError):
        log.record(_rec("late"))


def _fail_once_halfway(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> list[int]:
    """pq.write_table writes half of the file, then the disk 'fills up' (``times`` times)."""
    real = pq.write_table
    calls = [0]

    def broken(table, where, **kwargs):
        calls[0] += 1
        if calls[0] > times:
            return real(table, where, **kwargs)
        real(table, where, **kwargs)
        where.truncate(where.tell() // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(feedback_store.pq, "write_table", broken)
    return calls


def test_a_failed_write_leaves_no_file_and_keeps_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = FeedbackLog(tmp_path, batch_size=10**6, flush_interval=60)
    _fail_once_halfway(monkeypatch, times=2)
    log.record_many(_rec(f"r{i}") for i in range(100))
    with pytest.raises(FeedbackWriteError, match="No space left"):
        log.flush()
    assert _files(tmp_path) == ([], [])  # neither a half Parquet file nor a temporary one
    assert log.pending == 100 and log.stats()["write_errors"] == 1
    with pytest.raises(FeedbackWriteError):
        log.close()  # still failing: close raises and keeps the records
    assert log.pending == 100
    log.flush()  # storage is back
    assert log.pending == 0 and sorted(log.joined("credit")["request_id"]) == sorted(
        f"r{i}" for i in range(100)
    )


def test_the_writer_thread_retries_on_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fail_once_halfway(monkeypatch)
    log = FeedbackLog(tmp_path, batch_size=10, flush_interval=0.02, retry_s=0.02)
    log.record_many(_rec(f"r{i}") for i in range(50))
    deadline = time.monotonic() + 10
    while log.written < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.written == 50 and log.write_errors == 1 and calls[0] >= 2
    log.close()
    assert len(log.joined("credit")) == 50 and _files(tmp_path)[1] == []


def test_a_full_queue_writes_in_the_callers_thread(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path, batch_size=10**6, flush_interval=60, max_pending=50, block_s=0.01)
    for i in range(200):
        log.record(_rec(f"r{i}"))
        assert log.pending <= 50
    assert log.written >= 150  # back-pressure wrote them; nothing was dropped
    log.close()
    assert len(log.joined("credit")) == 200


def test_labels_join_by_request_id_and_the_newest_label_wins(tmp_path: Path) -> None:
    with FeedbackLog(tmp_path) as log:
        log.record_many(_rec(f"r{i}") for i in range(10))
        log.record(_rec("other", model="fraud"))
    report = log.add_labels("credit", [(f"r{i}", "good") for i in range(5)] + [("other", "bad")])
    assert (report.accepted, report.refused, report.matched) == (5, 1, 5)
    assert log.add_labels("credit", [("r0", "bad")]).replaced == 1
    rows = log.joined("credit").set_index("request_id")
    assert rows.loc["r0", "truth"] == "bad" and rows.loc["r1", "truth"] == "good"
    assert rows.loc[[f"r{i}" for i in range(5, 10)], "truth"].isna().all()
    assert len(rows) == 10 and log.models() == ["credit", "fraud"]
    assert len(log.joined("credit", version=2)) == 0
    assert len(log.joined("nobody")) == 0


def test_a_batch_gives_each_row_its_own_id(tmp_path: Path) -> None:
    with FeedbackLog(tmp_path) as log:
        log.record(
            PredictionBatch(
                request_id="req",
                model="credit",
                version=3,
                inputs={
                    "income": [1.0, 2.0, None],
                    "region": np.array(["a", "b", "c"]),
                    "n": np.array([1, 2, 3]),
                    "ok": np.array([True, False, True]),
                },
                raw=np.array([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]]),
                latency_ms=4.0,
                labels=np.array(["good", "bad", "good"]),
                classes=["bad", "good"],
                role="canary",
                flags={"fallback": True},
            )
        )
        log.record(
            PredictionBatch("one", "price", 1, {"area": [50.0]}, np.array([123.5]), latency_ms=1.0)
        )
    rows = log.joined("credit")
    assert rows["request_id"].tolist() == ["req:0", "req:1", "req:2"]
    assert rows["score"].tolist() == [0.8, 0.1, 0.5]
    assert rows["confidence"].tolist() == [0.8, 0.9, 0.5]
    assert rows["label"].tolist() == ["good", "bad", "good"]
    assert rows.loc[2, "inputs"] == '{"income": null, "region": "c", "n": 3, "ok": true}'
    assert set(rows["role"]) == {"canary"} and set(rows["flags"]) == {'{"fallback": true}'}
    price = log.joined("price")
    assert price["request_id"].tolist() == ["one"] and price["prediction"].tolist() == [123.5]


def test_bad_names_are_refused_and_a_bad_record_never_blocks_the_log(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path)
    with pytest.raises(InvalidInputError):
        log.record(_rec("x", model="../escape"))
    broken = _rec("broken")
    broken.output = {"label": "good", "probabilities": {"good": "not a number"}}
    log.record_many([_rec("a"), broken, _rec("b")])
    log.close()
    rows = log.joined("credit").set_index("request_id")
    assert sorted(rows.index) == ["a", "b", "broken"]
    assert "log_error" in rows.loc["broken", "flags"]


def test_server_logs_every_prediction_and_monitor_exports(sqlite_settings, make_draft, tmp_path):
    """End to end: served predictions reach the log (none lost), labels join, /metrics shows
    the live AUC."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from atlas.registry import ModelRegistry
    from atlas.serve import BackgroundServer, create_app
    from atlas.serve.feedback import FeedbackLog
    from atlas.serve.monitoring import Monitor

    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    log = FeedbackLog(tmp_path / "feedback", flush_interval=0.1)
    monitor = Monitor(log, reference={"credit": draft.frame})
    app = create_app(registry, feedback=log, monitor=monitor)
    rows = draft.frame.head(40).to_dict(orient="records")
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as client:
        ids = []
        for i, row in enumerate(rows):
            answer = client.post(
                "/v1/models/credit:predict", json={"records": [row], "request_id": f"r{i}"}
            )
            ids.append(answer.json()["request_id"])
        log.flush()
        log.add_labels("credit", [(f"r{i}", "good" if i % 2 else "bad") for i in range(40)])
        text = client.get("/metrics").text
    joined = log.joined("credit")
    assert sorted(joined["request_id"]) == sorted(ids) and joined["truth"].notna().all()
    # every answer is logged as what it was: a label and its class probabilities, the latency
    assert not joined["flags"].str.contains("log_error").any(), joined["flags"].iloc[0]
    assert set(joined["label"]) <= {"good", "bad"} and joined["score"].between(0, 1).all()
    assert (joined["latency_ms"] > 0).all()
    samples = {
        (s.name, s.labels.get("model"), s.labels.get("version")): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    (version,) = monitor.metrics("credit")
    assert version["count"] == version["labelled"] == 40
    assert 0 <= version["auc"] <= 1 and 0 <= version["accuracy"] <= 1
    assert version["latency_p50_ms"] is not None
    assert any(
        name.startswith("atlas_monitor_auc") and 0 <= value <= 1
        for (name, *_), value in samples.items()
    )


@pytest.fixture(params=["file", "memory"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A log location as a URL: a file:// folder, or fsspec's in-memory filesystem."""
    if request.param == "file":
        yield f"file://{tmp_path / 'shared' / 'feedback'}"
        return
    url = f"memory://feedback-{uuid.uuid4().hex}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    fs.rm(root, recursive=True)


def test_replicas_write_one_log_at_a_url(log_url: str) -> None:
    """Two replicas' logs at one URL: a reader (the monitor, ``atlas monitor``) sees both."""
    replicas = [FeedbackLog(log_url, batch_size=10**6, flush_interval=60) for _ in range(2)]
    for i, log in enumerate(replicas):
        log.record_many([_rec(f"r{i}-{j}", model="credit" if j else "fraud") for j in range(3)])
        log.close()
    reader = FeedbackLog(log_url)
    assert reader.models() == ["credit", "fraud"]
    assert reader.add_labels("credit", [("r0-1", "good"), ("r1-2", "bad")]).accepted == 2
    joined = reader.joined("credit")
    assert sorted(joined["request_id"]) == ["r0-1", "r0-2", "r1-1", "r1-2"]
    truth = dict(zip(joined["request_id"], joined["truth"], strict=True))
    assert truth["r0-1"] == "good" and truth["r1-2"] == "bad" and pd.isna(truth["r0-2"])
    fs, root = fsspec.core.url_to_fs(log_url)
    assert fs.glob(f"{root}/**/.*.tmp") == []  # every file was moved into place
    monitor = Monitor(reader, window=None)
    (version,) = monitor.metrics("credit")
    assert (version["count"], version["labelled"], version["accuracy"]) == (4, 2, 0.5)


def test_the_served_app_logs_under_the_artifact_store(make_settings, make_draft) -> None:
    """app_from_settings (atlas serve, every Ray replica): the log is ``feedback`` in the
    artifact store, and /metrics carries the live monitor."""
    url = f"memory://atlas-{uuid.uuid4().hex}"
    settings = make_settings(artifacts_url=url)
    ModelRegistry.from_settings(settings).register("credit", make_draft())
    assert feedback_url(settings) == f"memory:///{url.removeprefix('memory://')}/feedback"
    body = {"records": [{"income": 1.0, "debt": 0.5, "region": "north"}], "request_id": "one"}
    with (
        BackgroundServer(app_from_settings(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        assert client.post("/v1/models/credit:predict", json=body).status_code == 200
        metrics = client.get("/metrics").text
    assert "atlas_feedback_written" in metrics  # the monitor's collector is registered
    logged = FeedbackLog.from_settings(settings).joined("credit")  # closed at shutdown: written
    assert list(logged["request_id"]) == ["one"]


def test_a_log_at_the_old_place_is_moved_under_the_artifact_store(sqlite_settings) -> None:
    """0.1.0 kept the log in $ATLAS_HOME/feedback: nothing of it is lost on upgrade."""
    legacy = Path(sqlite_settings.home) / "feedback"
    with FeedbackLog(legacy) as old:
        old.record_many([_rec("a"), _rec("b", model="fraud")])
    assert old.add_labels("credit", [("a", "good")]).accepted == 1
    moved = len(_files(legacy)[0])
    reader = FeedbackLog(feedback_url(sqlite_settings))
    assert reader.models() == ["credit", "fraud"]
    assert reader.joined("credit")["truth"].tolist() == ["good"]
    assert _files(legacy)[0] == [] and moved == 3
    assert FeedbackLog(feedback_url(sqlite_settings)).models() == ["credit", "fraud"]  # once
