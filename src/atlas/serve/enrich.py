"""Feature processing and external data access before a model predicts.

Per model, a serving config names the request field that keys the entity, the online features
to look up for it (the feature store, docs/features.md), and the external connectors to call
(docs/external-data.md). Request fields win over looked-up values; an entity the online store
does not know gets missing values (the model handles them), flagged in the event; a connector
that fails gives its declared fallback, flagged too.

    models:
      credit-risk:
        entity_key: customer_id
        features: [spending:amount_7d, spending:n_tx_7d]
        connectors:
          - {name: bureau, type: http, url: "http://bureau:9100/score/{customer_id}",
             key: customer_id, fields: {bureau_score: float}, timeout_ms: 50,
             fallback: {bureau_score: 600.0}}
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from atlas.core.errors import InvalidInputError
from atlas.serve.external import ConnectorSet


class ModelServing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_key: str | None = None
    features: list[str] = Field(default_factory=list, description="view:feature names.")
    connectors: list[dict[str, Any]] = Field(default_factory=list)


class Enricher:
    def __init__(self, serving: Mapping[str, ModelServing], feature_store: Any = None) -> None:
        self.serving = dict(serving)
        self._store = feature_store
        self._connectors: dict[str, ConnectorSet] = {}
        for name, cfg in self.serving.items():
            if cfg.features and not cfg.entity_key:
                raise InvalidInputError(f"Serving config of {name!r}: features need entity_key.")
            if cfg.connectors:  # validate now, build the HTTP client later inside the loop
                ConnectorSet.from_config(cfg.connectors, label=f"models.{name}.connectors")

    def applies_to(self, model: str) -> bool:
        cfg = self.serving.get(model)
        return cfg is not None and bool(cfg.features or cfg.connectors)

    def _feature_store(self) -> Any:
        if self._store is None:
            from atlas.data.features import FeatureStore

            self._store = FeatureStore()
        return self._store

    async def enrich(
        self, model: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(records with looked-up fields, per-record flags: fallbacks, unknown entities)."""
        cfg = self.serving[model]
        rows = [dict(r) for r in records]
        flags: list[dict[str, Any]] = [{} for _ in rows]
        if cfg.features:
            assert cfg.entity_key is not None
            keys = []
            for i, row in enumerate(rows):
                if row.get(cfg.entity_key) is None:
                    raise InvalidInputError(
                        f"Record {i} lacks {cfg.entity_key!r}, the key of its online features."
                    )
                keys.append(row[cfg.entity_key])
            found = await asyncio.to_thread(self._feature_store().get_online, keys, cfg.features)
            for row, values, flag in zip(rows, found, flags, strict=True):
                if values is None:
                    flag["unknown_entity"] = True
                    values = {f.split(":", 1)[-1]: None for f in cfg.features}
                for key, value in values.items():
                    row.setdefault(key, value)
        if cfg.connectors:
            connectors = self._connectors.get(model)
            if connectors is None:
                connectors = self._connectors[model] = ConnectorSet.from_config(cfg.connectors)
            answers = await asyncio.gather(*(connectors.fetch_all(r) for r in rows))
            for row, (values, outcomes), flag in zip(rows, answers, flags, strict=True):
                for key, value in values.items():
                    row.setdefault(key, value)
                fallbacks = {n: o.error for n, o in outcomes.items() if o.is_fallback}
                if fallbacks:
                    flag["fallbacks"] = fallbacks
        return rows, flags

    def stats(self) -> dict[str, Any]:
        return {name: c.stats() for name, c in self._connectors.items()}

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._connectors.values()))
