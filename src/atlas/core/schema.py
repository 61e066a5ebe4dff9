"""Tables of the metadata database. Alembic migrations in ``core/migrations`` create them.

Every table is prefixed ``atlas_`` so that Optuna's tables can share the same database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which we stored in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class Base(DeclarativeBase):
    pass


class DatasetRow(Base):
    __tablename__ = "atlas_datasets"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_dataset_version"),
        UniqueConstraint("name", "content_hash", name="uq_dataset_content"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    uri: Mapped[str] = mapped_column(Text)
    n_rows: Mapped[int] = mapped_column(Integer)
    n_columns: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="unchecked")
    checks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class DatasetRulesRow(Base):
    """The quality rules of one dataset (checked on each new version)."""

    __tablename__ = "atlas_dataset_rules"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    rules: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ErasureRow(Base):
    """A record that one entity's rows were erased; the value itself is kept only hashed."""

    __tablename__ = "atlas_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_column: Mapped[str] = mapped_column(String(128))
    value_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    affected: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelRow(Base):
    __tablename__ = "atlas_models"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    task: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelVersionRow(Base):
    __tablename__ = "atlas_model_versions"
    __table_args__ = (UniqueConstraint("model_name", "version", name="uq_model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(ForeignKey("atlas_models.name"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    dataset_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    dataset_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AliasRow(Base):
    __tablename__ = "atlas_aliases"

    model_name: Mapped[str] = mapped_column(ForeignKey("atlas_models.name"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AliasEventRow(Base):
    """One move of an alias. Rollback pops the newest live event of that alias."""

    __tablename__ = "atlas_alias_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    alias: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    previous_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(16))
    rolled_back: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RunRow(Base):
    """One AutoML search: what it was asked, where its Optuna study lives, what it found."""

    __tablename__ = "atlas_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    dataset_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    dataset_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    study_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RolloutRow(Base):
    """The rollout plan of one served model (every server replica reads it)."""

    __tablename__ = "atlas_rollouts"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
