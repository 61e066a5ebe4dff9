"""Fetching chosen rows of Parquet files (the second half of point-in-time matching): several
files, many small row groups, text kept dictionary-encoded, every feature type, a column that
one file lacks, and the end-to-end match over such a source against a brute-force reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atlas.core.errors import InvalidInputError
from atlas.data.features import FeatureStore, FeatureView
from atlas.data.features.gather import FILE_BITS, take_rows
from tests.data.features.conftest import CUSTOMER

TYPES = {"amount": "float64", "n": "int64", "tier": "string", "ok": "bool", "seen": "timestamp"}
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _frame(rng: np.random.Generator, rows: int, hours: int = 500) -> pd.DataFrame:
    amount = rng.lognormal(3, 1, rows)
    amount[rng.random(rows) < 0.2] = np.nan
    tiers = np.array(["gold", "silver", "bronze", None], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 40, rows),
            "event_timestamp": T0 + pd.to_timedelta(rng.integers(0, hours, rows), "h"),
            "amount": amount,
            "n": rng.integers(-5, 1000, rows),
            "tier": pd.Categorical(tiers[rng.integers(0, 4, rows)]),  # dictionary in Parquet
            "ok": rng.random(rows) < 0.5,
            "seen": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 999, rows), "D"),
        }
    )


def _write(folder: Path, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Three files in name order, row groups of 7 rows; the middle one lacks 'ok'."""
    frames = [_frame(rng, 61), _frame(rng, 50).drop(columns="ok"), _frame(rng, 45)]
    folder.mkdir()
    for i, frame in enumerate(frames):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, folder / f"part-{i}.parquet", row_group_size=7)
    return frames


def _value(frame: pd.DataFrame, row: int, column: str) -> object:
    if column not in frame.columns:
        return None
    value = frame[column].iloc[row]
    if pd.isna(value):
        return None
    if column == "seen":
        return pd.Timestamp(value).tz_localize("UTC")
    return value.item() if hasattr(value, "item") else value


def test_take_rows_matches_the_files_cell_by_cell(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frames = _write(tmp_path / "src", rng)
    files = [str(tmp_path / "src" / f"part-{i}.parquet") for i in range(3)]
    picks = [(int(f), int(r)) for f in rng.integers(0, 3, 300) for r in [rng.integers(0, 45)]]
    gids = [None if i % 9 == 0 else (f << FILE_BITS) | r for i, (f, r) in enumerate(picks)]
    got = take_rows(files, pa.chunked_array([pa.array(gids, pa.int64())]), TYPES, "test rows")
    assert [c.type for c in got] == [
        pa.float64(),
        pa.int64(),
        pa.string(),
        pa.bool_(),
        pa.timestamp("us", tz="UTC"),
    ]
    for column, values in zip(TYPES, got, strict=True):
        for gid, value in zip(gids, values.to_pylist(), strict=True):
            expected = None
            if gid is not None:
                expected = _value(frames[gid >> FILE_BITS], gid & ((1 << FILE_BITS) - 1), column)
            assert value == expected, (column, gid)


def test_take_rows_with_nothing_chosen_and_a_corrupt_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    _write(tmp_path / "src", rng)
    files = [str(tmp_path / "src" / f"part-{i}.parquet") for i in range(3)]
    nothing = pa.chunked_array([pa.array([None, None], pa.int64())])
    got = take_rows(files, nothing, TYPES, "test rows")
    assert [c.to_pylist() for c in got] == [[None, None]] * len(TYPES)
    (tmp_path / "src" / "part-1.parquet").write_bytes(b"PAR1 not really")
    one = pa.chunked_array([pa.array([1 << FILE_BITS], pa.int64())])
    with pytest.raises(InvalidInputError, match="Cannot read test rows"):
        take_rows(files, one, TYPES, "test rows")


def test_match_over_many_row_groups_equals_a_reference(store: FeatureStore, tmp_path: Path):
    rng = np.random.default_rng(5)
    frames = _write(tmp_path / "src", rng)
    store.apply([CUSTOMER, FeatureView("g", "customer", TYPES, source=str(tmp_path / "src"))])
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 45, 200),
            "event_timestamp": T0 + pd.to_timedelta(rng.integers(-20, 520, 200), "h"),
        }
    )
    got = store.match(events, [f"g:{c}" for c in TYPES])
    rows = pd.concat([f.assign(_f=i, _r=np.arange(len(f))) for i, f in enumerate(frames)])
    rows = rows.sort_values(["event_timestamp", "_f", "_r"])  # last one wins among ties
    for i, event in events.iterrows():
        seen = rows[
            (rows["customer_id"] == event["customer_id"])
            & (rows["event_timestamp"] <= event["event_timestamp"])
        ]
        for column in TYPES:
            expected = None
            if not seen.empty:
                best = seen.iloc[-1]
                expected = _value(frames[best["_f"]], best["_r"], column)
            value = got[column].iloc[i]
            value = None if pd.isna(value) else value
            assert value == expected, (i, column)
