"""Table of the inference servers' rollout plans, shared by replicas; created by migration 0004."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from atlas.core.schema import Base, utcnow


class RolloutRow(Base):
    """The rollout plan of one served model (every server replica reads it)."""

    __tablename__ = "atlas_rollouts"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
