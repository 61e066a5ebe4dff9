"""Rollout plans and their events in the metadata database, shared by every server replica.

Each plan carries a revision that counts its changes. A plan set through the management API
always wins (the next revision); a change a replica decides on its own (an automatic rollback)
is a compare-and-set on the revision it judged: it lands only if nobody changed the plan since,
so with several replicas one records it and the others read it. Each change writes its event in
the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update

from atlas.core.database import Database
from atlas.core.errors import InvalidInputError
from atlas.core.names import check_name
from atlas.core.schema import isoformat, utcnow
from atlas.serve.tables import RolloutEventRow, RolloutRow


@dataclass(frozen=True)
class StoredPlan:
    plan: dict[str, Any]
    revision: int


def _is_name(model: str) -> bool:
    try:
        check_name("model", model)
    except InvalidInputError:
        return False
    return True


class RolloutStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def read(self, model: str) -> StoredPlan | None:
        if not _is_name(model):  # never stored; not looked up
            return None
        with self.db.session() as s:
            row = s.get(RolloutRow, model)
            return None if row is None else StoredPlan(dict(row.plan), row.revision)

    def put(self, model: str, plan: BaseModel) -> int:
        """Store ``plan`` as the model's next revision, with a ``plan`` event; the revision."""
        try:
            return self._put(model, plan.model_dump())
        except sa_exc.IntegrityError:  # two first plans at once: the other's row exists now
            return self._put(model, plan.model_dump())

    def _put(self, model: str, dumped: dict[str, Any]) -> int:
        with self.db.session() as s:
            row = s.get(RolloutRow, model, with_for_update=True)
            if row is None:
                row = RolloutRow(model_name=model, plan=dumped, revision=1)
                s.add(row)
            else:
                row.plan, row.revision, row.updated_at = dumped, row.revision + 1, utcnow()
            s.flush()
            s.add(_event(model, "plan", row.revision, dumped))
            return row.revision

    def compare_and_set(
        self, model: str, revision: int, plan: BaseModel, event: str, detail: dict[str, Any]
    ) -> int | None:
        """Store ``plan`` (and ``event``) if the stored plan is still ``revision``; the new
        revision, or None when the plan changed meanwhile (nothing written)."""
        stmt = (
            update(RolloutRow)
            .where(RolloutRow.model_name == model, RolloutRow.revision == revision)
            .values(plan=plan.model_dump(), revision=revision + 1, updated_at=utcnow())
        )
        with self.db.session() as s:
            if s.connection().execute(stmt).rowcount != 1:
                return None
            s.add(_event(model, event, revision + 1, detail))
        return revision + 1

    def events(self, model: str, limit: int) -> list[dict[str, Any]]:
        """The model's newest ``limit`` events, oldest first."""
        if not _is_name(model):
            return []
        stmt = (
            select(RolloutEventRow)
            .where(RolloutEventRow.model_name == model)
            .order_by(RolloutEventRow.id.desc())
            .limit(limit)
        )
        with self.db.session() as s:
            return [_event_json(row) for row in reversed(list(s.scalars(stmt)))]


def _event(model: str, kind: str, revision: int, detail: dict[str, Any]) -> RolloutEventRow:
    return RolloutEventRow(model_name=model, event=kind, revision=revision, detail=detail)


def _event_json(row: RolloutEventRow) -> dict[str, Any]:
    return {
        "model": row.model_name,
        "event": row.event,
        "revision": row.revision,
        "detail": row.detail,
        "at": isoformat(row.created_at),
    }
