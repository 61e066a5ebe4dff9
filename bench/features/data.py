"""Generate the feature-store benchmark's data once: Parquet files and a manifest.

    python -m bench.features.data pit OUT_DIR --rows 5000000 --features 50 --events 1000000 \
        --entities 500000 [--sample 1000] [--seed 0]
    python -m bench.features.data online OUT_DIR --entities 1000000 --features 200 [--seed 0]

``pit``: two feature views, ``activity`` (TTL 30 days) and ``profile`` (no TTL), each with
half the rows and half the features, over one year; label events over that year and 10 days
either side. ``online``: one view, ``online``, with one row per entity. Features are
heavy-tailed numbers (log-normal amounts, Pareto counts, Student-t scores), Zipf-distributed
categoricals (5 to 3,000 levels), booleans and Poisson counts, with 0 to 60 % missing values.
How active an entity is (its share of rows and events) is log-normal too. Rows are written in
time order (as an append-only log would be), in row groups of 2^18 rows.

Events are unique per (entity, time), as Feast's file offline store collapses duplicates. Some
are placed on purpose: at exactly a feature row's time (the row must be used: ``<=``), at
exactly a row's time + the TTL (still fresh: the bound is inclusive), one second later
(expired), and for entities without any row. The sample of events compared row by row is 1,000
random events plus up to 50 of each such kind. Only numpy and pyarrow are needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
SPAN = 365 * 86_400
DAY = 86_400
KINDS = ("amount", "count", "score", "cat", "ratio", "flag", "days")
DTYPE = {
    "amount": "float64",
    "count": "int64",
    "score": "float64",
    "cat": "string",
    "ratio": "float64",
    "flag": "bool",
    "days": "int64",
}
MISSING = (0.0, 0.02, 0.1, 0.3, 0.6)
LEVELS = (5, 30, 300, 3000)
CHUNK = 1 << 18
ACTIVITY_TTL = 30 * DAY
TTL: dict[str, int | None] = {"activity": ACTIVITY_TTL, "profile": None}
# event kinds: 0 random, 1 at an activity row's time, 2 at a profile row's time,
# 3 at an activity row's time + TTL, 4 one second after that, 5 an unknown entity
SHARES = {1: 0.05, 2: 0.02, 3: 0.01, 4: 0.01}


def feature_names(prefix: str, count: int) -> dict[str, str]:
    return {f"{prefix}_{KINDS[i % 7]}_{i:03d}": DTYPE[KINDS[i % 7]] for i in range(count)}


def column(rng: np.random.Generator, kind: str, i: int, n: int) -> pa.Array:
    """One feature column of ``n`` values: the kind picks the distribution, ``i`` the
    missing share and the number of categories."""
    missing = rng.random(n) < MISSING[i % len(MISSING)]
    if kind == "amount":
        values: Any = np.round(rng.lognormal(3.0, 1.5, n), 2)
    elif kind == "count":
        values = np.minimum(np.floor(rng.pareto(1.2, n) * 3), 1e9).astype(np.int64)
    elif kind == "score":
        values = rng.standard_t(3, n)
    elif kind == "ratio":
        values = rng.beta(0.5, 0.5, n)
    elif kind == "flag":
        values = rng.random(n) < 0.1 + 0.1 * (i % 5)
    elif kind == "days":
        values = rng.poisson(30, n).astype(np.int64)
    else:
        levels = LEVELS[i % len(LEVELS)]
        ranks = (rng.zipf(1.3, n) - 1) % levels
        names = pa.array([f"{kind}{i}_{j}" for j in range(levels)])
        return names.take(pa.array(ranks, mask=missing))
    return pa.array(values, mask=missing)


def write_rows(
    rng: np.random.Generator,
    path: Path,
    keys: np.ndarray,
    seconds: np.ndarray,
    features: dict[str, str],
) -> int:
    """Write (key, time, features) in chunks; returns the in-memory (Arrow) size in bytes."""
    writer, size = None, 0
    for start in range(0, len(keys), CHUNK):
        stop = min(start + CHUNK, len(keys))
        cols = {
            "customer_id": pa.array(keys[start:stop]),
            "event_timestamp": timestamps(seconds[start:stop]),
        }
        for i, name in enumerate(features):
            cols[name] = column(rng, name.split("_")[1], i, stop - start)
        table = pa.table(cols)
        size += table.nbytes
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
    if writer is not None:
        writer.close()
    return size


def timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[us]")).cast(
        pa.timestamp("us", tz="UTC")
    )


def unique_pairs(keys: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each (key, second) pair."""
    packed = keys.astype(np.int64) * (1 << 32) + (seconds - START + (1 << 30))
    return np.sort(np.unique(packed, return_index=True)[1])


def make_pit(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    activity = rng.lognormal(0.0, 1.0, args.entities)
    weights = activity / activity.sum()
    views, rows_of, input_bytes = [], {}, 0
    per_view = [args.features // 2, args.features - args.features // 2]
    for (name, prefix), n_features in zip(
        [("activity", "act"), ("profile", "pro")], per_view, strict=True
    ):
        n = args.rows // 2
        keys = rng.choice(args.entities, size=n, p=weights).astype(np.int64)
        seconds = START + rng.integers(0, SPAN, n)
        keep = unique_pairs(keys, seconds)
        keys, seconds = keys[keep], seconds[keep]
        order = np.argsort(seconds, kind="stable")
        keys, seconds = keys[order], seconds[order]
        features = feature_names(prefix, n_features)
        path = out / f"{name}.parquet"
        input_bytes += write_rows(rng, path, keys, seconds, features)
        rows_of[name] = (keys, seconds)
        views.append(
            {
                "name": name,
                "path": str(path),
                "ttl_seconds": TTL[name],
                "features": features,
                "rows": len(keys),
            }
        )
    events, kinds = make_events(rng, args, weights, rows_of)
    pq.write_table(events, out / "events.parquet", row_group_size=CHUNK)
    input_bytes += events.nbytes
    sample = pick_sample(rng, kinds, args.sample)
    return {
        "part": "pit",
        "views": views,
        "events": {"path": str(out / "events.parquet"), "rows": events.num_rows},
        "event_kinds": {str(k): int((kinds == k).sum()) for k in range(6)},
        "sample_event_ids": sample,
        "input_bytes": input_bytes,
        "parquet_bytes": sum(p.stat().st_size for p in out.glob("*.parquet")),
    }


def make_events(
    rng: np.random.Generator,
    args: argparse.Namespace,
    weights: np.ndarray,
    rows_of: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[pa.Table, np.ndarray]:
    n = args.events
    keys = rng.choice(args.entities, size=n, p=weights).astype(np.int64)
    seconds = START - 10 * DAY + rng.integers(0, SPAN + 20 * DAY, n)
    kinds = np.zeros(n, dtype=np.int64)
    draw = rng.random(n)
    edge = 0.0
    for kind, share in SHARES.items():
        chosen = (draw >= edge) & (draw < edge + share)
        edge += share
        rk, rs = rows_of["profile" if kind == 2 else "activity"]
        pick = rng.integers(0, len(rk), int(chosen.sum()))
        keys[chosen] = rk[pick]
        shift = {1: 0, 2: 0, 3: ACTIVITY_TTL, 4: ACTIVITY_TTL + 1}[kind]
        seconds[chosen] = rs[pick] + shift
        kinds[chosen] = kind
    unknown = (draw >= edge) & (draw < edge + 0.02)
    keys[unknown] = args.entities + rng.integers(0, max(args.entities // 10, 1), int(unknown.sum()))
    kinds[unknown] = 5
    keep = unique_pairs(keys, seconds)
    keep = keep[rng.permutation(len(keep))]  # events arrive in no particular order
    keys, seconds, kinds = keys[keep], seconds[keep], kinds[keep]
    table = pa.table(
        {
            "event_id": pa.array(np.arange(len(keys), dtype=np.int64)),
            "customer_id": pa.array(keys),
            "event_timestamp": timestamps(seconds),
            "label": pa.array((rng.random(len(keys)) < 0.1).astype(np.int64)),
        }
    )
    return table, kinds


def pick_sample(rng: np.random.Generator, kinds: np.ndarray, size: int) -> list[int]:
    ids = set(rng.choice(len(kinds), size=min(size, len(kinds)), replace=False).tolist())
    for kind in range(1, 6):
        found = np.flatnonzero(kinds == kind)
        ids.update(rng.choice(found, size=min(50, len(found)), replace=False).tolist())
    return sorted(int(i) for i in ids)


def make_online(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 1)
    keys = np.arange(args.entities, dtype=np.int64)
    seconds = START + rng.integers(0, SPAN, args.entities)
    features = feature_names("onl", args.features)
    path = out / "online.parquet"
    size = write_rows(rng, path, keys, seconds, features)
    return {
        "part": "online",
        "view": {"name": "online", "path": str(path), "ttl_seconds": None, "features": features},
        "entities": args.entities,
        "start": int(START),
        "end": int(seconds.max()),
        "input_bytes": size,
        "parquet_bytes": path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["pit", "online"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=500_000)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = make_pit(args, args.out) if args.part == "pit" else make_online(args, args.out)
    manifest.update({"seed": args.seed, "key": "customer_id", "timestamp": "event_timestamp"})
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    sizes = f"{manifest['input_bytes'] / 2**20:.0f} MB in memory"
    print(f"{args.part} data in {args.out}: {sizes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
