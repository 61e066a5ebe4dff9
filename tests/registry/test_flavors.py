"""The flavor conformance suite (atlas.testing.flavor) over the built-in flavors, and flavor
plugins found through ``atlas.flavors``.

The torch flavor's round trip runs in the learner suite (tests/automl), which builds the network
it saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import catboost
import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn.linear_model import LinearRegression, LogisticRegression

from atlas.core.errors import ConfigError, NotFoundError
from atlas.registry.flavors import FLAVORS, load_learner, save_learner
from atlas.registry.flavors.catboost_cbm import CatBoostPredictor
from atlas.registry.flavors.lightgbm_text import LightGBMPredictor
from atlas.registry.flavors.sklearn_skops import SklearnPredictor
from atlas.registry.flavors.xgboost_json import XGBoostPredictor
from atlas.testing.flavor import N_CLASSES, FlavorConformance
from atlas.testing.plugins import install_fake_distribution

ROUNDS = 5


class TestLightGBM(FlavorConformance):
    flavor = "lightgbm"

    def fit(self, x: np.ndarray, y: np.ndarray, task: str) -> Any:
        params: dict[str, Any] = {"verbose": -1, "num_threads": 1, "min_data_in_leaf": 5}
        if task == "binary":
            params["objective"] = "binary"
        elif task == "multiclass":
            params.update(objective="multiclass", num_class=N_CLASSES[task])
        else:
            params["objective"] = "regression"
        return lgb.train(params, lgb.Dataset(x, y), num_boost_round=ROUNDS)

    def predict(self, obj: Any, x: np.ndarray, task: str) -> np.ndarray:
        return LightGBMPredictor(obj, task).predict(x)


class TestSklearn(FlavorConformance):
    flavor = "sklearn"

    def fit(self, x: np.ndarray, y: np.ndarray, task: str) -> Any:
        model = LinearRegression() if task == "regression" else LogisticRegression()
        return model.fit(x, y)

    def predict(self, obj: Any, x: np.ndarray, task: str) -> np.ndarray:
        return SklearnPredictor(obj, task).predict(x)


class TestXGBoost(FlavorConformance):
    flavor = "xgboost"

    def fit(self, x: np.ndarray, y: np.ndarray, task: str) -> Any:
        params: dict[str, Any] = {"nthread": 1}
        if task == "binary":
            params["objective"] = "binary:logistic"
        elif task == "multiclass":
            params.update(objective="multi:softprob", num_class=N_CLASSES[task])
        return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=ROUNDS)

    def predict(self, obj: Any, x: np.ndarray, task: str) -> np.ndarray:
        return XGBoostPredictor(obj, task).predict(x)


class TestCatBoost(FlavorConformance):
    flavor = "catboost"

    def fit(self, x: np.ndarray, y: np.ndarray, task: str) -> Any:
        kind = catboost.CatBoostRegressor if task == "regression" else catboost.CatBoostClassifier
        model = kind(iterations=ROUNDS, thread_count=1, verbose=False, allow_writing_files=False)
        return model.fit(x, y)

    def predict(self, obj: Any, x: np.ndarray, task: str) -> np.ndarray:
        return CatBoostPredictor(obj, task).predict(x)


def test_built_in_flavors_are_registered() -> None:
    assert {"lightgbm", "sklearn", "xgboost", "catboost", "torch"} <= set(FLAVORS.names())


def test_unknown_flavor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no model flavor named 'onnx'.*lightgbm"):
        load_learner("onnx", tmp_path / "model.onnx", "binary")


def test_a_plugin_flavor_saves_and_loads(tmp_path: Path, monkeypatch) -> None:
    site = install_fake_distribution(
        tmp_path / "site",
        "acme-flavor",
        {"atlas.flavors": {"acme": "acme_flavor", "bad": "acme_flavor:Constant"}},
        {
            "acme_flavor": "import numpy as np\n"
            "class Constant:\n"
            "    def __init__(self, p): self.p = p\n"
            "    def predict(self, x): return np.tile([1 - self.p, self.p], (len(x), 1))\n"
            "def save(obj, folder):\n"
            "    (folder / 'p.txt').write_text(repr(obj.p)); return 'p.txt'\n"
            "def load(path, task):\n"
            "    return Constant(float(path.read_text()))\n"
        },
    )
    monkeypatch.syspath_prepend(str(site))
    FLAVORS.refresh()
    try:
        import acme_flavor  # type: ignore[import-not-found]

        name = save_learner("acme", acme_flavor.Constant(0.25), tmp_path / "m")
        out = load_learner("acme", tmp_path / "m" / name, "binary").predict(np.zeros((2, 3)))
        assert out.tolist() == [[0.75, 0.25], [0.75, 0.25]]
        with pytest.raises(ConfigError, match=r"'bad' failed to load.*save"):
            FLAVORS.get("bad")  # a class without save/load is refused, by name
        assert "lightgbm" in FLAVORS.all()  # and the others still load
    finally:
        monkeypatch.undo()
        FLAVORS.refresh()
