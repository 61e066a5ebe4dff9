"""The feedback log's files: the record, the Parquet schemas, rows and atomic writes.

Layout under the log's URL (any fsspec URL: a folder, ``s3://bucket/atlas/feedback``)::

    predictions/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
    labels/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
    labels/date=<YYYY-MM-DD>/part-<uuid>.parquet          (labels of 0.1.x, for every model)

Every file is written under a hidden temporary name in its final folder, fsynced, then moved
into place (atomic on a local disk); readers only glob ``part-*.parquet``, so they never see
half a file. Every string a client controls is made valid before it becomes a row
(:mod:`atlas.serve.feedback_text`), and a record that still does not fit the schema becomes a
fallback row: one request can never block the log.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from atlas.core.names import is_version_number
from atlas.serve.feedback_text import dumps, optional_text, valid_text

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("model", pa.string()),
        ("version", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("inputs", pa.string()),  # JSON object: field -> value as received
        ("features", pa.string()),  # JSON object: the looked-up fields, as the model used them
        ("label", pa.string()),  # predicted class as text (classifiers)
        ("probabilities", pa.string()),  # JSON object in the package's class order
        ("score", pa.float64()),  # probability of the second class (binary)
        ("confidence", pa.float64()),  # highest class probability
        ("prediction", pa.float64()),  # regressors
        ("latency_ms", pa.float64()),
        ("role", pa.string()),  # stable | canary | pinned | shadow
        ("flags", pa.string()),  # JSON object, e.g. {"fallback": true, "shadow": false}
    ]
)
LABELS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("label", pa.string()),
        ("labelled_at", pa.timestamp("us", tz="UTC")),
        ("model", pa.string()),
        ("source", pa.string()),  # who sent it: http, cli, python
    ]
)


MAX_INT64 = 2**63 - 1
UNKNOWN_VERSION = -1  # a fallback row's version when the record's is not one


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PredictionRecord:
    """One prediction for one input row. ``request_id`` must be unique per row: labels join
    on it (a request of many records gives each record its own id).

    ``output`` is what the server answered for the row: ``{"label", "probabilities"}`` for a
    classifier (probabilities in the package's class order, so the second key of a binary
    model is its positive class) or ``{"prediction"}`` for a regressor. ``inputs`` are the
    request's fields; ``features`` the fields the server looked up for the model (online
    features, connector fields), with the values the model used. ``flags`` mark how it was
    made, e.g. ``{"fallbacks": {...}}``, ``{"unknown_entity": True}``.
    """

    request_id: str
    model: str
    version: int
    inputs: dict[str, Any]
    output: dict[str, Any]
    latency_ms: float
    features: dict[str, Any] = field(default_factory=dict)
    role: str = "stable"
    flags: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=_now)

    @property
    def n(self) -> int:
        return 1

    def records(self) -> list[PredictionRecord]:
        return [self]


@dataclass
class PredictionBatch:
    """The rows of one request, as the server holds them (columns in, an array out): queuing
    it costs nothing, the writer thread makes the rows. Row ``i`` gets the request id
    ``request_id`` when the request has one row, else ``f"{request_id}:{i}"``.

    ``raw`` is the model's output: class probabilities ``(n, k)`` in the order of ``classes``
    (classifiers, with ``labels`` the predicted classes) or values ``(n,)`` (regressors).
    ``latency_ms`` is the whole request's. The ``inputs`` named in ``looked_up`` (the model's
    online features and connector fields) go to the row's ``features``; ``row_flags`` are each
    row's own flags (fallbacks, unknown entities), merged over the request's ``flags``.
    """

    request_id: str
    model: str
    version: int
    inputs: Mapping[str, Sequence[Any]]
    raw: np.ndarray
    latency_ms: float
    labels: Sequence[Any] | None = None
    classes: Sequence[Any] | None = None
    looked_up: Collection[str] = ()
    role: str = "stable"
    flags: dict[str, Any] = field(default_factory=dict)
    row_flags: Sequence[Mapping[str, Any]] | None = None
    timestamp: datetime = field(default_factory=_now)

    @property
    def n(self) -> int:
        return len(self.raw)

    def records(self) -> list[PredictionRecord]:
        raw = np.asarray(self.raw).tolist()
        many = len(raw) > 1
        return [
            PredictionRecord(
                f"{self.request_id}:{i}" if many else self.request_id,
                self.model,
                self.version,
                {k: v[i] for k, v in self.inputs.items() if k not in self.looked_up},
                self._output(i, row),
                self.latency_ms,
                {k: v[i] for k, v in self.inputs.items() if k in self.looked_up},
                self.role,
                self._flags(i),
                self.timestamp,
            )
            for i, row in enumerate(raw)
        ]

    def _output(self, i: int, row: Any) -> dict[str, Any]:
        if self.classes is None:
            return {"prediction": row}
        label = self.labels[i] if self.labels is not None else None
        label = label.item() if isinstance(label, np.generic) else label
        return {
            "label": label,
            "probabilities": dict(zip(map(str, self.classes), row, strict=True)),
        }

    def _flags(self, i: int) -> dict[str, Any]:
        own = self.row_flags[i] if self.row_flags is not None and i < len(self.row_flags) else {}
        return {**self.flags, **own} if own else self.flags


def to_row(rec: PredictionRecord) -> dict[str, Any]:
    """The record as a row of :data:`PREDICTIONS_SCHEMA`, every client string made valid. A
    record that does not fit (a probability that is not a number, say) is kept in a fallback
    row with its output as text and a ``log_error`` flag, so one bad record never blocks the
    log."""
    try:
        return _row(rec)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        return fallback_row(rec, exc)


def fallback_row(rec: PredictionRecord, exc: Exception) -> dict[str, Any]:
    """What is safe to keep of a record that does not fit the schema."""
    version = str(rec.version)
    fits = is_version_number(version) and int(version) <= MAX_INT64
    return {
        "request_id": valid_text(str(rec.request_id)),
        "model": valid_text(str(rec.model)),
        "version": int(version) if fits else UNKNOWN_VERSION,
        "timestamp": rec.timestamp if isinstance(rec.timestamp, datetime) else _now(),
        "inputs": dumps(rec.inputs if isinstance(rec.inputs, Mapping) else {}),
        "features": dumps(rec.features if isinstance(rec.features, Mapping) else {}),
        "label": None,
        "probabilities": dumps({"output": repr(rec.output)}),
        "score": None,
        "confidence": None,
        "prediction": None,
        "latency_ms": None,
        "role": valid_text(str(rec.role)),
        "flags": dumps({"log_error": f"{type(exc).__name__}: {exc}"}),
    }


def _row(rec: PredictionRecord) -> dict[str, Any]:
    probs = rec.output.get("probabilities")
    values = [float(v) for v in probs.values()] if probs else []
    prediction = rec.output.get("prediction")
    if not isinstance(rec.timestamp, datetime):
        raise TypeError("timestamp is not a datetime")
    return {
        "request_id": valid_text(str(rec.request_id)),
        "model": rec.model,
        "version": int(rec.version),
        "timestamp": rec.timestamp,
        "inputs": dumps(rec.inputs),
        "features": dumps(rec.features),
        "label": optional_text(rec.output.get("label")),
        "probabilities": dumps(dict(zip(map(str, probs), values, strict=True))) if probs else None,
        "score": values[1] if len(values) == 2 else None,
        "confidence": max(values) if values else None,
        "prediction": None if prediction is None else float(prediction),
        "latency_ms": float(rec.latency_ms),
        "role": valid_text(str(rec.role)),
        "flags": dumps(rec.flags),
    }


def rows_table(records: Sequence[PredictionRecord]) -> tuple[pa.Table, int]:
    """The records as one table, and how many could not be kept at all. A row the schema
    refuses (a version past int64, say) is replaced by its fallback row; only a record whose
    fallback row is refused too is left out."""
    rows = [to_row(r) for r in records]
    try:
        return pa.Table.from_pylist(rows, PREDICTIONS_SCHEMA), 0
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    kept = []
    for rec, row in zip(records, rows, strict=True):
        fitted = _fits(row) or _fits(fallback_row(rec, ValueError("refused by the schema")))
        if fitted is not None:
            kept.append(fitted)
    return pa.Table.from_pylist(kept, PREDICTIONS_SCHEMA), len(rows) - len(kept)


def _fits(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        pa.Table.from_pylist([row], PREDICTIONS_SCHEMA)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    return row


def day(ts: datetime) -> str:
    """The UTC date partition of a timestamp (naive timestamps are taken as UTC)."""
    return (ts.astimezone(UTC) if ts.tzinfo else ts).strftime("%Y-%m-%d")


class FeedbackFiles:
    """The log's files under one fsspec URL (a folder, ``file://``, ``s3://``, ``memory://``).

    Each file is written under a hidden temporary name in its final folder (fsynced where the
    filesystem has file descriptors), then moved into place: atomic on a local disk; on an
    object store the move is one whole-object copy, so a reader still never sees half a file.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/") or "/"
        self.local = isinstance(self.fs, LocalFileSystem)

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def write(self, table: pa.Table, *folder: str) -> str:
        """Write ``table`` as ``folder/part-<uuid>.parquet``: temporary file, fsync, move.
        On any error the temporary file is removed and the error propagates."""
        where = self.path(*folder)
        self.fs.makedirs(where, exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = posixpath.join(where, f".{name}.tmp")
        try:
            with self.fs.open(tmp, "wb") as fh:
                pq.write_table(table, fh)
                fh.flush()
                if self.local:
                    os.fsync(fh.fileno())
            self.fs.mv(tmp, posixpath.join(where, name))
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm(tmp)
            raise
        if self.local:
            _fsync_folder(where)
        return posixpath.join(where, name)

    def parts(self, *folder: str, since: datetime | None = None) -> list[str]:
        """The finished files under ``folder/date=*/``, skipping days before ``since``."""
        first = day(since) if since is not None else ""
        found = self.fs.glob(self.path(*folder, "date=*", "part-*.parquet"))
        dated = ((posixpath.basename(posixpath.dirname(f))[5:], f) for f in found)
        return sorted(self.fs._strip_protocol(f) for d, f in dated if d >= first)

    def partitions(self, folder: str, key: str) -> list[str]:
        """The values of the ``key=value`` folders right under ``folder``."""
        found = self.fs.glob(self.path(folder, f"{key}=*"))
        prefix = len(key) + 1
        return sorted(posixpath.basename(f)[prefix:] for f in found if self.fs.isdir(f))

    def readable(self, paths: list[str]) -> list[str]:
        """``paths`` as DuckDB reads them (local paths, else URLs of the registered fs)."""
        return paths if self.local else [self.fs.unstrip_protocol(p) for p in paths]


def _fsync_folder(folder: str) -> None:
    """Make a rename durable; some filesystems cannot fsync a folder (the file is in place)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
