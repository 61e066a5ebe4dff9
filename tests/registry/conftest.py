from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer

from atlas.registry import PackageDraft, TabularPreprocessor
from tests.conftest import small_frame

_counter = itertools.count()


@pytest.fixture
def make_draft(tmp_path: Path) -> Callable[..., PackageDraft]:
    """A real two-learner package (LightGBM text + scikit-learn via skops) of a small table."""

    def make(seed: int = 0) -> PackageDraft:
        frame = small_frame(seed=seed)
        features = frame.drop(columns=["target"])
        prep = TabularPreprocessor.fit(features)
        x = prep.transform(features)
        classes, y = np.unique(frame["target"], return_inverse=True)
        booster = lgb.train(
            {"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": seed},
            lgb.Dataset(x, y, categorical_feature=prep.categorical_indices),
            20,
        )
        linear = make_pipeline(SimpleImputer(), LogisticRegression()).fit(x, y)
        folder = tmp_path / f"draft-{next(_counter)}"
        folder.mkdir()
        draft = PackageDraft(folder=folder, task="binary", target="target", inputs=prep.columns,
                             classes=classes.tolist(), metrics={"test_roc_auc": 0.9})
        draft.add_learner("lightgbm", "lightgbm", booster, weight=3.0)
        draft.add_learner("linear", "sklearn", linear, weight=1.0)
        draft.expected = (  # type: ignore[attr-defined]
            0.75 * np.column_stack([1 - booster.predict(x), booster.predict(x)])
            + 0.25 * linear.predict_proba(x)
        )
        draft.frame = features  # type: ignore[attr-defined]
        return draft

    return make
