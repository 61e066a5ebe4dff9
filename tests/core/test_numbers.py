"""The shared checks every edge uses: finite numbers within bounds, version numbers 1..2**63-1."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atlas.core.errors import InvalidInputError
from atlas.core.numbers import MAX_INT64, check_int, check_number
from atlas.core.versions import looks_like_version, parse_version

# the class every edge must refuse (for a positive number of at most 100)
BAD = [
    math.nan,
    "nan",
    math.inf,
    "inf",
    -math.inf,
    "-Infinity",
    0,
    -1,
    2**63,
    2**64,
    10**400,  # past a float's range
    "1e309",
    1e309,
    "x",
    "",
    None,
    True,
    [1],
]


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_check_number_refuses_the_class(value: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_number(value, "The budget", low=0, low_open=True, high=100)
    assert info.value.message.startswith("The budget")
    assert info.value.hint == "Give a finite number greater than 0 and at most 100."


@pytest.mark.parametrize("value", [0.5, "7", " 7 ", 100, np.float32(2.5), np.int64(3)])
def test_check_number_accepts_numbers_in_range(value: object) -> None:
    assert check_number(value, "x", low=0, low_open=True, high=100) == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [*BAD, 1.5, "1.5", "1_0", "0x10", "1" * 5000], ids=repr)
def test_check_int_refuses_the_class(value: object) -> None:
    with pytest.raises(InvalidInputError, match="The trial count"):
        check_int(value, "The trial count", low=1, high=MAX_INT64)


@pytest.mark.parametrize("value, expected", [(3, 3), ("3", 3), (3.0, 3), (np.int64(3), 3)])
def test_check_int_accepts_whole_numbers(value: object, expected: int) -> None:
    assert check_int(value, "n", low=1) == expected


@pytest.mark.parametrize(
    "ref",
    [0, "0", -1, "-1", 2**63, str(2**63), 2**64, str(2**64), "9" * 5000, 10**5000],
    ids=lambda ref: repr(ref)[:24] if not isinstance(ref, int) or ref < 10**100 else "10**5000",
)
def test_versions_outside_1_to_int64_are_out_of_range(ref: object) -> None:
    assert looks_like_version(ref)
    with pytest.raises(InvalidInputError, match="out of range") as info:
        parse_version(ref)
    assert len(info.value.message) < 120  # a huge number is cut, not printed whole
    assert info.value.hint == "Versions are whole numbers from 1 to 9223372036854775807."


@pytest.mark.parametrize("ref", [1.5, "x", "", "¹", None, True, math.nan, "1e3"], ids=repr)
def test_non_numbers_are_not_versions(ref: object) -> None:
    with pytest.raises(InvalidInputError, match="not a whole number"):
        parse_version(ref)


@pytest.mark.parametrize("ref, expected", [(1, 1), ("7", 7), ("007", 7), (MAX_INT64, MAX_INT64)])
def test_versions_in_range(ref: object, expected: int) -> None:
    assert parse_version(ref) == expected
    assert parse_version(np.int64(expected)) == expected
