"""Dataset quality: version status and check results, rules per dataset, erasure records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("atlas_datasets") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="unchecked")
        )
        batch.add_column(sa.Column("checks", sa.JSON, nullable=True))
    op.create_table(
        "atlas_dataset_rules",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "atlas_erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_column", sa.String(128), nullable=False),
        sa.Column("value_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("affected", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("atlas_erasures")
    op.drop_table("atlas_dataset_rules")
    with op.batch_alter_table("atlas_datasets") as batch:
        batch.drop_column("checks")
        batch.drop_column("status")
