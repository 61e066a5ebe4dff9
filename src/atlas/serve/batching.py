"""Adaptive micro-batching: requests that arrive while a model is busy are predicted together.

No timer and no queue on the fast path: an idle model predicts a request at once. While it is
busy, new requests for it wait; when it finishes, the waiting requests (with the same input
fields, up to ``max_rows`` rows) go through the model as one batch, led by one of the waiting
threads, so the thread that finished answers its own request without delay. A batch that fails
is retried request by request, so one bad request never fails the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Columns = Mapping[str, Sequence[Any]]


@dataclass(eq=False)
class _Item:
    columns: Columns
    rows: int
    ready: threading.Event = field(default_factory=threading.Event)
    batch: list[_Item] | None = None
    result: np.ndarray | None = None
    error: BaseException | None = None


class Batcher:
    def __init__(self, max_rows: int = 512) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._busy = False
        self._queue: list[_Item] = []
        self.calls = 0
        self.requests = 0

    def run(self, fn: Callable[[Columns], np.ndarray], columns: Columns, rows: int) -> np.ndarray:
        item = _Item(columns, rows)
        with self._lock:
            self.requests += 1
            lead = not self._busy
            if lead:
                self._busy = True
            else:
                self._queue.append(item)
        if not lead:
            item.ready.wait()
            if item.batch is not None:  # this thread leads the next batch
                self._execute(fn, item.batch)
                self._hand_off()
        else:
            self._execute(fn, [item])
            self._hand_off()
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _hand_off(self) -> None:
        with self._lock:
            if not self._queue:
                self._busy = False
                return
            keys = set(self._queue[0].columns)
            batch, rest, rows = [], [], 0
            for queued in self._queue:
                if set(queued.columns) == keys and rows + queued.rows <= self.max_rows:
                    batch.append(queued)
                    rows += queued.rows
                else:
                    rest.append(queued)
            if not batch:  # one request larger than max_rows: it goes alone
                batch, rest = [self._queue[0]], self._queue[1:]
            self._queue = rest
            leader = batch[0]
            leader.batch = batch
        leader.ready.set()

    def _execute(self, fn: Callable[[Columns], np.ndarray], batch: list[_Item]) -> None:
        with self._lock:
            self.calls += 1
        if len(batch) == 1:
            self._single(fn, batch[0])
        else:
            merged = {k: [v for it in batch for v in it.columns[k]] for k in batch[0].columns}
            try:
                raw = fn(merged)
            except Exception:
                for it in batch:  # isolate the failing request
                    self._single(fn, it)
            else:
                start = 0
                for it in batch:
                    it.result = raw[start : start + it.rows]
                    start += it.rows
        for it in batch:
            if it.batch is None:
                it.ready.set()
            it.batch = None

    @staticmethod
    def _single(fn: Callable[[Columns], np.ndarray], item: _Item) -> None:
        try:
            item.result = fn(item.columns)
        except BaseException as exc:
            item.error = exc
