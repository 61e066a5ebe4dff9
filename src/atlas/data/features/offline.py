"""The offline engine: an interface, and its DuckDB implementation over Parquet files.

An engine answers three questions about :mod:`specs <atlas.data.features.specs>`: what columns
a source has, which feature values each event saw (point-in-time matching with sample
selection), and what the newest row of each entity is in a time range (materialization). A
cluster engine (Spark, Ray Data) implements the same three methods; see docs/features.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from atlas.core.errors import InvalidInputError
from atlas.data.features import gather, matching
from atlas.data.features.specs import JoinSpec, Selection, SourceSpec

_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_FLOATS = ("FLOAT", "DOUBLE", "REAL", "DECIMAL", "UBIGINT", "HUGEINT")


def atlas_dtype(duck_type: str) -> str | None:
    """The feature type a DuckDB column type is read as (None: not a feature type)."""
    kind = duck_type.upper()
    if kind in _INTS:
        return "int64"
    if kind.startswith(_FLOATS):
        return "float64"
    if kind == "VARCHAR":
        return "string"
    if kind == "BOOLEAN":
        return "bool"
    if kind.startswith(("TIMESTAMP", "DATE")):
        return "timestamp"
    return None


class OfflineEngine(ABC):
    """Reads feature sources; never writes them (ingest writes the files, the registry lists
    them)."""

    @abstractmethod
    def columns(self, files: Sequence[str], label: str) -> dict[str, str]:
        """Column name -> engine type of the rows in ``files`` (an error if unreadable)."""

    @abstractmethod
    def match(
        self, events: pa.Table, event_ts: str, joins: Sequence[JoinSpec], selection: Selection
    ) -> pa.Table:
        """``events`` (timestamp column already ``timestamp[us, UTC]``) in their order, selected
        by ``selection``, with the feature columns of every join appended."""

    @abstractmethod
    def latest(
        self, source: SourceSpec, after: datetime | None, until: datetime | None
    ) -> Iterator[pa.RecordBatch]:
        """The newest row of each key with ``after < time <= until``, as batches of
        ``(__atlas_k, __atlas_ts, features...)``."""


class DuckDBEngine(OfflineEngine):
    """In-process DuckDB over local Parquet (or any filesystem DuckDB or fsspec can read)."""

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"DuckDBEngine(threads={self.threads})"

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute("SET memory_limit = ?", [self.memory_limit])
        return con

    def columns(self, files: Sequence[str], label: str) -> dict[str, str]:
        if not files:
            return {}
        with self._connect() as con:
            try:
                cur = con.execute(
                    "SELECT * FROM read_parquet(?, union_by_name=true) LIMIT 0", [list(files)]
                )
            except duckdb.Error as exc:
                raise _unreadable(exc, label) from None
            return {str(d[0]): str(d[1]) for d in cur.description or []}

    def check(self, spec: SourceSpec) -> str:
        """Check that the source has the view's columns with compatible types; returns the
        engine type of its timestamp column (a clear error names what differs)."""
        if not spec.files:
            return "TIMESTAMPTZ"
        found = self.columns(spec.files, spec.what)
        needed = [spec.key, spec.timestamp, *spec.features]
        missing = [c for c in needed if c not in found]
        if missing:
            raise InvalidInputError(
                f"{spec.what[:1].upper()}{spec.what[1:]} lacks the column(s) {missing}.",
                hint=f"It has: {', '.join(found)}. Fix the source or the view's definition.",
            )
        for name, declared in [(spec.key, spec.key_dtype), *spec.features.items()]:
            actual = atlas_dtype(found[name])
            if actual != declared and not (declared == "float64" and actual == "int64"):
                raise InvalidInputError(
                    f"Column {name!r} of {spec.what} is {found[name]} ({actual or 'unsupported'})"
                    f", but the feature view declares {declared}: the schema changed.",
                    hint="Apply the view with the new type under a new feature name, or fix "
                    "the data.",
                )
        return found[spec.timestamp]

    def match(
        self, events: pa.Table, event_ts: str, joins: Sequence[JoinSpec], selection: Selection
    ) -> pa.Table:
        table = events.append_column(matching.ROW, pa.array(np.arange(events.num_rows)))
        with self._connect() as con:
            files, sources = [], []
            for join in joins:
                ts_type = self.check(join.source)
                found = self._files(con, join.source)
                files.append(found)
                sql, params = matching.rows_sql(join.source, found)
                sources.append((matching.fill_source(sql, ts_type, join.source), params))
            sql, params = matching.match_sql("__atlas_events", event_ts, joins, sources, selection)
            con.register("__atlas_events", table)
            try:
                picked = con.sql(sql, params=params).to_arrow_table()
            except duckdb.Error as exc:
                raise _unreadable(exc, "the events or feature sources") from None
            con.unregister("__atlas_events")
            del table
            rows, gids = _in_event_order(picked, events.num_rows, len(joins))
            del picked
            out = events.take(rows)
            for i, join in enumerate(joins):
                wanted = {f: join.source.features[f] for f in join.columns}
                values = gather.take_rows(files[i], gids[i], wanted, join.source.what)
                for feature, column in zip(wanted, values, strict=True):
                    out = out.append_column(join.columns[feature], column)
            if selection.where is None:
                return out
            con.register("__atlas_matched", out.append_column(matching.ROW, rows))
            sql, params = matching.where_sql("__atlas_matched", selection)
            return con.sql(sql, params=params).to_arrow_table()

    def _files(self, con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[str]:
        """The source's paths and globs as the list of files they name, in order (a glob's in
        name order): row ids count files in this list."""
        found: list[str] = []
        for pattern in spec.files:
            try:
                found += [
                    str(r[0]) for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()
                ]
            except duckdb.Error as exc:
                raise _unreadable(exc, spec.what) from None
        if not found and spec.files:
            raise InvalidInputError(
                f"No Parquet file found for {spec.what}: {', '.join(spec.files)}.",
                hint="Check the path or glob of the view's source.",
            )
        return found

    def latest(
        self, source: SourceSpec, after: datetime | None, until: datetime | None
    ) -> Iterator[pa.RecordBatch]:
        ts_type = self.check(source)
        sql, params = matching.source_sql(source, latest_only=True)
        extra, extra_params = "", []
        if after is not None:
            extra += " AND __atlas_time > ?"
            extra_params.append(after)
        if until is not None:
            extra += " AND __atlas_time <= ?"
            extra_params.append(until)
        sql = matching.fill_source(sql, ts_type, source, extra)
        return self._stream(sql, [*params, *extra_params], source.what)

    def _stream(self, sql: str, params: list[Any], label: str) -> Iterator[pa.RecordBatch]:
        with self._connect() as con:
            try:
                reader = con.sql(sql, params=params).to_arrow_reader(100_000)
                yield from reader
            except duckdb.Error as exc:
                raise _unreadable(exc, label) from None


def _in_event_order(
    picked: pa.Table, events: int, joins: int
) -> tuple[pa.Array, list[pa.ChunkedArray]]:
    """The selected event rows in order, and per join the matched row ids in that order
    (the join's own output order is not the events' order; a scatter is cheaper than a sort)."""
    rows = picked.column(matching.ROW).to_numpy()
    chosen = np.zeros(events, dtype=bool)
    chosen[rows] = True
    selected = np.flatnonzero(chosen)
    gids = []
    for i in range(joins):
        column = picked.column(f"{matching.GID}{i}")
        ids = np.full(events, -1, dtype=np.int64)
        ids[rows] = pc.fill_null(column, -1).to_numpy()
        ids = ids[selected]
        gids.append(pa.chunked_array([pa.array(ids, mask=ids < 0)]))
    return pa.array(selected), gids


def _unreadable(exc: duckdb.Error, label: str) -> InvalidInputError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, duckdb.IOException) and "No files found" in text:
        return InvalidInputError(
            f"No Parquet file found for {label}: {text}.",
            hint="Check the path or glob of the view's source.",
        )
    return InvalidInputError(
        f"Cannot read {label}: {text}.",
        hint="A Parquet file may be corrupt or of another schema; replace it or ingest again.",
    )
