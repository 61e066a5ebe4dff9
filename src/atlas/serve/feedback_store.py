"""The feedback log's files: the record, the Parquet schemas, atomic writes and the join query.

Layout under the log's URL (any fsspec URL: a folder, ``s3://bucket/atlas/feedback``)::

    predictions/model=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
    labels/date=<YYYY-MM-DD>/part-<uuid>.parquet

Every file is written under a hidden temporary name in its final folder, fsynced, then moved
into place (atomic on a local disk); readers only glob ``part-*.parquet``, so they never see
half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from atlas.core.names import is_version_number

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("model", pa.string()),
        ("version", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("inputs", pa.string()),  # JSON object: field -> value as received
        ("features", pa.string()),  # JSON object: the features used (after lookups)
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
JOINED_SCHEMA = PREDICTIONS_SCHEMA.append(pa.field("truth", pa.string())).append(
    pa.field("labelled_at", pa.timestamp("us", tz="UTC"))
)
LABELS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("label", pa.string()),
        ("labelled_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PredictionRecord:
    """One prediction for one input row. ``request_id`` must be unique per row: labels join
    on it (a request of many records gives each record its own id).

    ``output`` is what the server answered for the row: ``{"label", "probabilities"}`` for a
    classifier (probabilities in the package's class order, so the second key of a binary
    model is its positive class) or ``{"prediction"}`` for a regressor. ``features`` are the
    values the model used when they differ from ``inputs`` (looked up, defaulted). ``flags``
    mark how it was made, e.g. ``{"fallback": True}``, ``{"shadow": True}``, ``{"canary": True}``.
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
    ``latency_ms`` is the whole request's.
    """

    request_id: str
    model: str
    version: int
    inputs: Mapping[str, Sequence[Any]]
    raw: np.ndarray
    latency_ms: float
    labels: Sequence[Any] | None = None
    classes: Sequence[Any] | None = None
    features: Mapping[str, Sequence[Any]] | None = None
    role: str = "stable"
    flags: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=_now)

    @property
    def n(self) -> int:
        return len(self.raw)

    def records(self) -> list[PredictionRecord]:
        names = [str(c) for c in self.classes] if self.classes is not None else None
        raw = np.asarray(self.raw).tolist()
        out = []
        for i, row in enumerate(raw):
            if names is not None:
                label = self.labels[i] if self.labels is not None else None
                label = label.item() if isinstance(label, np.generic) else label
                output = {"label": label, "probabilities": dict(zip(names, row, strict=True))}
            else:
                output = {"prediction": row}
            out.append(
                PredictionRecord(
                    self.request_id if len(raw) == 1 else f"{self.request_id}:{i}",
                    self.model,
                    self.version,
                    {k: v[i] for k, v in self.inputs.items()},
                    output,
                    self.latency_ms,
                    {k: v[i] for k, v in (self.features or {}).items()},
                    self.role,
                    self.flags,
                    self.timestamp,
                )
            )
        return out


def to_row(rec: PredictionRecord) -> dict[str, Any]:
    """The record as a row of :data:`PREDICTIONS_SCHEMA`. A record that does not fit (a
    probability that is not a number, say) is kept in a fallback row with its output as text
    and a ``log_error`` flag, so one bad record can never block the log."""
    try:
        return _row(rec)
    except (TypeError, ValueError, AttributeError) as exc:
        return {
            "request_id": str(rec.request_id),
            "model": str(rec.model),
            "version": int(rec.version) if is_version_number(str(rec.version)) else -1,
            "timestamp": rec.timestamp if isinstance(rec.timestamp, datetime) else _now(),
            "inputs": json.dumps(rec.inputs, default=repr),
            "features": json.dumps(rec.features, default=repr),
            "label": None,
            "probabilities": json.dumps({"output": repr(rec.output)}),
            "score": None,
            "confidence": None,
            "prediction": None,
            "latency_ms": None,
            "role": str(rec.role),
            "flags": json.dumps({"log_error": f"{type(exc).__name__}: {exc}"}),
        }


def _plain(value: Any) -> Any:
    """JSON for what a server holds: NumPy scalars as numbers, datetimes in ISO 8601."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _row(rec: PredictionRecord) -> dict[str, Any]:
    probs = rec.output.get("probabilities")
    values = [float(v) for v in probs.values()] if probs else []
    label = rec.output.get("label")
    prediction = rec.output.get("prediction")
    if not isinstance(rec.timestamp, datetime):
        raise TypeError("timestamp is not a datetime")
    return {
        "request_id": str(rec.request_id),
        "model": rec.model,
        "version": int(rec.version),
        "timestamp": rec.timestamp,
        "inputs": json.dumps(rec.inputs, default=_plain),
        "features": json.dumps(rec.features, default=_plain),
        "label": None if label is None else str(label),
        "probabilities": json.dumps(dict(zip(map(str, probs), values, strict=True)))
        if probs
        else None,
        "score": values[1] if len(values) == 2 else None,
        "confidence": max(values) if values else None,
        "prediction": None if prediction is None else float(prediction),
        "latency_ms": float(rec.latency_ms),
        "role": str(rec.role),
        "flags": json.dumps(rec.flags, default=_plain),
    }


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


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def query_joined(
    files: FeedbackFiles,
    predictions: list[str],
    labels: list[str],
    since: datetime | None = None,
    version: int | None = None,
) -> pd.DataFrame:
    """Predictions left-joined to the newest label of each request id (``truth``,
    ``labelled_at``), ordered by time."""
    predictions, labels = files.readable(predictions), files.readable(labels)
    if not predictions:
        return JOINED_SCHEMA.empty_table().to_pandas()
    label_rel = (
        "SELECT request_id, arg_max(label, labelled_at) AS truth, max(labelled_at) AS "
        f"labelled_at FROM read_parquet({_sql_list(labels)}, hive_partitioning = false) "
        "GROUP BY request_id"
        if labels
        else "SELECT NULL::VARCHAR AS request_id, NULL::VARCHAR AS truth, "
        "NULL::TIMESTAMPTZ AS labelled_at WHERE false"
    )
    where: list[str] = []
    params: dict[str, Any] = {}
    if since is not None:
        where.append("p.timestamp >= $since")
        params["since"] = since if since.tzinfo else since.replace(tzinfo=UTC)
    if version is not None:
        where.append("p.version = $version")
        params["version"] = version
    sql = (
        f"WITH l AS ({label_rel}) SELECT p.*, l.truth, l.labelled_at "
        f"FROM read_parquet({_sql_list(predictions)}, union_by_name = true, "
        "hive_partitioning = false) p "
        f"LEFT JOIN l USING (request_id) {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY p.timestamp, p.request_id"
    )
    with duckdb.connect() as con:
        if not files.local:
            con.register_filesystem(files.fs)
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).df()
