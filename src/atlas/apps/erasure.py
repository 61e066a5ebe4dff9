"""The right to be forgotten, as one use case over the data package and the model registry.

``atlas.data.erasure.erase`` rewrites datasets and feature files in one transaction; which models
were trained on the erased rows is the registry's knowledge (its lineage), so this layer above
both hands the registry's ``trained_on`` to the erasure. Neither package reads the other's tables.
"""

from __future__ import annotations

from typing import Any

from atlas.core.settings import Settings, get_settings
from atlas.data import DatasetStore, erase, erasure_key
from atlas.registry import ModelRegistry


def erase_entity_everywhere(
    column: str,
    value: Any,
    reason: str,
    datasets: list[str] | None = None,
    features: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Erase one entity from every dataset version (and the feature store), with its record."""
    from atlas.data.features import FeatureStore

    s = settings or get_settings()
    return erase(
        DatasetStore.from_settings(s),
        column,
        value,
        reason,
        datasets,
        features=FeatureStore(s) if features else None,
        lineage=ModelRegistry.from_settings(s).trained_on,
        key=erasure_key(s),
    )
