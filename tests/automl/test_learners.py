"""Every built-in learner passes the learner conformance suite (atlas.testing.learner), and
the few behaviours only one learner has."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from atlas.automl.learners import LEARNERS
from atlas.automl.learners.catboost import CatBoostLearner
from atlas.automl.learners.extra_trees import ExtraTreesLearner
from atlas.automl.learners.knn import KNNLearner
from atlas.automl.learners.lightgbm import LightGBMLearner
from atlas.automl.learners.linear import LinearLearner
from atlas.automl.learners.mlp import MLPLearner
from atlas.automl.learners.random_forest import RandomForestLearner
from atlas.automl.learners.xgboost import XGBoostLearner
from atlas.registry.flavors import load_learner, save_learner
from atlas.registry.manifest import LearnerRef
from atlas.testing.learner import CATEGORICAL, LearnerConformance, split

BUILT_IN = {
    "lightgbm", "extra_trees", "linear", "random_forest", "xgboost", "catboost", "knn", "mlp"
}  # fmt: skip


class Boosting(LearnerConformance):
    rounds_param = "num_boost_round"
    rounds_info = "best_iteration"


class TestLightGBM(Boosting):
    learner_class = LightGBMLearner


class TestXGBoost(Boosting):
    learner_class = XGBoostLearner


class TestCatBoost(Boosting):
    learner_class = CatBoostLearner


class TestExtraTrees(LearnerConformance):
    learner_class = ExtraTreesLearner


class TestRandomForest(LearnerConformance):
    learner_class = RandomForestLearner


class TestLinear(LearnerConformance):
    learner_class = LinearLearner


class TestKNN(LearnerConformance):
    learner_class = KNNLearner
    uses_sample_weight = False  # documented: kNN accepts sample weights and ignores them


class TestMLP(LearnerConformance):
    learner_class = MLPLearner
    rounds_param = rounds_info = "n_epochs"


def test_every_built_in_learner_registers_through_its_entry_point() -> None:
    found = LEARNERS.all()
    assert set(found) >= BUILT_IN
    suites = [*LearnerConformance.__subclasses__(), *Boosting.__subclasses__()]
    tested = {suite.learner_class for suite in suites if hasattr(suite, "learner_class")}
    assert {found[name] for name in BUILT_IN} <= tested  # each one runs the suite here
    for name, cls in found.items():
        LearnerRef(name=name, flavor=cls.flavor, path=f"learners/0-{name}/x")  # type: ignore[arg-type]


def test_torch_weights_without_safetensors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch_state = importlib.import_module("atlas.registry.flavors.torch_state")
    monkeypatch.setattr(torch_state, "_safetensors", None)
    x, y, x_val, y_val, x_test, _ = split("regression", n_train=200)
    learner = MLPLearner("regression", 0, [CATEGORICAL], 0)
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
        learner = LEARNERS.get("mlp")("binary", 2, [], 0)
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
