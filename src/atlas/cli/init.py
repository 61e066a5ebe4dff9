"""``atlas init``: create the home folder, the database schema and the artifact store."""

from __future__ import annotations

import typer

from atlas.cli.output import console, print_json
from atlas.core.artifacts import open_artifacts
from atlas.core.database import masked, open_database
from atlas.core.redact import redact_url
from atlas.core.settings import get_settings


def init(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create ATLAS_HOME, migrate the metadata database, open the artifact store."""
    s = get_settings()
    s.home.mkdir(parents=True, exist_ok=True)
    db = open_database(s.database_url)
    open_artifacts(s.artifacts_url)
    info = {
        "home": str(s.home),
        "database": masked(db.url),
        "schema_revision": db.current_revision(),
        "artifacts": redact_url(s.artifacts_url),
    }
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        console.print(f"{key:>16}: {value}")
