"""The feedback log: every prediction, appended in batches to Parquet; late labels join to it.

The log lives at an fsspec URL: the server and ``atlas monitor`` use :func:`feedback_url`, the
key ``feedback`` of the artifact store (``ATLAS_ARTIFACTS_URL``), so every server replica (Ray
Serve on several nodes included) writes to one place when the store is shared. Layout::

    predictions/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
    labels/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet

Every string a client controls is made valid UTF-8 before it is stored
(:mod:`atlas.serve.feedback_text`); readers skip, count and log what they cannot read
(:mod:`atlas.serve.feedback_read`); labels pass the rules of :mod:`atlas.serve.labels`.

Durability: :meth:`FeedbackLog.record` only appends to an in-memory list; a writer thread
writes a batch when ``batch_size`` records wait or ``flush_interval`` seconds have passed.
Each file is written to a hidden temporary name in its folder, fsynced (local disks), then moved
into place, so readers (which only glob ``part-*.parquet``) never see half a file. A
failed write keeps its records and is retried (logged, with back-off). When more than
``max_pending`` records wait, ``record`` blocks up to ``block_s`` for the writer, then writes
in the caller's thread: serving slows down instead of dropping records. :meth:`flush` and
:meth:`close` write everything synchronously and raise if storage refuses, keeping the records.
A process killed hard (SIGKILL, power loss) loses the records not yet written: at most about
``flush_interval`` seconds of traffic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.errors import AtlasError
from atlas.core.logging import get_logger
from atlas.core.names import check_name, is_name
from atlas.core.redact import redact_url, scrub
from atlas.core.settings import Settings
from atlas.serve import labels as rules
from atlas.serve.feedback_read import Reader, ReadIssues
from atlas.serve.feedback_store import (
    LABELS_SCHEMA,
    FeedbackFiles,
    PredictionBatch,
    PredictionRecord,
    day,
    rows_table,
)
from atlas.serve.labels import LabelReport

__all__ = [
    "FeedbackLog",
    "FeedbackWriteError",
    "LabelReport",
    "PredictionBatch",
    "PredictionRecord",
    "feedback_url",
]

FEEDBACK_KEY = "feedback"
LEGACY_FOLDER = "feedback"  # under ATLAS_HOME, where 0.1.0 kept the log
MAX_RETRY_S = 30.0

Item = PredictionRecord | PredictionBatch

log = get_logger(__name__)


class FeedbackWriteError(AtlasError):
    """The feedback storage refused a write; the records are kept in memory."""

    http_status = 503


def feedback_url(settings: Settings) -> str:
    """Where the server and ``atlas monitor`` keep the log: ``feedback`` in the artifact store.

    Releases up to 0.1.0 kept it in ``$ATLAS_HOME/feedback``; such a log is moved in first."""
    store = open_artifacts(settings.artifacts_url)
    _adopt_legacy_log(Path(settings.home) / LEGACY_FOLDER, store)
    return store.uri(FEEDBACK_KEY)


def _adopt_legacy_log(legacy: Path, store: ArtifactStore) -> None:
    """Move every part file of a log at the old local place under the artifact store's
    ``feedback`` key (a file already there is kept: part names are unique), then drop it."""
    parts = sorted(legacy.rglob("part-*.parquet")) if legacy.is_dir() else []
    for part in parts:
        key = f"{FEEDBACK_KEY}/{part.relative_to(legacy).as_posix()}"
        if not store.exists(key):
            store.write_bytes(key, part.read_bytes())
        part.unlink()
    if parts:
        log.info("feedback.moved", files=len(parts), to=redact_url(store.uri(FEEDBACK_KEY)))


class FeedbackLog:
    """Append-only log of predictions and labels at ``location`` (a folder or an fsspec URL;
    see the module docstring).

    Thread-safe; the writer thread starts on the first :meth:`record`. Call :meth:`close` at
    shutdown (it writes what is left); it is also a context manager.
    """

    def __init__(
        self,
        location: str | PathLike[str],
        *,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        max_pending: int = 100_000,
        block_s: float = 1.0,
        retry_s: float = 0.5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.files = FeedbackFiles(str(location))
        self.issues = ReadIssues()
        self.reader = Reader(self.files, self.issues)
        self.clock = clock
        self.url = self.files.url
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.block_s = block_s
        self.retry_s = retry_s
        self._pending: list[Item] = []
        self._rows = 0  # rows in _pending
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failing = False
        self.written = 0
        self.write_errors = 0
        self.dropped = 0  # records no row could be made of (none expected: see rows_table)
        self.last_error: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> FeedbackLog:
        """The log at :func:`feedback_url` of ``settings``."""
        return cls(feedback_url(settings), **options)

    # -- writing ---------------------------------------------------------------------------

    def record(self, item: PredictionRecord | PredictionBatch) -> None:
        """Queue one prediction, or one request's batch of them (the log owns ``item`` from
        now on). Never drops it: when more than ``max_pending`` rows wait, blocks up to
        ``block_s`` for the writer, then writes in this thread."""
        self.record_many([item])

    def record_many(self, items: Iterable[PredictionRecord | PredictionBatch]) -> None:
        """Queue several items at once (one lock round-trip)."""
        items = list(items)
        for model in {r.model for r in items}:
            check_name("model", model)
        rows = sum(r.n for r in items)
        with self._cond:
            if self._closed:
                raise RuntimeError("The feedback log is closed.")
            self._start()
            self._pending.extend(items)
            self._rows += rows
            if self._rows >= self.batch_size:
                self._cond.notify_all()
            if self._rows <= self.max_pending:
                return
            deadline = time.monotonic() + self.block_s
            while self._rows > self.max_pending and time.monotonic() < deadline:
                self._cond.wait(max(deadline - time.monotonic(), 0.0))
            overfull = self._rows > self.max_pending
        if overfull and not self._drain(raise_errors=False):
            log.error("feedback_backlog", pending=self.pending, error=self.last_error)

    def flush(self) -> None:
        """Write every queued record now; raises :class:`FeedbackWriteError` if storage
        refuses (the records stay queued and the writer keeps retrying)."""
        self._drain(raise_errors=True)

    def close(self) -> None:
        """Stop the writer and write what is left (raises, keeping the records, on failure)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        self._drain(raise_errors=True)

    def __enter__(self) -> FeedbackLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        with self._cond:
            return self._rows

    def stats(self) -> dict[str, Any]:
        """Counters for health checks and ``/metrics``: rows waiting, written, left out;
        failed writes (each retried) and the last error; part files readers skipped."""
        return {
            "pending": self.pending,
            "written": self.written,
            "dropped": self.dropped,
            "write_errors": self.write_errors,
            "last_error": self.last_error,
            "unreadable_files": self.issues.stats()["unreadable_files"],
        }

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="feedback-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        wait = self.retry_s
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval
                while not self._closed and self._rows < self.batch_size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._closed:
                    return  # close() drains in the caller's thread
            if self._drain(raise_errors=False):
                wait = self.retry_s
                continue
            with self._cond:  # back off, doubling up to 30 s; close() still ends it at once
                end = time.monotonic() + wait
                while not self._closed and (left := end - time.monotonic()) > 0:
                    self._cond.wait(left)
            wait = min(wait * 2, MAX_RETRY_S)

    def _drain(self, raise_errors: bool) -> bool:
        """Write everything queued; on failure put the unwritten records back in front."""
        with self._write_lock:
            with self._cond:
                batch, self._pending, self._rows = self._pending, [], 0
                self._cond.notify_all()
            if not batch:
                return True
            groups: dict[tuple[str, str], list[PredictionRecord]] = {}
            for item in batch:
                for rec in item.records():
                    groups.setdefault((rec.model, day(rec.timestamp)), []).append(rec)
            left: list[Item] = []
            error: Exception | None = None
            for (model, date), recs in groups.items():
                if error is not None:
                    left.extend(recs)
                    continue
                try:
                    table, dropped = rows_table(recs)
                    self.files.write(table, "predictions", f"model={model}", f"date={date}")
                    self.written += table.num_rows
                    self._drop(dropped)
                except Exception as exc:
                    error = exc
                    left.extend(recs)
            if error is None:
                if self._failing:
                    log.warning("feedback_write_recovered", pending=self.pending)
                self._failing = False
                return True
            self.write_errors += 1
            self.last_error = scrub(f"{type(error).__name__}: {error}", self.url)
            self._failing = True
            log.warning("feedback_write_failed", error=self.last_error, kept=len(left))
            with self._cond:
                self._pending[:0] = left
                self._rows += len(left)
            if raise_errors:
                raise FeedbackWriteError(
                    f"Cannot write the feedback log at {redact_url(self.url)}: {self.last_error}.",
                    hint="Free space or fix permissions; the records are kept and retried.",
                ) from error
            return False

    def _drop(self, n: int) -> None:
        if n:
            self.dropped += n
            log.error("feedback_records_dropped", rows=n, dropped=self.dropped)

    def add_labels(
        self, model: str, labels: Iterable[tuple[Any, Any]], source: str = "python"
    ) -> LabelReport:
        """Check ground-truth labels ``(request_id, label)`` of ``model`` against its logged
        predictions (:mod:`atlas.serve.labels`) and append the valid ones as one file,
        synchronously; the report says how many matched, were accepted or refused and why.
        Call :meth:`flush` first when the predictions may still be queued."""
        check_name("model", model)
        sent = pd.DataFrame(
            [(rules.label_text(r), rules.label_text(v)) for r, v in labels],
            columns=["request_id", "label"],
            dtype=object,
        )
        report = LabelReport(model, received=len(sent))
        if sent.empty:
            return report
        ids = sorted(set(sent["request_id"].dropna()))
        known = rules.answers(self._predictions(model, ids=ids))
        verdicts = rules.check(sent, known, model)
        report.refusals = [v for v in verdicts if v is not None]
        report.matched = int(sent["request_id"].isin(known["request_id"]).sum())
        accepted = sent[np.array([v is None for v in verdicts], dtype=bool)]
        report.accepted = len(accepted)
        report.replaced = self._replacing(model, accepted, known)
        if len(accepted):
            self._write_labels(model, accepted.drop_duplicates("request_id", keep="last"), source)
        return report

    def _replacing(self, model: str, accepted: pd.DataFrame, known: pd.DataFrame) -> int:
        """How many of ``accepted`` (in order) change the label a prediction has."""
        ids = list(accepted["request_id"])
        current = rules.newest_valid(self._labels(model, ids), known, model)
        truth = dict(zip(current["request_id"], current["truth"], strict=True))
        replaced = 0
        for rid, label in zip(ids, accepted["label"], strict=True):
            replaced += rid in truth and truth[rid] != label
            truth[rid] = label
        return replaced

    def _write_labels(self, model: str, accepted: pd.DataFrame, source: str) -> None:
        now = self.clock()
        rows = [
            {"request_id": r, "label": lab, "labelled_at": now, "model": model, "source": source}
            for r, lab in zip(accepted["request_id"], accepted["label"], strict=True)
        ]
        table = pa.Table.from_pylist(rows, LABELS_SCHEMA)
        self.files.write(table, "labels", f"model={model}", f"date={day(now)}")

    # -- reading ---------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of the models that have logged predictions (folders whose name is not a
        model name are not models: they are skipped)."""
        return [m for m in self.files.partitions("predictions", "model") if is_name(m)]

    def joined(
        self, model: str, since: datetime | None = None, version: int | None = None
    ) -> pd.DataFrame:
        """Predictions of ``model`` (made at or after ``since``; of one ``version``), each with
        its newest valid ground-truth label (``truth``, ``labelled_at``; null when none), by
        time. Reads what is written: call :meth:`flush` first to include the queue. What
        cannot be read is skipped and counted in :attr:`issues`."""
        check_name("model", model)
        predictions = self._predictions(model, since, version)
        known = rules.answers(predictions)
        truth = rules.newest_valid(self._labels(model), known, model)
        joined = predictions.merge(truth, on="request_id", how="left")
        joined["labelled_at"] = pd.to_datetime(joined["labelled_at"], utc=True)
        return joined

    def _predictions(
        self,
        model: str,
        since: datetime | None = None,
        version: int | None = None,
        ids: list[str] | None = None,
    ) -> pd.DataFrame:
        paths = self.files.parts("predictions", f"model={model}", since=since)
        frame, skipped = self.reader.predictions(paths, since, version, ids)
        if ids is None:
            self.issues.skipped_rows(model, skipped)
        return frame.assign(model=model)

    def _labels(self, model: str, ids: list[str] | None = None) -> pd.DataFrame:
        """The model's labels of ``ids``, and those of the 0.1.x layout (one for every model)."""
        paths = self.files.parts("labels", f"model={model}") + self.files.parts("labels")
        return self.reader.labels(paths, ids)
