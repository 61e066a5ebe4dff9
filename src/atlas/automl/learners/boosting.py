"""What the gradient-boosting learners (LightGBM, XGBoost, CatBoost) share: the round limit,
early stopping on the validation fold, the stop before the deadline and the cost model.

A configuration may fix ``num_boost_round`` (the final model of a search does, with the count
its trial kept); otherwise training runs up to :data:`MAX_ROUNDS` rounds and stops once
:data:`EARLY_STOP` rounds passed without improving the validation fold, or when the deadline
is :data:`~atlas.automl.learners.base.DEADLINE_MARGIN` seconds away. ``info["best_iteration"]``
is the number of rounds kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

from atlas.automl.learners.base import Learner, fixed_count

MAX_ROUNDS = 3000  # boosting rounds when neither early stopping nor the deadline stops sooner
EARLY_STOP = 50  # rounds without improvement on the validation fold before training stops
EXPECTED_ROUNDS = 200  # rounds a typical fit runs before early stopping (the cost model)
ROUNDS_PARAM = "num_boost_round"  # the parameter that fixes the number of rounds


class BoostingLearner(Learner):
    """A learner that trains in boosting rounds. Subclasses set the two cost coefficients."""

    seconds_per_cell_round: ClassVar[float]  # one round over one (row, feature) cell
    startup_seconds: ClassVar[float]  # building the library's dataset, fixed per fit

    def rounds(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The round limit and the library's own parameters of a configuration (the searched
        class-weight option is applied through sample weights, not passed on)."""
        own = self.own(params)
        own.pop("class_weight", None)
        return int(own.pop(ROUNDS_PARAM, MAX_ROUNDS)), own

    def refit_params(self, params: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
        """The mean of the rounds the folds kept (as AutoGluon's refit_full), fixed."""
        return fixed_count(self.key(ROUNDS_PARAM), params, infos, "best_iteration")

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        work = n_rows * n_features * EXPECTED_ROUNDS
        return self.seconds_per_cell_round * work + self.startup_seconds
