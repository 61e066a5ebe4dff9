"""Versioned datasets: Parquet in the artifact store, one row per version in the metadata DB.

A version is identified by its content hash: adding the same content twice returns the existing
version instead of making a new one. The Parquet file is written before the row; a failed write
leaves neither.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.database import Database, open_database
from atlas.core.errors import IntegrityError, InvalidInputError, NotFoundError
from atlas.core.logging import get_logger
from atlas.core.names import check_name
from atlas.core.schema import DatasetRow, isoformat
from atlas.core.settings import Settings, get_settings
from atlas.data.reading import Source, read_table
from atlas.data.schema import infer_columns

log = get_logger(__name__)


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    version: int
    content_hash: str
    uri: str
    n_rows: int
    n_columns: int
    columns: list[dict[str, Any]]
    source: str
    created_at: datetime
    created: bool = True

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = isoformat(self.created_at)
        return out


def content_hash(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and every cell (row order matters)."""
    digest = hashlib.sha256()
    for name in frame.columns:
        digest.update(f"{name}\x00{frame[name].dtype}\x00".encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64).tobytes())
    return digest.hexdigest()


def _from_row(row: DatasetRow, created: bool) -> DatasetVersion:
    return DatasetVersion(
        name=row.name,
        version=row.version,
        content_hash=row.content_hash,
        uri=row.uri,
        n_rows=row.n_rows,
        n_columns=row.n_columns,
        columns=list(row.columns),
        source=row.source,
        created_at=row.created_at,
        created=created,
    )


class DatasetStore:
    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self.db = db
        self.artifacts = artifacts

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DatasetStore:
        s = settings or get_settings()
        return cls(open_database(s.database_url), open_artifacts(s.artifacts_url))

    def add(self, source: Source, name: str) -> DatasetVersion:
        """Add ``source`` as a new version of ``name`` (or return the identical one)."""
        check_name("dataset", name)
        frame = read_table(source)
        digest = content_hash(frame)
        with self.db.session() as s:
            same = s.scalar(
                select(DatasetRow).where(DatasetRow.name == name, DatasetRow.content_hash == digest)
            )
            if same is not None:
                return _from_row(same, created=False)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        key = f"datasets/{name}/{digest}.parquet"
        self.artifacts.write_bytes(key, buffer.getvalue())
        label = str(source) if not isinstance(source, pd.DataFrame) else "DataFrame"
        try:
            with self.db.session() as s:
                latest = s.scalar(
                    select(func.max(DatasetRow.version)).where(DatasetRow.name == name)
                )
                row = DatasetRow(
                    name=name,
                    version=(latest or 0) + 1,
                    content_hash=digest,
                    uri=key,
                    n_rows=len(frame),
                    n_columns=frame.shape[1],
                    columns=infer_columns(frame),
                    source=label[:1000],
                )
                s.add(row)
                s.flush()
                added = _from_row(row, created=True)
            log.info(
                "dataset.added",
                dataset=name,
                version=added.version,
                rows=added.n_rows,
                sha256=digest,
            )
            return added
        except sa_exc.IntegrityError:
            # a concurrent add of the same content or version number won: report theirs
            with self.db.session() as s:
                same = s.scalar(
                    select(DatasetRow).where(
                        DatasetRow.name == name, DatasetRow.content_hash == digest
                    )
                )
            if same is None:
                raise
            return _from_row(same, created=False)
        except BaseException:
            self.artifacts.delete(key)
            raise

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (the newest if ``version`` is None)."""
        with self.db.session() as s:
            stmt = select(DatasetRow).where(DatasetRow.name == name)
            if version is not None:
                stmt = stmt.where(DatasetRow.version == version)
            row = s.scalar(stmt.order_by(DatasetRow.version.desc()).limit(1))
            if row is None:
                known = s.scalars(select(DatasetRow.name).distinct().order_by(DatasetRow.name))
                names = ", ".join(list(known)[:20]) or "none yet"
                what = f"version {version} of dataset {name!r}" if version else f"dataset {name!r}"
                raise NotFoundError(
                    f"There is no {what}.",
                    hint=f"Known datasets: {names}. Add one with: atlas data add PATH --name NAME",
                )
            return _from_row(row, created=False)

    def list(self) -> list[DatasetVersion]:
        with self.db.session() as s:
            rows = s.scalars(select(DatasetRow).order_by(DatasetRow.name, DatasetRow.version))
            return [_from_row(r, created=False) for r in rows]

    def load(self, name: str, version: int | None = None) -> tuple[DatasetVersion, pd.DataFrame]:
        dv = self.get(name, version)
        with self.artifacts.open(dv.uri, "rb") as fh:
            frame = pd.read_parquet(fh)
        if content_hash(frame) != dv.content_hash:
            raise IntegrityError(
                f"Dataset {name} v{dv.version} does not match its recorded content hash.",
                hint="Restore the file from a backup or add the data again.",
            )
        return dv, frame


def check_target(frame: pd.DataFrame, target: str) -> None:
    if target not in frame.columns:
        raise InvalidInputError(
            f"The dataset has no column {target!r}.",
            hint=f"Its columns are: {', '.join(map(str, frame.columns))}.",
        )
