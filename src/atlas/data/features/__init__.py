"""The feature store: entities and feature views, point-in-time matching, online lookups.

See docs/features.md. The offline store is Parquet queried by DuckDB; the online store is
SQLite (embedded) or Redis (production), picked by ``online_store_url`` in settings.
"""

from atlas.data.features.definitions import Entity, FeatureView, parse_ttl
from atlas.data.features.filters import parse_filter
from atlas.data.features.ingest import IngestResult
from atlas.data.features.loading import load_definitions, parse_definitions
from atlas.data.features.materialize import MaterializeResult
from atlas.data.features.offline import DuckDBEngine, OfflineEngine
from atlas.data.features.online import OnlineStore, open_online_store
from atlas.data.features.registry import Change, FeatureRegistry, RegisteredView
from atlas.data.features.store import FeatureStore

__all__ = [
    "Change",
    "DuckDBEngine",
    "Entity",
    "FeatureRegistry",
    "FeatureStore",
    "FeatureView",
    "IngestResult",
    "MaterializeResult",
    "OfflineEngine",
    "OnlineStore",
    "RegisteredView",
    "load_definitions",
    "open_online_store",
    "parse_definitions",
    "parse_filter",
    "parse_ttl",
]
