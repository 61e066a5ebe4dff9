"""Shaping between HTTP payloads, prediction events and feedback-log rows."""

from __future__ import annotations

from typing import Any

from atlas.serve.feedback_store import PredictionBatch
from atlas.serve.service import PredictionEvent, PredictionService


def to_batch(event: PredictionEvent) -> PredictionBatch:
    """A prediction event as feedback-log rows (one per predicted row)."""
    return PredictionBatch(
        request_id=event.request_id,
        model=event.model,
        version=event.version,
        inputs=event.inputs,
        raw=event.raw,
        latency_ms=event.latency_ms,
        labels=event.labels.tolist(),
        classes=event.classes,
        role=event.role,
        flags=event.extra,
    )


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
