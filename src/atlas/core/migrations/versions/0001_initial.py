"""The first schema: datasets, models, versions, aliases and their history, runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "atlas_datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("n_columns", sa.Integer, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("name", "version", name="uq_dataset_version"),
        sa.UniqueConstraint("name", "content_hash", name="uq_dataset_content"),
    )
    op.create_table(
        "atlas_models",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("task", sa.String(32), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "atlas_model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "model_name",
            sa.String(128),
            sa.ForeignKey("atlas_models.name"),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("dataset_name", sa.String(128), nullable=True),
        sa.Column("dataset_version", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("model_name", "version", name="uq_model_version"),
    )
    op.create_table(
        "atlas_aliases",
        sa.Column(
            "model_name", sa.String(128), sa.ForeignKey("atlas_models.name"), primary_key=True
        ),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "atlas_alias_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(128), nullable=False, index=True),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("previous_version", sa.Integer, nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rolled_back", sa.Boolean, nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "atlas_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dataset_name", sa.String(128), nullable=True),
        sa.Column("dataset_version", sa.Integer, nullable=True),
        sa.Column("study_name", sa.String(256), nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
    )


def downgrade() -> None:
    for table in (
        "atlas_runs",
        "atlas_alias_events",
        "atlas_aliases",
        "atlas_model_versions",
        "atlas_models",
        "atlas_datasets",
    ):
        op.drop_table(table)
