"""How much memory there is, and how much a process uses, from /proc and cgroups (Linux)."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UNITS = {"": 1, "b": 1, "kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40}


def parse_bytes(value: int | float | str) -> int:
    """``8GB``, ``512mb``, ``1.5gb`` or a number of bytes."""
    if isinstance(value, int | float):
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?b?)\s*", value.lower())
    if not match:
        raise ValueError(f"Cannot read {value!r} as a size; use e.g. 8GB or 512MB.")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def available_memory() -> int:
    """Bytes this process may still use: MemAvailable, capped by a cgroup limit if any."""
    available = _meminfo("MemAvailable") or 8 * 2**30
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit():
            used = _cgroup_usage()
            available = min(available, int(raw) - used)
    return max(int(available), 0)


def private_rss(pid: int) -> int:
    """Resident bytes of ``pid`` that are not shared (data inherited by fork is shared)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    page = os.sysconf("SC_PAGE_SIZE")
    return max(int(fields[1]) - int(fields[2]), 0) * page


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _cgroup_usage() -> int:
    for path in ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"):
        try:
            return int(Path(path).read_text().strip())
        except (OSError, ValueError):
            continue
    return 0
