"""Read user files into a DataFrame, turning every parser failure into a message that helps."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa

from atlas.core.errors import InvalidInputError

Source: TypeAlias = str | Path | pd.DataFrame | pa.Table | Any  # Any: has .to_arrow()


def read_table(source: Source) -> pd.DataFrame:
    """A DataFrame from a CSV or Parquet path, an Arrow table, a polars frame (anything with
    ``to_arrow()``), or a pandas DataFrame (copied)."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, pa.Table):
        frame = source.to_pandas()
    elif hasattr(source, "to_arrow"):  # polars (and other Arrow-native frames)
        frame = source.to_arrow().to_pandas()
    else:
        frame = _read_file(Path(source))
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise InvalidInputError(
            f"{_label(source)} holds no data ({frame.shape[0]} rows, {frame.shape[1]} columns).",
            hint="Give a file with a header line and at least one row.",
        )
    names = [str(c) for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(f"{_label(source)} has duplicate column names: {dupes}.")
    frame.columns = names
    return frame


def _label(source: Source) -> str:
    return str(source) if isinstance(source, str | Path) else "The table"


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InvalidInputError(f"File not found: {path}.", hint="Check the path and try again.")
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv", ".gz"):
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(path, sep=sep, on_bad_lines="error")
            header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
            frame.columns = [str(c) for c in header]  # pandas renames duplicates to 'a.1'
            return frame
    except pd.errors.EmptyDataError:
        raise InvalidInputError(
            f"{path} is empty.", hint="Give a CSV with a header line and at least one row."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(
            f"{path} is not a well-formed {'Parquet' if suffix in ('.parquet', '.pq') else 'CSV'}"
            f" file: {first}.",
            hint="Fix the file (every row needs as many fields as the header) and add it again.",
        ) from None
    raise InvalidInputError(
        f"Cannot read {path}: unknown file type {suffix or '(none)'}.",
        hint="Use a .csv or .parquet file.",
    )
