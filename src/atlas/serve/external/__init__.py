"""External data access for the inference server: pluggable async connectors (their types are
plugins, entry points ``atlas.connectors``) behind a timeout, a TTL cache, a circuit breaker,
single-flight de-duplication and a declared fallback (see docs/external-data.md).
"""

from atlas.serve.external.base import Connector, ConnectorError, FieldType, Outcome, check_values
from atlas.serve.external.config import (
    ConnectorsConfig,
    ConnectorSet,
    HTTPConnectorConfig,
    parse_connectors,
)
from atlas.serve.external.guarded import Guarded
from atlas.serve.external.http import HTTPConnector, new_client
from atlas.serve.external.plugins import BreakerConfig, ConnectorConfig, connector_types
from atlas.serve.external.resilience import CircuitBreaker, TTLCache

__all__ = [
    "BreakerConfig",
    "CircuitBreaker",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorSet",
    "ConnectorsConfig",
    "FieldType",
    "Guarded",
    "HTTPConnector",
    "HTTPConnectorConfig",
    "Outcome",
    "TTLCache",
    "check_values",
    "connector_types",
    "new_client",
    "parse_connectors",
]
