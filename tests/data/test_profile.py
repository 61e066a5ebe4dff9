import numpy as np
import pandas as pd
import pyarrow as pa

from atlas.data import DatasetStore
from atlas.data.profile import profile


def test_profile_statistics() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, np.nan],
            "c": ["a", "a", "b", None],
            "t": pd.to_datetime(["2024-01-01", "2024-02-01", None, "2024-03-01"]),
            "f": [True, False, True, True],
        }
    )
    cols = {c["name"]: c for c in profile(frame)}
    assert cols["x"]["missing"] == 1 and cols["x"]["missing_rate"] == 0.25
    assert (cols["x"]["min"], cols["x"]["max"], cols["x"]["mean"]) == (1.0, 3.0, 2.0)
    assert cols["c"]["top"] == {"a": 2, "b": 1} and cols["c"]["distinct"] == 2
    assert cols["t"]["kind"] == "datetime" and cols["t"]["min"].startswith("2024-01-01")
    assert cols["f"]["kind"] == "boolean" and cols["f"]["nullable"] is False


class ArrowFrame:
    """Stands for a polars DataFrame: anything that can hand over an Arrow table."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def to_arrow(self) -> pa.Table:
        return self.table


def test_arrow_native_frames_are_accepted(sqlite_settings) -> None:
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    store = DatasetStore.from_settings(sqlite_settings)
    first = store.add(ArrowFrame(table), "t")
    assert first.n_rows == 3
    assert store.add(table.to_pandas(), "t").version == first.version
