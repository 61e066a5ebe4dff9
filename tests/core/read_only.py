"""Make a file or folder really read-only for a test, also for root (who ignores the mode
bits): ``chattr +i`` there, the mode bits otherwise. The path is checked to refuse writes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _chattr(flag: str, path: Path) -> None:
    if shutil.which("chattr") is None:
        pytest.fail("Running as root, the read-only tests need chattr (package e2fsprogs).")
    subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True)


def _refuses_writes(path: Path) -> bool:
    probe = path / ".probe" if path.is_dir() else path
    try:
        with probe.open("a"):
            pass
    except OSError:
        return True
    if path.is_dir():
        probe.unlink()
    return False


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    mode = path.stat().st_mode
    path.chmod(mode & ~WRITE_BITS)
    root = os.geteuid() == 0
    if root:
        _chattr("+i", path)
    try:
        assert _refuses_writes(path), f"{path} still takes writes"
        yield path
    finally:
        if root:
            _chattr("-i", path)
        path.chmod(mode)
