"""XGBoost gradient boosting (histogram trees): early stopping on the validation fold, stopped
at the deadline.

Categorical columns arrive as float codes (NaN missing) and are split on as ordered numbers, which
boosted trees handle well enough; no ``enable_categorical``. ``info["best_iteration"]`` is the
number of rounds kept (the best round, 1-based, as with LightGBM), ready to be passed back as
``num_boost_round``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import optuna

from atlas.automl.learners.base import FIXED_MEMORY, Fitted, out_of_time
from atlas.automl.learners.boosting import EARLY_STOP, BoostingLearner

DEFAULT_MAX_DEPTH = 6


@functools.cache
def _deadline_callback() -> type:
    """xgboost's callback class that stops training near the deadline (xgboost is imported
    on first use, so the class is built then)."""
    import xgboost as xgb

    class Deadline(xgb.callback.TrainingCallback):
        def __init__(self, deadline: float | None) -> None:
            super().__init__()
            self.deadline = deadline

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return out_of_time(self.deadline)

    return Deadline


class XGBoostLearner(BoostingLearner):
    name = "xgboost"
    flavor = "xgboost"
    modules = ("xgboost", "atlas.registry.flavors.xgboost_json")
    seconds_per_cell_round = 6e-9
    startup_seconds = 0.05

    def _base(self) -> dict[str, Any]:
        objective = {
            "binary": ("binary:logistic", "logloss"),
            "multiclass": ("multi:softprob", "mlogloss"),
            "regression": ("reg:squarederror", "rmse"),
        }
        obj, metric = objective[self.task]
        base: dict[str, Any] = {
            "objective": obj,
            "eval_metric": metric,
            "tree_method": "hist",
            "nthread": 1,
            "seed": self.seed,
            "verbosity": 0,
            "max_bin": 256,
        }
        if self.task == "multiclass":
            base["num_class"] = self.n_classes
        return base

    def default_params(self) -> dict[str, Any]:
        return {
            self.key("eta"): 0.05,
            self.key("max_depth"): DEFAULT_MAX_DEPTH,
            self.key("min_child_weight"): 1.0,
            self.key("subsample"): 0.8,
            self.key("colsample_bytree"): 0.8,
            self.key("lambda"): 1.0,
        }

    def portfolio(self) -> list[dict[str, Any]]:
        return [
            self.default_params(),
            {  # shallow, strongly regularised: small noisy tables
                self.key("eta"): 0.03,
                self.key("max_depth"): 3,
                self.key("min_child_weight"): 5.0,
                self.key("subsample"): 0.7,
                self.key("colsample_bytree"): 0.6,
                self.key("lambda"): 5.0,
            },
            {  # deep, fast: large tables with interactions
                self.key("eta"): 0.1,
                self.key("max_depth"): 10,
                self.key("min_child_weight"): 1.0,
                self.key("subsample"): 0.9,
                self.key("colsample_bytree"): 0.7,
                self.key("lambda"): 0.5,
            },
        ]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("eta"): trial.suggest_float(k("eta"), 0.01, 0.3, log=True),
            k("max_depth"): trial.suggest_int(k("max_depth"), 2, 12),
            k("min_child_weight"): trial.suggest_float(k("min_child_weight"), 0.5, 50, log=True),
            k("subsample"): trial.suggest_float(k("subsample"), 0.5, 1.0),
            k("colsample_bytree"): trial.suggest_float(k("colsample_bytree"), 0.4, 1.0),
            k("lambda"): trial.suggest_float(k("lambda"), 1e-3, 10, log=True),
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
        import xgboost as xgb

        from atlas.registry.flavors.xgboost_json import XGBoostPredictor

        rounds, own = self.rounds(params)
        own["max_depth"] = int(own.get("max_depth", DEFAULT_MAX_DEPTH))
        xgb_params = {**self._base(), **own}
        train = xgb.DMatrix(x, label=y, weight=sample_weight, missing=np.nan, nthread=1)
        # xgboost stops at the first callback that says so (any() short-circuits), so early
        # stopping goes first: it must see every round to know the best one.
        callbacks: list[xgb.callback.TrainingCallback] = []
        evals: list[tuple[xgb.DMatrix, str]] = []
        if x_val is not None and y_val is not None:
            evals = [(xgb.DMatrix(x_val, label=y_val, missing=np.nan, nthread=1), "valid")]
            callbacks.append(
                xgb.callback.EarlyStopping(rounds=EARLY_STOP, data_name="valid", save_best=True)
            )
        callbacks.append(_deadline_callback()(deadline))
        booster = xgb.train(
            xgb_params, train, rounds, evals=evals, verbose_eval=False, callbacks=callbacks
        )
        kept = booster.num_boosted_rounds()
        return Fitted(booster, XGBoostPredictor(booster, self.task), {"best_iteration": kept})

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # DMatrix copy + quantised matrix + gradients + histograms
        k = max(self.n_classes, 1)
        return n_rows * n_features * 6 + n_rows * 8 * 4 * k + FIXED_MEMORY
