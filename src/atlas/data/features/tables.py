"""Tables of the feature store's registry (atlas.data.features), created by migration 0002.

Definitions are stored as JSON beside a few indexed columns; the Parquet files a view was fed
with are listed here (the row is the commit point of an ingest), and so is the high-water mark of
each view's materialization into each online store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from atlas.core.schema import Base, utcnow


class FeatureEntityRow(Base):
    __tablename__ = "atlas_feature_entities"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeatureViewRow(Base):
    """The newest definition of a view; ``version`` grows when its features change."""

    __tablename__ = "atlas_feature_views"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(128))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeatureFileRow(Base):
    """One ingested Parquet file of a view; visible to readers once this row is committed."""

    __tablename__ = "atlas_feature_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    view: Mapped[str] = mapped_column(String(128), index=True)
    uri: Mapped[str] = mapped_column(Text)
    n_rows: Mapped[int] = mapped_column(Integer)
    min_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    max_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeatureWatermarkRow(Base):
    """How far a view has been materialized into one online store (named by its URL)."""

    __tablename__ = "atlas_feature_watermarks"

    view: Mapped[str] = mapped_column(String(128), primary_key=True)
    store: Mapped[str] = mapped_column(String(255), primary_key=True)
    view_version: Mapped[int] = mapped_column(Integer)
    high_water: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
