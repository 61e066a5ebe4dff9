"""Where Optuna studies live (the metadata database, so optuna-dashboard can read them), and the
search's sampler and pruner."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import optuna

from atlas.core.database import masked, normalize_url

N_STARTUP_TRIALS = 6  # TPE samples at random until this many trials finished
N_UNPRUNED_TRIALS = 8  # trials that always run every fold: the portfolio, and a reference
REDUCTION_FACTOR = 2  # successive halving keeps the best 1/2 of the trials at each rung
PRUNERS = ("median", "successive_halving")
# bench/automl/pruners.py: better than the median rule on 3 of 4 datasets (docs/automl.md)
DEFAULT_PRUNER = "successive_halving"
SQLITE_LOCK_TIMEOUT = 30  # seconds a SQLite write waits for the database lock


def study_storage(database_url: str) -> optuna.storages.BaseStorage:
    """Optuna's RDB storage on the metadata database (SQLite file or PostgreSQL)."""
    url = normalize_url(database_url)
    kwargs = {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def dashboard_hint(database_url: str) -> str:
    return f"optuna-dashboard {masked(normalize_url(database_url))}"


@contextmanager
def optuna_warnings_only() -> Iterator[None]:
    """Optuna logs warnings and errors only inside the block (not a line per trial); its
    verbosity is restored afterwards, so a caller's own setting survives a search."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(before, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def make_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE over the joint space; ``group`` splits it by learner (conditional parameters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            n_startup_trials=N_STARTUP_TRIALS,
            constant_liar=True,
        )


class _AfterStartup(optuna.pruners.BasePruner):
    """Asks ``inner`` after every fold, but prunes nothing until ``n_startup_trials`` trials
    finished (``inner`` still records every trial's rungs, so early trials compete later)."""

    def __init__(self, inner: optuna.pruners.BasePruner, n_startup_trials: int) -> None:
        self.inner = inner
        self.n_startup_trials = n_startup_trials

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        prune = self.inner.prune(study, trial)
        states = (optuna.trial.TrialState.COMPLETE,)
        return prune and len(study.get_trials(deepcopy=False, states=states)) >= (
            self.n_startup_trials
        )


def make_pruner(n_folds: int, kind: str = DEFAULT_PRUNER) -> optuna.pruners.BasePruner:
    """The pruner that may stop a trial after each fold (more of the data validated).

    ``median``: a trial goes on only if its running score is at least the median of the other
    trials' at the same fold. ``successive_halving``: asynchronous successive halving with
    reduction factor 2, rungs after folds 2, 3 and 5 (steps 1, 2 and 4, counted from 0): a trial
    goes on only if it is in the best half of the trials that reached the rung. Either way the first
    :data:`N_UNPRUNED_TRIALS` finished trials (the portfolio first) are never pruned.
    """
    if n_folds <= 1:
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=N_UNPRUNED_TRIALS, n_warmup_steps=0)
    if kind == "successive_halving":
        halving = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=REDUCTION_FACTOR
        )
        return _AfterStartup(halving, N_UNPRUNED_TRIALS)
    raise ValueError(f"Unknown pruner {kind!r}; choose one of {', '.join(PRUNERS)}.")
