"""Erasure records name the scheme of their value hash: 'hmac-sha256' (keyed, from now on) or
'sha256' (the unkeyed hash of every record written before).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("atlas_erasures") as batch:
        batch.add_column(
            sa.Column("hash_scheme", sa.String(16), nullable=False, server_default="sha256")
        )


def downgrade() -> None:
    with op.batch_alter_table("atlas_erasures") as batch:
        batch.drop_column("hash_scheme")
