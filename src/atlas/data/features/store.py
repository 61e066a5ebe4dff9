"""The feature store: one object over the registry, the offline engine and the online store.

store = FeatureStore()                     # backends from settings
store.apply([customer, spending])          # or store.apply("features.yaml")
train = store.match(labels, ["spending:amount_7d", "spending:n_tx_7d"])
store.materialize()
store.get_online(42, ["spending:amount_7d"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias, overload

import pandas as pd
import pyarrow as pa

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.database import Database, open_database
from atlas.core.errors import InvalidInputError, NotFoundError
from atlas.core.settings import Settings, get_settings
from atlas.data.features import ingest as ingesting
from atlas.data.features.definitions import Entity, FeatureView
from atlas.data.features.filters import bind, parse_filter
from atlas.data.features.loading import load_definitions
from atlas.data.features.lookup import Lookup
from atlas.data.features.matching import Request, resolve
from atlas.data.features.materialize import MaterializeResult, materialize_view
from atlas.data.features.offline import DuckDBEngine, OfflineEngine
from atlas.data.features.online import OnlineStore, Row, open_online_store
from atlas.data.features.registry import Change, FeatureRegistry, RegisteredView
from atlas.data.features.sources import Sources
from atlas.data.features.specs import JoinSpec, Selection
from atlas.data.features.timestamps import to_utc

Key = str | int
Frame: TypeAlias = pd.DataFrame | pa.Table


def _arrow_dtype(kind: pa.DataType) -> str | None:
    checks = (
        (pa.types.is_integer, "int64"),
        (pa.types.is_floating, "float64"),
        (pa.types.is_boolean, "bool"),
        (pa.types.is_timestamp, "timestamp"),
    )
    for check, name in checks:
        if check(kind):
            return name
    return "string" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else None


class FeatureStore:
    """Backends come from ``settings`` (default: :func:`get_settings`) unless given."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        db: Database | None = None,
        offline: OfflineEngine | None = None,
        online: OnlineStore | None = None,
        files: ArtifactStore | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.registry = FeatureRegistry(db or open_database(self.settings.database_url))
        self.offline = offline or DuckDBEngine()
        self._online = online
        self.files = files or open_artifacts(self.settings.features_url)
        self.sources = Sources(self.registry, self.files, self.settings)
        self.lookup = Lookup(self._request)
        self._views: dict[str, RegisteredView] | None = None

    def __repr__(self) -> str:
        return f"FeatureStore(offline={self.offline!r}, online={self._online!r})"

    @property
    def online(self) -> OnlineStore:
        if self._online is None:
            self._online = open_online_store(self.settings.online_store_url)
        return self._online

    # -- definitions ---------------------------------------------------------------------------
    def apply(self, objects: Sequence[Entity | FeatureView] | str | Path) -> list[Change]:
        """Register entities and views (a list, or a YAML file); sources are checked now."""
        items = load_definitions(objects) if isinstance(objects, str | Path) else list(objects)
        entities = self.registry.entities()
        entities.update({e.name: e for e in items if isinstance(e, Entity)})
        ready: list[Entity | FeatureView] = []
        for obj in items:
            if isinstance(obj, FeatureView) and obj.entity in entities:
                obj = self.sources.typed(obj, entities[obj.entity], self.offline)
            ready.append(obj)
        changes = self.registry.apply(ready)
        self.refresh()
        return changes

    def refresh(self) -> None:
        """Forget cached definitions (another process may have applied new ones)."""
        self._views = None
        self.lookup.clear()

    def views(self) -> dict[str, RegisteredView]:
        if self._views is None:
            self._views = self.registry.views()
        return self._views

    def view(self, name: str) -> RegisteredView:
        found = self.views().get(name) or self._refreshed().get(name)
        if found is None:
            raise NotFoundError(
                f"There is no feature view {name!r}.",
                hint=f"Known: {', '.join(self.views()) or 'none yet'}. Apply it first.",
            )
        return found

    def _refreshed(self) -> dict[str, RegisteredView]:
        self.refresh()
        return self.views()

    def _request(self, features: Sequence[str], full_names: bool) -> Request:
        try:
            return resolve(features, {n: r.view for n, r in self.views().items()}, full_names)
        except NotFoundError:
            fresh = {n: r.view for n, r in self._refreshed().items()}
            return resolve(features, fresh, full_names)

    # -- offline -------------------------------------------------------------------------------
    def ingest(self, view: str, data: Frame) -> ingesting.IngestResult:
        """Add rows to a view without a source (a new Parquet file; all or nothing)."""
        reg = self.view(view)
        if reg.view.source is not None:
            raise InvalidInputError(
                f"Feature view {view!r} reads {reg.view.source}; only views without a source "
                "take ingested rows.",
                hint="Write new Parquet files where its source points instead.",
            )
        table = ingesting.prepare(reg.view, reg.entity, data)
        return ingesting.write(
            reg.view, table, self.files, lambda *a: self.registry.add_file(view, *a)
        )

    def match(
        self,
        events: Frame,
        features: Sequence[str],
        *,
        timestamp: str = "event_timestamp",
        start: Any = None,
        end: Any = None,
        entities: Sequence[Key] | Mapping[str, Sequence[Key]] | None = None,
        where: str | None = None,
        full_names: bool = False,
    ) -> Frame:
        """Each event with the newest feature values at or before its time (see docs)."""
        request = self._request(features, full_names)
        table = ingesting.to_arrow(events, timestamp)
        columns = table.column_names
        if any(c.startswith("__atlas") for c in columns):
            raise InvalidInputError("Event columns may not start with '__atlas'.")
        joins = []
        for view, chosen in request.views:
            entity = self.view(view.name).entity
            if entity.join_key not in columns:
                raise InvalidInputError(
                    f"The events lack the column {entity.join_key!r}, the key of {view.name!r}.",
                    hint=f"Their columns are: {', '.join(columns)}.",
                )
            outs = {f: request.names[(view.name, f)] for f in chosen}
            clash = sorted(set(outs.values()) & set(columns))
            if clash:
                raise InvalidInputError(
                    f"The events already have column(s) {clash} named like requested features.",
                    hint="Rename them, or pass full_names=True to get view__feature columns.",
                )
            source = self.sources.spec(self.view(view.name))
            joins.append(JoinSpec(source, entity.join_key, view.ttl_delta, outs))
        schema = {c: t for c in columns if (t := _arrow_dtype(table.schema.field(c).type))}
        for join in joins:
            schema.update({o: join.source.features[f] for f, o in join.columns.items()})
        selection = Selection(
            start=None if start is None else to_utc(start, "start"),
            end=None if end is None else to_utc(end, "end"),
            entities=self._entities(entities, joins),
            where=None if where is None else bind(parse_filter(where), schema),
        )
        result = self.offline.match(table, timestamp, joins, selection)
        if not isinstance(events, pd.DataFrame):
            return result
        # one block per column and the Arrow buffers freed as they convert: no 2-D copy
        return result.to_pandas(split_blocks=True, self_destruct=True)

    def _entities(
        self, entities: Sequence[Key] | Mapping[str, Sequence[Key]] | None, joins: list[JoinSpec]
    ) -> dict[str, list[Key]]:
        if entities is None:
            return {}
        if isinstance(entities, Mapping):
            return {str(k): list(v) for k, v in entities.items()}
        keys = sorted({j.event_key for j in joins})
        if len(keys) != 1:
            raise InvalidInputError(
                f"The features use several entity keys ({keys}); say which one to select on.",
                hint="Pass entities as a mapping: {'customer_id': [1, 2]}.",
            )
        return {keys[0]: list(entities)}

    # -- online --------------------------------------------------------------------------------
    def materialize(
        self, views: Sequence[str] | None = None, *, until: Any = None, full: bool = False
    ) -> list[MaterializeResult]:
        """Load the newest values of each entity into the online store (incrementally)."""
        names = list(views) if views is not None else list(self._refreshed())
        end = None if until is None else to_utc(until, "until")
        out = []
        for name in names:
            reg = self.view(name)
            source = self.sources.spec(reg)
            out.append(
                materialize_view(reg, source, self.offline, self.online, self.registry, end, full)
            )
        return out

    @overload
    def get_online(  # type: ignore[overload-overlap]
        self, keys: Key, features: Sequence[str], *, full_names: bool = ..., now: Any = ...
    ) -> Row | None: ...

    @overload
    def get_online(
        self,
        keys: Sequence[Key],
        features: Sequence[str],
        *,
        full_names: bool = ...,
        now: Any = ...,
    ) -> list[Row | None]: ...

    def get_online(
        self,
        keys: Key | Sequence[Key],
        features: Sequence[str],
        *,
        full_names: bool = False,
        now: Any = None,
    ) -> Row | list[Row | None] | None:
        """Feature values of one entity (a dict, or None when it has no fresh record in any
        requested view) or of a list of entities (a list of those, in order)."""
        steps = self.lookup.steps(features, full_names)
        now_us = Lookup.now_us(now)
        if isinstance(keys, str | int) or hasattr(keys, "__index__"):
            return self.lookup.one(self.online, keys, steps, now_us)
        return self.lookup.many(self.online, list(keys), steps, now_us)

    def delete_online(self, key: Key) -> int:
        """Remove one entity's records from every view's online data."""
        return self.online.delete_entity(key, list(self._refreshed()))
