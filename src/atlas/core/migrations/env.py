"""Alembic environment: runs on the connection that atlas.core.database hands over."""

from __future__ import annotations

from alembic import context

from atlas.core.schema import Base

VERSION_TABLE = "atlas_alembic_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, type_, _parent: type_ != "table" or str(name).startswith("atlas_"),
)
with context.begin_transaction():
    context.run_migrations()
