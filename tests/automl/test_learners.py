"""Conformance of every learner plugin: fit, quality, portfolio, search space, deadline, sample
weights, determinism, and the round trip through its registry flavor."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from atlas.automl.learners import LEARNERS, Learner
from atlas.registry.flavors import load_learner, save_learner
from atlas.registry.manifest import LearnerRef

TASKS = ("binary", "multiclass", "regression")
CAT = 4  # index of the categorical column
# learners that train in rounds/epochs, and the key that fixes the count
ITERATIVE = {
    "lightgbm": "num_boost_round",
    "xgboost": "num_boost_round",
    "catboost": "num_boost_round",
    "mlp": "n_epochs",
}


def make_data(task: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four numbers (one with gaps, one noise) and a category with gaps; a learnable target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    code = rng.integers(0, 4, n)
    x[:, CAT] = code
    score = x[:, 0] + 0.8 * x[:, 1] ** 2 - 0.8 + 1.5 * (code == 2) + 0.3 * rng.normal(size=n)
    x[rng.random(n) < 0.1, CAT] = np.nan
    x[rng.random(n) < 0.1, 1] = np.nan
    if task == "binary":
        return x, (score > np.median(score)).astype(np.int64)
    if task == "multiclass":
        return x, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    return x, score


def make_learner(name: str, task: str, seed: int = 0) -> Learner:
    n_classes = {"binary": 2, "multiclass": 3, "regression": 0}[task]
    return LEARNERS[name](task, n_classes, [CAT], seed)


def split(task: str, n: int = 400) -> tuple[np.ndarray, ...]:
    x, y = make_data(task, n + 200)
    return x[:n], y[:n], x[n : n + 100], y[n : n + 100], x[n + 100 :], y[n + 100 :]


def check_output(pred: np.ndarray, task: str, n: int) -> None:
    assert np.all(np.isfinite(pred))
    if task == "regression":
        assert pred.shape == (n,)
    else:
        assert pred.shape == (n, 2 if task == "binary" else 3)
        assert np.all(pred >= 0)
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)


def quality(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    if task == "regression":
        return float(r2_score(y, pred))
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    return float(roc_auc_score(y, pred, multi_class="ovr"))


@pytest.fixture(scope="module", autouse=True)
def _warm_imports() -> None:
    """Import the heavy libraries once, so timings measure fitting, not importing."""
    for module in ("xgboost_json", "catboost_cbm", "torch_state", "lightgbm_text"):
        importlib.import_module(f"atlas.registry.flavors.{module}")


def test_registered_learners_and_flavors() -> None:
    assert set(LEARNERS) >= {
        "lightgbm", "extra_trees", "linear", "random_forest", "xgboost", "catboost", "knn", "mlp"
    }  # fmt: skip
    for name, cls in LEARNERS.items():
        assert cls.name == name
        LearnerRef(name=name, flavor=cls.flavor, path=f"learners/0-{name}/x")  # type: ignore[arg-type]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_fit_quality_and_registry_round_trip(name: str, task: str, tmp_path: Path) -> None:
    x, y, x_val, y_val, x_test, y_test = split(task)
    learner = make_learner(name, task)
    fitted = learner.fit(learner.default_params(), x, y, x_val, y_val)
    pred = fitted.predict(x_test)
    check_output(pred, task, len(x_test))
    score = quality(task, y_test, pred)
    assert score > (0.3 if task == "regression" else 0.7), f"{name} {task}: {score:.3f}"
    if name in ITERATIVE:
        count = fitted.info["n_epochs" if name == "mlp" else "best_iteration"]
        assert isinstance(count, int) and count >= 1

    filename = save_learner(learner.flavor, fitted.artifact, tmp_path / "learner")
    loaded = load_learner(learner.flavor, tmp_path / "learner" / filename, task)
    np.testing.assert_allclose(loaded.predict(x_test), pred, rtol=1e-6, atol=1e-9)

    # unseen category codes and rows with nothing known still give valid outputs
    odd = x_test[:20].copy()
    odd[:10, CAT] = 99.0
    odd[10:] = np.nan
    check_output(fitted.predict(odd), task, 20)
    np.testing.assert_allclose(loaded.predict(odd), fitted.predict(odd), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_portfolio_lies_in_search_space_and_fits(name: str, task: str) -> None:
    x, y, x_val, y_val, x_test, _ = split(task, n=200)
    learner = make_learner(name, task)
    portfolio = learner.portfolio()
    assert portfolio and portfolio[0] == learner.default_params()
    for entry in portfolio:
        assert all(key.startswith(f"{name}.") for key in entry)
        fixed = optuna.trial.FixedTrial({**entry, f"{name}.class_weight": "none"})
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a value outside the searched range warns
            suggested = learner.suggest(fixed)  # type: ignore[arg-type]
        assert {k: v for k, v in suggested.items() if not k.endswith(".class_weight")} == entry
        fitted = learner.fit(entry, x, y, x_val, y_val, deadline=time.monotonic() + 1.0)
        check_output(fitted.predict(x_test), task, len(x_test))


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_sampled_configuration_fits(name: str, task: str) -> None:
    x, y, x_val, y_val, x_test, _ = split(task, n=200)
    learner = make_learner(name, task)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for _ in range(2):
        trial = study.ask()
        params = learner.suggest(trial)
        assert params and all(key.startswith(f"{name}.") for key in params)
        assert set(params) == set(trial.params)
        weight = learner.sample_weight(params, y)
        deadline = time.monotonic() + 1.5  # as the engine does: a budget per trial
        fitted = learner.fit(params, x, y, x_val, y_val, sample_weight=weight, deadline=deadline)
        check_output(fitted.predict(x_test), task, len(x_test))
        study.tell(trial, 0.0)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_sample_weights_are_used(name: str) -> None:
    x, y, x_val, y_val, x_test, _ = split("binary", n=300)
    learner = make_learner(name, "binary")
    params = learner.default_params()
    plain = learner.fit(params, x, y, x_val, y_val).predict(x_test)[:, 1].mean()
    heavy = np.where(y == 1, 20.0, 1.0)
    weighted = learner.fit(params, x, y, x_val, y_val, sample_weight=heavy).predict(x_test)
    check_output(weighted, "binary", len(x_test))
    if name == "knn":  # documented: kNN ignores weights
        assert weighted[:, 1].mean() == pytest.approx(plain)
    else:
        assert weighted[:, 1].mean() > plain + 0.02


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_deadline_is_respected(name: str) -> None:
    x, y = make_data("binary", 2000, seed=1)
    learner = make_learner(name, "binary")
    params: dict[str, Any] = dict(learner.portfolio()[-1])
    if name in ITERATIVE:  # without the deadline this would run for minutes
        params[f"{name}.{ITERATIVE[name]}"] = 1_000_000
    start = time.monotonic()
    fitted = learner.fit(params, x, y, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - start < 3.0
    check_output(fitted.predict(x[:50]), "binary", 50)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_fits_are_deterministic(name: str) -> None:
    x, y, x_val, y_val, x_test, _ = split("binary", n=200)
    first = make_learner(name, "binary", seed=7)
    again = make_learner(name, "binary", seed=7)
    params = first.default_params()
    np.testing.assert_array_equal(
        first.fit(params, x, y, x_val, y_val).predict(x_test),
        again.fit(params, x, y, x_val, y_val).predict(x_test),
    )


def test_torch_weights_without_safetensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_state = importlib.import_module("atlas.registry.flavors.torch_state")
    monkeypatch.setattr(torch_state, "_safetensors", None)
    x, y, x_val, y_val, x_test, _ = split("regression", n=200)
    learner = make_learner("mlp", "regression")
    fitted = learner.fit({**learner.default_params(), "mlp.n_epochs": 3}, x, y, x_val, y_val)
    filename = save_learner("torch", fitted.artifact, tmp_path)
    assert filename == "state_dict.pt"
    assert (tmp_path / "config.json").is_file()
    loaded = load_learner("torch", tmp_path / filename, "regression")
    np.testing.assert_allclose(loaded.predict(x_test), fitted.predict(x_test), rtol=1e-6)


def test_catboost_frame_turns_codes_into_integers() -> None:
    from atlas.registry.flavors.catboost_cbm import to_frame

    frame = to_frame(np.array([[1.5, 2.0], [np.nan, np.nan]]), [1])
    assert frame.dtypes.iloc[1] == np.int64
    assert frame.iloc[:, 1].tolist() == [2, -1]
    assert np.isnan(frame.iloc[1, 0])


def test_learners_import_without_torch() -> None:
    """Listing learners never imports torch; fitting the MLP without it names the extra."""
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] == "torch":
                    raise ImportError(name)
        sys.meta_path.insert(0, Block())
        import numpy as np
        from atlas.automl.learners import LEARNERS
        from atlas.core.errors import MissingDependencyError
        learner = LEARNERS["mlp"]("binary", 2, [], 0)
        try:
            learner.fit(learner.default_params(), np.zeros((8, 2)), np.zeros(8, dtype=np.int64))
        except MissingDependencyError as exc:
            print("missing:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "atlas-ml[mlp]" in done.stdout
