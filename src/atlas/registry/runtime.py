"""A verified package, loaded once and ready to predict: preprocessing, then the learners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas.registry.flavors import Predictor, load_learner
from atlas.registry.manifest import Manifest
from atlas.registry.preprocessing import Columns, Records, TabularPreprocessor
from atlas.registry.threads import threads_for


class LoadedModel:
    """Predicts from a DataFrame or a list of records exactly as the package was fitted."""

    def __init__(self, manifest: Manifest, folder: Path) -> None:
        self.manifest = manifest
        self.folder = folder
        self.preprocessor = TabularPreprocessor(manifest.inputs)
        self._learners: list[tuple[float, Predictor]] = [
            (ref.weight, load_learner(ref.flavor, folder / ref.path, manifest.task))
            for ref in manifest.learners
        ]
        total = sum(w for w, _ in self._learners)
        self._learners = [(w / total, p) for w, p in self._learners]
        self._weights = np.array([w for w, _ in self._learners])
        self.classes = np.asarray(manifest.classes) if manifest.classes is not None else None

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> int:
        return self.manifest.version

    def raw(self, data: pd.DataFrame | Records | Columns) -> np.ndarray:
        """Class probabilities (n, k) or regression values (n,)."""
        return self._raw(data)

    def labels(self, raw: np.ndarray) -> np.ndarray:
        """Labels of :meth:`raw`'s output (threshold applied for binary models that have one)."""
        return self._labels(raw)

    def _raw(self, data: pd.DataFrame | Records | Columns) -> np.ndarray:
        x = self.preprocessor.transform(data)
        with threads_for(len(x)):
            if len(self._learners) == 1:
                return self._learners[0][1].predict(x)
            # the weighted sum as one product: per-learner numpy arithmetic is most of a
            # one-row prediction's Python time in a package of a dozen learners
            parts = np.stack([learner.predict(x) for _, learner in self._learners])
        return np.tensordot(self._weights, parts, axes=1)

    def predict_proba(self, data: pd.DataFrame | Records) -> np.ndarray:
        if self.manifest.task == "regression":
            raise TypeError("predict_proba is for classifiers; this model is a regressor.")
        return self._raw(data)

    def predict(self, data: pd.DataFrame | Records) -> np.ndarray:
        raw = self._raw(data)
        return self._labels(raw)

    def _labels(self, raw: np.ndarray) -> np.ndarray:
        if self.manifest.task == "regression":
            return raw
        assert self.classes is not None
        if self.manifest.task == "binary" and self.manifest.threshold is not None:
            return self.classes[(raw[:, 1] >= self.manifest.threshold).astype(int)]
        return self.classes[np.argmax(raw, axis=1)]

    def predict_records(self, records: Records) -> list[dict[str, Any]]:
        """JSON-ready answers, one per record."""
        raw = self._raw(records)
        return self.answers(raw, self._labels(raw))

    def answers(self, raw: np.ndarray, labels: np.ndarray) -> list[dict[str, Any]]:
        """JSON-ready answers from :meth:`raw` and :meth:`labels` (the server's format too)."""
        if self.manifest.task == "regression":
            return [{"prediction": float(v)} for v in raw]
        names = [str(c) for c in self.manifest.classes or []]
        return [
            {"label": _plain(label), "probabilities": dict(zip(names, row.tolist(), strict=True))}
            for label, row in zip(labels, raw, strict=True)
        ]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
