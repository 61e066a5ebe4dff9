"""Summaries of the AutoML peer benchmark: per-dataset means, pairwise wins, time, failures.

Pure standard library. The rows are the CSV rows that ``bench.automl.peers`` writes (all
values strings).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from typing import Any

HIGHER_IS_BETTER = {"roc_auc": True, "log_loss": False, "rmse": False}
TIE_RELATIVE = 0.001  # a tie: |a - b| <= 0.001 * max(|a|, |b|)


def _float(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def compare(a: float, b: float, metric: str) -> int:
    """1 if ``a`` beats ``b``, -1 if it loses, 0 for a tie (within 0.1% relative)."""
    if abs(a - b) <= TIE_RELATIVE * max(abs(a), abs(b)):
        return 0
    better = a > b if HIGHER_IS_BETTER[metric] else a < b
    return 1 if better else -1


def summarize(rows: list[dict[str, str]], systems: list[str]) -> dict[str, Any]:
    """The summary of one budget's rows; ``systems`` orders the columns (atlas first)."""
    present = {r["system"] for r in rows}
    systems = [s for s in systems if s in present] + sorted(present - set(systems))
    datasets: dict[str, dict[str, Any]] = {}
    for r in rows:
        ds = datasets.setdefault(
            r["dataset"], {"task": r["task"], "metric": r["metric"], "folds": set(), "runs": {}}
        )
        ds["folds"].add(int(r["fold"]))
        ds["runs"].setdefault(r["system"], {})[int(r["fold"])] = r

    table: dict[str, Any] = {}
    for name, ds in datasets.items():
        cells = {}
        for system in systems:
            runs = ds["runs"].get(system, {})
            scored = {f: _float(r["score"]) for f, r in runs.items() if r["status"] == "ok"}
            ok = {f: s for f, s in scored.items() if s is not None}
            failed = sorted(f for f in runs if f not in ok)
            if not runs:
                status = "missing"
            elif failed:
                status = "fail"
            elif set(ok) == ds["folds"]:
                status = "ok"
            else:
                status = "partial"
            mean = statistics.fmean(ok.values()) if ok and not failed else None
            cells[system] = {
                "status": status,
                "mean": mean,
                "fold_scores": {str(f): s for f, s in sorted(ok.items())},
                "failed_folds": failed,
            }
        table[name] = {
            "task": ds["task"],
            "metric": ds["metric"],
            "folds": sorted(ds["folds"]),
            "systems": cells,
        }

    pairs = []
    for a, b in itertools.combinations(systems, 2):
        counts: Counter[str] = Counter()
        for ds in table.values():
            counts[_pair_outcome(ds["systems"][a], ds["systems"][b], ds["metric"])] += 1
        pairs.append(
            {
                "a": a,
                "b": b,
                "wins": counts["win"],
                "losses": counts["loss"],
                "ties": counts["tie"],
                "datasets": counts["win"] + counts["loss"] + counts["tie"],
                "both_failed": counts["both_failed"],
            }
        )

    per_system: dict[str, Any] = {}
    for system in systems:
        mine = [r for r in rows if r["system"] == system]
        ok_rows = [r for r in mine if r["status"] == "ok"]
        worst: dict[str, Any] | None = None
        for r in ok_rows:
            fit, budget = _float(r["fit_seconds"]), _float(r["budget"])
            if fit is not None and budget:
                ratio = fit / budget
                if worst is None or ratio > worst["ratio"]:
                    worst = {"ratio": ratio, "dataset": r["dataset"], "fold": int(r["fold"])}
        walls = [w for r in mine if (w := _float(r["wall_seconds"])) is not None]
        peaks = [p for r in mine if (p := _float(r["peak_mb"])) is not None]
        failures = Counter(r["status"] for r in mine if r["status"] != "ok")
        per_system[system] = {
            "runs": len(mine),
            "ok": len(ok_rows),
            "failures": sum(failures.values()),
            "failures_by_status": dict(failures),
            "worst_fit_over_budget": worst,
            "median_wall_seconds": statistics.median(walls) if walls else None,
            "max_peak_mb": max(peaks) if peaks else None,
            "mean_rank": _mean_rank(table, system, systems),
            "versions": sorted({r.get("version") or "" for r in ok_rows} - {""}),
        }

    return {
        "budgets": sorted({int(r["budget"]) for r in rows}),
        "systems": systems,
        "datasets": table,
        "pairs": pairs,
        "per_system": per_system,
        "atlas_worst_fit_over_budget": per_system.get("atlas", {}).get("worst_fit_over_budget"),
        "failures": {s: v["failures"] for s, v in per_system.items()},
    }


def _pair_outcome(a: dict[str, Any], b: dict[str, Any], metric: str) -> str:
    """win/loss/tie for ``a`` against ``b`` on one dataset; a failure loses to a result."""
    if a["status"] == "missing" or b["status"] == "missing":
        return "skipped"
    if a["status"] == "fail" or b["status"] == "fail":
        if a["status"] == b["status"]:
            return "both_failed"
        return "loss" if a["status"] == "fail" else "win"
    common = sorted(set(a["fold_scores"]) & set(b["fold_scores"]))
    if not common:
        return "skipped"
    mean_a = statistics.fmean(a["fold_scores"][f] for f in common)
    mean_b = statistics.fmean(b["fold_scores"][f] for f in common)
    return {1: "win", -1: "loss", 0: "tie"}[compare(mean_a, mean_b, metric)]


def _mean_rank(table: dict[str, Any], system: str, systems: list[str]) -> float | None:
    """Mean rank (1 = best, ties share the mean rank) over datasets where every system scored."""
    ranks = []
    for ds in table.values():
        means = {s: ds["systems"][s]["mean"] for s in systems}
        if any(ds["systems"][s]["status"] != "ok" for s in systems):
            continue
        mine = means[system]
        better = sum(compare(m, mine, ds["metric"]) == 1 for m in means.values())
        tied = sum(compare(m, mine, ds["metric"]) == 0 for m in means.values())
        ranks.append(better + (tied + 1) / 2)
    return statistics.fmean(ranks) if ranks else None


def _cell(cell: dict[str, Any], n_folds: int) -> str:
    if cell["status"] == "missing":
        return "-"
    if cell["status"] == "fail":
        return f"FAIL({len(cell['failed_folds'])}/{n_folds})"
    text = f"{cell['mean']:.4f}"
    if cell["status"] == "partial":
        text += f" [{len(cell['fold_scores'])}/{n_folds}]"
    return text


def _best(ds: dict[str, Any], systems: list[str]) -> set[str]:
    scored = {s: ds["systems"][s]["mean"] for s in systems if ds["systems"][s]["mean"] is not None}
    if not scored:
        return set()
    pick = max if HIGHER_IS_BETTER[ds["metric"]] else min
    top = pick(scored.values())
    return {s for s, m in scored.items() if compare(m, top, ds["metric"]) == 0}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _rows_for_tables(summary: dict[str, Any]) -> dict[str, list[list[str]]]:
    systems = summary["systems"]
    scores = []
    for name, ds in summary["datasets"].items():
        best = _best(ds, systems)
        arrow = "↑" if HIGHER_IS_BETTER[ds["metric"]] else "↓"
        cells = []
        for s in systems:
            text = _cell(ds["systems"][s], len(ds["folds"]))
            cells.append(f"**{text}**" if s in best else text)
        scores.append([name, ds["task"], f"{ds['metric']} {arrow}", *cells])
    pairs = [
        [
            f"{p['a']} vs {p['b']}",
            str(p["wins"]),
            str(p["losses"]),
            str(p["ties"]),
            str(p["datasets"]),
        ]
        for p in summary["pairs"]
    ]
    per = []
    for s in systems:
        v = summary["per_system"][s]
        worst = v["worst_fit_over_budget"]
        worst_text = "-" if worst is None else f"{worst['ratio']:.2f} ({worst['dataset']})"
        per.append(
            [
                s,
                ", ".join(v["versions"]) or "-",
                f"{v['ok']}/{v['runs']}",
                str(v["failures"]),
                _fmt(v["mean_rank"], ".2f"),
                worst_text,
                _fmt(v["median_wall_seconds"], ".1f"),
                _fmt(v["max_peak_mb"], ".0f"),
            ]
        )
    return {"scores": scores, "pairs": pairs, "systems": per}


HEADERS = {
    "pairs": ["pair (first system's view)", "wins", "losses", "ties", "datasets"],
    "systems": [
        "system",
        "version",
        "ok runs",
        "failures",
        "mean rank",
        "worst fit/budget",
        "median wall s",
        "max peak MB",
    ],
}


def to_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown tables (for docs/benchmarks.md); the best mean is in bold."""
    tables = _rows_for_tables(summary)
    headers = {"scores": ["dataset", "task", "metric", *summary["systems"]], **HEADERS}
    out = []
    for key, title in (
        ("scores", "Mean test score over folds"),
        ("pairs", "Wins / losses / ties over datasets"),
        ("systems", "Runs, time and memory"),
    ):
        out.append(f"**{title}**\n")
        out.append("| " + " | ".join(headers[key]) + " |")
        out.append("|" + "|".join("---" for _ in headers[key]) + "|")
        out.extend("| " + " | ".join(row) + " |" for row in tables[key])
        out.append("")
    return "\n".join(out)


def to_text(summary: dict[str, Any]) -> str:
    """The summary as aligned plain-text tables for the terminal."""
    tables = _rows_for_tables(summary)
    headers = {"scores": ["dataset", "task", "metric", *summary["systems"]], **HEADERS}
    out = []
    for key in ("scores", "pairs", "systems"):
        rows = [headers[key]] + [[c.replace("**", "") for c in r] for r in tables[key]]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for i, row in enumerate(rows):
            out.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append("")
    worst = summary["atlas_worst_fit_over_budget"]
    if worst is not None:
        out.append(
            f"ATLAS worst fit_seconds / budget: {worst['ratio']:.2f} "
            f"({worst['dataset']}, fold {worst['fold']})"
        )
    out.append("failures: " + ", ".join(f"{s} {n}" for s, n in summary["failures"].items()))
    return "\n".join(out)
