"""Where Optuna studies live: the metadata database, so optuna-dashboard can read them."""

from __future__ import annotations

import warnings

import optuna

from atlas.core.database import masked, normalize_url


def study_storage(database_url: str) -> optuna.storages.BaseStorage:
    """Optuna's RDB storage on the metadata database (SQLite file or PostgreSQL)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = normalize_url(database_url)
    kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def dashboard_hint(database_url: str) -> str:
    return f"optuna-dashboard {masked(normalize_url(database_url))}"


def make_sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE over the joint space; ``group`` splits it by learner (conditional parameters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=6, constant_liar=True
        )


def make_pruner(n_folds: int, n_startup_trials: int = 8) -> optuna.pruners.BasePruner:
    """Asynchronous successive halving over folds with reduction factor 2: after each fold
    (more of the data validated) a configuration goes on only if its running score is at least
    the median of the others' at that fold. The portfolio runs unpruned first."""
    if n_folds <= 1:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=0)
