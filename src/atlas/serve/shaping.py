"""Shaping between HTTP payloads, prediction events and feedback-log rows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from atlas.serve.enrich import ModelServing
from atlas.serve.external.config import parse_connectors
from atlas.serve.feedback_store import PredictionBatch
from atlas.serve.service import PredictionEvent, PredictionService


def to_batch(event: PredictionEvent, looked_up: Collection[str] = ()) -> PredictionBatch:
    """A prediction event as feedback-log rows (one per predicted row): the fields in
    ``looked_up`` are the row's ``features``, the enricher's per-record flags its own."""
    extra = dict(event.extra)
    row_flags = extra.pop("flags", None)
    return PredictionBatch(
        request_id=event.request_id,
        model=event.model,
        version=event.version,
        inputs=event.inputs,
        raw=event.raw,
        latency_ms=event.latency_ms,
        labels=event.labels.tolist(),
        classes=event.classes,
        looked_up=looked_up,
        role=event.role,
        flags=extra,
        row_flags=row_flags,
    )


def looked_up(serving: ModelServing) -> frozenset[str]:
    """The fields the server looks up for a model: its online features and connector fields."""
    names = {feature.split(":", 1)[-1] for feature in serving.features}
    for connector in parse_connectors(serving.connectors).connectors:
        names |= set(connector.fields)
    return frozenset(names)


def rows_of(columns: dict[str, list[Any]], n: int) -> list[dict[str, Any]]:
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


def sticky_key(service: PredictionService, name: str, data: Any) -> str | None:
    plan = service.rollouts.get(name)
    if plan is None or plan.sticky_field is None:
        return None
    field = plan.sticky_field
    if isinstance(data, dict):
        values = data.get(field)
        return str(values[0]) if values else None
    return str(data[0].get(field)) if data and field in data[0] else None
