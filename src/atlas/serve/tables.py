"""Tables of the inference servers, shared by replicas: the rollout plans (migration 0004; their
``revision``, migration 0006) and the rollout events (migration 0006)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from atlas.core.schema import Base, utcnow


class RolloutRow(Base):
    """The rollout plan of one served model (every server replica reads it). ``revision``
    counts its changes: a replica changes the plan only if it is still the revision it judged
    (compare-and-set), so an automatic rollback is recorded once."""

    __tablename__ = "atlas_rollouts"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RolloutEventRow(Base):
    """One rollout event of a model: a plan set through the management API, an automatic
    rollback (with the canary's error rate and p99 that triggered it)."""

    __tablename__ = "atlas_rollout_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    event: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
