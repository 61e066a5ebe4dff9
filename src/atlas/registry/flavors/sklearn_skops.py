"""scikit-learn estimators in skops' format, loaded only if every type in it is allowed.

skops refuses to build types it was not told to trust; we trust scikit-learn, NumPy and SciPy
types and nothing else, so a package cannot smuggle code in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from atlas.core.errors import IntegrityError

FILENAME = "sklearn.skops"
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def save(estimator: Any, folder: Path) -> str:
    import skops.io as sio  # slow to import: it scans every scikit-learn module

    sio.dump(estimator, folder / FILENAME)
    return FILENAME


class SklearnPredictor:
    def __init__(self, estimator: Any, task: str) -> None:
        self.estimator = estimator
        self.task = task

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(self.estimator.predict(x), dtype=np.float64)
        return np.asarray(self.estimator.predict_proba(x), dtype=np.float64)


def load(path: Path, task: str) -> SklearnPredictor:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise IntegrityError(
            f"{path} contains types that are not scikit-learn, NumPy or SciPy: {refused}.",
            hint="Only register packages built by ATLAS; this file was not.",
        )
    return SklearnPredictor(sio.load(path, trusted=untrusted), task)
