"""Summary of the feature-store benchmark: correctness checks, ratios, targets, tables.

Used by bench.features.vs_feast; standard library only. Speedups are Feast's figure divided by
ATLAS's from the same run (how many times faster ATLAS is); above 1 means ATLAS is faster.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

TARGETS = {"pit_speedup": 10.0, "pit_memory": 2.0, "sqlite_p99": 1.0, "redis_p99": 2.0}
ONLINE_SPEEDUP = 5.0


def same(a: Any, b: Any) -> bool:
    """Missing equals missing; text compares as text; numbers and booleans as floats."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return float(a) == float(b)


def compare_rows(
    ours: list[dict[str, Any] | None], theirs: list[dict[str, Any] | None], ids: list[Any]
) -> dict[str, Any]:
    """Cell by cell; ``theirs`` may lack rows (None): those are counted, not compared."""
    cells, bad, missing = 0, 0, 0
    examples: list[dict[str, Any]] = []
    for key, a, b in zip(ids, ours, theirs, strict=True):
        if b is None or a is None:
            missing += int(b is None and a is not None)
            continue
        for column, value in a.items():
            cells += 1
            if column not in b or not same(value, b[column]):
                bad += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "id": key,
                            "column": column,
                            "atlas": value,
                            "feast": b.get(column, "<absent>"),
                        }
                    )
    return {
        "rows": len(ids) - missing,
        "missing_rows": missing,
        "cells": cells,
        "mismatches": bad,
        "examples": examples,
    }


def compare_pit(
    atlas: dict[str, Any], feast: dict[str, Any], views: dict[str, list[str]]
) -> dict[str, Any]:
    """The sampled events row by row. Rows Feast lacks are counted, and of those, how many
    have a view with no value at all in ATLAS's row (no row of the entity at or before the
    event, or only one older than the TTL): the events Feast's file store drops."""
    ours = {r["event_id"]: r for r in json.loads(Path(atlas["sample_path"]).read_text())}
    theirs = {r["event_id"]: r for r in json.loads(Path(feast["sample_path"]).read_text())}
    ids = sorted(ours)
    out = compare_rows([ours[i] for i in ids], [theirs.get(i) for i in ids], ids)
    lacking = [ours[i] for i in ids if i not in theirs]
    out["missing_without_match"] = sum(
        any(all(row[f] is None for f in names) for names in views.values()) for row in lacking
    )
    out["output_rows"] = {"atlas": atlas["rows"], "feast": feast["rows"]}
    out["non_null_differs"] = sorted(
        f for f, n in atlas["non_null"].items() if feast["non_null"].get(f) != n
    )
    return out


def compare_online(atlas: dict[str, Any], feast: dict[str, Any]) -> dict[str, Any]:
    a, b = atlas["online_sample"], feast["online_sample"]
    if a["keys"] != b["keys"]:
        note = "not compared: the runs looked up different keys (rerun both systems)"
        return {"rows": 0, "missing_rows": 0, "cells": 0, "mismatches": None, "note": note}
    return compare_rows(a["rows"], b["rows"], a["keys"])


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


ORDER = {"duckdb": 0, "file": 1, "sqlite": 2, "redis": 3}


def summarize(results: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """One row per run (ATLAS before Feast, by store), speedups and checks against ATLAS."""
    results = sorted(
        results, key=lambda r: (ORDER.get(r["store"], 9), r["system"] != "atlas", r["store"])
    )
    ok = {(r["system"], r["task"], r["store"]): r for r in results if r.get("status") == "ok"}
    atlas_pit = ok.get(("atlas", "pit", "duckdb"))
    pit, online = [], []
    for r in (r for r in results if r["task"] == "pit"):
        row: dict[str, Any] = {
            k: r.get(k) for k in ("system", "store", "status", "error", "version")
        }
        row.update(peak_mb=r.get("peak_mb"), before_mb=r.get("rss_base_mb"))
        row["order_kept"] = r.get("order_kept")
        if r.get("memory_limit"):
            row["store"] += f" (memory_limit {r['memory_limit']})"
        row.update(times_s=r.get("times_s"), median_s=med(r.get("times_s") or []))
        row["peak_over_input"] = (r.get("peak_mb") or 0) * 2**20 / meta["pit_input_bytes"]
        if r["system"] == "feast" and atlas_pit and r.get("status") == "ok":
            row["speedup"] = row["median_s"] / med(atlas_pit["times_s"])
            samples = [Path(x["sample_path"]) for x in (atlas_pit, r)]
            if all(path.is_file() for path in samples):
                row["check"] = compare_pit(atlas_pit, r, meta.get("pit_views", {}))
            else:  # an older run's logs were removed: run the pair again to compare
                row["check"] = {"note": "sample file gone; rerun both to compare"}
        pit.append(row)
    for r in (r for r in results if r["task"] == "online"):
        row = {k: r.get(k) for k in ("system", "store", "status", "error", "version")}
        row.update(peak_mb=r.get("peak_mb"), materialize_s=r.get("materialize_s"))
        for kind in ("one", "batch"):
            for stat in ("p50_ms", "p99_ms"):
                row[f"{kind}_{stat}"] = med([s[stat] for s in r.get(kind) or []])
        online.append(row)
    for row in online:
        base = ok.get(("atlas", "online", row["store"]))
        theirs = ok.get(("feast", "online", row["store"]))
        if (
            row["system"] == "feast"
            and base
            and theirs
            and base.get("setup") != theirs.get("setup")
        ):
            note = f"not compared: ATLAS's run had other lookup settings ({base.get('setup')})"
            row["check"] = {"note": note}
        elif row["system"] == "feast" and base and theirs:
            for kind in ("one", "batch"):
                ours = med([s["p99_ms"] for s in base[kind]])
                row[f"speedup_{kind}"] = row[f"{kind}_p99_ms"] / ours
            row["check"] = compare_online(base, theirs)
    return {"meta": meta, "pit": pit, "online": online, "targets": targets(pit, online)}


def targets(pit: list[dict[str, Any]], online: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []

    def add(what: str, value: float | None, limit: float, higher: bool) -> None:
        ok = value is not None and (value >= limit if higher else value <= limit)
        out.append({"target": what, "value": value, "limit": limit, "met": ok})

    for row in pit:
        if row["system"] == "atlas" and row["status"] == "ok":
            add(
                "PIT peak memory / input size (ATLAS)",
                row["peak_over_input"],
                TARGETS["pit_memory"],
                False,
            )
        if "speedup" in row:
            add(
                f"PIT speedup vs Feast {row['store']}", row["speedup"], TARGETS["pit_speedup"], True
            )
            check = row["check"]
            if "mismatches" not in check:
                continue
            add(
                f"PIT sample mismatches vs Feast {row['store']} ({check['rows']} rows)",
                check["mismatches"],
                0,
                False,
            )
    for row in online:
        if row["system"] == "atlas" and row["status"] == "ok":
            limit = TARGETS.get(f"{row['store']}_p99")
            if limit:
                add(
                    f"online p99 one entity, ATLAS {row['store']} (ms)",
                    row["one_p99_ms"],
                    limit,
                    False,
                )
        if "speedup_one" in row:
            add(
                f"online p99 speedup vs Feast {row['store']}, one entity",
                row["speedup_one"],
                ONLINE_SPEEDUP,
                True,
            )
            add(
                f"online p99 speedup vs Feast {row['store']}, batch",
                row["speedup_batch"],
                ONLINE_SPEEDUP,
                True,
            )
    return out


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1e5:
            return f"{value:.3g}"
        return f"{value:.{0 if abs(value) >= 100 else digits if abs(value) >= 1 else 3}f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def check_text(row: dict[str, Any]) -> str:
    check = row.get("check")
    if not check:
        if row["system"] == "atlas" and row.get("order_kept") is not None:
            return "reference" + ("" if row["order_kept"] else " (event order NOT kept)")
        return "-" if row["system"] == "feast" else "reference"
    if check.get("note"):
        return str(check["note"])
    text = f"{check['mismatches']} of {check['cells']} cells differ"
    if check.get("missing_rows"):
        total = check["rows"] + check["missing_rows"]
        text += f"; Feast lacks {check['missing_rows']} of {total} rows"
        text += f" ({check.get('missing_without_match', '?')} of them with a view unmatched)"
    return text


PIT_COLUMNS = [
    ("system", "system"),
    ("offline store", "store"),
    ("status", "status"),
    ("runs", lambda r: len(r["times_s"] or [])),
    ("match s", "median_s"),
    ("RSS before MB", "before_mb"),
    ("peak MB", "peak_mb"),
    ("peak / input", "peak_over_input"),
    ("ATLAS x faster", "speedup"),
    ("sample check vs ATLAS", check_text),
]
ONLINE_COLUMNS = [
    ("system", "system"),
    ("online store", "store"),
    ("status", "status"),
    ("materialize s", "materialize_s"),
    ("one p50 ms", "one_p50_ms"),
    ("one p99 ms", "one_p99_ms"),
    ("batch p50 ms", "batch_p50_ms"),
    ("batch p99 ms", "batch_p99_ms"),
    ("ATLAS x faster (p99 one)", "speedup_one"),
    ("ATLAS x faster (p99 batch)", "speedup_batch"),
    ("sample check vs ATLAS", check_text),
]


def render(columns: list[tuple[str, Any]], rows: list[dict[str, Any]]) -> str:
    cells = [[c(r) if callable(c) else r.get(c) for _, c in columns] for r in rows]
    return table([name for name, _ in columns], cells)


def to_markdown(summary: dict[str, Any]) -> str:
    meta = summary["meta"]
    parts = [
        f"Scale `{meta.get('scale')}`, seed {meta.get('seed')}, {meta.get('machine')}, "
        f"{meta.get('when')}. Times are medians over each run's repeats; speedups divide "
        "Feast's figure by ATLAS's."
    ]
    if summary["pit"]:
        text = f"Point-in-time matching ({meta.get('pit_desc', '')}):\n\n"
        parts.append(text + render(PIT_COLUMNS, summary["pit"]))
    if summary["online"]:
        text = f"Online lookups ({meta.get('online_desc', '')}):\n\n"
        parts.append(text + render(ONLINE_COLUMNS, summary["online"]))
    if summary["targets"]:
        rows = [
            [t["target"], t["value"], t["limit"], "yes" if t["met"] else "**no**"]
            for t in summary["targets"]
        ]
        parts.append("Targets:\n\n" + table(["target", "value", "limit", "met"], rows))
    failed = summary["pit"] + summary["online"]
    errors = [f"- {r['system']} {r['store']}: {r['error']}" for r in failed if r.get("error")]
    if errors:
        parts.append("Errors:\n\n" + "\n".join(errors))
    return "\n\n".join(parts) + "\n"
