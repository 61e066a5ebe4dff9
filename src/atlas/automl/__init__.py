"""Tabular AutoML: learners, search engine, ensembles, estimators, and the fit-to-registry
pipeline."""

from atlas.automl.engine import EngineResult, TrialProgress
from atlas.automl.estimator import AutoClassifier, AutoRegressor
from atlas.automl.fit import FitReport, fit_dataset
from atlas.automl.metrics import METRICS, get_metric, ks_statistic

__all__ = [
    "METRICS",
    "AutoClassifier",
    "AutoRegressor",
    "EngineResult",
    "FitReport",
    "TrialProgress",
    "fit_dataset",
    "get_metric",
    "ks_statistic",
]
