"""Shared fixtures: settings in a temporary home, and the metadata database on every backend.

PostgreSQL is the real server on 127.0.0.1:5432 (``.ci/run`` starts it); each test that asks for
it gets a database of its own, dropped afterwards. ``ATLAS_TEST_POSTGRES_URL`` points elsewhere.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import psycopg
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from atlas.core import database
from atlas.core.settings import Settings, get_settings
from atlas.data.samples import load_sample, sample_path
from atlas.registry import PackageDraft, TabularPreprocessor

PG_ADMIN = os.environ.get(
    "ATLAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CREDIT_G = sample_path("credit-g")  # shipped inside the package: a bare clone runs the tests


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}). Start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        database.close_all()
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta' / 'atlas.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings in a fresh home, also exported as ATLAS_* so get_settings() agrees."""

    def make(database_url: str | None = None, artifacts_url: str | None = None) -> Settings:
        home = tmp_path / "home"
        monkeypatch.setenv("ATLAS_HOME", str(home))
        for key, value in (
            ("ATLAS_DATABASE_URL", database_url),
            ("ATLAS_ARTIFACTS_URL", artifacts_url),
        ):
            if value:
                monkeypatch.setenv(key, value)
            else:
                monkeypatch.delenv(key, raising=False)
        get_settings.cache_clear()
        return get_settings()

    yield make
    get_settings.cache_clear()
    database.close_all()


@pytest.fixture
def settings(make_settings, db_url: str) -> Settings:
    """Settings on each database backend."""
    return make_settings(database_url=db_url)


@pytest.fixture
def sqlite_settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def credit_g() -> pd.DataFrame:
    return load_sample("credit-g")


def small_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A synthetic credit-like table: numbers, a category, missing values, a binary target."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.6, n)
    debt = rng.uniform(0, 1, n)
    region = rng.choice(["north", "south", "east"], n)
    score = 0.00003 * income - 2.5 * debt + (region == "north") * 0.8 + rng.normal(0, 0.5, n)
    frame = pd.DataFrame(
        {
            "income": income,
            "debt": debt,
            "region": region,
            "target": np.where(score > np.median(score), "good", "bad"),
        }
    )
    frame.loc[rng.choice(n, n // 20, replace=False), "income"] = np.nan
    return frame


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
        linear = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(x, y)
        folder = tmp_path / f"draft-{next(_counter)}"
        folder.mkdir()
        draft = PackageDraft(
            folder=folder,
            task="binary",
            target="target",
            inputs=prep.columns,
            classes=classes.tolist(),
            metrics={"test_roc_auc": 0.9},
        )
        draft.add_learner("lightgbm", "lightgbm", booster, weight=3.0)
        draft.add_learner("linear", "sklearn", linear, weight=1.0)
        draft.expected = (  # type: ignore[attr-defined]
            0.75 * np.column_stack([1 - booster.predict(x), booster.predict(x)])
            + 0.25 * linear.predict_proba(x)
        )
        draft.frame = features  # type: ignore[attr-defined]
        return draft

    return make
