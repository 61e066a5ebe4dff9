"""The floor of point-in-time matching on the benchmark's files: two parts no system can skip.

1. The bare ASOF join in DuckDB of the events with each view's (key, timestamp) columns,
   counted, nothing else. Any DuckDB-based point-in-time join (ATLAS's engine, Feast's DuckDB
   offline store) does at least this: read the key and timestamp of every feature row, sort
   them, join the events to them. It reads no feature value, keeps no row id, removes no
   duplicate and applies no TTL.
2. Decoding the feature values: ``pyarrow.parquet.read_table`` of every view's feature columns
   (multi-threaded). A million events over half a million entities need a row of nearly every
   row group, so whoever returns the values decodes about all of them.

Their sum is a lower bound for every system that reads these files; comparing it with ATLAS's
and Feast's times (bench.features.vs_feast, same files) says how much room is left:

    .venv/bin/python -m bench.features.vs_feast --parts pit   # generates the data, times both
    .venv/bin/python -m bench.features.floor --canonical      # the newest pit data, 3 runs
    .venv/bin/python -m bench.features.floor --manifest PATH/TO/manifest.json

Prints the medians and writes floor.json, stamped, to bench/results/features/ (``--canonical``)
or bench/results/scratch/features/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from bench.common.results import add_canonical_flag, output_dir, write_json
from bench.common.stamp import stamp
from bench.features.vs_feast import AREA, DATA_DIR


def floor_sql(manifest: dict[str, Any]) -> str:
    key, ts = manifest["key"], manifest["timestamp"]
    joins, ctes = "", [f"ev AS (SELECT {key} AS k, {ts} AS t FROM read_parquet(?))"]
    for i, _view in enumerate(manifest["views"]):
        ctes.append(f"v{i} AS (SELECT {key} AS k, {ts} AS t FROM read_parquet(?))")
        joins += f" ASOF LEFT JOIN v{i} ON ev.k = v{i}.k AND ev.t >= v{i}.t"
    picks = ", ".join(f"count(v{i}.t)" for i in range(len(manifest["views"])))
    return f"WITH {', '.join(ctes)} SELECT count(*), {picks} FROM ev{joins}"


def newest_manifest() -> Path:
    found = sorted(DATA_DIR.glob("pit-*/manifest.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit("No point-in-time data: run `python -m bench.features.vs_feast --parts pit`.")
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest", type=Path, help="a pit manifest.json (default: the newest)")
    p.add_argument("--repeats", type=int, default=3)
    add_canonical_flag(p)
    args = p.parse_args(argv)
    path = args.manifest or newest_manifest()
    manifest = json.loads(path.read_text())
    sql = floor_sql(manifest)
    params = [manifest["events"]["path"], *(v["path"] for v in manifest["views"])]
    times, decode, counts = [], [], None
    for _ in range(args.repeats):
        con = duckdb.connect()  # a fresh connection each run: nothing cached between runs
        began = time.perf_counter()
        counts = con.execute(sql, params).fetchone()
        times.append(time.perf_counter() - began)
        con.close()
        began = time.perf_counter()
        for view in manifest["views"]:
            table = pq.read_table(view["path"], columns=list(view["features"]))
            del table
        decode.append(time.perf_counter() - began)
    result = {
        "stamp": stamp(),
        "manifest": str(path),
        "events": manifest["events"]["rows"],
        "feature_rows": sum(v["rows"] for v in manifest["views"]),
        "duckdb": duckdb.__version__,
        "times_s": times,
        "median_s": statistics.median(times),
        "decode_times_s": decode,
        "decode_median_s": statistics.median(decode),
        "floor_s": statistics.median(times) + statistics.median(decode),
        "matched": list(counts or []),
    }
    out = output_dir(AREA, args.canonical) / "floor.json"
    write_json(out, result)
    print(
        f"bare DuckDB ASOF join, {result['events']:,} events x {result['feature_rows']:,} "
        f"feature rows: median {result['median_s']:.2f} s of {args.repeats} "
        f"({', '.join(f'{t:.2f}' for t in times)}); matched {result['matched']}\n"
        f"decoding every feature value: median {result['decode_median_s']:.2f} s "
        f"({', '.join(f'{t:.2f}' for t in decode)})\n"
        f"floor (sum): {result['floor_s']:.2f} s; wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
