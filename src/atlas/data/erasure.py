"""Erasure of one entity's rows across every dataset version, with a record of it: all or nothing.

Credit data is personal data: a person may ask to be forgotten. ``erase`` works in three steps.
First it writes, for each dataset version that holds rows where ``key_column == value``, the
version's content without them (files are content-addressed: when the result is byte-identical
to a sibling version, the sibling's file is reused, not written), and likewise the feature
store's ingested files. Then one transaction switches every version (new content hash, row
count and profile), every feature file listing, and adds the erasure record: either all of it
commits or none. Only after the commit are the old files deleted, each one only when no version
points at it any more; a failure before the commit deletes just the files this erasure wrote.

The record keeps a keyed hash of the value (HMAC-SHA256 with the installation's erasure key, see
:func:`erasure_key`), never the value: without the key nobody reverses a small integer id by
trying every id, with it an auditor checks whether an entity was erased (:func:`was_erased`).
Records written before the key existed keep their plain sha256 and say so (``hash_scheme``).
The record lists what changed and, given a ``lineage`` function (the registry's ``trained_on``;
see ``atlas.apps.erasure``), which models were trained on the old data (they still carry what
they learned from it: retrain them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.core.errors import ConfigError, InvalidInputError
from atlas.core.keys import key_file, parse_key
from atlas.core.logging import get_logger
from atlas.core.schema import isoformat
from atlas.core.settings import Settings, get_settings
from atlas.data.datasets import DatasetStore, DatasetVersion, content_hash, to_parquet_bytes
from atlas.data.profile import profile
from atlas.data.tables import DatasetRow, ErasureRow

log = get_logger(__name__)

Lineage = Callable[[str, int], list[dict[str, Any]]]

ERASURE_KEY_FILE = "erasure.key"  # under ATLAS_HOME, unless ATLAS_ERASURE_KEY is set
HMAC_SHA256 = "hmac-sha256"  # the hash scheme of every new record
SHA256 = "sha256"  # unkeyed: records written before migration 0007


@dataclass(frozen=True)
class _Rewrite:
    """One dataset version's content without the entity: its new file, not yet committed."""

    old: DatasetVersion
    digest: str
    uri: str
    n_rows: int
    columns: list[dict[str, Any]]
    removed: int


def erasure_key(settings: Settings | None = None) -> bytes:
    """The installation's erasure key: ``ATLAS_ERASURE_KEY`` (hex) when set, else the key file
    ``erasure.key`` under ``ATLAS_HOME``, created with mode 0600 on first use."""
    s = settings or get_settings()
    if s.erasure_key is not None:
        return parse_key(s.erasure_key.get_secret_value(), "ATLAS_ERASURE_KEY")
    return key_file(s.home / ERASURE_KEY_FILE)


def value_hash(value: Any, key: bytes, scheme: str = HMAC_SHA256) -> str:
    """The hash of ``value`` (compared as text) that a record of ``scheme`` keeps."""
    data = str(value).encode()
    if scheme == SHA256:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def was_erased(
    store: DatasetStore, key_column: str, value: Any, key: bytes | None = None
) -> list[dict[str, Any]]:
    """The erasure records of ``value`` in ``key_column`` (empty when it was never erased),
    each checked by the scheme it was written with; ``key`` defaults to :func:`erasure_key`."""
    key = erasure_key() if key is None else key
    hashes = {scheme: value_hash(value, key, scheme) for scheme in (HMAC_SHA256, SHA256)}
    query = (
        select(ErasureRow)
        .where(ErasureRow.key_column == key_column, ErasureRow.value_sha256.in_(hashes.values()))
        .order_by(ErasureRow.id)
    )
    with store.db.session() as s:
        rows = s.scalars(query).all()
        return [_to_json(r) for r in rows if hashes.get(r.hash_scheme) == r.value_sha256]


def erase(
    store: DatasetStore,
    key_column: str,
    value: Any,
    reason: str,
    datasets: list[str] | None = None,
    features: Any = None,
    lineage: Lineage | None = None,
    key: bytes | None = None,
) -> dict[str, Any]:
    """Remove every row whose ``key_column`` equals ``value`` (compared as text) from the
    dataset versions and, given a ``FeatureStore`` as ``features``, from its ingested files
    and the entity's online records. Nothing changes unless everything does. The record
    keeps the value's HMAC-SHA256 under ``key`` (default: :func:`erasure_key`)."""
    if not reason.strip():
        raise InvalidInputError("An erasure needs a reason (for the record).")
    _same_database(store, features)
    hashed = value_hash(value, erasure_key() if key is None else key)
    written: list[str] = []
    rewrites = _rewrite_datasets(store, key_column, value, datasets, written)
    feature_plan = _rewrite_features(store, features, value, written)
    try:
        trained = [lineage(r.old.name, r.old.version) if lineage else [] for r in rewrites]
        with store.db.session() as s:  # lineage is read before: SQLite has one writer
            affected = _switch(s, rewrites, trained)
            if feature_plan is not None:
                from atlas.data.features.erasure import list_swaps, summary

                list_swaps(features, feature_plan, s)
                affected.append({"feature_store": summary(feature_plan)})
            record = _record(s, key_column, hashed, reason, affected)
    except BaseException:
        _undo(store, features, feature_plan, written)
        raise
    store.delete_unreferenced([r.old.uri for r in rewrites])
    if feature_plan is not None:
        record = _finish_features(store, features, feature_plan, record)
    out = _to_json(record)
    log.info("data.erased", key_column=key_column, datasets=len(rewrites), rows=_rows(rewrites))
    return out


def _same_database(store: DatasetStore, features: Any) -> None:
    if features is not None and features.registry.db.url != store.db.url:
        raise ConfigError(
            "The feature store keeps its registry in another database than the datasets, so "
            "one erasure cannot commit in both at once.",
            hint="Use one ATLAS_DATABASE_URL for both, or erase with --no-features.",
        )


def _rewrite_datasets(
    store: DatasetStore, key_column: str, value: Any, only: list[str] | None, written: list[str]
) -> list[_Rewrite]:
    """Write each affected version's content without the entity; ``written`` lists new files."""
    rewrites: list[_Rewrite] = []
    try:
        for dv in store.list_versions():
            if (only and dv.name not in only) or key_column not in {c["name"] for c in dv.columns}:
                continue
            frame = store.read(dv)
            keep = frame[key_column].astype(str) != str(value)
            if keep.all():
                continue
            rewrites.append(_rewrite(store, dv, frame[keep].reset_index(drop=True), written))
    except BaseException:
        store.delete_unreferenced(written)
        raise
    return rewrites


def _rewrite(
    store: DatasetStore, dv: DatasetVersion, kept: pd.DataFrame, written: list[str]
) -> _Rewrite:
    digest = content_hash(kept)
    uri = f"datasets/{dv.name}/{digest}.parquet"
    columns = profile(kept)
    if not store.artifacts.exists(uri):  # else a sibling version holds this very content
        store.artifacts.write_bytes(uri, to_parquet_bytes(kept))
        written.append(uri)
    return _Rewrite(dv, digest, uri, len(kept), columns, dv.n_rows - len(kept))


def _rewrite_features(store: DatasetStore, features: Any, value: Any, written: list[str]) -> Any:
    if features is None:
        return None
    from atlas.data.features.erasure import rewrite_files

    try:
        return rewrite_files(features, value)
    except BaseException:
        store.delete_unreferenced(written)
        raise


def _switch(
    s: Session, rewrites: list[_Rewrite], trained: list[list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Point every rewritten version at its new file, in the caller's transaction."""
    affected = []
    for r, models in zip(rewrites, trained, strict=True):
        row = s.scalar(
            select(DatasetRow).where(
                DatasetRow.name == r.old.name, DatasetRow.version == r.old.version
            )
        )
        if row is None or row.uri != r.old.uri:
            raise InvalidInputError(
                f"Dataset {r.old.name!r} version {r.old.version} changed during the erasure.",
                hint="Run the erasure again.",
            )
        row.content_hash, row.uri, row.n_rows, row.columns = r.digest, r.uri, r.n_rows, r.columns
        affected.append(
            {
                "dataset": r.old.name,
                "version": r.old.version,
                "rows_removed": r.removed,
                "old_sha256": r.old.content_hash,
                "new_sha256": r.digest,
                "models_trained_on_it": models,
            }
        )
    return affected


def _record(
    s: Session, key_column: str, hashed: str, reason: str, affected: list[dict[str, Any]]
) -> ErasureRow:
    record = ErasureRow(
        key_column=key_column,
        value_sha256=hashed,
        hash_scheme=HMAC_SHA256,
        reason=reason,
        affected=affected,
    )
    s.add(record)
    s.flush()
    return record


def _finish_features(
    store: DatasetStore, features: Any, plan: Any, record: ErasureRow
) -> ErasureRow:
    """Drop the old feature files and the online records, then note their count on the record
    (online stores are not transactional: this runs after the commit, and may run again)."""
    from atlas.data.features.erasure import finish

    removed = finish(features, plan)
    with store.db.session() as s:
        row = s.get(ErasureRow, record.id)
        assert row is not None  # committed above
        entry = dict(row.affected[-1]["feature_store"], online_records_removed=removed)
        row.affected = [*row.affected[:-1], {"feature_store": entry}]
        return row


def _undo(store: DatasetStore, features: Any, feature_plan: Any, written: list[str]) -> None:
    """After a rollback: delete what this erasure wrote (never a file a version still uses)."""
    store.delete_unreferenced(written)
    if feature_plan is not None:
        from atlas.data.features.erasure import discard

        discard(features, feature_plan)


def _rows(rewrites: list[_Rewrite]) -> int:
    return sum(r.removed for r in rewrites)


def _to_json(r: ErasureRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "key_column": r.key_column,
        "value_sha256": r.value_sha256,
        "hash_scheme": r.hash_scheme,
        "reason": r.reason,
        "affected": list(r.affected),
        "created_at": isoformat(r.created_at),
    }


def erasures(store: DatasetStore) -> list[dict[str, Any]]:
    with store.db.session() as s:
        return [_to_json(r) for r in s.scalars(select(ErasureRow).order_by(ErasureRow.id))]
