"""Tabular AutoML: learners, search, metrics, and the fit-to-registry pipeline."""

from atlas.automl.fit import FitReport, fit_dataset
from atlas.automl.metrics import METRICS, get_metric, ks_statistic
from atlas.automl.search import SearchResult, TabularSearch, TrialProgress

__all__ = [
    "METRICS",
    "FitReport",
    "SearchResult",
    "TabularSearch",
    "TrialProgress",
    "fit_dataset",
    "get_metric",
    "ks_statistic",
]
