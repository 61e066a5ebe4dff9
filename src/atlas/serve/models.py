"""Models in memory: resolved through the registry, loaded on first use, kept by version."""

from __future__ import annotations

import threading

from atlas.registry import LoadedModel, ModelRegistry


class ModelCache:
    """Loads each (model, version) once; alias lookups go to the registry on every call so
    that a promotion or rollback takes effect on the next request."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._loaded: dict[tuple[str, int], LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, name: str, ref: int | str | None = None) -> LoadedModel:
        version = self.registry.get(name, ref).version
        key = (name, version)
        model = self._loaded.get(key)
        if model is None:
            with self._lock:
                model = self._loaded.get(key)
                if model is None:
                    model = self._loaded[key] = self.registry.load(name, version)
        return model

    def loaded(self) -> list[tuple[str, int]]:
        return sorted(self._loaded)
