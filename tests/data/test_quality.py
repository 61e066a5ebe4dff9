from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlas.automl import fit_dataset
from atlas.core.errors import ConflictError, InvalidInputError
from atlas.data import DatasetStore, parse_rules, psi
from atlas.data.verdicts import QualityCheckFailed
from tests.conftest import CREDIT_G

RULES = [
    {"type": "not_null", "column": "age"},
    {"type": "range", "column": "age", "min": 18, "max": 100},
    {"type": "allowed", "column": "housing", "values": ["own", "rent", "for free"]},
    {"type": "row_count_change", "max_change": 0.5},
    {"type": "drift", "columns": ["credit_amount"], "max_psi": 0.2},
    {"type": "schema"},
]


@pytest.fixture
def store(settings) -> DatasetStore:
    return DatasetStore.from_settings(settings)


def test_good_versions_pass_and_bad_ones_are_marked(store: DatasetStore) -> None:
    store.set_rules("credit", RULES)
    frame = pd.read_csv(CREDIT_G)
    first = store.add(frame, "credit")
    assert first.status == "passed"
    assert all(r["passed"] for r in first.checks["results"])
    bad = frame.head(300).copy()
    bad.loc[0, "age"] = 7
    bad.loc[1, "housing"] = "castle"
    bad["credit_amount"] = bad["credit_amount"] * 10
    second = store.add(bad, "credit")
    assert second.status == "failed"
    failed = {r["rule"]["type"]: r["detail"] for r in second.checks["results"] if not r["passed"]}
    assert set(failed) == {"range", "allowed", "row_count_change", "drift"}
    assert "1 below min" in failed["range"] and "castle" in failed["allowed"]
    assert second.checks["compared_with"] == 1


def test_training_refuses_a_failed_version_unless_forced(sqlite_settings) -> None:
    store = DatasetStore.from_settings(sqlite_settings)
    store.set_rules("credit", [{"type": "range", "column": "age", "min": 30}])
    store.add(CREDIT_G, "credit")
    with pytest.raises(ConflictError, match="failed its quality checks"):
        fit_dataset("credit", "target", "m", n_trials=1, settings=sqlite_settings)
    report = fit_dataset(
        "credit",
        "target",
        "m",
        n_trials=1,
        force=True,
        learners=["linear"],
        settings=sqlite_settings,
    )
    assert report.model.version == 1


def test_schema_change_is_reported_and_can_fail(store: DatasetStore) -> None:
    frame = pd.read_csv(CREDIT_G)
    store.add(frame, "credit")
    changed = frame.drop(columns=["job"]).assign(age=frame["age"].astype(float), new=1)
    unchecked = store.add(changed, "credit")
    assert unchecked.status == "unchecked"  # no rules: reported, not judged
    assert unchecked.checks["schema_changes"] == {
        "added": ["new"],
        "removed": ["job"],
        "retyped": {"age": ["int64", "float64"]},
    }
    store.set_rules("credit", [{"type": "schema"}])
    assert store.check("credit").status == "failed"
    assert store.get("credit").status == "failed"


def test_freshness_unique_and_not_null(store: DatasetStore) -> None:
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame(
        {"id": [1, 2, 2], "at": [now, now, now - pd.Timedelta(days=9)], "v": [1.0, None, 3.0]}
    )
    store.set_rules(
        "events",
        [
            {"type": "freshness", "column": "at", "max_age": "1d"},
            {"type": "unique", "columns": ["id"]},
            {"type": "not_null", "column": "v"},
        ],
    )
    dv = store.add(frame, "events")
    verdict = {r["rule"]["type"]: r["passed"] for r in dv.checks["results"]}
    assert verdict == {"freshness": True, "unique": False, "not_null": False}
    stale = frame.assign(at=now - pd.Timedelta(days=3), id=[1, 2, 3], v=1.0)
    assert {
        r["rule"]["type"]: r["passed"] for r in store.add(stale, "events").checks["results"]
    } == {"freshness": False, "unique": True, "not_null": True}


def test_rule_errors_name_the_problem() -> None:
    with pytest.raises(InvalidInputError, match="Invalid quality rule"):
        parse_rules([{"type": "range"}])
    with pytest.raises(InvalidInputError, match="Invalid quality rule"):
        parse_rules([{"type": "telepathy", "column": "x"}])
    assert len(parse_rules({"rules": RULES})) == len(RULES)


def test_missing_rule_column_fails_the_rule(store: DatasetStore) -> None:
    store.set_rules("t", [{"type": "not_null", "column": "ghost"}])
    dv = store.add(pd.DataFrame({"a": [1, 2]}), "t")
    assert (
        dv.status == "failed" and "column 'ghost' is missing" in dv.checks["results"][0]["detail"]
    )


def test_psi_is_zero_for_the_same_distribution_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    base = pd.Series(rng.normal(size=5000))
    assert psi(base, pd.Series(rng.normal(size=5000))) < 0.02
    assert psi(base, pd.Series(rng.normal(1.0, 1, size=5000))) > 0.2
    cats = pd.Series(rng.choice(["a", "b"], 1000))
    assert psi(cats, pd.Series(["a"] * 1000)) > 0.2


def test_a_failed_rule_says_its_column_what_was_observed_and_expected(store: DatasetStore) -> None:
    store.set_rules("credit", [{"type": "range", "column": "age", "min": 30, "max": 60}])
    dv = store.add(CREDIT_G, "credit")
    (result,) = dv.checks["results"]
    assert result["column"] == "age" and not result["passed"]
    assert (
        result["observed"].startswith("371 below min, ")
        and "values from 19 to 75" in (result["observed"])
    )
    assert result["expected"] == ">= 30 and <= 60"
    with pytest.raises(QualityCheckFailed) as info:  # training refuses it, naming all of that
        store.require_usable("credit")
    assert "range on age: observed 371 below min" in info.value.message
    assert "expected >= 30 and <= 60" in info.value.message
    assert info.value.results == [result] and info.value.http_status == 409


def test_strict_add_refuses_a_failing_version_and_stores_nothing(store: DatasetStore) -> None:
    store.set_rules("credit", [{"type": "allowed", "column": "housing", "values": ["own"]}])
    with pytest.raises(QualityCheckFailed, match="allowed on housing: observed unexpected"):
        store.add(CREDIT_G, "credit", strict=True)
    assert store.list_versions() == []
    assert not store.artifacts.exists("datasets") or store.artifacts.list("datasets") == []
    store.set_rules("credit", [{"type": "not_null", "column": "age"}])
    assert store.add(CREDIT_G, "credit", strict=True).status == "passed"


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "range", "column": "age", "min": float("nan")},
        {"type": "range", "column": "age", "max": float("inf")},
        {"type": "range", "column": "age", "min": "1e309"},
        {"type": "range", "column": "age", "min": 50, "max": 10},
        {"type": "row_count_change", "max_change": float("nan")},
        {"type": "row_count_change", "max_change": 0},
        {"type": "row_count_change", "max_change": 2**64},
        {"type": "drift", "max_psi": float("inf")},
        {"type": "drift", "max_psi": -1},
        {"type": "freshness", "column": "at", "max_age": "999999999999d"},
        {"type": "freshness", "column": "at", "max_age": "0d"},
        {"type": "unique", "columns": []},
    ],
    ids=repr,
)
def test_rule_numbers_are_finite_and_in_range(rule: dict) -> None:
    with pytest.raises(InvalidInputError, match="Invalid quality rule at 0"):
        parse_rules([rule])
