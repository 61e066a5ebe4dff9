"""Extremely randomized trees (scikit-learn), which handle missing values natively."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

from atlas.automl.learners.base import Fitted, Learner
from atlas.registry.flavors.sklearn_skops import SklearnPredictor


class ExtraTreesLearner(Learner):
    name = "extra_trees"
    flavor = "sklearn"

    def default_params(self) -> dict[str, Any]:
        return {self.key("max_features"): 0.5, self.key("min_samples_leaf"): 2}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            self.key("max_features"): trial.suggest_float(self.key("max_features"), 0.1, 1.0),
            self.key("min_samples_leaf"): trial.suggest_int(
                self.key("min_samples_leaf"), 1, 20, log=True
            ),
        }

    def fit(
        self,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> Fitted:
        cls = ExtraTreesRegressor if self.task == "regression" else ExtraTreesClassifier
        model = cls(
            n_estimators=200,
            max_features=float(params[self.key("max_features")]),
            min_samples_leaf=int(params[self.key("min_samples_leaf")]),
            n_jobs=1,
            random_state=self.seed,
        ).fit(x, y)
        return Fitted(model, SklearnPredictor(model, self.task))
