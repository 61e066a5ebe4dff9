"""Definitions: validation, TTLs, YAML loading, the filter language, and the registry (on SQLite
and on the real PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from atlas.core.database import open_database
from atlas.core.errors import ConflictError, InvalidInputError, NotFoundError
from atlas.data.features import Entity, FeatureRegistry, FeatureView, load_definitions, parse_ttl
from atlas.data.features.definitions import format_ttl
from atlas.data.features.filters import (
    And,
    Compare,
    InList,
    IsNull,
    Not,
    Or,
    bind,
    parse_filter,
    to_sql,
)

YAML = """
entities:
  - name: customer
    join_key: customer_id
    dtype: int64
feature_views:
  - name: spend
    entity: customer
    source: data/spend.parquet
    ttl: 1d12h
    features:
      amount: float
      region: string
  - name: fed
    entity: customer
    features: {score: float64}
"""


def test_ttls() -> None:
    assert parse_ttl("30d") == timedelta(days=30)
    assert parse_ttl("1d12h") == timedelta(hours=36)
    assert parse_ttl(90) == timedelta(seconds=90)
    assert parse_ttl(None) is None
    for text in ("3650d", "1d12h", "90m", "1.5s", "2d1s"):
        ttl = parse_ttl(text)
        assert parse_ttl(format_ttl(ttl)) == ttl
    assert format_ttl(timedelta(days=3650)) == "3650d"
    for bad in ("soon", "10x", "-1d", 0):
        with pytest.raises(InvalidInputError):
            parse_ttl(bad)


def test_definitions_validate() -> None:
    assert Entity("customer").join_key == "customer"
    view = FeatureView("v", "customer", {"a": "int", "b": "double"}, ttl="2h")
    assert view.schema == {"a": "int64", "b": "float64"} and view.ttl_delta == timedelta(hours=2)
    assert FeatureView.from_dict(view.to_dict()) == view
    with pytest.raises(InvalidInputError, match="unknown type 'decimal'"):
        FeatureView("v", "customer", {"a": "decimal"})
    with pytest.raises(InvalidInputError, match="not a valid column name"):
        FeatureView("v", "customer", {"a b": "int64"})
    with pytest.raises(InvalidInputError, match="not allowed"):
        FeatureView("../v", "customer", ["a"])
    with pytest.raises(InvalidInputError, match="keys are int64 or string"):
        Entity("e", dtype="float64")
    with pytest.raises(InvalidInputError, match="is the timestamp"):
        FeatureView("v", "customer", ["event_timestamp"])


def test_yaml_loading(tmp_path: Path) -> None:
    (tmp_path / "defs.yaml").write_text(YAML)
    entity, spend, fed = load_definitions(tmp_path / "defs.yaml")
    assert entity == Entity("customer", "customer_id", "int64")
    assert isinstance(spend, FeatureView) and isinstance(fed, FeatureView)
    assert spend.source == str(tmp_path / "data" / "spend.parquet")  # relative to the file
    assert spend.ttl_delta == timedelta(hours=36) and spend.schema["amount"] == "float64"
    assert fed.source is None and fed.schema == {"score": "float64"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: [", "not valid YAML"),
        ("- 1", "must be a mapping"),
        ("views: []", "unknown top-level key"),
        ("entities:\n  - name: c\n    colour: red", "Unknown field"),
        ("feature_views:\n  - name: v\n    entity: c", "needs 'features'"),
    ],
)
def test_yaml_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_definitions(tmp_path / "bad.yaml")


def test_filter_language() -> None:
    tree = parse_filter("a > 1 and (b in (\"x\", 'y') or not c is null) or d = true")
    assert tree == Or(
        (
            And((Compare("a", ">", 1), Or((InList("b", ("x", "y")), Not(IsNull("c")))))),
            Compare("d", "=", True),
        )
    )
    schema = {"a": "int64", "b": "string", "c": "float64", "d": "bool"}
    sql, params = to_sql(bind(tree, schema))
    assert sql == '((("a" > ?) AND (("b" IN (?, ?)) OR (NOT ("c" IS NULL)))) OR ("d" = ?))'
    assert params == [1, "x", "y", True]
    sql, params = to_sql(bind(parse_filter("`a` != -2.5e1 and b not in ('q')"), schema))
    assert sql == '(("a" <> ?) AND ("b" NOT IN (?)))' and params == [-25.0, "q"]
    for bad in ("", "a >", "a > 1 and", "(a > 1", "a ~ 1", "1 > a", "a > 1 extra"):
        with pytest.raises(InvalidInputError, match="Cannot read the filter"):
            parse_filter(bad)
    with pytest.raises(InvalidInputError, match="Known columns: a, b, c, d"):
        bind(parse_filter("zz = 1"), schema)
    with pytest.raises(InvalidInputError, match="compares 'd'"):
        bind(parse_filter("d > true"), schema)


def test_registry_versions_and_conflicts(db_url: str) -> None:
    registry = FeatureRegistry(open_database(db_url))
    customer = Entity("customer", "customer_id")
    view = FeatureView("v", "customer", {"a": "int64"}, ttl="1d")
    changes = registry.apply([customer, view])
    assert [(c.name, c.action, c.version) for c in changes] == [
        ("customer", "created", None),
        ("v", "created", 1),
    ]
    assert registry.apply([view])[0].action == "unchanged"
    assert registry.apply([FeatureView("v", "customer", {"a": "int64"}, ttl="2d")])[0].version == 1
    grown = FeatureView("v", "customer", {"a": "int64", "b": "string"})
    assert registry.apply([grown])[0].version == 2
    assert registry.views()["v"].view == grown and registry.views()["v"].version == 2
    with pytest.raises(ConflictError, match="from int64 to float64"):
        registry.apply([FeatureView("v", "customer", {"a": "float64"})])
    with pytest.raises(NotFoundError, match="unknown entity 'merchant'"):
        registry.apply([FeatureView("w", "merchant", {"a": "int64"})])
    assert "w" not in registry.views()  # a failed apply changes nothing


@pytest.mark.parametrize(
    "ttl",
    [float("nan"), float("inf"), float("-inf"), 0, -5, 2**63, 2**64, 1e309, "999999999999d", "x"],
    ids=repr,
)
def test_a_ttl_out_of_range_is_a_clear_error(ttl: object) -> None:
    with pytest.raises(InvalidInputError, match="TTL") as info:  # not timedelta's OverflowError
        FeatureView("v", "customer", ["a"], ttl=ttl)  # type: ignore[arg-type]
    assert "at most 100 years" in str(info.value.hint)
    assert FeatureView("v", "customer", ["a"], ttl=36500 * 86400).ttl == timedelta(days=36500)
