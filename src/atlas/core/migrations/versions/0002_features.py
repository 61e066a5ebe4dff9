"""The feature store's registry: entities, feature views, ingested files, high-water marks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "atlas_feature_entities",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "atlas_feature_views",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "atlas_feature_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("view", sa.String(128), nullable=False, index=True),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        _ts("min_ts", nullable=True),
        _ts("max_ts", nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "atlas_feature_watermarks",
        sa.Column("view", sa.String(128), primary_key=True),
        sa.Column("store", sa.String(255), primary_key=True),
        sa.Column("view_version", sa.Integer, nullable=False),
        _ts("high_water"),
        sa.Column("n_rows", sa.Integer, nullable=False),
        _ts("updated_at"),
    )


def downgrade() -> None:
    for table in (
        "atlas_feature_watermarks",
        "atlas_feature_files",
        "atlas_feature_views",
        "atlas_feature_entities",
    ):
        op.drop_table(table)
