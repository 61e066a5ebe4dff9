"""Learner plugins, one file each.

Importing this package does not import torch: :class:`MLPLearner` imports it when it fits.
"""

from atlas.automl.learners.base import Fitted, Learner
from atlas.automl.learners.catboost import CatBoostLearner
from atlas.automl.learners.extra_trees import ExtraTreesLearner
from atlas.automl.learners.knn import KNNLearner
from atlas.automl.learners.lightgbm import LightGBMLearner
from atlas.automl.learners.linear import LinearLearner
from atlas.automl.learners.mlp import MLPLearner
from atlas.automl.learners.random_forest import RandomForestLearner
from atlas.automl.learners.xgboost import XGBoostLearner

LEARNERS: dict[str, type[Learner]] = {
    cls.name: cls
    for cls in (
        LightGBMLearner,
        ExtraTreesLearner,
        LinearLearner,
        RandomForestLearner,
        XGBoostLearner,
        CatBoostLearner,
        KNNLearner,
        MLPLearner,
    )
}


def preload() -> None:
    """Import what the learners and their model formats need, once, in this process.

    Trial workers are forked from this process: what is imported here is shared with them
    instead of being imported again (skops alone takes seconds) inside every trial's budget.
    """
    import importlib

    for module in (
        "lightgbm",
        "xgboost",
        "catboost",
        "skops.io",
        "sklearn.ensemble",
        "sklearn.neighbors",
        "sklearn.linear_model",
        "torch",
    ):
        try:
            importlib.import_module(module)
        except ImportError:  # an optional learner whose package is not installed
            continue


__all__ = [
    "LEARNERS",
    "CatBoostLearner",
    "ExtraTreesLearner",
    "Fitted",
    "KNNLearner",
    "Learner",
    "LightGBMLearner",
    "LinearLearner",
    "MLPLearner",
    "RandomForestLearner",
    "XGBoostLearner",
    "preload",
]
