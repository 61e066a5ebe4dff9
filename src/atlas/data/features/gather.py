"""Chosen rows of Parquet files, read with pyarrow a few columns at a time.

Point-in-time matching finds, per event and view, *which* source row applies with a narrow
DuckDB ASOF join over (key, time, row id) only; this module then fetches the feature values of
those rows. A row id (``gid``) is ``file index << 40 | row number in the file``, the same order
as "last one wins" (a later file, then a later row). Only the row groups that hold a chosen row
are decoded, a few columns at a time (text stays dictionary-encoded until the chosen values are
taken), so memory stays near the size of the output instead of the size of the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from atlas.core.errors import InvalidInputError
from atlas.data.features.timestamps import UTC_US

FILE_BITS = 40
ROW_MASK = (1 << FILE_BITS) - 1
COLUMNS_AT_ONCE = 4
ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "timestamp": UTC_US,
}
TEXT = pa.dictionary(pa.int32(), pa.string())


@dataclass
class _Part:
    """The row groups of one file that hold chosen rows."""

    parquet: pq.ParquetFile
    groups: list[int]
    rows: int


def take_rows(
    files: Sequence[str], gids: pa.ChunkedArray, columns: Mapping[str, str], label: str
) -> list[pa.ChunkedArray]:
    """The values of ``columns`` (name -> feature type) at the rows ``gids`` (null: none),
    one array per column, in the order of ``gids``; a column a file lacks reads as missing."""
    ids = pc.fill_null(gids, -1).to_numpy() if len(gids) else np.empty(0, np.int64)
    try:
        with ExitStack() as stack:
            text = [c for c, t in columns.items() if t == "string"]
            parts, index = _plan(stack, files, ids, text)
            names = list(columns)
            out: list[pa.ChunkedArray] = []
            for at in range(0, len(names), COLUMNS_AT_ONCE):
                batch = {c: columns[c] for c in names[at : at + COLUMNS_AT_ONCE]}
                out += _take_batch(parts, batch, index)
            return out
    except (OSError, pa.ArrowException) as exc:
        raise InvalidInputError(
            f"Cannot read {label}: {exc}.",
            hint="A Parquet file may be corrupt or of another schema; replace it or ingest again.",
        ) from None


def _plan(
    stack: ExitStack, files: Sequence[str], ids: np.ndarray, text: list[str]
) -> tuple[list[_Part], pa.Array]:
    """Open the files with chosen rows, and map each id to its position in the concatenation
    of their chosen row groups (null where there is no row)."""
    index = np.full(len(ids), -1, dtype=np.int64)
    valid = ids >= 0
    file_of = np.where(valid, ids >> FILE_BITS, -1)
    parts: list[_Part] = []
    base = 0
    for number in np.unique(file_of[valid]):
        parquet = _open(stack, files[int(number)], text)
        meta = parquet.metadata
        sizes = np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        mine = file_of == number
        rows = ids[mine] & ROW_MASK
        group = np.searchsorted(starts, rows, side="right") - 1
        groups = np.unique(group)
        kept_start = np.zeros(len(sizes), dtype=np.int64)
        kept_start[groups] = np.concatenate([[0], np.cumsum(sizes[groups])[:-1]])
        index[mine] = base + kept_start[group] + (rows - starts[group])
        total = int(sizes[groups].sum())
        parts.append(_Part(parquet, [int(g) for g in groups], total))
        base += total
    return parts, pa.array(index, mask=index < 0)


def _open(stack: ExitStack, path: str, text: list[str]) -> pq.ParquetFile:
    fs, local = fsspec.core.url_to_fs(path)
    source = local if isinstance(fs, LocalFileSystem) else stack.enter_context(fs.open(local))
    parquet = pq.ParquetFile(source, memory_map=isinstance(source, str))
    stack.callback(parquet.close)
    names, meta = set(parquet.schema_arrow.names), parquet.metadata
    wanted = [c for c in text if c in names]
    if wanted:  # keep text dictionary-encoded: only the chosen values are ever decoded
        parquet = pq.ParquetFile(
            source, memory_map=isinstance(source, str), read_dictionary=wanted, metadata=meta
        )
        stack.callback(parquet.close)
    return parquet


def _take_batch(
    parts: list[_Part], columns: Mapping[str, str], index: pa.Array
) -> list[pa.ChunkedArray]:
    chunks: dict[str, list[pa.Array]] = {c: [] for c in columns}
    for part in parts:
        present = [c for c in columns if c in part.parquet.schema_arrow.names]
        table = part.parquet.read_row_groups(part.groups, columns=present, use_threads=True)
        for column, dtype in columns.items():
            if column in present:
                chunks[column] += _typed(table.column(column), dtype).chunks
            else:
                chunks[column].append(_missing(part.rows, dtype))
    out = []
    for column, dtype in columns.items():
        values = pa.chunked_array(chunks.pop(column), _chunk_type(dtype))
        taken = values.take(index)
        out.append(taken.cast(pa.string()) if dtype == "string" else taken)
    return out


def _chunk_type(dtype: str) -> pa.DataType:
    """Text is taken dictionary-encoded, the rest in its output type."""
    return TEXT if dtype == "string" else ARROW_TYPES[dtype]


def _missing(length: int, dtype: str) -> pa.Array:
    if dtype == "string":
        empty = pa.array([], pa.string())
        return pa.DictionaryArray.from_arrays(pa.nulls(length, pa.int32()), empty)
    return pa.nulls(length, ARROW_TYPES[dtype])


def _typed(values: pa.ChunkedArray, dtype: str) -> pa.ChunkedArray:
    target = ARROW_TYPES[dtype]
    if dtype == "timestamp":
        if pa.types.is_date(values.type):
            values = values.cast(pa.timestamp("us"))
        if values.type.tz is None:
            values = values.cast(pa.timestamp("us"), safe=False)
        return values.cast(pa.timestamp(values.type.unit, tz="UTC")).cast(target, safe=False)
    if dtype == "string":
        if not pa.types.is_dictionary(values.type):
            values = values.cast(pa.string()).dictionary_encode()
        return values.cast(TEXT)
    return values.cast(target)
