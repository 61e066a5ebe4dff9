"""Tables of bench.automl.inference: medians over repeats per (dataset, system), ratios ATLAS /
peer, and whether ATLAS's fit + first predict stayed within 1.05 x the budget on every run."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

TARGET = 1.05  # ATLAS's fit + first predict, as a multiple of the budget
REFERENCE = "atlas"
DIGITS = 4
# (key in a run's row, key in the summary, aggregate over repeats)
COLUMNS: list[tuple[str, str, Callable[[list[float]], float]]] = [
    ("fit_over_budget", "fit/budget", statistics.median),
    ("fit_over_budget", "max fit/budget", max),
    ("first_predict_seconds", "first predict s", statistics.median),
    ("warm_predict_seconds", "warm predict s", statistics.median),
    ("total_over_budget", "(fit+first)/budget", statistics.median),
    ("total_over_budget", "max (fit+first)/budget", max),
    ("batch_rows_per_s", "rows/s", statistics.median),
    ("row_p50_ms", "1-row p50 ms", statistics.median),
    ("row_p99_ms", "1-row p99 ms", statistics.median),
    ("score", "score", statistics.median),
]
# (summary key, ratio name): ATLAS's figure / the peer's
RATIOS = [
    ("rows/s", "rows/s atlas/peer"),
    ("1-row p50 ms", "1-row p50 atlas/peer"),
    ("first predict s", "first predict atlas/peer"),
]


def _number(row: dict[str, str], key: str) -> float:
    return float(row[key])


def derived(row: dict[str, str]) -> dict[str, float]:
    """A run's figures as numbers, with fit / budget and (fit + first predict) / budget."""
    budget = _number(row, "budget")
    out = {k: _number(row, k) for k, _, _ in COLUMNS if k in row and row[k] != ""}
    out["fit_over_budget"] = _number(row, "fit_seconds") / budget
    out["total_over_budget"] = (
        _number(row, "fit_seconds") + _number(row, "first_predict_seconds")
    ) / budget
    return out


def cell(runs: list[dict[str, str]]) -> dict[str, Any]:
    """One (dataset, system): medians (and maxima) over its ok runs."""
    ok = [derived(r) for r in runs if r["status"] == "ok"]
    out: dict[str, Any] = {"ok": len(ok), "runs": len(runs)}
    for key, name, aggregate in COLUMNS:
        values = [r[key] for r in ok if key in r]
        out[name] = round(float(aggregate(values)), DIGITS) if values else None
    return out


def ratios(cells: dict[str, dict[str, Any]], peers: list[str]) -> dict[str, dict[str, Any]]:
    ref = cells.get(REFERENCE, {})
    out: dict[str, dict[str, Any]] = {}
    for peer in peers:
        other = cells.get(peer, {})
        out[peer] = {
            name: round(ref[key] / other[key], DIGITS) if ref.get(key) and other.get(key) else None
            for key, name in RATIOS
        }
    return out


def summarize(rows: list[dict[str, str]], systems: list[str]) -> dict[str, Any]:
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    peers = [s for s in systems if s != REFERENCE]
    table: dict[str, Any] = {}
    for ds in datasets:
        mine = [r for r in rows if r["dataset"] == ds]
        cells = {s: cell([r for r in mine if r["system"] == s]) for s in systems}
        table[ds] = {"task": mine[0]["task"], "systems": cells, "ratios": ratios(cells, peers)}
    atlas_totals = [
        derived(r)["total_over_budget"]
        for r in rows
        if r["system"] == REFERENCE and r["status"] == "ok"
    ]
    failed = [r for r in rows if r["system"] == REFERENCE and r["status"] != "ok"]
    return {
        "budget": sorted({int(r["budget"]) for r in rows}),
        "target": TARGET,
        "atlas_worst_total_over_budget": round(max(atlas_totals), DIGITS) if atlas_totals else None,
        "atlas_within_target": bool(atlas_totals) and not failed and max(atlas_totals) <= TARGET,
        "versions": {s: sorted({r["version"] for r in rows if r["system"] == s}) for s in systems},
        "failures": [
            {k: r[k] for k in ("system", "dataset", "repeat", "status", "error")}
            for r in rows
            if r["status"] != "ok"
        ],
        "datasets": table,
    }


# --- rendering --------------------------------------------------------------------------------

SHOWN = [
    "fit/budget",
    "first predict s",
    "warm predict s",
    "max (fit+first)/budget",
    "rows/s",
    "1-row p50 ms",
    "1-row p99 ms",
]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _rows(summary: dict[str, Any]) -> list[list[str]]:
    out = []
    for ds, entry in summary["datasets"].items():
        for system, c in entry["systems"].items():
            runs = f"{c['ok']}/{c['runs']}"
            out.append([ds, entry["task"], system, runs, *[_fmt(c[k]) for k in SHOWN]])
    return out


def _ratio_rows(summary: dict[str, Any]) -> list[list[str]]:
    out = []
    for ds, entry in summary["datasets"].items():
        for peer, r in entry["ratios"].items():
            out.append([ds, f"atlas / {peer}", *[_fmt(r[name]) for _, name in RATIOS]])
    return out


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _headline(summary: dict[str, Any]) -> str:
    verdict = "holds" if summary["atlas_within_target"] else "does NOT hold"
    return (
        f"budget {summary['budget']} s; ATLAS fit + first predict <= {summary['target']} x budget "
        f"on every run: {verdict} (worst {summary['atlas_worst_total_over_budget']})"
    )


def to_markdown(summary: dict[str, Any]) -> str:
    header = ["dataset", "task", "system", "ok", *SHOWN]
    ratio_header = ["dataset", "pair", *[name for _, name in RATIOS]]
    return "\n\n".join(
        [
            _headline(summary),
            _markdown_table(header, _rows(summary)),
            _markdown_table(ratio_header, _ratio_rows(summary)),
        ]
    )


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)) for line in [header]]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def to_text(summary: dict[str, Any]) -> str:
    header = ["dataset", "task", "system", "ok", *SHOWN]
    ratio_header = ["dataset", "pair", *[name for _, name in RATIOS]]
    parts = [
        _headline(summary),
        _text_table(header, _rows(summary)),
        _text_table(ratio_header, _ratio_rows(summary)),
    ]
    for f in summary["failures"]:
        where = f"{f['system']} {f['dataset']} r{f['repeat']}"
        parts.append(f"failed: {where} {f['status']} {f['error']}")
    return "\n\n".join(parts)
