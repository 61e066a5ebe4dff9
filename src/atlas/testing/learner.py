"""Conformance suite of an AutoML learner (:class:`atlas.automl.learners.Learner`).

Subclass it in a test file and name the learner; every test runs once per task the learner
supports::

    from atlas.testing.learner import LearnerConformance

    class TestMyLearner(LearnerConformance):
        learner_class = MyLearner
        rounds_param = "n_iter"  # if it trains in rounds: the parameter that fixes their count
        rounds_info = "n_iter"  # ...and the key of ``Fitted.info`` that reports the kept count

What it checks: the class is a well-formed plugin; the search space samples parameters named
by ``key`` and the portfolio lies inside it; default, portfolio and sampled configurations fit
small binary, multiclass and regression tables (numbers with gaps and a categorical column)
and predict the right shape (probabilities that sum to 1, or finite values) on odd rows too;
the fitted artifact round-trips through the learner's registry flavor to the same predictions;
a deadline already passed still gives a usable model (after one round, for a learner that
trains in rounds); sample weights move the predictions; a seed makes fits repeatable; cost and
memory estimates are positive. Data is small, so the whole suite takes seconds per learner.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from atlas.automl.learners import Learner
from atlas.automl.learners.base import TASKS
from atlas.registry.flavors import load_learner, save_learner

CATEGORICAL = 4  # index of the categorical column in the sample data
N_CLASSES = {"binary": 2, "multiclass": 3, "regression": 0}
N_TRAIN, N_VALID, N_TEST = 300, 100, 100
N_SAMPLED = 2  # sampled configurations fitted per task
N_ODD = 20  # rows with unseen categories or nothing known
UNSEEN_CODE = 99.0
HUGE_ROUNDS = 1_000_000  # what a fit would run for if the deadline did not stop it
ROUNDS_AFTER_DEADLINE = 2  # rounds a fit may keep when its deadline had passed already
FIT_SECONDS = 30.0  # the deadline given to ordinary fits (generous: the suite measures no time)
HEAVY_WEIGHT = 20.0  # weight of the favoured rows in the sample-weight test
WEIGHT_EFFECT = 0.02  # how much that must raise the mean probability of the favoured class
TOLERANCE = 1e-6


def sample_data(task: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four numbers (one with gaps, one noise) and a category with gaps; a learnable target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    code = rng.integers(0, 4, n)
    x[:, CATEGORICAL] = code
    score = x[:, 0] + 0.8 * x[:, 1] ** 2 - 0.8 + 1.5 * (code == 2) + 0.3 * rng.normal(size=n)
    x[rng.random(n) < 0.1, CATEGORICAL] = np.nan
    x[rng.random(n) < 0.1, 1] = np.nan
    if task == "binary":
        return x, (score > np.median(score)).astype(np.int64)
    if task == "multiclass":
        return x, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    return x, score


def split(task: str, n_train: int = N_TRAIN) -> tuple[np.ndarray, ...]:
    """Train, validation and test parts: ``x, y, x_val, y_val, x_test, y_test``."""
    x, y = sample_data(task, n_train + N_VALID + N_TEST)
    valid = n_train + N_VALID
    return x[:n_train], y[:n_train], x[n_train:valid], y[n_train:valid], x[valid:], y[valid:]


def check_output(pred: np.ndarray, task: str, n: int) -> None:
    """Values (n,) for regression, probabilities (n, k) summing to 1 otherwise; all finite."""
    assert np.all(np.isfinite(pred)), "predictions must be finite"
    if task == "regression":
        assert pred.shape == (n,)
        return
    assert pred.shape == (n, N_CLASSES[task])
    assert np.all(pred >= 0)
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=TOLERANCE)


def quality(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """R^2 for regression, (one-vs-rest) ROC AUC for classification."""
    if task == "regression":
        return float(r2_score(y, pred))
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    return float(roc_auc_score(y, pred, multi_class="ovr"))


def odd_rows(x: np.ndarray) -> np.ndarray:
    """Rows a model never saw the like of: unseen category codes, then nothing known."""
    odd = x[:N_ODD].copy()
    odd[: N_ODD // 2, CATEGORICAL] = UNSEEN_CODE
    odd[N_ODD // 2 :] = np.nan
    return odd


def favoured_class(task: str) -> int:
    """The class the sample-weight test weighs up."""
    return 1 if task == "binary" else 0


class LearnerConformance:
    """Subclass and set :attr:`learner_class`; see the module's documentation."""

    learner_class: ClassVar[type[Learner]]
    rounds_param: ClassVar[str | None] = None
    rounds_info: ClassVar[str | None] = None
    uses_sample_weight: ClassVar[bool] = True  # False for a learner documented to ignore them
    min_quality: ClassVar[dict[str, float]] = {
        "binary": 0.7,
        "multiclass": 0.7,
        "regression": 0.3,
    }

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run the task-taking tests once per task the learner supports (pytest calls this)."""
        tasks = list(self.learner_class.tasks)
        if "task" in metafunc.fixturenames:
            metafunc.parametrize("task", tasks)
        if "classification" in metafunc.fixturenames:
            metafunc.parametrize("classification", [t for t in tasks if t != "regression"])

    def make(self, task: str, seed: int = 0) -> Learner:
        return self.learner_class(task, N_CLASSES[task], [CATEGORICAL], seed)

    def fit(self, learner: Learner, params: dict[str, Any], data: tuple[np.ndarray, ...]) -> Any:
        x, y, x_val, y_val = data[:4]
        deadline = time.monotonic() + FIT_SECONDS
        return learner.fit(params, x, y, x_val, y_val, deadline=deadline)

    # -- the class ---------------------------------------------------------------------
    def test_is_a_well_formed_plugin(self) -> None:
        cls = self.learner_class
        assert issubclass(cls, Learner)
        assert isinstance(cls.name, str) and cls.name.isidentifier()
        assert isinstance(cls.flavor, str) and cls.flavor
        assert cls.tasks and set(cls.tasks) <= set(TASKS)

    def test_estimates_are_positive_and_grow_with_the_data(self, task: str) -> None:
        learner = self.make(task)
        for estimate in (learner.estimate_cost, learner.estimate_memory):
            small, large = estimate(1_000, 10), estimate(100_000, 10)
            assert 0 < small <= large

    # -- the search space --------------------------------------------------------------
    def test_portfolio_lies_in_the_search_space(self, task: str) -> None:
        learner = self.make(task)
        portfolio = learner.portfolio()
        assert portfolio and portfolio[0] == learner.default_params()
        class_weight = learner.key("class_weight")
        for entry in portfolio:
            assert all(key.startswith(f"{learner.name}.") for key in entry)
            fixed = optuna.trial.FixedTrial({**entry, class_weight: "none"})
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a value outside the searched range warns
                suggested = learner.suggest(fixed)  # type: ignore[arg-type]
            assert {k: v for k, v in suggested.items() if k != class_weight} == entry

    def test_portfolio_configurations_fit(self, task: str) -> None:
        data = split(task, n_train=N_TRAIN // 2)
        learner = self.make(task)
        for entry in learner.portfolio():
            check_output(self.fit(learner, entry, data).predict(data[4]), task, N_TEST)

    def test_sampled_configurations_fit(self, task: str) -> None:
        x, y, x_val, y_val, x_test, _ = split(task, n_train=N_TRAIN // 2)
        learner = self.make(task)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
        for _ in range(N_SAMPLED):
            trial = study.ask()
            params = learner.suggest(trial)
            assert params and all(key.startswith(f"{learner.name}.") for key in params)
            assert set(params) == set(trial.params)
            weight = learner.sample_weight(params, y)
            deadline = time.monotonic() + FIT_SECONDS
            fitted = learner.fit(params, x, y, x_val, y_val, weight, deadline)
            check_output(fitted.predict(x_test), task, N_TEST)
            study.tell(trial, 0.0)

    # -- fitting -----------------------------------------------------------------------
    def test_default_fit_learns_and_round_trips(self, task: str, tmp_path: Path) -> None:
        data = split(task)
        x_test, y_test = data[4], data[5]
        learner = self.make(task)
        fitted = self.fit(learner, learner.default_params(), data)
        pred = fitted.predict(x_test)
        check_output(pred, task, N_TEST)
        score = quality(task, y_test, pred)
        assert score > self.min_quality[task], f"{learner.name} {task}: {score:.3f}"
        if self.rounds_info is not None:
            kept = fitted.info[self.rounds_info]
            assert isinstance(kept, int) and kept >= 1

        filename = save_learner(learner.flavor, fitted.artifact, tmp_path / "learner")
        loaded = load_learner(learner.flavor, tmp_path / "learner" / filename, task)
        np.testing.assert_allclose(loaded.predict(x_test), pred, rtol=TOLERANCE, atol=1e-9)
        odd = odd_rows(x_test)
        check_output(fitted.predict(odd), task, N_ODD)
        np.testing.assert_allclose(
            loaded.predict(odd), fitted.predict(odd), rtol=TOLERANCE, atol=1e-9
        )

    def test_a_passed_deadline_still_gives_a_model(self, task: str) -> None:
        x, y = sample_data(task, N_TRAIN, seed=1)
        learner = self.make(task)
        params: dict[str, Any] = dict(learner.portfolio()[-1])
        if self.rounds_param is not None:  # without the deadline this would run for minutes
            params[learner.key(self.rounds_param)] = HUGE_ROUNDS
        fitted = learner.fit(params, x, y, deadline=time.monotonic() - 1.0)
        check_output(fitted.predict(x[:N_ODD]), task, N_ODD)
        if self.rounds_info is not None:
            assert 1 <= fitted.info[self.rounds_info] <= ROUNDS_AFTER_DEADLINE

    def test_sample_weights_are_used(self, classification: str) -> None:
        """Weighing up one class raises its mean predicted probability (classification: the
        effect of weights on a regression fit's mean is not one-signed once it stops early)."""
        task = classification
        x, y, x_val, y_val, x_test, _ = split(task)
        cls = favoured_class(task)
        learner = self.make(task)
        params = learner.default_params()
        plain = learner.fit(params, x, y, x_val, y_val).predict(x_test)[:, cls].mean()
        weights = np.where(y == cls, HEAVY_WEIGHT, 1.0)
        weighted = learner.fit(params, x, y, x_val, y_val, sample_weight=weights).predict(x_test)
        check_output(weighted, task, N_TEST)
        after = weighted[:, cls].mean()
        if self.uses_sample_weight:
            assert after > plain + WEIGHT_EFFECT, f"{plain:.3f} -> {after:.3f}"
        else:
            assert after == pytest.approx(plain)

    def test_a_seed_makes_fits_repeatable(self, task: str) -> None:
        data = split(task, n_train=N_TRAIN // 2)
        first, again = self.make(task, seed=7), self.make(task, seed=7)
        params = first.default_params()
        np.testing.assert_array_equal(
            self.fit(first, params, data).predict(data[4]),
            self.fit(again, params, data).predict(data[4]),
        )
