"""Small batches predict on one thread.

A model library's OpenMP or BLAS thread pool pays off on a batch, and costs on one row: starting
or waking the pool's threads takes longer than the row's arithmetic, and on a busy machine much
longer (a scikit-learn kNN member measured 86 ms a row with two threads, 0.9 ms with one). So a
prediction of at most :data:`SMALL_BATCH_ROWS` rows runs its learners inside a one-thread limit
(threadpoolctl, which sets OpenMP's per-thread count and the BLAS libraries' pools and restores
them after); larger batches keep every thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

SMALL_BATCH_ROWS = 64  # a prediction of at most this many rows runs on one thread

_lock = threading.Lock()
_controller: Any = None


def _threadpools() -> Any:
    """threadpoolctl's view of the loaded thread pools, made on first use: by then the model
    libraries a predict uses are imported (a controller only sees libraries loaded before it)."""
    global _controller
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


@contextlib.contextmanager
def threads_for(n_rows: int) -> Iterator[None]:
    """One thread for a small batch of ``n_rows``; otherwise nothing changes."""
    if n_rows > SMALL_BATCH_ROWS:
        yield
        return
    with _threadpools().limit(limits=1):
        yield
