from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlas.core.errors import InvalidInputError
from atlas.registry import TabularPreprocessor


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [100.0, np.nan, 250.5, 80.0],
            "count": [1, 2, 3, 4],
            "flag": [True, False, True, False],
            "region": ["north", "south", None, "north"],
            "opened": pd.to_datetime(["2024-01-01", "2024-06-01", None, "2025-01-01"]),
        }
    )


def test_kinds_and_frame_equals_records(frame: pd.DataFrame) -> None:
    prep = TabularPreprocessor.fit(frame)
    assert [c.kind for c in prep.columns] == [
        "numeric",
        "integer",
        "boolean",
        "categorical",
        "datetime",
    ]
    assert prep.columns[3].categories == ["north", "south"]
    from_frame = prep.transform(frame)
    records = [
        {"amount": 100.0, "count": 1, "flag": True, "region": "north", "opened": "2024-01-01"},
        {"amount": None, "count": 2, "flag": False, "region": "south", "opened": "2024-06-01"},
        {"amount": 250.5, "count": 3, "flag": True, "region": None, "opened": None},
        {"amount": 80.0, "count": 4, "flag": False, "region": "north", "opened": "2025-01-01"},
    ]
    np.testing.assert_array_equal(prep.transform(records), from_frame)
    assert from_frame[0, 4] == pytest.approx(19723.0)  # days from 1970-01-01 to 2024-01-01
    assert np.isnan(from_frame[1, 0]) and np.isnan(from_frame[2, 3])


def test_unseen_category_and_inf_become_missing(frame: pd.DataFrame) -> None:
    prep = TabularPreprocessor.fit(frame)
    row = prep.transform(
        [
            {
                "amount": float("inf"),
                "count": 1,
                "flag": True,
                "region": "mars",
                "opened": "2024-01-01",
                "extra": "ignored",
            }
        ]
    )
    assert np.isnan(row[0, 0]) and np.isnan(row[0, 3])


def test_missing_field_is_named(frame: pd.DataFrame) -> None:
    prep = TabularPreprocessor.fit(frame)
    with pytest.raises(InvalidInputError, match=r"Record 0 lacks the field\(s\) \['region'\]"):
        prep.transform([{"amount": 1, "count": 1, "flag": True, "opened": None}])
    with pytest.raises(InvalidInputError, match="lacks the field"):
        prep.transform(frame.drop(columns=["count"]))


def test_wrong_type_is_named(frame: pd.DataFrame) -> None:
    prep = TabularPreprocessor.fit(frame)
    record = {"amount": "lots", "count": 1, "flag": True, "region": "north", "opened": None}
    with pytest.raises(InvalidInputError, match="Field 'amount' must be a number, got 'lots'"):
        prep.transform([record])


def _columns(records: list[dict]) -> dict[str, list]:
    return {k: [r[k] for r in records] for k in records[0]}


def test_columns_equal_records(frame: pd.DataFrame) -> None:
    """The served shape (column -> values, numbers converted as one block) gives what records
    and frames give, missing values, infinities and unseen categories included."""
    prep = TabularPreprocessor.fit(frame)
    records = [
        {"amount": float("-inf"), "count": 7, "flag": False, "region": "mars", "opened": None},
        {"amount": None, "count": 2, "flag": True, "region": "south", "opened": "2024-06-01"},
        {"amount": 3.25, "count": None, "flag": None, "region": None, "opened": "2025-01-01"},
    ]
    from_columns = prep.transform(_columns(records))
    np.testing.assert_array_equal(from_columns, prep.transform(records))
    assert np.isnan(from_columns[0, 0]) and from_columns[0, 1] == 7.0
    assert np.isnan(from_columns[2, 1]) and np.isnan(from_columns[2, 2])
    empty = prep.transform({k: [] for k in records[0]})
    assert empty.shape == (0, 5)


@pytest.mark.parametrize("bad", ["lots", [5], {"k": 1}])
def test_wrong_type_is_named_in_every_shape(frame: pd.DataFrame, bad: object) -> None:
    prep = TabularPreprocessor.fit(frame)
    good = {"amount": 1.0, "count": 1, "flag": True, "region": "north", "opened": None}
    record = {**good, "count": bad}
    for rows in ([record], [good, record]):  # one row: a list field is not a ragged array
        for data in (rows, _columns(rows)):
            with pytest.raises(InvalidInputError, match="Field 'count' must be a number, got"):
                prep.transform(data)
