"""Run one task of the feature-store benchmark with ATLAS and write its result as JSON.

Started by bench.features.vs_feast in a fresh process of the project venv, so that its peak
memory is its own:

    PYTHONPATH=. .venv/bin/python -m bench.features.atlas_runner pit MANIFEST WORK OUT_JSON \
        --repeats 3
    PYTHONPATH=. .venv/bin/python -m bench.features.atlas_runner online MANIFEST WORK OUT_JSON \
        --store sqlite --keys KEYS_NPZ --repeats 3 [--redis-url redis://127.0.0.1:6379/0 --prefix P]

``pit``: ``FeatureStore.match`` of the events against both views (pandas in, pandas out, as
with Feast's ``get_historical_features(...).to_df()``), ``--repeats`` times in the process; the
registry (SQLite) and ATLAS_HOME live in WORK. ``online``: ``materialize`` of the online view
into SQLite (a file in WORK) or Redis (keys under the given prefix, deleted at the end), then
single-entity and batch ``get_online`` lookups of every feature, timed call by call.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import atlas
from atlas.core.settings import Settings
from atlas.data.features import Entity, FeatureStore, FeatureView
from atlas.data.features.offline import DuckDBEngine
from bench.common.memory import self_rss_mb
from bench.features.common import (
    KEY,
    latency_stats,
    load_manifest,
    log,
    online_sample,
    pit_summary,
    run_main,
    time_calls,
    write_pit_sample,
)

ONLINE_SAMPLE = 20


def open_store(
    work: Path, views: list[dict[str, Any]], online_url: str | None, memory_limit: str | None = None
) -> FeatureStore:
    home = work / "atlas"
    settings = Settings(home=home, online_store_url=online_url or f"sqlite:///{home}/online.db")
    store = FeatureStore(settings, offline=DuckDBEngine(memory_limit=memory_limit))
    objects: list[Entity | FeatureView] = [Entity("customer", join_key=KEY, dtype="int64")]
    for view in views:
        ttl = view["ttl_seconds"]
        objects.append(
            FeatureView(
                view["name"],
                entity="customer",
                features=dict(view["features"]),
                source=view["path"],
                ttl=None if ttl is None else timedelta(seconds=ttl),
            )
        )
    store.apply(objects)
    return store


def run_pit(args: dict[str, Any]) -> dict[str, Any]:
    manifest = load_manifest(args["manifest"])
    work = Path(args["work"])
    store = open_store(work, manifest["views"], None, args["memory_limit"])
    refs = [f"{v['name']}:{f}" for v in manifest["views"] for f in v["features"]]
    features = [r.split(":")[1] for r in refs]
    events = pd.read_parquet(manifest["events"]["path"])
    base = self_rss_mb()
    log(f"atlas pit: {len(events)} events, {len(refs)} features, rss {base:.0f} MB")
    times, out = [], None
    for i in range(args["repeats"]):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = store.match(events, refs)
        times.append(time.perf_counter() - t0)
        log(f"atlas pit run {i + 1}: {times[-1]:.2f} s, rss {self_rss_mb():.0f} MB")
    assert out is not None
    order_kept = bool((out["event_id"].to_numpy() == events["event_id"].to_numpy()).all())
    sample = write_pit_sample(out, features, manifest["sample_event_ids"], work / "sample.json")
    return {
        "system": "atlas",
        "version": atlas.__version__,
        "task": "pit",
        "store": "duckdb",
        "memory_limit": args["memory_limit"],
        "times_s": times,
        "rss_base_mb": base,
        "sample_path": sample,
        "order_kept": order_kept,
        **pit_summary(out, features),
    }


def run_online(args: dict[str, Any]) -> dict[str, Any]:
    manifest = load_manifest(args["manifest"])
    work = Path(args["work"])
    url = None
    if args["store"] == "redis":
        url = f"{args['redis_url']}?prefix={args['prefix']}"
    store = open_store(work, [manifest["view"]], url)
    try:
        return lookups(store, manifest, args)
    finally:
        if args["store"] == "redis":
            removed = store.online.clear()  # type: ignore[attr-defined]
            log(f"atlas redis: removed {removed} keys under {args['prefix']}")
        store.online.close()


def lookups(store: FeatureStore, manifest: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    view = manifest["view"]
    refs = [f"{view['name']}:{f}" for f in view["features"]]
    t0 = time.perf_counter()
    result = store.materialize([view["name"]])
    materialize_s = time.perf_counter() - t0
    log(f"atlas {args['store']}: materialized {result[0].entities} in {materialize_s:.1f} s")
    keys = np.load(args["keys"])
    singles = keys["singles"].tolist()
    batches = keys["batches"].tolist()
    warm, warm_b = int(keys["warmup"]), int(keys["warmup_batches"])
    base = self_rss_mb()
    one, many = [], []
    for i in range(args["repeats"]):
        gc.collect()
        one.append(latency_stats(time_calls(lambda k: store.get_online(k, refs), singles, warm)))
        many.append(latency_stats(time_calls(lambda b: store.get_online(b, refs), batches, warm_b)))
        log(
            f"atlas {args['store']} run {i + 1}: one p99 {one[-1]['p99_ms']:.3f} ms, batch p99 "
            f"{many[-1]['p99_ms']:.3f} ms"
        )
    found = store.get_online(singles[:ONLINE_SAMPLE], refs)
    return {
        "system": "atlas",
        "version": atlas.__version__,
        "task": "online",
        "store": args["store"],
        "materialize_s": materialize_s,
        "materialized": result[0].entities,
        "rss_base_mb": base,
        "one": one,
        "batch": many,
        "online_sample": {
            "keys": singles[:ONLINE_SAMPLE],
            "rows": online_sample(list(found)),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=["pit", "online"])
    parser.add_argument("manifest")
    parser.add_argument("work")
    parser.add_argument("out")
    parser.add_argument("--store", default="sqlite", choices=["duckdb", "sqlite", "redis"])
    parser.add_argument("--keys")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", default="atlas-bench:")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit of the offline engine")
    args = vars(parser.parse_args(argv))
    return run_main(run_pit if args["task"] == "pit" else run_online, args)


if __name__ == "__main__":
    sys.exit(main())
