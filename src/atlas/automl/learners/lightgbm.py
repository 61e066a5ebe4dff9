"""LightGBM gradient boosting with early stopping on the validation fold."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import optuna

from atlas.automl.learners.base import Fitted, Learner
from atlas.registry.flavors.lightgbm_text import LightGBMPredictor

MAX_ROUNDS = 2000


class LightGBMLearner(Learner):
    name = "lightgbm"
    flavor = "lightgbm"

    def _base(self) -> dict[str, Any]:
        objective = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
        base: dict[str, Any] = {
            "objective": objective[self.task],
            "verbosity": -1,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 1,
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

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            self.key("learning_rate"): trial.suggest_float(
                self.key("learning_rate"), 0.01, 0.3, log=True
            ),
            self.key("num_leaves"): trial.suggest_int(self.key("num_leaves"), 4, 256, log=True),
            self.key("min_child_samples"): trial.suggest_int(
                self.key("min_child_samples"), 2, 100, log=True
            ),
            self.key("feature_fraction"): trial.suggest_float(
                self.key("feature_fraction"), 0.4, 1.0
            ),
            self.key("lambda_l2"): trial.suggest_float(self.key("lambda_l2"), 1e-3, 10, log=True),
        }

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        own = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{self.name}.")}
        return {**self._base(), **own}

    def fit(
        self,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
    ) -> Fitted:
        lgb_params = self._params(params)
        rounds = int(lgb_params.pop("num_boost_round", MAX_ROUNDS))
        train = lgb.Dataset(
            x, y, categorical_feature=self.categorical or "auto", free_raw_data=False
        )
        callbacks: list[Any] = []
        valid_sets = []
        if x_val is not None and y_val is not None:
            valid_sets = [lgb.Dataset(x_val, y_val, reference=train)]
            callbacks.append(lgb.early_stopping(50, verbose=False))
        booster = lgb.train(lgb_params, train, rounds, valid_sets=valid_sets, callbacks=callbacks)
        best = booster.best_iteration or booster.current_iteration()
        return Fitted(booster, LightGBMPredictor(booster, self.task), {"best_iteration": best})

    def refit_params(self, params: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
        rounds = [i["best_iteration"] for i in infos if i.get("best_iteration")]
        best = int(np.mean(rounds) * 1.1) if rounds else 200
        return {**params, self.key("num_boost_round"): max(best, 10)}
