"""Erasure of one entity's rows across every dataset version, with a record of it.

Credit data is personal data: a person may ask to be forgotten. ``erase`` rewrites each dataset
version that holds rows where ``key_column == value``: the new Parquet file is written first,
then the version's row is switched to it (new content hash, row count and profile) in one
transaction, then the old file is deleted. The erasure record keeps the sha256 of the value,
never the value, and lists what changed and which models were trained on the old data (they
still carry what they learned from it: retrain them).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from atlas.core.errors import InvalidInputError
from atlas.core.logging import get_logger
from atlas.core.schema import DatasetRow, ErasureRow, isoformat
from atlas.data.datasets import DatasetStore, content_hash, to_parquet_bytes
from atlas.data.profile import profile

log = get_logger(__name__)


def value_hash(value: Any) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def erase(
    store: DatasetStore,
    key_column: str,
    value: Any,
    reason: str,
    datasets: list[str] | None = None,
    features: Any = None,
) -> dict[str, Any]:
    """Remove every row whose ``key_column`` equals ``value`` (compared as text) from the
    dataset versions and, given a ``FeatureStore`` as ``features``, from its ingested files
    and the entity's online records."""
    if not reason.strip():
        raise InvalidInputError("An erasure needs a reason (for the record).")
    affected: list[dict[str, Any]] = []
    for dv in store.list_versions():
        if datasets and dv.name not in datasets:
            continue
        if key_column not in {c["name"] for c in dv.columns}:
            continue
        frame = store.read(dv)
        keep = frame[key_column].astype(str) != str(value)
        removed = int((~keep).sum())
        if removed == 0:
            continue
        kept = frame[keep].reset_index(drop=True)
        digest = content_hash(kept)
        key = f"datasets/{dv.name}/{digest}.parquet"
        store.artifacts.write_bytes(key, to_parquet_bytes(kept))
        try:
            with store.db.session() as s:
                row = s.scalar(
                    select(DatasetRow).where(
                        DatasetRow.name == dv.name, DatasetRow.version == dv.version
                    )
                )
                assert row is not None
                row.content_hash, row.uri, row.n_rows = digest, key, len(kept)
                row.columns = profile(kept)
        except BaseException:
            store.artifacts.delete(key)
            raise
        store.artifacts.delete(dv.uri)
        affected.append(
            {
                "dataset": dv.name,
                "version": dv.version,
                "rows_removed": removed,
                "old_sha256": dv.content_hash,
                "new_sha256": digest,
                "models_trained_on_it": store.models_trained_on(dv.name, dv.version),
            }
        )
    if features is not None:
        from atlas.data.features.erasure import erase_entity

        affected.append({"feature_store": erase_entity(features, value)})
    with store.db.session() as s:
        record = ErasureRow(
            key_column=key_column, value_sha256=value_hash(value), reason=reason, affected=affected
        )
        s.add(record)
        s.flush()
        out = {
            "id": record.id,
            "key_column": key_column,
            "value_sha256": record.value_sha256,
            "reason": reason,
            "affected": affected,
            "created_at": isoformat(record.created_at),
        }
    log.info(
        "data.erased",
        key_column=key_column,
        datasets=len(affected),
        rows=sum(a.get("rows_removed", 0) for a in affected),
    )
    return out


def erasures(store: DatasetStore) -> list[dict[str, Any]]:
    with store.db.session() as s:
        rows = s.scalars(select(ErasureRow).order_by(ErasureRow.id))
        return [
            {
                "id": r.id,
                "key_column": r.key_column,
                "value_sha256": r.value_sha256,
                "reason": r.reason,
                "affected": r.affected,
                "created_at": isoformat(r.created_at),
            }
            for r in rows
        ]
