"""Extremely randomized trees (scikit-learn), which handle missing values natively."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

from atlas.automl.learners.base import FIXED_MEMORY, SKLEARN_MODULES, Fitted, Learner

N_TREES = 300


class ExtraTreesLearner(Learner):
    name = "extra_trees"
    flavor = "sklearn"
    modules = SKLEARN_MODULES
    estimator_classes: tuple[type, type] = (ExtraTreesClassifier, ExtraTreesRegressor)

    def default_params(self) -> dict[str, Any]:
        return {self.key("max_features"): 0.5, self.key("min_samples_leaf"): 2}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("max_features"): trial.suggest_float(k("max_features"), 0.1, 1.0),
            k("min_samples_leaf"): trial.suggest_int(k("min_samples_leaf"), 1, 20, log=True),
            **self.class_weight_choice(trial),
        }

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
        own = self.own(params)
        classifier, regressor = self.estimator_classes
        cls = regressor if self.task == "regression" else classifier
        model = cls(
            n_estimators=N_TREES,
            max_features=float(own["max_features"]),
            min_samples_leaf=int(own["min_samples_leaf"]),
            n_jobs=1,
            random_state=self.seed,
        ).fit(x, y, sample_weight=sample_weight)
        from atlas.registry.flavors.sklearn_skops import SklearnPredictor

        return Fitted(model, SklearnPredictor(model, self.task))

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # each fully grown tree keeps ~ n_rows / min_samples_leaf nodes of ~100 bytes
        return N_TREES * n_rows * 100 // 2 + n_rows * n_features * 8 + FIXED_MEMORY

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        return 3e-8 * N_TREES * n_rows * max(np.log2(max(n_rows, 2)), 1) * n_features**0.5
