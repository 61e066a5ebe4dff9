"""Alembic environment: runs on the connection that atlas.core.database hands over.

Upgrades need no ORM metadata (the revisions say what to do), so migrating imports no package's
tables; autogenerate and comparison pass ``target_metadata`` (``atlas.core.schema.load_tables``)
through the config's attributes.
"""

from __future__ import annotations

from alembic import context

VERSION_TABLE = "atlas_alembic_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, type_, _parent: type_ != "table" or str(name).startswith("atlas_"),
)
with context.begin_transaction():
    context.run_migrations()
