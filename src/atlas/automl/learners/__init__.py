"""Learner plugins, one file each."""

from atlas.automl.learners.base import Fitted, Learner
from atlas.automl.learners.extra_trees import ExtraTreesLearner
from atlas.automl.learners.lightgbm import LightGBMLearner
from atlas.automl.learners.linear import LinearLearner

LEARNERS: dict[str, type[Learner]] = {
    cls.name: cls for cls in (LightGBMLearner, ExtraTreesLearner, LinearLearner)
}

__all__ = ["LEARNERS", "ExtraTreesLearner", "Fitted", "Learner", "LightGBMLearner", "LinearLearner"]
