"""Helpers shared by the feature-store benchmark's runners (ATLAS's venv and Feast's venv).

Only the standard library, numpy, pandas, pyarrow and psutil (bench.common.memory): both venvs
have them. The orchestrator (bench.features.vs_feast) writes a manifest of the generated data
(``manifest.json``: files, views, feature types, TTLs, the sampled event ids); each runner
reads it, runs one task and writes one JSON result.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common.memory import self_peak_rss_mb

KEY = "customer_id"
TS = "event_timestamp"
EVENT_ID = "event_id"


def load_manifest(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def latency_stats(ns: list[int]) -> dict[str, float]:
    """p50 / p99 / mean / max in milliseconds of per-call durations in nanoseconds."""
    ms = np.asarray(ns, dtype=np.float64) / 1e6
    return {
        "n": int(ms.size),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
    }


def time_calls(fn: Callable[[Any], Any], args: list[Any], warmup: int) -> list[int]:
    """Call ``fn`` on each item of ``args``; the first ``warmup`` calls are not timed."""
    for item in args[:warmup]:
        fn(item)
    out = []
    clock = time.perf_counter_ns
    for item in args[warmup:]:
        t0 = clock()
        fn(item)
        out.append(clock() - t0)
    return out


def pit_summary(frame: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """What the orchestrator compares across systems over the whole output: the row count and
    the non-missing count of each feature (the sampled rows are compared one by one)."""
    return {
        "rows": len(frame),
        "non_null": {f: int(frame[f].notna().sum()) for f in features},
    }


def write_pit_sample(
    frame: pd.DataFrame, features: list[str], sample_ids: list[int], path: Path
) -> str:
    """Write the rows of the sampled events (event id, key, label, features) by event id as
    JSON records, missing values as null, so every system's output compares alike."""
    keep = frame[frame[EVENT_ID].isin(set(sample_ids))]
    cols = [EVENT_ID, KEY, "label", *features]
    out = keep[cols].sort_values(EVENT_ID).reset_index(drop=True).astype(object)
    records = out.where(out.notna(), None).to_dict("records")
    path.write_text(json.dumps(online_sample(records)))
    return str(path)


def online_sample(rows: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """JSON-safe lookup results: NaN as None, numpy scalars as Python values."""

    def clean(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float | np.floating) and np.isnan(value):
            return None
        return value.item() if isinstance(value, np.generic) else value

    return [None if r is None else {k: clean(v) for k, v in r.items()} for r in rows]


def run_main(task: Callable[[dict[str, Any]], dict[str, Any]], args: dict[str, Any]) -> int:
    """Run ``task``, add memory figures and any error, and write the JSON to ``args['out']``."""
    result: dict[str, Any] = {"error": None}
    try:
        result.update(task(args))
    except Exception as exc:  # every failure is reported in the JSON, not raised
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    result["max_rss_mb"] = self_peak_rss_mb()
    Path(args["out"]).write_text(json.dumps(result, indent=1, default=str))
    return 0 if result["error"] is None else 1


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
