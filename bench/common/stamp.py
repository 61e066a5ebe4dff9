"""The stamp of a benchmark result: which code ran, on which machine, when, with which flags.

Every result file a benchmark writes carries ``"stamp": stamp()`` at its top level:

    {"commit": "5d39290...", "dirty": true, "changed": ["src/atlas/serve/app.py"],
     "when": "2026-11-28T10:02:11+00:00", "argv": ["--canonical"],
     "machine": {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "cores_allowed": 2,
                 "ram_gib": 23.4, "os": "Linux-6.1...", "python": "3.11.7"}}

``dirty`` is true when tracked files differ from the commit (``changed`` lists them): the run
measured the working tree, not the commit alone. Standard library only, so that a runner in any
system's venv can use it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GIB = 2**30
MAX_CHANGED = 50  # paths listed under "changed"; "changed_count" has the total


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )
    except OSError:  # no git on this machine
        return None
    return done.stdout if done.returncode == 0 else None


def commit() -> dict[str, Any]:
    """HEAD's full hash, and whether (and where) tracked files differ from it."""
    head = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    changed = sorted(line[3:] for line in (status or "").splitlines() if line.strip())
    return {
        "commit": head.strip() if head else None,
        "dirty": bool(changed) if status is not None else None,
        "changed": changed[:MAX_CHANGED],
        "changed_count": len(changed),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_allowed": len(os.sched_getaffinity(0)),
        "ram_gib": round(ram / GIB, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def stamp() -> dict[str, Any]:
    return {
        **commit(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "machine": machine(),
    }


def short_commit(info: dict[str, Any] | None = None) -> str:
    """``5d39290`` or ``5d39290+dirty`` (``unknown`` without git), for a CSV column."""
    info = info or commit()
    if not info.get("commit"):
        return "unknown"
    return info["commit"][:7] + ("+dirty" if info.get("dirty") else "")
