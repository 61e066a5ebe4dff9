"""Tables of the data package: dataset versions, their quality rules, erasure records.

Created by migrations 0001 and 0003, changed by 0005 and 0007 (``core/migrations/versions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atlas.core.schema import Base, utcnow


class DatasetRow(Base):
    __tablename__ = "atlas_datasets"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_dataset_version"),
        # Not unique: erasure can make two versions byte-identical, then both share one file.
        Index("ix_dataset_content", "name", "content_hash"),
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
    """A record that one entity's rows were erased; the value itself is kept only hashed:
    ``hash_scheme`` 'hmac-sha256' (keyed, see ``atlas.data.erasure``) or 'sha256' (records
    written before migration 0007)."""

    __tablename__ = "atlas_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_column: Mapped[str] = mapped_column(String(128))
    value_sha256: Mapped[str] = mapped_column(String(64))
    hash_scheme: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    affected: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
