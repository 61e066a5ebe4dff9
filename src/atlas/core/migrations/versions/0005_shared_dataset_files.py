"""Two versions of a dataset may share one file: its content hash is no longer unique.

Erasure can make a version byte-identical to a sibling; both then point at one
content-addressed file (deleted only when no version uses it). The unique constraint becomes a
plain index, which ``add`` still uses to find an identical version.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("atlas_datasets") as batch:
        batch.drop_constraint("uq_dataset_content", type_="unique")
        batch.create_index("ix_dataset_content", ["name", "content_hash"])


def downgrade() -> None:
    with op.batch_alter_table("atlas_datasets") as batch:
        batch.drop_index("ix_dataset_content")
        batch.create_unique_constraint("uq_dataset_content", ["name", "content_hash"])
