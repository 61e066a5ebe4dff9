"""Rollout plans of the inference servers (canary, shadow, thresholds), shared by replicas.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "atlas_rollouts",
        sa.Column("model_name", sa.String(128), primary_key=True),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("atlas_rollouts")
