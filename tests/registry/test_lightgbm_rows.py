"""Few-row LightGBM prediction through the single-row C API gives what ``Booster.predict`` gives."""

from __future__ import annotations

import gc

import lightgbm as lgb
import numpy as np
import pytest

from atlas.registry.flavors import lightgbm_rows as rows
from atlas.registry.flavors import lightgbm_text
from atlas.registry.flavors.lightgbm_text import FEW_ROWS, LightGBMPredictor


def _data(task: str, n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[:, 5] = rng.integers(0, 5, size=n)  # a categorical column
    x[rng.random(size=x.shape) < 0.1] = np.nan  # missing values everywhere
    signal = np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) + (x[:, 5] == 2)
    if task == "regression":
        return x, signal + rng.normal(scale=0.1, size=n)
    if task == "binary":
        return x, (signal > 0.3).astype(int)
    return x, np.digitize(signal, [-0.5, 0.5, 1.2])


OBJECTIVES = {
    "binary": {"objective": "binary"},
    "multiclass": {"objective": "multiclass", "num_class": 4},
    "regression": {"objective": "regression"},
}


def _booster(task: str, early_stop: bool = False) -> lgb.Booster:
    x, y = _data(task)
    params = {**OBJECTIVES[task], "num_leaves": 15, "verbose": -1, "seed": 0}
    train = lgb.Dataset(x[:400], y[:400], categorical_feature=[5])
    if not early_stop:
        return lgb.train(params, train, 40)
    valid = lgb.Dataset(x[400:], y[400:], reference=train)
    callbacks = [lgb.early_stopping(3, verbose=False)]
    # keep_training_booster: the trees past the best iteration stay in the model
    return lgb.train(
        params, train, 500, valid_sets=[valid], callbacks=callbacks, keep_training_booster=True
    )


@pytest.mark.parametrize("task", sorted(OBJECTIVES))
def test_few_rows_match_booster_predict(task: str, tmp_path) -> None:
    saved = _booster(task)
    saved.save_model(str(tmp_path / lightgbm_text.FILENAME))
    predictor = lightgbm_text.load(tmp_path / lightgbm_text.FILENAME, task)
    assert predictor.row is not None  # the fast path is in use with this LightGBM
    x, _ = _data(task, n=50, seed=1)
    expected = predictor.booster.predict(x)
    for n in range(1, FEW_ROWS + 2):  # the fast path, and one row past it
        got = predictor.predict(x[:n])
        want = expected[:n] if task != "binary" else np.column_stack([1 - expected, expected])[:n]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    single = predictor.row(x[7])
    assert single.shape == ((4,) if task == "multiclass" else (1,))
    np.testing.assert_allclose(single, np.atleast_1d(expected[7]), rtol=0, atol=1e-15)


def test_early_stopped_booster_stops_at_its_best_iteration() -> None:
    booster = _booster("binary", early_stop=True)
    assert 0 < booster.best_iteration < booster.current_iteration()
    predictor = LightGBMPredictor(booster, "binary")
    x, _ = _data("binary", n=20, seed=2)
    # first, before any Booster.predict call sets the booster's iteration count
    fast = predictor.predict(x[:1])[:, 1]
    every_tree = booster.predict(x[:1], num_iteration=booster.current_iteration())
    best = booster.predict(x[:1])  # LightGBM's default: the best iteration
    assert not np.allclose(every_tree, best)
    np.testing.assert_allclose(fast, best, rtol=0, atol=1e-15)
    np.testing.assert_allclose(predictor.predict(x[:1])[:, 1], best, rtol=0, atol=1e-15)


def test_a_row_of_the_wrong_width_is_refused() -> None:
    predict = rows.row_predictor(_booster("regression"))
    assert predict is not None
    with pytest.raises(ValueError, match="expects 6 features, got a row of"):
        predict(np.zeros(5))
    with pytest.raises(ValueError, match="expects 6 features"):
        predict(np.zeros((1, 6)))


def test_the_prepared_config_is_freed_with_the_predictor(monkeypatch) -> None:
    real = rows._library()
    freed: list[object] = []

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def LGBM_FastConfigFree(self, handle: object) -> int:
            freed.append(handle)
            return real.LGBM_FastConfigFree(handle)

    monkeypatch.setattr(rows, "_library", Spy)
    predict = rows.row_predictor(_booster("binary"))
    assert predict is not None and predict(np.zeros(6)).shape == (1,)
    assert freed == []
    del predict
    gc.collect()
    assert len(freed) == 1


def test_without_the_fast_api_booster_predict_answers(monkeypatch) -> None:
    monkeypatch.setattr(rows, "_library", lambda: None)
    booster = _booster("binary")
    predictor = LightGBMPredictor(booster, "binary")
    assert predictor.row is None
    x, _ = _data("binary", n=3, seed=3)
    np.testing.assert_allclose(predictor.predict(x)[:, 1], booster.predict(x), rtol=0, atol=0)
