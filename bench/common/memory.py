"""Peak resident memory of a process tree, sampled in a background thread.

Every benchmark that reports memory runs the measured system in a child process and wraps the
wait in :class:`PeakRSS`; the figure is the largest sum of RSS over the child and all its
descendants seen at any sample (pages shared between processes count once per process):

    proc = subprocess.Popen(cmd, start_new_session=True)
    with PeakRSS(proc.pid, interval_s=0.2) as memory:
        proc.wait(timeout=limit)
    print(memory.peak_mb)

A runner that measures itself (in a venv of another system) uses :func:`self_rss_mb` and
:func:`self_peak_rss_mb` instead.
"""

from __future__ import annotations

import resource
import threading
from types import TracebackType

import psutil

MIB = 2**20
KIB = 2**10
DEFAULT_INTERVAL_S = 0.1


def tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and its descendants still alive (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_pids(pid: int) -> list[int]:
    return [p.pid for p in tree(pid)]


def tree_rss(pid: int) -> int:
    """Summed resident bytes of ``pid`` and its descendants now."""
    total = 0
    for proc in tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            continue
    return total


class PeakRSS:
    """Samples :func:`tree_rss` of ``pid`` every ``interval_s`` seconds until the block ends."""

    def __init__(self, pid: int, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.pid, self.interval_s = pid, interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, tree_rss(self.pid))
            if self._stop.wait(self.interval_s):
                return

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MIB

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def self_rss_mb() -> float:
    """Resident memory of the calling process now, in MiB."""
    return psutil.Process().memory_info().rss / MIB


def self_peak_rss_mb() -> float:
    """Peak resident memory of the calling process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB / MIB
