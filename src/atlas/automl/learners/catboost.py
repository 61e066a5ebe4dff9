"""CatBoost gradient boosting on oblivious trees, with native categorical features.

Categorical columns arrive as float codes (NaN missing); they are passed to CatBoost as real
categorical features: :func:`atlas.registry.flavors.catboost_cbm.to_frame` builds a DataFrame in
which they are int64 (NaN -> -1), and the registry's predictor uses the same helper. Early
stopping on the validation fold (``od_wait`` 50, best model kept), stopped at the deadline by a
callback. ``info["best_iteration"]`` is the number of trees kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from atlas.automl.learners.base import Fitted, out_of_time
from atlas.automl.learners.boosting import EARLY_STOP, BoostingLearner

if TYPE_CHECKING:
    from catboost import CatBoost

DEFAULT_DEPTH = 6
RUNTIME_MEMORY = 128 * 2**20  # bytes CatBoost needs besides its data (more than the others)


class _Deadline:
    """CatBoost callback: returning False stops training."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return not out_of_time(self.deadline)


class CatBoostLearner(BoostingLearner):
    name = "catboost"
    flavor = "catboost"
    modules = ("catboost", "atlas.registry.flavors.catboost_cbm")
    seconds_per_cell_round = 1e-8
    startup_seconds = 0.2

    def default_params(self) -> dict[str, Any]:
        return {
            self.key("depth"): DEFAULT_DEPTH,
            self.key("learning_rate"): 0.05,
            self.key("l2_leaf_reg"): 3.0,
            self.key("random_strength"): 1.0,
            self.key("bagging_temperature"): 1.0,
        }

    def portfolio(self) -> list[dict[str, Any]]:
        return [
            self.default_params(),
            {  # shallow, strongly regularised: small noisy tables
                self.key("depth"): 4,
                self.key("learning_rate"): 0.03,
                self.key("l2_leaf_reg"): 10.0,
                self.key("random_strength"): 2.0,
                self.key("bagging_temperature"): 0.5,
            },
            {  # deep, fast: large tables with interactions
                self.key("depth"): 8,
                self.key("learning_rate"): 0.1,
                self.key("l2_leaf_reg"): 1.0,
                self.key("random_strength"): 0.5,
                self.key("bagging_temperature"): 0.2,
            },
        ]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("depth"): trial.suggest_int(k("depth"), 3, 10),
            k("learning_rate"): trial.suggest_float(k("learning_rate"), 0.01, 0.3, log=True),
            k("l2_leaf_reg"): trial.suggest_float(k("l2_leaf_reg"), 0.5, 30, log=True),
            k("random_strength"): trial.suggest_float(k("random_strength"), 0.1, 10, log=True),
            k("bagging_temperature"): trial.suggest_float(k("bagging_temperature"), 0.0, 1.0),
            **self.class_weight_choice(trial),
        }

    def _model(self, own: dict[str, Any], rounds: int, early_stop: bool) -> CatBoost:
        from catboost import CatBoostClassifier, CatBoostRegressor

        settings: dict[str, Any] = {
            "iterations": rounds,
            "depth": int(own.pop("depth", DEFAULT_DEPTH)),
            "thread_count": 1,
            "random_seed": self.seed,
            "allow_writing_files": False,
            "verbose": False,
            "cat_features": list(self.categorical),
            **own,
        }
        if early_stop:
            settings.update(od_type="Iter", od_wait=EARLY_STOP, use_best_model=True)
        if self.task == "regression":
            return CatBoostRegressor(loss_function="RMSE", **settings)
        loss = "Logloss" if self.task == "binary" else "MultiClass"
        return CatBoostClassifier(
            loss_function=loss, class_names=list(range(self.n_classes)), **settings
        )

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
        from atlas.registry.flavors.catboost_cbm import CatBoostPredictor, to_frame

        rounds, own = self.rounds(params)
        eval_set = None
        if x_val is not None and y_val is not None:
            eval_set = (to_frame(x_val, self.categorical), y_val)
        model = self._model(own, rounds, early_stop=eval_set is not None)
        model.fit(
            to_frame(x, self.categorical),
            y,
            sample_weight=sample_weight,
            eval_set=eval_set,
            callbacks=[_Deadline(deadline)],
        )
        info = {"best_iteration": int(model.tree_count_)}
        return Fitted(model, CatBoostPredictor(model, self.task), info)

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # DataFrame copy + quantised pool + per-object approximations
        k = max(self.n_classes, 1)
        return n_rows * n_features * 10 + n_rows * 8 * 6 * k + RUNTIME_MEMORY
