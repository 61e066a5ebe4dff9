"""Safe on-disk formats of fitted learners. Nothing here unpickles bytes from outside.

A flavor is a module with ``save(obj, folder) -> filename`` and ``load(path, task) -> Predictor``.
A flavor may write more than one file into ``folder``; ``filename`` is the one ``load`` opens.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from atlas.core.errors import MissingDependencyError


class Predictor(Protocol):
    """A loaded learner: class probabilities (n, k) or regression values (n,)."""

    def predict(self, x: np.ndarray) -> np.ndarray: ...


_FLAVORS = {
    "lightgbm": "lightgbm_text",
    "sklearn": "sklearn_skops",
    "xgboost": "xgboost_json",
    "catboost": "catboost_cbm",
    "torch": "torch_state",
}


def _module(flavor: str) -> Any:
    """The flavor's module, imported on first use (the model libraries load slowly)."""
    return importlib.import_module(f"atlas.registry.flavors.{_FLAVORS[flavor]}")


def preload_flavors() -> None:
    """Import every flavor whose library is installed (a server does this at start, so the
    first request of a model does not pay for ``import lightgbm``)."""
    for flavor in _FLAVORS:
        try:
            _module(flavor)
        except (ImportError, MissingDependencyError):  # an optional library (torch)
            continue


def save_learner(flavor: str, obj: Any, folder: Path) -> str:
    """Write ``obj`` into ``folder`` in ``flavor``'s format; returns the file name."""
    folder.mkdir(parents=True, exist_ok=True)
    return str(_module(flavor).save(obj, folder))


def load_learner(flavor: str, path: Path, task: str) -> Predictor:
    return _module(flavor).load(path, task)


__all__ = ["Predictor", "load_learner", "preload_flavors", "save_learner"]
