"""Rollout plans get a revision (compare-and-set of automatic rollbacks across replicas), and
rollout events are stored (they lived in one server's memory).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("atlas_rollouts") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "atlas_rollout_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_atlas_rollout_events_model_name", "atlas_rollout_events", ["model_name"])


def downgrade() -> None:
    op.drop_index("ix_atlas_rollout_events_model_name", "atlas_rollout_events")
    op.drop_table("atlas_rollout_events")
    with op.batch_alter_table("atlas_rollouts") as batch:
        batch.drop_column("revision")
