"""Learners are plugins: a third party's installed package shows up in the search, a broken one
is reported by name and left out, and listing learners imports no model library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from atlas.automl import AutoClassifier
from atlas.automl.learners import LEARNERS
from tests.automl.conftest import InstallLearners
from tests.conftest import small_frame

TINY_LEARNER = '''
from sklearn.impute import SimpleImputer
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline

from atlas.automl.learners import Fitted, Learner


class TinyLearner(Learner):
    """Naive Bayes on imputed numbers: a third party's learner in a dozen lines."""

    name = "tiny"
    flavor = "sklearn"
    tasks = ("binary", "multiclass")

    def default_params(self):
        return {self.key("var_smoothing"): 1e-9}

    def suggest(self, trial):
        key = self.key("var_smoothing")
        return {key: trial.suggest_float(key, 1e-12, 1e-3, log=True)}

    def fit(self, params, x, y, x_val=None, y_val=None, sample_weight=None, deadline=None):
        from atlas.registry.flavors.sklearn_skops import SklearnPredictor

        own = self.own(params)
        model = make_pipeline(SimpleImputer(), GaussianNB(var_smoothing=own["var_smoothing"]))
        model.fit(x, y, gaussiannb__sample_weight=sample_weight)
        return Fitted(model, SklearnPredictor(model, self.task))
'''


def data() -> tuple[pd.DataFrame, pd.Series]:
    frame = small_frame(200)
    return frame.drop(columns="target"), frame["target"]


def test_an_installed_third_party_learner_runs_in_the_default_search(
    install_learners: InstallLearners,
) -> None:
    install_learners({"tiny": "tiny_learner:TinyLearner"}, {"tiny_learner": TINY_LEARNER})
    assert "tiny" in LEARNERS.names()
    info = next(i for i in LEARNERS.info() if i.name == "tiny")
    assert info.distribution == "atlas-test-learners" and info.error is None
    x, y = data()
    # one trial per learner: every learner's first portfolio entry runs before any sampling
    model = AutoClassifier(time_budget=None, n_trials=len(LEARNERS.names()), n_jobs=1)
    board = model.fit(x, y).leaderboard_
    tiny = board[board["learner"] == "tiny"]
    assert len(tiny) == 1 and tiny["state"].iloc[0] == "complete"
    assert tiny["score"].iloc[0] > 0.7
    assert set(board["learner"]) == set(LEARNERS.names())


def test_a_learner_that_fails_to_import_is_reported_and_skipped(
    install_learners: InstallLearners,
) -> None:
    install_learners(
        {"tiny": "tiny_learner:TinyLearner", "broken": "no_such_module_for_atlas:Learner"},
        {"tiny_learner": TINY_LEARNER},
    )
    loaded = LEARNERS.all()
    assert "tiny" in loaded and "broken" not in loaded and "linear" in loaded
    failure = next(f for f in LEARNERS.failures() if f.name == "broken")
    assert "no_such_module_for_atlas" in (failure.error or "")
    x, y = data()
    board = AutoClassifier(time_budget=None, n_trials=3, n_jobs=1).fit(x, y).leaderboard_
    assert (board["state"] == "complete").sum() == 3 and "broken" not in set(board["learner"])
    with pytest.raises(ValueError, match=r"broken.*no_such_module_for_atlas"):
        AutoClassifier(time_budget=None, n_trials=1, learners=["broken"]).fit(x, y)


def test_a_learner_whose_name_differs_from_its_entry_point_is_refused(
    install_learners: InstallLearners,
) -> None:
    install_learners({"other": "tiny_learner:TinyLearner"}, {"tiny_learner": TINY_LEARNER})
    assert LEARNERS.load("other") is None
    failure = next(f for f in LEARNERS.failures() if f.name == "other")
    assert "must be the entry point's name 'other'" in (failure.error or "")


def run_python(script: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_automl_imports_no_model_library() -> None:
    found = run_python(
        """
        import json, sys
        import atlas.automl
        from atlas.automl.learners import LEARNERS
        LEARNERS.all()  # every learner class, loaded
        heavy = ("catboost", "xgboost", "lightgbm", "torch", "skops")
        print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
        """
    )
    assert found == []


def test_a_search_leaves_logging_and_optuna_as_it_found_them() -> None:
    found = run_python(
        """
        import json, logging
        import optuna
        optuna.logging.set_verbosity(optuna.logging.INFO)
        root = logging.getLogger()
        before = {"handlers": len(root.handlers), "level": root.level}
        from atlas.automl import AutoClassifier
        from tests.conftest import small_frame
        frame = small_frame(120)
        AutoClassifier(time_budget=None, n_trials=2, learners=["linear"], n_jobs=1).fit(
            frame.drop(columns="target"), frame["target"]
        )
        after = {"handlers": len(root.handlers), "level": root.level}
        print(json.dumps({"before": before, "after": after,
                          "optuna": optuna.logging.get_verbosity()}))
        """
    )
    assert found["after"] == found["before"] == {"handlers": 0, "level": 30}
    assert found["optuna"] == 20  # optuna.logging.INFO, as the caller set it
