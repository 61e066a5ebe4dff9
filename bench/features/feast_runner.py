"""Run one task of the feature-store benchmark with Feast and write its result as JSON.

Started by bench.features.vs_feast with Feast's own Python (``bench/.venv-feast``, made by
``bash bench/features/setup_feast.sh``), in a fresh process, so it imports nothing of ATLAS:

    PYTHONPATH=. bench/.venv-feast/bin/python -m bench.features.feast_runner pit MANIFEST WORK \
        OUT_JSON --offline file|duckdb --repeats 3
    PYTHONPATH=. bench/.venv-feast/bin/python -m bench.features.feast_runner online MANIFEST \
        WORK OUT_JSON --online sqlite|redis --keys KEYS_NPZ --repeats 3 [--redis 127.0.0.1:6379]

WORK gets a Feast repo (``feature_store.yaml``, a file registry with ``cache_ttl_seconds: 0``
so that it is read once, like ATLAS's cached definitions) whose entity and feature views read
the same Parquet files as ATLAS. ``pit``: ``get_historical_features(entity_df, features)
.to_df()`` with the file (Dask) or DuckDB (ibis) offline store. ``online``: ``materialize`` of
the online view, then ``get_online_features(features, entity_rows).to_dict()`` lookups, timed
call by call; on Redis every key of the run's project (a unique name) is deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feast
import numpy as np
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float64, Int64, String

from bench.common.memory import self_rss_mb
from bench.features.common import (
    KEY,
    TS,
    latency_stats,
    load_manifest,
    log,
    online_sample,
    pit_summary,
    run_main,
    time_calls,
    write_pit_sample,
)

TYPES = {"float64": Float64, "int64": Int64, "string": String, "bool": Bool}
ONLINE_SAMPLE = 20


def repo_yaml(work: Path, args: dict[str, Any]) -> str:
    if args["online"] == "redis":
        online = f'  type: redis\n  connection_string: "{args["redis"]}"\n'
    else:
        online = f"  type: sqlite\n  path: {work / 'online.db'}\n"
    return (
        f"project: {args['project']}\n"
        f"registry:\n  path: {work / 'registry.db'}\n  cache_ttl_seconds: 0\n"
        "provider: local\n"
        f"offline_store:\n  type: {args['offline']}\n"
        f"online_store:\n{online}"
        "entity_key_serialization_version: 3\n"
        "materialization:\n  online_write_batch_size: 10000\n"  # bounded memory
    )


def open_store(work: Path, views: list[dict[str, Any]], args: dict[str, Any]) -> FeatureStore:
    work.mkdir(parents=True, exist_ok=True)
    (work / "feature_store.yaml").write_text(repo_yaml(work, args))
    store = FeatureStore(repo_path=str(work))
    customer = Entity(name="customer", join_keys=[KEY], value_type=ValueType.INT64)
    objects: list[Any] = [customer]
    for view in views:
        ttl = view["ttl_seconds"]
        schema = [Field(name=KEY, dtype=Int64)]
        schema += [Field(name=f, dtype=TYPES[t]) for f, t in view["features"].items()]
        objects.append(
            FeatureView(
                name=view["name"],
                entities=[customer],
                ttl=timedelta(seconds=ttl) if ttl else timedelta(0),  # 0: no limit in Feast
                schema=schema,
                source=FileSource(
                    name=f"{view['name']}_source", path=view["path"], timestamp_field=TS
                ),
                online=True,
            )
        )
    store.apply(objects)
    return store


def run_pit(args: dict[str, Any]) -> dict[str, Any]:
    manifest = load_manifest(args["manifest"])
    work = Path(args["work"])
    store = open_store(work / "repo", manifest["views"], args)
    refs = [f"{v['name']}:{f}" for v in manifest["views"] for f in v["features"]]
    features = [r.split(":")[1] for r in refs]
    events = pd.read_parquet(manifest["events"]["path"])
    base = self_rss_mb()
    log(f"feast {args['offline']} pit: {len(events)} events, {len(refs)} features")
    times, out = [], None
    for i in range(args["repeats"]):
        out = None
        gc.collect()
        entity_df = events.copy()
        t0 = time.perf_counter()
        out = store.get_historical_features(entity_df=entity_df, features=refs).to_df()
        times.append(time.perf_counter() - t0)
        rss = self_rss_mb()
        log(f"feast {args['offline']} pit run {i + 1}: {times[-1]:.2f} s, rss {rss:.0f} MB")
    assert out is not None
    sample = write_pit_sample(out, features, manifest["sample_event_ids"], work / "sample.json")
    return {
        "system": "feast",
        "version": feast.__version__,
        "task": "pit",
        "store": args["offline"],
        "times_s": times,
        "rss_base_mb": base,
        "sample_path": sample,
        **pit_summary(out, features),
    }


def run_online(args: dict[str, Any]) -> dict[str, Any]:
    manifest = load_manifest(args["manifest"])
    work = Path(args["work"])
    store = open_store(work / "repo", [manifest["view"]], args)
    try:
        return lookups(store, manifest, args)
    finally:
        if args["online"] == "redis":
            log(f"feast redis: removed {clear_redis(args)} keys of project {args['project']}")


def clear_redis(args: dict[str, Any]) -> int:
    """Delete every key of this run's project (Feast's keys end with the project name)."""
    import redis

    host, _, rest = args["redis"].partition(":")
    port, _, params = rest.partition(",")
    db = int(dict(p.split("=", 1) for p in params.split(",") if "=" in p).get("db", 0))
    client = redis.Redis(host=host, port=int(port), db=db)
    removed, batch = 0, []
    for key in client.scan_iter(match=b"*" + args["project"].encode(), count=1000):
        batch.append(key)
        if len(batch) == 1000:
            removed += int(client.delete(*batch))
            batch = []
    if batch:
        removed += int(client.delete(*batch))
    return removed


def lookups(store: FeatureStore, manifest: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    view = manifest["view"]
    refs = [f"{view['name']}:{f}" for f in view["features"]]
    start = datetime.fromtimestamp(manifest["start"] - 1, tz=UTC)
    end = datetime.fromtimestamp(manifest["end"] + 1, tz=UTC)
    t0 = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=[view["name"]])
    materialize_s = time.perf_counter() - t0
    log(f"feast {args['online']}: materialized in {materialize_s:.1f} s")
    keys = np.load(args["keys"])
    singles = [[{KEY: k}] for k in keys["singles"].tolist()]
    batches = [[{KEY: k} for k in b] for b in keys["batches"].tolist()]
    warm, warm_b = int(keys["warmup"]), int(keys["warmup_batches"])

    def get(rows: list[dict[str, int]]) -> dict[str, list[Any]]:
        return store.get_online_features(features=refs, entity_rows=rows).to_dict()

    base = self_rss_mb()
    one, many = [], []
    for i in range(args["repeats"]):
        gc.collect()
        one.append(latency_stats(time_calls(get, singles, warm)))
        many.append(latency_stats(time_calls(get, batches, warm_b)))
        log(
            f"feast {args['online']} run {i + 1}: one p99 {one[-1]['p99_ms']:.3f} ms, "
            f"batch p99 {many[-1]['p99_ms']:.3f} ms"
        )
    sample_keys = [r[0][KEY] for r in singles[:ONLINE_SAMPLE]]
    found = get([{KEY: k} for k in sample_keys])
    names = list(view["features"])
    rows: list[dict[str, Any] | None] = [
        {f: found[f][i] for f in names} for i in range(len(sample_keys))
    ]
    return {
        "system": "feast",
        "version": feast.__version__,
        "task": "online",
        "store": args["online"],
        "offline": args["offline"],
        "materialize_s": materialize_s,
        "rss_base_mb": base,
        "one": one,
        "batch": many,
        "online_sample": {"keys": sample_keys, "rows": online_sample(rows)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["pit", "online"])
    parser.add_argument("manifest")
    parser.add_argument("work")
    parser.add_argument("out")
    parser.add_argument("--offline", default="file", choices=["file", "duckdb"])
    parser.add_argument("--online", default="sqlite", choices=["sqlite", "redis"])
    parser.add_argument("--keys")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--project", default="atlas_bench")
    args = vars(parser.parse_args(argv))
    return run_main(run_pit if args["task"] == "pit" else run_online, args)


if __name__ == "__main__":
    sys.exit(main())
