"""Online lookups for the store: feature references resolved once, then a few dict steps.

No pandas on this path: one ``read_one`` per view for a single entity, one ``read_batch`` per
view for a list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from atlas.data.features.matching import Request
from atlas.data.features.online.base import OnlineStore, Row
from atlas.data.features.timestamps import to_utc


@dataclass(frozen=True)
class Step:
    view: str
    features: tuple[str, ...]
    outputs: tuple[str, ...]
    ttl_us: int | None


def plan(request: Request) -> list[Step]:
    return [
        Step(
            view.name,
            chosen,
            tuple(request.names[(view.name, f)] for f in chosen),
            None if view.ttl_delta is None else int(view.ttl_delta.total_seconds() * 1e6),
        )
        for view, chosen in request.views
    ]


class Lookup:
    """Cached plans per (features, full_names); ``resolve`` builds a :class:`Request`."""

    def __init__(self, resolve: Callable[[Sequence[str], bool], Request]) -> None:
        self.resolve = resolve
        self._plans: dict[tuple[tuple[str, ...], bool], list[Step]] = {}

    def clear(self) -> None:
        self._plans.clear()

    def steps(self, features: Sequence[str], full_names: bool) -> list[Step]:
        key = (tuple([features] if isinstance(features, str) else features), full_names)
        steps = self._plans.get(key)
        if steps is None:
            steps = self._plans[key] = plan(self.resolve(key[0], full_names))
        return steps

    @staticmethod
    def now_us(now: Any) -> int:
        return int((time.time() if now is None else to_utc(now).timestamp()) * 1_000_000)

    def one(self, online: OnlineStore, key: Any, steps: list[Step], now_us: int) -> Row | None:
        found, out = False, {}
        for step in steps:
            fresh = None if step.ttl_us is None else now_us - step.ttl_us
            rec = online.read_one(step.view, key, step.features, fresh)
            if rec is None:
                out.update(dict.fromkeys(step.outputs))
            else:
                found = True
                out.update(zip(step.outputs, rec.values(), strict=True))
        return out if found else None

    def many(
        self, online: OnlineStore, keys: Sequence[Any], steps: list[Step], now_us: int
    ) -> list[Row | None]:
        rows: list[Row | None] = [None] * len(keys)
        blank: Row = {out: None for step in steps for out in step.outputs}
        single = len(steps) == 1
        for step in steps:
            fresh = None if step.ttl_us is None else now_us - step.ttl_us
            renamed = step.outputs != step.features
            for i, rec in enumerate(online.read_batch(step.view, keys, step.features, fresh)):
                if rec is None:
                    continue
                values = dict(zip(step.outputs, rec.values(), strict=True)) if renamed else rec
                row = rows[i]
                if row is None:  # one view: its record is the row (one dict, not three)
                    rows[i] = values if single else {**blank, **values}
                else:
                    row.update(values)
        return rows
