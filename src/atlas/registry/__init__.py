"""Model packages, versions, aliases and lineage."""

from atlas.registry.aliases import AliasMove
from atlas.registry.manifest import (
    DatasetLineage,
    InputColumn,
    Lineage,
    Manifest,
    RefitLineage,
    SearchLineage,
)
from atlas.registry.package import PackageDraft, verify_package
from atlas.registry.preprocessing import TabularPreprocessor
from atlas.registry.registry import DEFAULT_ALIAS, ModelRegistry, ModelVersion
from atlas.registry.runtime import LoadedModel

__all__ = [
    "DEFAULT_ALIAS",
    "AliasMove",
    "DatasetLineage",
    "InputColumn",
    "Lineage",
    "LoadedModel",
    "Manifest",
    "ModelRegistry",
    "ModelVersion",
    "PackageDraft",
    "RefitLineage",
    "SearchLineage",
    "TabularPreprocessor",
    "verify_package",
]
