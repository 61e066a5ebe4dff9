"""Tables of bench.serving.vs_mlflow: the printed summary, the CSV rows and the docs' Markdown."""

from __future__ import annotations

from typing import Any

ATLAS_SYSTEMS = ("atlas", "atlas-v2", "atlas+feedback")
TARGETS = {
    "throughput_x_mlflow": 3.0,
    "throughput_x_mlserver": 2.0,
    "p99_at_half_peak_ms": 5.0,
    "overhead_p50_ms": 1.0,
    "swap_failed": 0,
    "cold_start_ms": 200.0,
}


def _peer_verdicts(res: dict[str, Any], system: str) -> list[tuple[str, str, str, bool]]:
    rows = [r for r in res["levels"] if r["system"] == system]
    out: list[tuple[str, str, str, bool]] = []
    for key, peer in (("x_mlflow", "mlflow"), ("x_mlserver", "mlserver")):
        ratios = [r[key] for r in rows if r.get(key)]
        if ratios:
            goal = TARGETS[f"throughput_{key}"]
            worst = min(ratios)
            name = f"throughput vs {'MLflow' if peer == 'mlflow' else 'MLServer'} ({system})"
            out.append(
                (name, f">= {goal:g}x at every level", f"{worst:.2f}x (worst)", worst >= goal)
            )
    p99 = [r["p99_x_mlserver"] for r in rows if r.get("p99_x_mlserver")]
    if p99:
        worst = max(p99)
        text = f"{worst:.2f}x MLServer's (worst)"
        out.append((f"p99 vs MLServer ({system})", "lower at every level", text, worst < 1))
    return out


def verdicts(res: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, goal, measured, met) for each target of the issues."""
    out: list[tuple[str, str, str, bool | None]] = []
    for system in ATLAS_SYSTEMS:
        out += _peer_verdicts(res, system)
    half = res.get("half_peak")
    if half:
        p99 = half["p99_ms"]
        out.append(
            ("p99 at half peak", "<= 5 ms", f"{p99:.2f} ms at {half['rps']:.0f} req/s", p99 <= 5)
        )
    if "overhead_p50_ms" in res:
        o = res["overhead_p50_ms"]
        out.append(("server overhead p50", "<= 1 ms", f"{o:.2f} ms", o <= 1))
    swap = res.get("swap")
    if swap:
        bad = swap["failed"]
        both = len(swap["versions"]) >= 2
        text = f"{bad} of {swap['requests']} failed; versions {swap['versions']}"
        out.append(("failed during hot swap", "0 (both versions answer)", text, bad == 0 and both))
    cold = res.get("cold_start", {}).get("atlas")
    if cold:
        ms = cold["model_load_ms"]
        out.append(("cold start (model load)", "<= 200 ms", f"{ms:.0f} ms", ms <= 200))
    return out


def csv_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ["system", "endpoint", "concurrency", "rps", "p50_ms", "p99_ms", "errors", "x_mlflow"]
    keys += ["x_mlserver", "p99_x_mlserver", "cpu_ms_per_request"]
    return [{k: r.get(k) for k in keys} for r in res["levels"]]


def _http_stack(venv: dict[str, str]) -> str:
    return "yes" if "httptools" in venv and "uvloop" in venv else "no"


def _versions(res: dict[str, Any]) -> str:
    stack = res.get("stack", {})
    a, m, s = stack.get("atlas", {}), stack.get("mlflow", {}), stack.get("mlserver")
    parts = [
        f"ATLAS {a.get('atlas-ml', '?')}",
        f"MLflow {m.get('mlflow-skinny', m.get('mlflow', '?'))}",
    ]
    if s:
        parts.append(
            f"MLServer {s.get('mlserver', '?')} (mlserver-lightgbm "
            f"{s.get('mlserver-lightgbm', '?')}, uvloop {s.get('uvloop', '?')})"
        )
    parts.append(f"LightGBM {a.get('lightgbm', '?')}")
    http = f"ATLAS {_http_stack(a)}, MLflow {_http_stack(m)}"
    http += f", MLServer {_http_stack(s)}" if s else ""
    parts.append(f"uvicorn {a.get('uvicorn', '?')} (httptools + uvloop: {http})")
    return ", ".join(parts)


def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def to_text(res: dict[str, Any]) -> str:
    lines = [
        f"{'system':<16} {'endpoint':<34} {'conc':>4} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'err':>4} {'x mlflow':>8} {'x mlsrv':>7} {'p99/mlsrv':>9} "
        f"{'cpu ms/req':>10}"
    ]
    for r in res["levels"]:
        lines.append(
            f"{r['system']:<16} {r['endpoint']:<34} {r['concurrency']:>4} {r['rps']:>8.0f} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['errors']:>4} "
            f"{_f(r.get('x_mlflow')):>8} {_f(r.get('x_mlserver')):>7} "
            f"{_f(r.get('p99_x_mlserver')):>9} {_f(r.get('cpu_ms_per_request')):>10}"
        )
    fl = res["floor"]
    lines.append(
        f"raw predict_proba, one row (in process): p50 {fl['predict_proba_p50_ms']:.3f} ms, "
        f"p99 {fl['predict_proba_p99_ms']:.3f} ms (preprocessing {fl['preprocess_p50_ms']:.3f}"
        f" ms, {res['model']['learners_in_package']} boosters {fl['boosters_p50_ms']:.3f} ms)"
    )
    for name, cold in res.get("cold_start", {}).items():
        lines.append(f"cold start {name}: " + ", ".join(f"{k} {_f(v)}" for k, v in cold.items()))
    if res.get("swap"):
        s = res["swap"]
        lines.append(
            f"hot swap: {s['swaps']} promotions under {s['connections']} connections, "
            f"{s['requests']} requests, {s['failed']} failed, versions {s['versions']}, "
            f"promote p50 {s['promote_p50_ms']:.1f} ms"
        )
    lines.append("")
    for target, goal, got, ok in verdicts(res):
        mark = "PASS" if ok else "FAIL"
        lines.append(f"[{mark}] {target}: {got} (target {goal})")
    return "\n".join(lines)


def _where(res: dict[str, Any]) -> tuple[str, str]:
    """(CPU model, date) of the run, from its stamp."""
    stamp = res.get("stamp") or {}
    return stamp.get("machine", {}).get("cpu", "?"), str(stamp.get("when", "?"))[:10]


def ratio_table(res: dict[str, Any]) -> list[str]:
    """ATLAS against each peer at each level: throughput ratios and p99 beside MLServer's."""
    by = {(r["system"], r["concurrency"]): r for r in res["levels"]}
    has_mls = any(r["system"] == "mlserver" for r in res["levels"])
    head = "| ATLAS system | concurrency | x MLflow (req/s) |"
    head += " x MLServer (req/s) | p99 ms ATLAS / MLServer |" if has_mls else ""
    out = [head, "|---|---:|---:|" + ("---:|---:|" if has_mls else "")]
    for (system, c), r in by.items():
        if system not in ATLAS_SYSTEMS:
            continue
        line = f"| {system} | {c} | {_f(r.get('x_mlflow'))} |"
        if has_mls:
            peer = by.get(("mlserver", c))
            p99 = f"{r['p99_ms']:.2f} / {peer['p99_ms']:.2f}" if peer else "-"
            line += f" {_f(r.get('x_mlserver'))} | {p99} |"
        out.append(line)
    return out


def to_markdown(res: dict[str, Any]) -> str:
    meta = res["meta"]
    cpu_model, date = _where(res)
    levels = sorted({r["concurrency"] for r in res["levels"]})
    systems = list(dict.fromkeys((r["system"], r["endpoint"]) for r in res["levels"]))
    by = {(r["system"], r["endpoint"], r["concurrency"]): r for r in res["levels"]}
    out = [
        f"Serving: {res['model']['learners_in_package']}-booster LightGBM package trained by "
        f"ATLAS on default_credit_card_taiwan ({res['model']['train_rows']} rows, "
        f"{res['model']['train_budget_s']:.0f} s budget); single-row requests over loopback; "
        f"wrk, 1 thread, closed loop, {meta['duration_s']} s per level, median of "
        f"{meta['repeats']}; server pinned to core {meta['server_core']}, wrk to core "
        f"{meta['load_core']} ({cpu_model}; {date}).",
        "",
        "| system | endpoint | "
        + " | ".join(f"c={c} req/s | p50 / p99 ms" for c in levels)
        + " | server CPU ms/req |",
        "|---|---|" + "---:|---:|" * len(levels) + "---:|",
    ]
    for system, endpoint in systems:
        cells: list[str] = []
        for c in levels:
            r = by.get((system, endpoint, c))
            if r is None:
                cells += ["-", "-"]
                continue
            err = f", {r['errors']} err" if r["errors"] else ""
            cells += [f"{r['rps']:.0f}", f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}{err}"]
        cpu = [by[(system, endpoint, c)].get("cpu_ms_per_request") for c in levels]
        cpu_cell = " - ".join(_f(v) for v in cpu if v is not None) or "-"
        out.append(f"| {system} | `{endpoint}` | " + " | ".join(cells) + f" | {cpu_cell} |")
    out += ["", *ratio_table(res)]
    fl = res["floor"]
    out += [
        "",
        f"Floor: in-process `LoadedModel.predict_proba` on one row, p50 "
        f"{fl['predict_proba_p50_ms']:.3f} ms (preprocessing {fl['preprocess_p50_ms']:.3f} ms, "
        f"boosters {fl['boosters_p50_ms']:.3f} ms). Server CPU "
        f"= CPU time of the server's process tree per answered request, from the lowest to the "
        f"highest level. Versions: {_versions(res)}.",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for target, goal, got, ok in verdicts(res):
        out.append(f"| {target} | {goal} | {got} | {'yes' if ok else 'no'} |")
    cold = res.get("cold_start", {})
    if cold:
        out += [
            "",
            "| cold start (median) | process ready ms | first request ms | model load ms "
            "| another version's load ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, c in cold.items():
            out.append(
                f"| {name} | {_f(c.get('ready_ms'), 0)} | {_f(c.get('first_request_ms'), 1)} "
                f"| {_f(c.get('model_load_ms'), 1)} | {_f(c.get('second_model_load_ms'), 1)} |"
            )
    swap, half = res.get("swap"), res.get("half_peak")
    if swap:
        out += [
            "",
            f"Hot swap: {swap['swaps']} promotions (v2, v1, ...) through the admin API while "
            f"wrk posts to `/v1` with {swap['connections']} connections for {swap['seconds']:.0f}"
            f" s: {swap['requests']} requests, {swap['failed']} failed, answers by version "
            f"{swap['versions']}, promotion p50 {swap['promote_p50_ms']:.0f} ms (max "
            f"{swap['promote_max_ms']:.0f} ms, the first one loads v2).",
        ]
    if half:
        out.append(
            f"Half peak: 64 connections with exponential think times offering "
            f"{half['target_rps']:.0f} req/s; achieved {half['rps']:.0f} req/s, p50 "
            f"{half['p50_ms']:.2f} ms, p99 {half['p99_ms']:.2f} ms"
            + (
                f" (medians of {len(half['runs'])} runs; p99 per run: "
                + ", ".join(f"{r['p99_ms']:.2f}" for r in half["runs"])
                + " ms)."
                if half.get("runs")
                else "."
            )
        )
    return "\n".join(out) + "\n"
