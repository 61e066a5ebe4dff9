"""A learner plugin: its search space, portfolio, cost and memory model, and how it fits.

A learner runs inside a trial worker process. ``fit`` must respect ``deadline`` (a
``time.monotonic()`` value) where it can stop early and still return a usable model (boosting
rounds, epochs); the worker is killed anyway if it runs past its hard limit.

A learner module does not import a heavy model library (LightGBM, XGBoost, CatBoost, torch) or
its registry flavor at its top: ``fit`` imports them, and :meth:`Learner.preload` does in the
parent process just before the trial workers fork, so listing learners, or ``import
atlas.automl``, stays light.
"""

from __future__ import annotations

import importlib
import statistics
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import optuna

TASKS = ("binary", "multiclass", "regression")
DEADLINE_MARGIN = 0.2  # seconds before the deadline at which an iterative fit stops
FIXED_MEMORY = 64 * 2**20  # bytes any fit needs besides its data (interpreter, library)
# what the scikit-learn learners' flavor needs (skops takes seconds to import)
SKLEARN_MODULES = ("skops.io", "atlas.registry.flavors.sklearn_skops")


@dataclass
class Fitted:
    """A fitted learner: ``predict`` gives probabilities (n, k) or values (n,).

    ``artifact`` is what the learner's registry flavor saves; ``info`` carries what the fit
    learned about itself (for instance the best boosting round) for the final configuration.
    """

    artifact: Any
    predictor: Any
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.predictor.predict(x))


def time_left(deadline: float | None) -> float:
    """Seconds until ``deadline`` (infinite when there is none)."""
    return float("inf") if deadline is None else deadline - time.monotonic()


def out_of_time(deadline: float | None) -> bool:
    """Whether an iterative fit must stop now: less than :data:`DEADLINE_MARGIN` is left."""
    return time_left(deadline) < DEADLINE_MARGIN


def fixed_count(
    key: str, params: dict[str, Any], infos: list[dict[str, Any]], learned: str
) -> dict[str, Any]:
    """``params`` with ``key`` fixed to the mean of the folds' ``learned`` counts (at least 1);
    unchanged when no fold recorded one."""
    counts = [int(info[learned]) for info in infos if info.get(learned)]
    if not counts:
        return dict(params)
    return {**params, key: max(1, round(statistics.fmean(counts)))}


class Learner(ABC):
    """One model family. Subclasses set ``name`` (the entry point's name), ``flavor`` (the
    registry format its ``Fitted.artifact`` is saved in) and, if narrower, ``tasks``;
    ``requires`` names optional packages (a learner whose packages are missing is left out of
    the default search) and ``modules`` what :meth:`preload` imports."""

    name: ClassVar[str]
    flavor: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = TASKS
    requires: ClassVar[tuple[str, ...]] = ()  # optional packages it imports
    modules: ClassVar[tuple[str, ...]] = ()  # what fit imports, preloaded before workers fork

    def __init__(self, task: str, n_classes: int, categorical: list[int], seed: int) -> None:
        self.task = task
        self.n_classes = n_classes
        self.categorical = categorical
        self.seed = seed

    @classmethod
    def preload(cls) -> None:
        """Import :attr:`modules` now, in the parent: forked trial workers inherit them instead
        of importing them again inside every trial's budget. A missing optional package is left
        for ``fit`` to report (its trial fails with the install hint)."""
        for module in cls.modules:
            try:
                importlib.import_module(module)
            except ImportError:
                continue

    def key(self, param: str) -> str:
        """The Optuna parameter name of ``param`` (prefixed, so spaces do not collide)."""
        return f"{self.name}.{param}"

    def own(self, params: dict[str, Any]) -> dict[str, Any]:
        """This learner's parameters from a trial's, without the prefix."""
        prefix = f"{self.name}."
        return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}

    def class_weight_choice(self, trial: optuna.Trial) -> dict[str, Any]:
        """The searched class-weight option (classification only)."""
        if self.task == "regression":
            return {}
        key = self.key("class_weight")
        return {key: trial.suggest_categorical(key, ["none", "balanced"])}

    def sample_weight(self, params: dict[str, Any], y: np.ndarray) -> np.ndarray | None:
        """Per-row weights that balance the classes, when the configuration asks for it."""
        if self.task == "regression" or self.own(params).get("class_weight") != "balanced":
            return None
        counts = np.bincount(y, minlength=self.n_classes).astype(np.float64)
        weights = len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1.0))
        return np.asarray(weights[y], dtype=np.float64)

    @abstractmethod
    def default_params(self) -> dict[str, Any]:
        """The first configuration to try: strong on most tables."""

    def portfolio(self) -> list[dict[str, Any]]:
        """Configurations tried before sampling starts, best first."""
        return [self.default_params()]

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
        sample_weight: np.ndarray | None = None,
        deadline: float | None = None,
    ) -> Fitted:
        """Fit; with a validation set, stop early on it and record what was learned."""

    def refit_params(self, params: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
        """The configuration that refits on all training rows at once (no validation fold),
        from what its cross-validation fits learned (``Fitted.info`` of each fold): iterative
        learners fix the iteration count the folds kept; others refit as configured."""
        return dict(params)

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        """Peak bytes one fit needs beyond the shared data (a conservative guess)."""
        return 4 * n_rows * n_features * 8 + FIXED_MEMORY

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        """Relative seconds of one fit; used to order and budget the portfolio."""
        return 1e-6 * n_rows * n_features
