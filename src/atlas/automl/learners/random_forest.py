"""Random forest (scikit-learn): extra trees' sibling with bootstrap and best splits."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from atlas.automl.learners.extra_trees import ExtraTreesLearner


class RandomForestLearner(ExtraTreesLearner):
    name = "random_forest"
    estimator_classes = (RandomForestClassifier, RandomForestRegressor)

    def default_params(self) -> dict[str, Any]:
        return {self.key("max_features"): 0.4, self.key("min_samples_leaf"): 1}
