"""Conformance suite of a model flavor (``atlas.registry.flavors.Flavor``): what ``save``
writes, ``load`` reads back to the very same predictions, in the shapes the runtime expects,
for every task the flavor supports; and the flavor is found through its entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from atlas.registry.flavors import FLAVORS, Flavor

TASKS = ("binary", "multiclass", "regression")
N_ROWS = 120
N_FEATURES = 4
N_CLASSES = {"binary": 2, "multiclass": 3}
TOLERANCE = 1e-6


def sample_data(task: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small learnable problem: float features, integer classes or real targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_ROWS, N_FEATURES))
    signal = x[:, 0] + 0.5 * x[:, 1]
    if task == "regression":
        return x, signal + rng.normal(scale=0.1, size=N_ROWS)
    edges = np.quantile(signal, np.linspace(0, 1, N_CLASSES[task] + 1)[1:-1])
    return x, np.digitize(signal, edges)


class FlavorConformance:
    """Subclass, set :attr:`flavor` (its entry-point name) and :attr:`tasks`, and implement
    :meth:`fit` (a fitted object of the kind ``save`` takes) and :meth:`predict` (that
    object's predictions in memory: probabilities (n, k) or values (n,))."""

    flavor: str = ""
    tasks: tuple[str, ...] = TASKS

    def fit(self, x: np.ndarray, y: np.ndarray, task: str) -> Any:
        raise NotImplementedError

    def predict(self, obj: Any, x: np.ndarray, task: str) -> np.ndarray:
        raise NotImplementedError

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run the task-taking tests once per task this flavor supports (pytest calls this)."""
        if "task" in metafunc.fixturenames:
            metafunc.parametrize("task", self.tasks)

    def plugin(self) -> Flavor:
        return FLAVORS.get(self.flavor)

    def test_registered_through_its_entry_point(self) -> None:
        assert self.flavor in FLAVORS.names()
        assert isinstance(self.plugin(), Flavor)

    def test_round_trip_gives_the_same_predictions(self, task: str, tmp_path: Path) -> None:
        x, y = sample_data(task)
        obj = self.fit(x, y, task)
        filename = self.plugin().save(obj, tmp_path)
        assert (tmp_path / filename).is_file() and "/" not in filename
        loaded = self.plugin().load(tmp_path / filename, task)
        expected = self.predict(obj, x, task)
        np.testing.assert_allclose(loaded.predict(x), expected, rtol=TOLERANCE, atol=TOLERANCE)

    def test_prediction_shapes(self, task: str, tmp_path: Path) -> None:
        x, y = sample_data(task)
        filename = self.plugin().save(self.fit(x, y, task), tmp_path)
        out = self.plugin().load(tmp_path / filename, task).predict(x[:7])
        if task == "regression":
            assert out.shape == (7,)
            return
        assert out.shape == (7, N_CLASSES[task])
        assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0)

    def test_one_row_at_a_time_agrees_with_a_batch(self, task: str, tmp_path: Path) -> None:
        x, y = sample_data(task)
        filename = self.plugin().save(self.fit(x, y, task), tmp_path)
        predictor = self.plugin().load(tmp_path / filename, task)
        batch = predictor.predict(x[:5])
        singles = np.concatenate([predictor.predict(x[i : i + 1]) for i in range(5)])
        np.testing.assert_allclose(singles, batch, rtol=TOLERANCE, atol=TOLERANCE)
