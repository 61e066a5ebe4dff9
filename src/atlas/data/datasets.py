"""Versioned datasets: Parquet in the artifact store, one row per version in the metadata DB.

A version is identified by its content hash: adding the same content twice returns the existing
version instead of making a new one. Each new version is profiled and checked against the
dataset's quality rules; a failing version is kept but marked ``failed``, and training refuses
it unless forced. The Parquet file is written before the row; a failed write leaves neither.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from atlas.core.artifacts import ArtifactStore, open_artifacts
from atlas.core.database import Database, open_database
from atlas.core.errors import (
    AtlasError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
)
from atlas.core.logging import get_logger
from atlas.core.names import check_name
from atlas.core.schema import isoformat, utcnow
from atlas.core.settings import Settings, get_settings
from atlas.core.versions import parse_version
from atlas.data.profile import profile, schema_changes
from atlas.data.quality import Rule, check, parse_rules
from atlas.data.reading import Source, read_table
from atlas.data.tables import DatasetRow, DatasetRulesRow
from atlas.data.verdicts import refusal

log = get_logger(__name__)
STRICT_HINT = "Nothing was stored. Fix the data, or change the rules (atlas data rules)."
FORCE_HINT = "Fix the data and add a new version, or pass --force to train anyway."


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
    status: str = "unchecked"
    checks: dict[str, Any] | None = None
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


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _same_content(s: Session, name: str, digest: str) -> DatasetRow | None:
    stmt = select(DatasetRow).where(DatasetRow.name == name, DatasetRow.content_hash == digest)
    return s.scalar(stmt.order_by(DatasetRow.version).limit(1))


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
        status=row.status,
        checks=row.checks,
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

    # -- versions ------------------------------------------------------------------------
    def add(self, source: Source, name: str, strict: bool = False) -> DatasetVersion:
        """Add ``source`` as a new version of ``name`` (or return the identical one). With
        ``strict``, a version that fails a quality rule is refused (a
        :class:`~atlas.data.verdicts.QualityCheckFailed`) and nothing is stored."""
        check_name("dataset", name)
        frame = read_table(source)
        digest = content_hash(frame)
        same = self.find_content(name, digest)
        if same is not None:
            return same
        columns = profile(frame)
        checks = self._checks(name, frame, columns)
        if strict and checks["status"] == "failed":
            raise refusal(name, None, checks["results"], STRICT_HINT)
        key = f"datasets/{name}/{digest}.parquet"
        label = str(source) if not isinstance(source, pd.DataFrame) else "DataFrame"
        try:
            self.artifacts.write_bytes(key, to_parquet_bytes(frame))
            with self.db.session() as s:
                if (meanwhile := _same_content(s, name, digest)) is not None:
                    return _from_row(meanwhile, created=False)  # its file is this very one
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
                    columns=columns,
                    source=label[:1000],
                    status=checks["status"],
                    checks=checks,
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
                status=added.status,
            )
            return added
        except sa_exc.IntegrityError:
            # a concurrent add of the same content won: report theirs
            if (found := self.find_content(name, digest)) is None:
                self._discard(key)
                raise
            return found
        except BaseException:
            self._discard(key)
            raise

    def _discard(self, key: str) -> None:
        """Delete the file of a version whose row was not written (unless another version
        uses it) and its folder if that is left empty. A database that cannot say whether
        another version uses the file keeps it: a used file is never deleted."""
        try:
            self.delete_unreferenced([key])
        except AtlasError as exc:
            log.warning("dataset.cleanup_failed", uri=key, error=str(exc))
            return
        self.artifacts.prune(posixpath.dirname(key))

    def find_content(self, name: str, digest: str) -> DatasetVersion | None:
        """The oldest version of ``name`` whose content hash is ``digest``, if any."""
        with self.db.session() as s:
            same = _same_content(s, name, digest)
            return None if same is None else _from_row(same, created=False)

    def delete_unreferenced(self, uris: list[str]) -> list[str]:
        """Delete the files no dataset version points at any more (files are content-addressed:
        two versions with the same content share one); returns the ones deleted."""
        if not uris:
            return []
        with self.db.session() as s:
            used = set(s.scalars(select(DatasetRow.uri).where(DatasetRow.uri.in_(uris))))
        gone = [uri for uri in dict.fromkeys(uris) if uri not in used]
        for uri in gone:
            self.artifacts.delete(uri)
        return gone

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (the newest if ``version`` is None)."""
        with self.db.session() as s:
            stmt = select(DatasetRow).where(DatasetRow.name == name)
            if version is not None:
                version = parse_version(version, "dataset version")
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

    def list_versions(self) -> list[DatasetVersion]:
        with self.db.session() as s:
            rows = s.scalars(select(DatasetRow).order_by(DatasetRow.name, DatasetRow.version))
            return [_from_row(r, created=False) for r in rows]

    def load(self, name: str, version: int | None = None) -> tuple[DatasetVersion, pd.DataFrame]:
        dv = self.get(name, version)
        return dv, self.read(dv)

    def read(self, dv: DatasetVersion) -> pd.DataFrame:
        """The rows of a version, checked against its content hash."""
        with self.artifacts.open(dv.uri, "rb") as fh:
            frame = pd.read_parquet(fh)
        if content_hash(frame) != dv.content_hash:
            raise IntegrityError(
                f"Dataset {dv.name} v{dv.version} does not match its recorded content hash.",
                hint="Restore the file from a backup or add the data again.",
            )
        return frame

    def require_usable(
        self, name: str, version: int | None = None, force: bool = False
    ) -> DatasetVersion:
        """The version, unless it failed its quality checks (then an error, unless forced)."""
        dv = self.get(name, version)
        if dv.status == "failed" and not force:
            results = (dv.checks or {}).get("results", [])
            raise refusal(name, dv.version, results, FORCE_HINT)
        return dv

    # -- quality -------------------------------------------------------------------------
    def set_rules(self, name: str, raw_rules: Any) -> list[Rule]:
        """Declare (replace) the quality rules of ``name``; they apply from the next version."""
        check_name("dataset", name)
        rules = parse_rules(raw_rules)
        with self.db.session() as s:
            row = s.get(DatasetRulesRow, name)
            dumped = [r.model_dump() for r in rules]
            if row is None:
                s.add(DatasetRulesRow(name=name, rules=dumped))
            else:
                row.rules, row.updated_at = dumped, utcnow()
        return rules

    def rules(self, name: str) -> list[Rule]:
        with self.db.session() as s:
            row = s.get(DatasetRulesRow, name)
            return parse_rules(row.rules) if row else []

    def check(self, name: str, version: int | None = None) -> DatasetVersion:
        """Re-run the current rules on an existing version and store the verdict."""
        dv = self.get(name, version)
        frame = self.read(dv)
        verdict = self._checks(name, frame, dv.columns, before=dv.version)
        with self.db.session() as s:
            row = s.scalar(
                select(DatasetRow).where(DatasetRow.name == name, DatasetRow.version == dv.version)
            )
            assert row is not None
            row.status, row.checks = verdict["status"], verdict
            return _from_row(row, created=False)

    def _checks(
        self,
        name: str,
        frame: pd.DataFrame,
        columns: list[dict[str, Any]],
        before: int | None = None,
    ) -> dict[str, Any]:
        rules = self.rules(name)
        previous, previous_frame = self._previous(name, before), None
        if previous is not None and any(r.type in ("row_count_change", "drift") for r in rules):
            previous_frame = self.read(previous)
        changes = schema_changes(previous.columns, columns) if previous else None
        results = check(
            rules, frame, previous_frame, previous.columns if previous else None, columns
        )
        status = (
            "unchecked"
            if not rules
            else ("passed" if all(r["passed"] for r in results) else "failed")
        )
        return {
            "status": status,
            "results": results,
            "compared_with": previous.version if previous else None,
            "schema_changes": changes,
        }

    def _previous(self, name: str, before: int | None) -> DatasetVersion | None:
        with self.db.session() as s:
            stmt = select(DatasetRow).where(DatasetRow.name == name)
            if before is not None:
                stmt = stmt.where(DatasetRow.version < before)
            row = s.scalar(stmt.order_by(DatasetRow.version.desc()).limit(1))
            return _from_row(row, created=False) if row else None


def check_target(frame: pd.DataFrame, target: str) -> None:
    if target not in frame.columns:
        raise InvalidInputError(
            f"The dataset has no column {target!r}.",
            hint=f"Its columns are: {', '.join(map(str, frame.columns))}.",
        )
