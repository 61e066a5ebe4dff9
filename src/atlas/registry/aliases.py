"""Alias moves inside one database transaction, with a history that rollback walks back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.core.errors import ConflictError, NotFoundError
from atlas.core.schema import utcnow
from atlas.registry.tables import AliasEventRow, AliasRow, ModelRow


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias; ``changed`` is False for a promote to the version it already
    points at (a no-op: nothing is written, no history row)."""

    model: str
    alias: str
    from_version: int | None
    to_version: int
    changed: bool = True


def _lock(s: Session, name: str, alias: str) -> AliasRow | None:
    """Lock the model's row (alias moves of one model run one at a time: the alias row may not
    exist yet, so it cannot be the lock), then read the alias."""
    s.execute(select(ModelRow.name).where(ModelRow.name == name).with_for_update())
    stmt = select(AliasRow).where(AliasRow.model_name == name, AliasRow.alias == alias)
    return s.scalar(stmt.with_for_update())


def current(s: Session, name: str, alias: str) -> int | None:
    row = s.get(AliasRow, (name, alias))
    return row.version if row else None


def by_alias(s: Session, name: str) -> dict[str, int]:
    return {
        a.alias: a.version for a in s.scalars(select(AliasRow).where(AliasRow.model_name == name))
    }


def by_version(s: Session, name: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for alias, version in by_alias(s, name).items():
        out.setdefault(version, []).append(alias)
    return out


def names_for(s: Session, name: str, version: int) -> list[str]:
    return by_version(s, name).get(version, [])


def move(s: Session, name: str, alias: str, version: int) -> AliasMove:
    row = _lock(s, name, alias)
    previous = row.version if row else None
    if previous == version:  # already there: a rollback must not land on the same version
        return AliasMove(name, alias, previous, version, changed=False)
    if row is None:
        s.add(AliasRow(model_name=name, alias=alias, version=version))
    else:
        row.version = version
        row.updated_at = utcnow()
    s.add(
        AliasEventRow(
            model_name=name,
            alias=alias,
            version=version,
            previous_version=previous,
            action="promote",
            rolled_back=False,
        )
    )
    s.flush()
    return AliasMove(name, alias, previous, version)


def rollback(s: Session, name: str, alias: str) -> AliasMove:
    row = _lock(s, name, alias)
    if row is None:
        raise NotFoundError(
            f"Model {name!r} has no alias {alias!r} to roll back.",
            hint=f"Set it first: atlas models promote {name} VERSION --alias {alias}",
        )
    top = s.scalar(
        select(AliasEventRow)
        .where(
            AliasEventRow.model_name == name,
            AliasEventRow.alias == alias,
            AliasEventRow.action == "promote",
            AliasEventRow.rolled_back.is_(False),
        )
        .order_by(AliasEventRow.id.desc())
        .limit(1)
        .with_for_update()
    )
    if top is None or top.previous_version is None:
        raise ConflictError(
            f"Alias {alias!r} of model {name!r} has no earlier version to roll back to "
            f"(it points at version {row.version}).",
            hint=f"Promote the version you want: atlas models promote {name} VERSION",
        )
    top.rolled_back = True
    current_version, row.version, row.updated_at = row.version, top.previous_version, utcnow()
    s.add(
        AliasEventRow(
            model_name=name,
            alias=alias,
            version=top.previous_version,
            previous_version=current_version,
            action="rollback",
            rolled_back=False,
        )
    )
    s.flush()
    return AliasMove(name, alias, current_version, top.previous_version)
