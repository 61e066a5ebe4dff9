"""A learner plugin: its search space, its defaults, and how it fits with early stopping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import optuna


@dataclass
class Fitted:
    """A fitted learner: ``predict`` gives probabilities (n, k) or values (n,)."""

    artifact: Any
    predictor: Any
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.predictor.predict(x))


class Learner(ABC):
    """One model family. Subclasses set ``name`` and ``flavor`` (how the package stores it)."""

    name: ClassVar[str]
    flavor: ClassVar[str]

    def __init__(self, task: str, n_classes: int, categorical: list[int], seed: int) -> None:
        self.task = task
        self.n_classes = n_classes
        self.categorical = categorical
        self.seed = seed

    def key(self, param: str) -> str:
        """The Optuna parameter name of ``param`` (prefixed, so spaces do not collide)."""
        return f"{self.name}.{param}"

    @abstractmethod
    def default_params(self) -> dict[str, Any]:
        """A strong configuration to try first (the portfolio)."""

    @abstractmethod
    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample a configuration; parameter names must come from :meth:`key`."""

    @abstractmethod
    def fit(
        self,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> Fitted:
        """Fit; with a validation set, stop early on it and record what was learned."""

    def refit_params(self, params: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
        """Parameters for the final fit on all training data, given the folds' ``info``."""
        return params
