"""Erase one entity from the feature store: its rows in ingested files and its online records.

Each ingested file that holds the entity is rewritten without it under a new name, the listing
is switched to the new file, then the old file is deleted (readers never see a half-erased
file). Views whose source is a dataset are erased through the dataset (``atlas data erase``);
views over external Parquet paths are reported, not modified: ATLAS does not own those files.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from atlas.data.features.store import FeatureStore


def erase_entity(store: FeatureStore, key: Any) -> dict[str, Any]:
    """Remove entity ``key`` (compared as text) from every view; returns what changed."""
    files: list[dict[str, Any]] = []
    untouched: list[dict[str, Any]] = []
    for name, registered in store.views().items():
        join_key = registered.entity.join_key
        if registered.view.source is not None:
            untouched.append({"view": name, "source": registered.view.source})
            continue
        for uri in store.registry.files(name):
            with store.files.open(uri, "rb") as fh:
                table = pq.read_table(fh)
            keep = table.filter(pc.not_equal(pc.cast(table[join_key], "string"), str(key)))
            removed = table.num_rows - keep.num_rows
            if removed == 0:
                continue
            new_uri = f"{name}/part-{uuid.uuid4().hex}.parquet"
            buffer = io.BytesIO()
            pq.write_table(keep, buffer, compression="zstd")
            store.files.write_bytes(new_uri, buffer.getvalue())
            try:
                store.registry.replace_file(name, uri, new_uri, keep.num_rows)
            except BaseException:
                store.files.delete(new_uri)
                raise
            store.files.delete(uri)
            files.append({"view": name, "file": uri, "rows_removed": removed})
    online = store.delete_online(key)
    return {"files": files, "online_records_removed": online, "not_modified": untouched}
