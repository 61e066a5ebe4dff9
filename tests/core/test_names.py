"""The name rule, and the class of bad names at every kind of name that comes from outside:
dataset, model, alias, feature view, entity, connector (and a connector's field)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from atlas.core.errors import InvalidInputError
from atlas.core.names import check_alias, check_name
from atlas.data import DatasetStore
from atlas.data.features import Entity, FeatureView
from atlas.registry import ModelRegistry
from atlas.serve.external.config import parse_connectors

# each is refused by every kind of name: `^...$` with re.match accepted the first one
BAD_NAMES = [
    "credit\n",  # a trailing newline
    "credit\r\n",
    "credit\t",
    " credit",
    "credit ",
    "cre dit",
    "cr\u00a0edit",  # a no-break space
    "credit\u200b",  # a zero-width space
    "\uff43redit",  # a fullwidth 'c'
    "cr\u0435dit",  # a Cyrillic 'e'
    "",
    "x" * 129,  # one past the longest name
]


@pytest.mark.parametrize("name", ["credit-g", "a", "Model_1.2", "x" * 128])
def test_good_names(name: str) -> None:
    assert check_name("dataset", name) == name


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "../x", "-a", "a b", *BAD_NAMES], ids=repr)
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInputError, match="not allowed") as info:
        check_name("dataset", name)
    assert "whitespace" in str(info.value.hint)


@pytest.mark.parametrize("alias", ["3", "latest"])
def test_aliases_cannot_look_like_versions(alias: str) -> None:
    with pytest.raises(InvalidInputError):
        check_alias(alias)


def _connector(name: str, field: str = "score") -> object:
    return parse_connectors(
        [{"name": name, "url": "http://127.0.0.1:1/{id}", "key": "id", "fields": {field: "float"}}]
    )


@pytest.fixture
def kinds(sqlite_settings, make_draft) -> dict[str, Callable[[str], object]]:
    """Every entry point that takes a name from outside, called with the name to try."""
    datasets = DatasetStore.from_settings(sqlite_settings)
    registry = ModelRegistry.from_settings(sqlite_settings)
    registry.register("credit", make_draft())
    return {
        "dataset": lambda n: datasets.add(pd.DataFrame({"a": [1, 2]}), n),
        "dataset rules": lambda n: datasets.set_rules(n, []),
        "model": lambda n: registry.register(n, make_draft()),
        "alias": lambda n: registry.promote("credit", 1, n),
        "feature view": lambda n: FeatureView(n, "customer", ["amount"]),
        "entity": lambda n: Entity(n),
        "view's entity": lambda n: FeatureView("spend", n, ["amount"]),
        "feature": lambda n: FeatureView("spend", "customer", [n]),
        "connector": lambda n: _connector(n),
        "connector field": lambda n: _connector("bureau", n),
    }


def test_every_kind_of_name_refuses_the_class(kinds) -> None:
    accepted = {}
    for kind, call in kinds.items():
        for name in BAD_NAMES:
            try:
                call(name)
            except InvalidInputError as exc:
                assert exc.message, (kind, name)  # a message, never an empty error
            else:
                accepted.setdefault(kind, []).append(name)
    assert accepted == {}
    assert DatasetStore.from_settings().list_versions() == []  # nothing half-written


def test_every_kind_of_name_accepts_a_good_one(kinds) -> None:
    for call in kinds.values():
        call("good_name1")
