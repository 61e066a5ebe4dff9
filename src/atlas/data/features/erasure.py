"""Erase one entity from the feature store: its rows in ingested files and its online records.

In two steps, so that :func:`atlas.data.erasure.erase` can commit the feature store's change in
the same transaction as the datasets' and the erasure record: :func:`rewrite_files` writes each
ingested file that holds the entity anew without it (under a new name) and returns the swaps;
:meth:`FeatureRegistry.replace_file` points the listing at the new file inside that transaction;
only after the commit are the old files deleted and the online records removed
(:func:`finish`). A failure before the commit deletes the new files (:func:`discard`): readers
never see a half-erased view. Views whose source is a dataset are erased through the dataset;
views over external Parquet paths are reported, not modified: ATLAS does not own those files.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from atlas.data.features.store import FeatureStore


@dataclass(frozen=True)
class FileSwap:
    """One ingested file rewritten without the entity (written, not yet listed)."""

    view: str
    old_uri: str
    new_uri: str
    n_rows: int
    removed: int


@dataclass
class FeatureErasure:
    """What erasing one entity changes in the feature store."""

    key: Any
    swaps: list[FileSwap] = field(default_factory=list)
    untouched: list[dict[str, Any]] = field(default_factory=list)


def rewrite_files(store: FeatureStore, key: Any) -> FeatureErasure:
    """Write every ingested file that holds entity ``key`` (compared as text) anew without it."""
    plan = FeatureErasure(key)
    try:
        for name, registered in store.views().items():
            if registered.view.source is not None:
                plan.untouched.append({"view": name, "source": registered.view.source})
                continue
            for uri in store.registry.files(name):
                swap = _rewrite(store, name, registered.entity.join_key, uri, key)
                if swap is not None:
                    plan.swaps.append(swap)
    except BaseException:
        discard(store, plan)
        raise
    return plan


def _rewrite(store: FeatureStore, view: str, join_key: str, uri: str, key: Any) -> FileSwap | None:
    with store.files.open(uri, "rb") as fh:
        table = pq.read_table(fh)
    keep = table.filter(pc.not_equal(pc.cast(table[join_key], "string"), str(key)))
    removed = table.num_rows - keep.num_rows
    if removed == 0:
        return None
    new_uri = f"{view}/part-{uuid.uuid4().hex}.parquet"
    buffer = io.BytesIO()
    pq.write_table(keep, buffer, compression="zstd")
    store.files.write_bytes(new_uri, buffer.getvalue())
    return FileSwap(view, uri, new_uri, keep.num_rows, removed)


def list_swaps(store: FeatureStore, plan: FeatureErasure, session: Session) -> None:
    """Point each view's listing at the rewritten files, inside the caller's transaction."""
    for swap in plan.swaps:
        store.registry.replace_file(swap.view, swap.old_uri, swap.new_uri, swap.n_rows, session)


def discard(store: FeatureStore, plan: FeatureErasure) -> None:
    """Delete the rewritten files of an erasure that did not commit."""
    for swap in plan.swaps:
        store.files.delete(swap.new_uri)


def summary(plan: FeatureErasure) -> dict[str, Any]:
    """What the erasure changes in the files (for the record, before the commit)."""
    files = [{"view": s.view, "file": s.old_uri, "rows_removed": s.removed} for s in plan.swaps]
    return {"files": files, "not_modified": plan.untouched}


def finish(store: FeatureStore, plan: FeatureErasure) -> int:
    """After the commit: delete the old files and the entity's online records (how many)."""
    for swap in plan.swaps:
        store.files.delete(swap.old_uri)
    return store.delete_online(plan.key)


def erase_entity(store: FeatureStore, key: Any) -> dict[str, Any]:
    """Remove entity ``key`` from every view in one transaction; returns what changed."""
    plan = rewrite_files(store, key)
    try:
        with store.registry.db.session() as s:
            list_swaps(store, plan, s)
    except BaseException:
        discard(store, plan)
        raise
    return {**summary(plan), "online_records_removed": finish(store, plan)}
