"""k nearest neighbours (scikit-learn) on imputed, scaled, one-hot input.

Fitting only stores the rows; the cost is in prediction, which compares every query row with
every stored row, so at most :data:`MAX_ROWS` training rows are kept (a seeded sample). kNN takes
no sample weights: they are accepted and ignored, and no class-weight option is searched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline

from atlas.automl.learners.base import SKLEARN_MODULES, Fitted, Learner
from atlas.automl.learners.linear import tabular_encoder

MAX_ROWS = 50_000
MAX_NEIGHBORS = 100


class KNNLearner(Learner):
    name = "knn"
    flavor = "sklearn"
    modules = SKLEARN_MODULES

    def default_params(self) -> dict[str, Any]:
        return {self.key("n_neighbors"): 15, self.key("weights"): "distance", self.key("p"): 2}

    def portfolio(self) -> list[dict[str, Any]]:
        return [
            self.default_params(),
            {self.key("n_neighbors"): 50, self.key("weights"): "uniform", self.key("p"): 1},
        ]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("n_neighbors"): trial.suggest_int(k("n_neighbors"), 1, MAX_NEIGHBORS, log=True),
            k("weights"): trial.suggest_categorical(k("weights"), ["uniform", "distance"]),
            k("p"): trial.suggest_categorical(k("p"), [1, 2]),
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
        if len(x) > MAX_ROWS:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(x), MAX_ROWS, replace=False))
            x, y = x[keep], y[keep]
        n_neighbors = max(1, min(int(own["n_neighbors"]), len(x) - 1))
        settings = {"n_neighbors": n_neighbors, "weights": own["weights"], "p": int(own["p"])}
        if self.task == "regression":
            model: Any = KNeighborsRegressor(**settings)
        else:
            model = KNeighborsClassifier(**settings)
        pipeline = Pipeline(
            [("columns", tabular_encoder(self.categorical, x.shape[1])), ("model", model)]
        )
        pipeline.fit(x, y)
        from atlas.registry.flavors.sklearn_skops import SklearnPredictor

        return Fitted(pipeline, SklearnPredictor(pipeline, self.task), {"n_rows": len(x)})

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # the stored (encoded) rows plus distance blocks of a chunked search
        kept = min(n_rows, MAX_ROWS)
        return 3 * kept * n_features * 8 + 128 * 2**20

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        # predicting n rows against the (capped) stored rows: quadratic in the data size
        kept = min(n_rows, MAX_ROWS)
        return 5e-9 * kept * n_rows * max(n_features, 1) + 0.02
