"""Definitions from YAML: ``entities:`` and ``feature_views:`` lists (see docs/features.md).

A relative Parquet ``source`` is taken relative to the YAML file's folder, so a repository of
definitions works from any current directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from atlas.core.errors import InvalidInputError
from atlas.data.features.definitions import Entity, FeatureView

Definition = Entity | FeatureView


def load_definitions(path: str | Path) -> list[Definition]:
    """Entities and feature views defined in a YAML file, entities first."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"File not found: {file}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Cannot read {file}: {exc}.") from None
    return parse_definitions(text, base=file.parent, label=str(file))


def parse_definitions(text: str, base: Path | None = None, label: str = "YAML") -> list[Definition]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise InvalidInputError(f"{label} is not valid YAML{at}: {first}.") from None
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"{label} must be a mapping with 'entities' and 'feature_views' lists.",
            hint="See docs/features.md for an example.",
        )
    unknown = sorted(set(data) - {"entities", "feature_views"})
    if unknown:
        raise InvalidInputError(
            f"{label} has unknown top-level key(s) {unknown}.",
            hint="Use 'entities' and 'feature_views'.",
        )
    out: list[Definition] = []
    for item in _items(data, "entities", label):
        out.append(Entity.from_dict(item))
    for item in _items(data, "feature_views", label):
        out.append(FeatureView.from_dict(_resolve_source(item, base)))
    if not out:
        raise InvalidInputError(f"{label} defines no entity and no feature view.")
    return out


def _items(data: Mapping[str, Any], key: str, label: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InvalidInputError(f"'{key}' in {label} must be a list of mappings.")
    return items


def _resolve_source(item: Mapping[str, Any], base: Path | None) -> Mapping[str, Any]:
    source = item.get("source")
    if not isinstance(source, str) or base is None:
        return item
    if source.startswith("dataset:") or "://" in source or Path(source).is_absolute():
        return item
    return {**item, "source": str((base / source).resolve())}
