"""Refit-full: a registered bagged ensemble refitted once per member on all its training rows,
registered as the next version with lineage to the bagged one; through the library and through
``atlas models refit-full``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atlas.automl import fit_dataset
from atlas.automl.refit import members_of
from atlas.automl.refit_version import refit_full
from atlas.core.errors import InvalidInputError
from atlas.data import DatasetStore
from atlas.registry import ModelRegistry
from tests.cli.test_unwritable_database import _atlas
from tests.conftest import CREDIT_G

N_TRIALS = 4
MAX_AUC_LOSS = 0.05  # the refit scores near the bagged ensemble on the same test rows
LEARNERS = ["lightgbm", "linear"]  # an iterative learner (rounds fixed) and a plain one


@pytest.fixture
def bagged(sqlite_settings):
    DatasetStore.from_settings(sqlite_settings).add(CREDIT_G, "credit-g")
    return fit_dataset(
        "credit-g",
        "target",
        "credit",
        n_trials=N_TRIALS,
        learners=LEARNERS,
        settings=sqlite_settings,
    )


def test_each_member_is_refitted_once_on_all_rows(sqlite_settings, bagged) -> None:
    report = refit_full("credit", bagged.model.version, settings=sqlite_settings)
    registry = ModelRegistry.from_settings(sqlite_settings)
    _, before, _ = registry.fetch("credit", bagged.model.version)
    _, after, _ = registry.fetch("credit", report.model.version)
    trials = {ref.info["trial"] for ref in before.learners}
    assert report.model.version == bagged.model.version + 1
    assert report.learners_before == len(before.learners) > len(trials) == report.learners_after
    assert len(after.learners) == len(trials) and all(r.info["refit_full"] for r in after.learners)
    weights = {r.info["trial"]: r.weight for r in after.learners}
    for trial in trials:  # each member keeps its ensemble weight
        kept = sum(r.weight for r in before.learners if r.info["trial"] == trial)
        assert weights[trial] == pytest.approx(kept)
    for ref in after.learners:  # boosting rounds fixed to what the folds kept, no early stop
        if ref.info["learner"] == "lightgbm":
            rounds = [
                r.info["best_iteration"]
                for r in before.learners
                if r.info["trial"] == ref.info["trial"]
            ]
            assert ref.params["lightgbm.num_boost_round"] == round(np.mean(rounds))
    assert after.lineage.refit_of.version == bagged.model.version
    assert after.lineage.dataset == before.lineage.dataset
    # scored on the same test rows as the bagged version
    assert report.test_metrics["roc_auc"] > bagged.test_metrics["roc_auc"] - MAX_AUC_LOSS
    assert after.metrics["test_roc_auc"] == pytest.approx(report.test_metrics["roc_auc"])
    x = bagged.test_frame.drop(columns=["target"])
    proba = registry.load("credit", report.model.version).predict_proba(x)
    assert proba.shape == (len(x), 2) and np.allclose(proba.sum(axis=1), 1)


def test_a_refit_is_not_refitted_and_an_old_package_is_refused(sqlite_settings, bagged):
    registry = ModelRegistry.from_settings(sqlite_settings)
    refit = refit_full("credit", settings=sqlite_settings)
    with pytest.raises(InvalidInputError, match=f"already a refit of v{bagged.model.version}"):
        refit_full("credit", refit.model.version, settings=sqlite_settings)
    assert len(registry.versions("credit")) == 2  # nothing registered by the refusal
    # a package whose learners record no trial (registered before ATLAS recorded them)
    _, manifest, _ = registry.fetch("credit", bagged.model.version)
    stripped = [ref.model_copy(update={"info": {}}) for ref in manifest.learners]
    with pytest.raises(InvalidInputError, match="does not record which trial"):
        members_of(stripped, "Model credit v1")


def test_the_cli_verb_registers_and_prints_json(sqlite_settings, bagged) -> None:
    """Through the real ``atlas`` command (a subprocess on the same home)."""
    home = sqlite_settings.home
    result = _atlas(home, "models", "refit-full", "credit:1", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["refit_of"] == {"name": "credit", "version": 1}
    assert body["model"]["version"] == 2 and body["learners_after"] < body["learners_before"]
    assert "refit-full of v1" in _atlas(home, "models", "show", "credit", "2").stdout
    bad = _atlas(home, "models", "refit-full", "credit:")
    assert bad.returncode == 2 and "names no version after ':'" in bad.stderr
    assert "Traceback" not in bad.stderr
