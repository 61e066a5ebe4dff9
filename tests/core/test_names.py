import pytest

from atlas.core.errors import InvalidInputError
from atlas.core.names import check_alias, check_name


@pytest.mark.parametrize("name", ["credit-g", "a", "Model_1.2", "x" * 128])
def test_good_names(name: str) -> None:
    assert check_name("dataset", name) == name


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "../x", "", " a", "-a", "x" * 129, "a b"])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInputError, match="not allowed"):
        check_name("dataset", name)


@pytest.mark.parametrize("alias", ["3", "latest"])
def test_aliases_cannot_look_like_versions(alias: str) -> None:
    with pytest.raises(InvalidInputError):
        check_alias(alias)
