"""A/B of the ATLAS server: a baseline commit against the working tree, same model, alternating.

    .venv/bin/python -m bench.serving.ab --base 59f09d2 --levels 1,4,16,64 --seconds 5 --rounds 2

The baseline is checked out with ``git worktree`` into a temporary folder and run with the
project venv (``PYTHONPATH`` points at its ``src``); both servers serve the model of
bench.serving.model (a 10 s fit, reused from ``--home``), pinned to core 0, wrk on core 1.
Prints the median req/s, p50 and p99 per level and side (a comparison to read, not a result
file).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common.results import REPO
from bench.serving import model as sm
from bench.serving.load import Server, free_port, http, wrk


def run(
    src: Path, home: Path, body: dict[str, Any], args: argparse.Namespace, log: Path
) -> list[dict[str, Any]]:
    port = free_port()
    env = dict(os.environ, ATLAS_HOME=str(home), PYTHONPATH=str(src))
    cmd = [str(REPO / ".venv/bin/python"), "-m", "atlas.cli.main", "serve", "--no-feedback"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    server = Server("ab", cmd, env, port, log, log.parent)
    server.start(0, "/v2/health/live")
    url = f"{server.url}/v1/models/{sm.MODEL}:predict"
    try:
        for _ in range(50):
            http("POST", url, body, {})
        return [wrk(url, body, c, args.seconds, 1) for c in args.levels]
    finally:
        server.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="git revision of the baseline")
    p.add_argument("--levels", default="1,4,16,64")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "atlas-ab-home")
    args = p.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    body = {"records": sm.prepare(args.home, 10, 1)["records"][:1]}
    with tempfile.TemporaryDirectory(prefix="atlas-ab-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-f", "-q", str(base), args.base],
            check=True,
        )
        try:
            sides = {"base": base / "src", "new": REPO / "src"}
            results: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for _ in range(args.rounds):
                for name, src in sides.items():
                    outs = run(src, args.home, body, args, Path(tmp) / f"{name}.log")
                    for level, out in zip(args.levels, outs, strict=True):
                        results.setdefault((name, level), []).append(out)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False
            )
    for level in args.levels:
        for name in sides:
            xs = results[(name, level)]
            rps = statistics.median(x["rps"] for x in xs)
            p50 = statistics.median(x["p50_ms"] for x in xs)
            p99 = statistics.median(x["p99_ms"] for x in xs)
            print(f"c={level:3d} {name:4s} {rps:7.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
