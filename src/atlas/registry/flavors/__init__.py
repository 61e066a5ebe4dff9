"""Safe on-disk formats of fitted learners. Nothing here unpickles bytes from outside.

A flavor is any object (a module, typically) with ``save(obj, folder) -> filename`` and
``load(path, task) -> Predictor``; a flavor may write more than one file into ``folder``,
``filename`` being the one ``load`` opens. Flavors register under the ``atlas.flavors`` entry
point (the built-ins too: ``lightgbm``, ``sklearn``, ``xgboost``, ``catboost``, ``torch``) and are
imported on first use: the model libraries load slowly. A package manifest names each member's
flavor, so a model saved by a plugin's flavor loads wherever that plugin is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from atlas.core.plugins import PluginGroup


class Predictor(Protocol):
    """A loaded learner: class probabilities (n, k) or regression values (n,)."""

    def predict(self, x: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Flavor(Protocol):
    """The interface of a model flavor (``atlas.testing.flavor`` is its conformance suite)."""

    def save(self, obj: Any, folder: Path) -> str: ...

    def load(self, path: Path, task: str) -> Predictor: ...


def _check_flavor(name: str, obj: Any) -> Flavor:
    if not isinstance(obj, Flavor):
        raise TypeError(f"flavor {name!r} ({obj!r}) needs save(obj, folder) and load(path, task)")
    return obj


FLAVORS: PluginGroup[Flavor] = PluginGroup("atlas.flavors", "model flavor", _check_flavor)


def preload_flavors() -> None:
    """Import every installed flavor (a server does this at start, so the first request of a
    model does not pay for ``import lightgbm``); a broken one is reported and skipped."""
    FLAVORS.all()


def save_learner(flavor: str, obj: Any, folder: Path) -> str:
    """Write ``obj`` into ``folder`` in ``flavor``'s format; returns the file name."""
    folder.mkdir(parents=True, exist_ok=True)
    return str(FLAVORS.get(flavor).save(obj, folder))


def load_learner(flavor: str, path: Path, task: str) -> Predictor:
    return FLAVORS.get(flavor).load(path, task)


__all__ = ["FLAVORS", "Flavor", "Predictor", "load_learner", "preload_flavors", "save_learner"]
