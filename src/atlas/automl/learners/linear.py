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

from atlas.automl.learners.base import SKLEARN_MODULES, Fitted, Learner


def tabular_encoder(categorical: list[int], n_features: int) -> ColumnTransformer:
    """Median-impute and scale numbers, one-hot categories (shared by distance/linear models)."""
    numeric = [i for i in range(n_features) if i not in categorical]
    return ColumnTransformer(
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
                    OneHotEncoder(handle_unknown="ignore", min_frequency=3),
                ),
                categorical,
            ),
        ]
    )


class LinearLearner(Learner):
    name = "linear"
    flavor = "sklearn"
    modules = SKLEARN_MODULES

    def default_params(self) -> dict[str, Any]:
        return {self.key("C"): 1.0}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            self.key("C"): trial.suggest_float(self.key("C"), 1e-3, 100, log=True),
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
        c = float(self.own(params)["C"])
        if self.task == "regression":
            model: Any = Ridge(alpha=1.0 / c)
        else:
            model = LogisticRegression(C=c, max_iter=1000)
        pipeline = Pipeline(
            [("columns", tabular_encoder(self.categorical, x.shape[1])), ("model", model)]
        )
        pipeline.fit(x, y, model__sample_weight=sample_weight)
        from atlas.registry.flavors.sklearn_skops import SklearnPredictor

        return Fitted(pipeline, SklearnPredictor(pipeline, self.task))

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        return 5e-7 * n_rows * n_features + 0.02
