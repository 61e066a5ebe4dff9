"""Reading the feedback log so that no stored record can take a reader down.

A part file that cannot be read (truncated, not Parquet, a column of an incompatible type,
text that is not UTF-8) is skipped and remembered (:class:`ReadIssues`, logged once per file);
the files around it are still read: a query that fails is split in halves until the culprits
are alone. Every column is read as the schema's type (``TRY_CAST``: a value of another type
becomes null), a row without its request id, version or time is skipped and counted, and a
column a file lacks is null. Readers of the JSON columns parse them with :func:`json_object`,
which never raises.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from atlas.core.logging import get_logger
from atlas.serve.feedback_store import LABELS_SCHEMA, PREDICTIONS_SCHEMA, FeedbackFiles
from atlas.serve.feedback_text import plain

log = get_logger(__name__)
REQUIRED = ("request_id", "version", "timestamp")  # a prediction row without one is skipped
LABEL_COLUMNS = ("request_id", "label", "labelled_at", "source")
_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


class ReadIssues:
    """What readers of one log skipped: unreadable files (logged the first time each is
    met) and, per model, the rows of its last read that could not be used (logged when the
    count grows)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        self._lock = threading.Lock()

    def bad_file(self, path: str, error: Exception) -> None:
        with self._lock:
            if path in self.files:
                return
            self.files[path] = f"{type(error).__name__}: {error}".splitlines()[0]
        log.warning("feedback_file_unreadable", path=path, error=self.files[path])

    def skipped_rows(self, model: str, n: int) -> None:
        with self._lock:
            grew = n > self.rows.get(model, 0)
            self.rows[model] = n
        if grew:
            log.warning("feedback_rows_skipped", model=model, rows=n)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"unreadable_files": len(self.files), "skipped_rows": dict(self.rows)}


def json_object(text: Any) -> dict[str, Any] | None:
    """A stored JSON object with every string made valid, or None when ``text`` is not the
    text of a JSON object."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return plain(value) if isinstance(value, dict) else None


def _typed(schema: pa.Schema) -> tuple[str, str]:
    """The select list casting every column to its type, and an empty relation with every
    column (so a column that no file has is null instead of an error)."""
    fields = list(schema)
    select = ", ".join(
        f'TRY_CAST("{f.name}" AS {_SQL_TYPES[f.type]}) AS "{f.name}"' for f in fields
    )
    empty = ", ".join(f'NULL::{_SQL_TYPES[f.type]} AS "{f.name}"' for f in fields)
    return select, f"SELECT {empty} WHERE false"


def _sql_list(paths: Sequence[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


class Reader:
    """Typed reads of a log's part files, skipping what cannot be read (see the module)."""

    def __init__(self, files: FeedbackFiles, issues: ReadIssues) -> None:
        self.files = files
        self.issues = issues

    def predictions(
        self,
        paths: list[str],
        since: datetime | None = None,
        version: int | None = None,
        ids: Sequence[str] | None = None,
    ) -> tuple[pd.DataFrame, int]:
        """The prediction rows of ``paths`` (made at or after ``since``, of ``version``, with
        one of ``ids``) by time, and how many rows were skipped for a missing key column."""
        select, empty = _typed(PREDICTIONS_SCHEMA)
        where: list[str] = ["true"]
        params: dict[str, Any] = {}
        if since is not None:
            where.append("(timestamp >= $since OR timestamp IS NULL)")  # null: counted, skipped
            params["since"] = since if since.tzinfo else since.replace(tzinfo=UTC)
        if version is not None:
            where.append("version = $version")
            params["version"] = version
        if ids is not None:
            where.append("request_id IN (SELECT unnest($ids))")
            params["ids"] = list(ids)
        sql = f"SELECT * FROM typed WHERE {' AND '.join(where)}"
        frame = self._read(paths, select, empty, sql, params, PREDICTIONS_SCHEMA)
        complete = frame[list(REQUIRED)].notna().all(axis=1)
        frame = frame[complete].astype({"version": "int64"})
        frame = frame.sort_values(["timestamp", "request_id"], kind="stable")
        return frame.reset_index(drop=True), int((~complete).sum())

    def labels(self, paths: list[str], ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The label rows of ``paths`` (of ``ids``) with a request id and a time."""
        schema = pa.schema([LABELS_SCHEMA.field(c) for c in LABEL_COLUMNS])
        select, empty = _typed(schema)
        sql = "SELECT * FROM typed WHERE request_id IS NOT NULL AND labelled_at IS NOT NULL"
        params: dict[str, Any] = {}
        if ids is not None:
            sql += " AND request_id IN (SELECT unnest($ids))"
            params["ids"] = list(ids)
        return self._read(paths, select, empty, sql, params, schema)

    def _read(
        self,
        paths: list[str],
        select: str,
        empty: str,
        sql: str,
        params: dict[str, Any],
        schema: pa.Schema,
    ) -> pd.DataFrame:
        paths = [p for p in paths if p not in self.issues.files]
        frames = self._split(paths, select, empty, sql, params) if paths else []
        frames = [f for f in frames if len(f)]
        if not frames:
            return schema.empty_table().to_pandas()
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def _split(
        self, paths: list[str], select: str, empty: str, sql: str, params: dict[str, Any]
    ) -> list[pd.DataFrame]:
        """Read ``paths`` in one query; if it fails, each half on its own (a lone file that
        fails is recorded as unreadable)."""
        files = self.files.readable(paths)
        query = (
            f"WITH raw AS (FROM read_parquet({_sql_list(files)}, union_by_name = true, "
            f"hive_partitioning = false) UNION ALL BY NAME {empty}), "
            f"typed AS (SELECT {select} FROM raw) {sql}"
        )
        try:
            with duckdb.connect() as con:
                if not self.files.local:
                    con.register_filesystem(self.files.fs)
                con.execute("SET TimeZone = 'UTC'")
                return [con.execute(query, params).df()]
        except duckdb.Error as exc:
            if len(paths) == 1:
                self.issues.bad_file(paths[0], exc)
                return []
        half = len(paths) // 2
        return self._split(paths[:half], select, empty, sql, params) + self._split(
            paths[half:], select, empty, sql, params
        )
