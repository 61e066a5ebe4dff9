"""The kernel: settings, metadata database, artifact store, errors, logging. Imports no atlas."""

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.database import Database, open_database
from atlas.core.errors import (
    AtlasError,
    ConfigError,
    ConflictError,
    DatabaseUnavailableError,
    IntegrityError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
)
from atlas.core.settings import Settings, get_settings, load_settings

__all__ = [
    "ArtifactStore",
    "AtlasError",
    "ConfigError",
    "ConflictError",
    "Database",
    "DatabaseUnavailableError",
    "IntegrityError",
    "InvalidInputError",
    "MissingDependencyError",
    "NotFoundError",
    "Settings",
    "get_settings",
    "load_settings",
    "open_artifacts",
    "open_database",
]
