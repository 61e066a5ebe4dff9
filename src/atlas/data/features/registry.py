"""Where definitions live: tables in the metadata database (SQLite or PostgreSQL).

A view's ``version`` grows when its feature list changes; changing the type of an existing
feature is refused (old files and online records hold the old type: add a new feature name).
The rows listing ingested files and materialization high-water marks are commit points: a file
is visible, and a materialization done, only once its row is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.core.database import Database
from atlas.core.errors import ConflictError, InvalidInputError, NotFoundError
from atlas.core.schema import utcnow
from atlas.data.features.definitions import Entity, FeatureView
from atlas.data.features.tables import (
    FeatureEntityRow,
    FeatureFileRow,
    FeatureViewRow,
    FeatureWatermarkRow,
)


@dataclass(frozen=True)
class RegisteredView:
    view: FeatureView
    entity: Entity
    version: int


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # created, updated, unchanged
    version: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "version": self.version,
        }


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FeatureRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    def apply(self, objects: Sequence[Entity | FeatureView]) -> list[Change]:
        """Create or update entities and views, all in one transaction."""
        changes: list[Change] = []
        with self.db.session() as s:
            known = {r.name for r in s.scalars(select(FeatureEntityRow))}
            for obj in objects:
                if isinstance(obj, Entity):
                    row = s.get(FeatureEntityRow, obj.name)
                    if row is None:
                        s.add(FeatureEntityRow(name=obj.name, definition=obj.to_dict()))
                        changes.append(Change("entity", obj.name, "created"))
                    elif row.definition != obj.to_dict():
                        row.definition, row.updated_at = obj.to_dict(), utcnow()
                        changes.append(Change("entity", obj.name, "updated"))
                    else:
                        changes.append(Change("entity", obj.name, "unchanged"))
                    known.add(obj.name)
            for obj in objects:
                if isinstance(obj, FeatureView):
                    if obj.entity not in known:
                        raise NotFoundError(
                            f"Feature view {obj.name!r} names the unknown entity {obj.entity!r}.",
                            hint=f"Define it in the same apply. Known: {', '.join(sorted(known)) or 'none'}.",  # noqa: E501
                        )
                    changes.append(self._apply_view(s, obj))
                elif not isinstance(obj, Entity):
                    raise InvalidInputError(f"Cannot apply {obj!r}: not an Entity or FeatureView.")
            s.flush()
        return changes

    def _apply_view(self, s: Session, view: FeatureView) -> Change:
        row = s.get(FeatureViewRow, view.name)
        new = view.to_dict()
        if row is None:
            s.add(FeatureViewRow(name=view.name, version=1, entity=view.entity, definition=new))
            return Change("feature_view", view.name, "created", 1)
        old = FeatureView.from_dict(row.definition)
        if old.to_dict() == new:
            return Change("feature_view", view.name, "unchanged", row.version)
        if old.entity != view.entity:
            raise ConflictError(
                f"Feature view {view.name!r} is keyed by {old.entity!r}, not {view.entity!r}.",
                hint="Define a view with a new name for another entity.",
            )
        for name, dtype in view.schema.items():
            was = old.schema.get(name)
            if was is not None and was != dtype:
                raise ConflictError(
                    f"Feature {view.name}:{name} would change type from {was} to {dtype}.",
                    hint="Stored files and online records hold the old type: add the new type "
                    "under a new feature name.",
                )
        if old.schema_key() != view.schema_key():
            row.version += 1
        row.definition, row.entity, row.updated_at = new, view.entity, utcnow()
        return Change("feature_view", view.name, "updated", row.version)

    def views(self) -> dict[str, RegisteredView]:
        with self.db.session() as s:
            entities = {
                r.name: Entity.from_dict(r.definition) for r in s.scalars(select(FeatureEntityRow))
            }
            rows = list(s.scalars(select(FeatureViewRow).order_by(FeatureViewRow.name)))
        return {
            r.name: RegisteredView(
                FeatureView.from_dict(r.definition), entities[r.entity], r.version
            )
            for r in rows
        }

    def entities(self) -> dict[str, Entity]:
        with self.db.session() as s:
            rows = s.scalars(select(FeatureEntityRow).order_by(FeatureEntityRow.name))
            return {r.name: Entity.from_dict(r.definition) for r in rows}

    # -- ingested files ------------------------------------------------------------------------
    def add_file(
        self, view: str, uri: str, n_rows: int, min_ts: datetime | None, max_ts: datetime | None
    ) -> None:
        with self.db.session() as s:
            s.add(FeatureFileRow(view=view, uri=uri, n_rows=n_rows, min_ts=min_ts, max_ts=max_ts))

    def files(self, view: str) -> list[str]:
        """The committed files of ``view``, oldest first (later files win duplicates)."""
        with self.db.session() as s:
            stmt = select(FeatureFileRow.uri).where(FeatureFileRow.view == view)
            return list(s.scalars(stmt.order_by(FeatureFileRow.id)))

    def replace_file(
        self, view: str, old_uri: str, new_uri: str, n_rows: int, session: Session | None = None
    ) -> None:
        """Point the listing of ``old_uri`` at its rewritten copy (erasure), in ``session``'s
        transaction when given (so it commits with the rest of an erasure)."""
        if session is None:
            with self.db.session() as s:
                self.replace_file(view, old_uri, new_uri, n_rows, s)
            return
        row = session.scalar(
            select(FeatureFileRow).where(FeatureFileRow.view == view, FeatureFileRow.uri == old_uri)
        )
        if row is None:
            raise NotFoundError(f"Feature view {view!r} lists no file {old_uri!r}.")
        row.uri, row.n_rows = new_uri, n_rows

    # -- materialization -----------------------------------------------------------------------
    def watermark(self, view: str, store: str) -> tuple[int, datetime] | None:
        with self.db.session() as s:
            row = s.get(FeatureWatermarkRow, (view, store[:255]))
            return None if row is None else (row.view_version, _aware(row.high_water))

    def set_watermark(
        self, view: str, store: str, view_version: int, high_water: datetime, n_rows: int
    ) -> None:
        with self.db.session() as s:
            row = s.get(FeatureWatermarkRow, (view, store[:255]))
            if row is None:
                row = FeatureWatermarkRow(view=view, store=store[:255])
                s.add(row)
            row.view_version, row.high_water, row.n_rows = view_version, high_water, n_rows
            row.updated_at = utcnow()
