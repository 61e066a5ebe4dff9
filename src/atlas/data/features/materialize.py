"""Materialization: the newest values of each entity, from the offline rows into the online store.

Incremental by time: each (view, online store) remembers the newest event time it has loaded
(its high-water mark, in the registry), and the next run reads only rows strictly newer than
that. A row that arrives later with an older event time than the mark is not picked up
incrementally (``full=True`` reloads everything). A view whose features changed (new version)
is reloaded whole. The mark moves only after every record is written; on SQLite the whole run
is one transaction, on Redis each record is replaced whole, so a failed run changes no mark
and a rerun redoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from atlas.core.logging import get_logger
from atlas.core.schema import isoformat
from atlas.data.features.offline import OfflineEngine
from atlas.data.features.online.base import OnlineStore
from atlas.data.features.registry import FeatureRegistry, RegisteredView
from atlas.data.features.specs import SourceSpec
from atlas.data.features.timestamps import UTC_US

log = get_logger(__name__)


@dataclass(frozen=True)
class MaterializeResult:
    view: str
    entities: int
    after: datetime | None
    high_water: datetime | None
    full: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "entities": self.entities,
            "after": isoformat(self.after) if self.after else None,
            "high_water": isoformat(self.high_water) if self.high_water else None,
            "full": self.full,
        }


def materialize_view(
    registered: RegisteredView,
    source: SourceSpec,
    engine: OfflineEngine,
    online: OnlineStore,
    registry: FeatureRegistry,
    until: datetime | None = None,
    full: bool = False,
) -> MaterializeResult:
    view = registered.view
    mark = registry.watermark(view.name, online.url)
    fresh = mark is None or mark[0] != registered.version or full
    after = None if fresh or mark is None else mark[1]
    names = view.feature_names
    written, high = 0, after
    with online.transaction():
        for batch in engine.latest(source, after, until):
            if batch.num_rows == 0:
                continue
            times = batch.column(1).cast(UTC_US)
            keys = batch.column(0).to_pylist()
            rows = list(
                zip(
                    *(batch.column(i).to_pylist() for i in range(2, batch.num_columns)), strict=True
                )
            )
            micros = times.cast(pa.int64()).to_pylist()
            written += online.write_batch(view.name, names, keys, micros, rows)
            top = pc.max(times).as_py()
            high = top if high is None or top > high else high
    if high is not None and (written or fresh):  # after the records are committed
        registry.set_watermark(view.name, online.url, registered.version, high, written)
    log.info("features.materialized", view=view.name, entities=written, full=fresh)
    return MaterializeResult(view.name, written, after, high, fresh)
