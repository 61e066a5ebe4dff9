"""LightGBM gradient boosting: early stopping on the validation fold, stopped at the deadline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from atlas.automl.learners.base import FIXED_MEMORY, Fitted, out_of_time
from atlas.automl.learners.boosting import EARLY_STOP, BoostingLearner

if TYPE_CHECKING:
    import lightgbm as lgb

CALLBACK_ORDER = 40  # after LightGBM's own callbacks (early stopping is 30)


def _deadline_callback(deadline: float | None) -> Any:
    import lightgbm as lgb

    def callback(env: lgb.callback.CallbackEnv) -> None:
        if out_of_time(deadline):
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

    callback.order = CALLBACK_ORDER  # type: ignore[attr-defined]
    return callback


class LightGBMLearner(BoostingLearner):
    name = "lightgbm"
    flavor = "lightgbm"
    modules = ("lightgbm", "atlas.registry.flavors.lightgbm_text")
    seconds_per_cell_round = 4e-9
    startup_seconds = 0.05

    def _base(self) -> dict[str, Any]:
        objective = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
        base: dict[str, Any] = {
            "objective": objective[self.task],
            "verbosity": -1,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 1,
            "max_bin": 255,
        }
        if self.task == "multiclass":
            base["num_class"] = self.n_classes
        return base

    def default_params(self) -> dict[str, Any]:
        return {
            self.key("learning_rate"): 0.05,
            self.key("num_leaves"): 31,
            self.key("min_child_samples"): 20,
            self.key("feature_fraction"): 0.9,
            self.key("lambda_l2"): 1e-3,
        }

    def portfolio(self) -> list[dict[str, Any]]:
        return [
            self.default_params(),
            {  # small trees, strong regularisation: wins on small noisy tables
                self.key("learning_rate"): 0.03,
                self.key("num_leaves"): 8,
                self.key("min_child_samples"): 30,
                self.key("feature_fraction"): 0.6,
                self.key("lambda_l2"): 5.0,
            },
            {  # big trees, fast rate: wins on large tables with interactions
                self.key("learning_rate"): 0.1,
                self.key("num_leaves"): 128,
                self.key("min_child_samples"): 5,
                self.key("feature_fraction"): 0.8,
                self.key("lambda_l2"): 0.1,
            },
        ]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("learning_rate"): trial.suggest_float(k("learning_rate"), 0.01, 0.3, log=True),
            k("num_leaves"): trial.suggest_int(k("num_leaves"), 4, 256, log=True),
            k("min_child_samples"): trial.suggest_int(k("min_child_samples"), 2, 100, log=True),
            k("feature_fraction"): trial.suggest_float(k("feature_fraction"), 0.4, 1.0),
            k("lambda_l2"): trial.suggest_float(k("lambda_l2"), 1e-3, 10, log=True),
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
        import lightgbm as lgb

        from atlas.registry.flavors.lightgbm_text import LightGBMPredictor

        rounds, own = self.rounds(params)
        lgb_params = {**self._base(), **own}
        train = lgb.Dataset(
            x,
            y,
            weight=sample_weight,
            categorical_feature=self.categorical or "auto",
            free_raw_data=False,
        )
        callbacks: list[Any] = [_deadline_callback(deadline)]
        valid_sets = []
        if x_val is not None and y_val is not None:
            valid_sets = [lgb.Dataset(x_val, y_val, reference=train)]
            callbacks.append(lgb.early_stopping(EARLY_STOP, verbose=False))
        booster = lgb.train(lgb_params, train, rounds, valid_sets=valid_sets, callbacks=callbacks)
        best = booster.best_iteration or booster.current_iteration()
        return Fitted(booster, LightGBMPredictor(booster, self.task), {"best_iteration": best})

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # binned copy (1 byte a cell) + gradients + histograms
        return n_rows * n_features * 2 + n_rows * 8 * 4 * max(self.n_classes, 1) + FIXED_MEMORY
