"""What the store hands an offline engine: plain, resolved descriptions (no registry, no I/O).

An engine (DuckDB here; Spark or Ray Data elsewhere) needs only these to match events with
feature values and to compute the latest values for materialization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from atlas.data.features.filters import Node


@dataclass(frozen=True)
class SourceSpec:
    """Rows of one feature view.

    ``files`` are Parquet paths or globs. Among rows with the same (key, timestamp) the last one
    wins: the row of the later file in ``files`` (a glob's files in name order), and within a
    file the later row.
    """

    view: str
    files: tuple[str, ...]
    key: str
    key_dtype: str
    timestamp: str
    features: Mapping[str, str]
    label: str = ""

    @property
    def what(self) -> str:
        return self.label or f"the source of feature view {self.view!r}"


@dataclass(frozen=True)
class JoinSpec:
    """One view joined to the events: ``event_key`` is the events' column of the entity key,
    ``columns`` maps the view's features to the output column names."""

    source: SourceSpec
    event_key: str
    ttl: timedelta | None
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Selection:
    """Dynamic sample selection: events in ``[start, end)``, entity keys in ``entities``
    (event column -> allowed keys), and a bound filter tree over the output columns."""

    start: datetime | None = None
    end: datetime | None = None
    entities: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    where: Node | None = None
