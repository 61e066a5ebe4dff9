"""The record of AutoML runs in the metadata database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from atlas.automl.tables import RunRow
from atlas.core.database import Database, open_database
from atlas.core.errors import NotFoundError
from atlas.core.schema import isoformat, utcnow
from atlas.core.settings import Settings, get_settings


class RunLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RunLog:
        return cls(open_database((settings or get_settings()).database_url))

    def start(
        self, run_id: str, dataset: str, version: int, study: str, params: dict[str, Any]
    ) -> None:
        with self.db.session() as s:
            s.add(
                RunRow(
                    id=run_id,
                    kind="automl",
                    status="running",
                    dataset_name=dataset,
                    dataset_version=version,
                    study_name=study,
                    params=params,
                    result={},
                )
            )

    def finish(self, run_id: str, result: dict[str, Any]) -> None:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            assert row is not None
            row.status, row.result, row.finished_at = "finished", result, utcnow()

    def fail(self, run_id: str, exc: BaseException) -> None:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is not None:
                row.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                row.error = f"{type(exc).__name__}: {exc}"[:4000]
                row.finished_at = utcnow()

    def get(self, run_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFoundError(f"There is no AutoML run {run_id!r}.")
            return _to_json(row)

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(RunRow).order_by(RunRow.started_at.desc()).limit(limit))
            return [_to_json(r) for r in rows]


def _to_json(row: RunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "dataset": row.dataset_name,
        "dataset_version": row.dataset_version,
        "study_name": row.study_name,
        "params": row.params,
        "result": row.result,
        "error": row.error,
        "started_at": isoformat(row.started_at),
        "finished_at": isoformat(row.finished_at) if row.finished_at else None,
    }
