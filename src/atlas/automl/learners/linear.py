"""Logistic regression (classification) or ridge (regression) on imputed, scaled, one-hot input."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from atlas.automl.learners.base import Fitted, Learner
from atlas.registry.flavors.sklearn_skops import SklearnPredictor


class LinearLearner(Learner):
    name = "linear"
    flavor = "sklearn"

    def default_params(self) -> dict[str, Any]:
        return {self.key("C"): 1.0}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {self.key("C"): trial.suggest_float(self.key("C"), 1e-3, 100, log=True)}

    def _pipeline(self, c: float, n_features: int) -> Pipeline:
        numeric = [i for i in range(n_features) if i not in self.categorical]
        columns = ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                    ),
                    numeric,
                ),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value=-1),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    self.categorical,
                ),
            ]
        )
        if self.task == "regression":
            model: Any = Ridge(alpha=1.0 / c)
        else:
            model = LogisticRegression(C=c, max_iter=2000)
        return Pipeline([("columns", columns), ("model", model)])

    def fit(
        self,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> Fitted:
        pipeline = self._pipeline(float(params[self.key("C")]), x.shape[1]).fit(x, y)
        return Fitted(pipeline, SklearnPredictor(pipeline, self.task))
