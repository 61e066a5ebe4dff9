"""Adaptive micro-batching on the event loop: requests that arrive together are predicted
together, with no timer, no queue thread and no thread hop.

A request puts its rows in the model's pending list and waits on a future; the first one also
schedules a flush with ``loop.call_soon``. The server parses every request that arrived in the
same turn of the loop before the flush runs, so an idle server predicts a lone request at once
(one turn later) and a busy one predicts everything that piled up while it was busy as one
model call. The flush runs the model on the loop itself: a small batch costs a fraction of a
millisecond, less than handing it to a thread and back. Requests are grouped by their fields
(up to ``max_rows`` rows a call); a batch that fails is retried request by request, so one bad
request never fails the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Columns = Mapping[str, Sequence[Any]]
Predict = Callable[[Columns], np.ndarray]


@dataclass(eq=False)
class _Item:
    fn: Predict
    columns: Columns
    rows: int
    future: asyncio.Future[np.ndarray]


class Batcher:
    """The pending requests of one model version; all of its methods run on the event loop."""

    def __init__(self, max_rows: int = 512) -> None:
        self.max_rows = max_rows
        self._pending: list[_Item] = []
        self.calls = 0
        self.requests = 0

    async def run(self, fn: Predict, columns: Columns, rows: int) -> np.ndarray:
        """``fn(columns)``, possibly merged with other requests' rows into one call."""
        loop = asyncio.get_running_loop()
        item = _Item(fn, columns, rows, loop.create_future())
        self.requests += 1
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(item)
        return await item.future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        while pending:
            batch, pending = self._next_batch(pending)
            self._execute(batch)

    def _next_batch(self, pending: list[_Item]) -> tuple[list[_Item], list[_Item]]:
        """The first request and the ones that can share its call; the rest."""
        first = pending[0]
        keys = set(first.columns)
        batch, rest, rows = [first], [], first.rows
        for item in pending[1:]:
            fits = rows + item.rows <= self.max_rows
            if item.fn == first.fn and fits and set(item.columns) == keys:
                batch.append(item)
                rows += item.rows
            else:
                rest.append(item)
        return batch, rest

    def _execute(self, batch: list[_Item]) -> None:
        self.calls += 1
        fn = batch[0].fn
        if len(batch) == 1:
            _single(fn, batch[0])
            return
        merged = {k: [v for it in batch for v in it.columns[k]] for k in batch[0].columns}
        try:
            raw = fn(merged)
        except Exception:
            for item in batch:  # isolate the failing request
                _single(fn, item)
            return
        start = 0
        for item in batch:
            if not item.future.done():  # done: the client went away (cancelled)
                item.future.set_result(raw[start : start + item.rows])
            start += item.rows


def _single(fn: Predict, item: _Item) -> None:
    try:
        result = fn(item.columns)
    except Exception as exc:
        if not item.future.done():
            item.future.set_exception(exc)
        return
    if not item.future.done():
        item.future.set_result(result)
