"""The embedded online store: one SQLite file, one row per (view, entity).

The table is ``WITHOUT ROWID`` with the primary key (view, key), so a lookup is one B-tree
search; the ``sqlite3`` module caches the prepared statement. WAL mode lets readers go on while
a materialization writes; each thread has its own connection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from atlas.core.errors import ConfigError
from atlas.data.features.online.base import OnlineStore

URL_PREFIX = "sqlite:///"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS atlas_online (view TEXT NOT NULL, key TEXT NOT NULL, "
    "record BLOB NOT NULL, PRIMARY KEY (view, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS atlas_online_layouts (view TEXT NOT NULL, layout INTEGER NOT "
    "NULL, names TEXT NOT NULL, PRIMARY KEY (view, layout))",
)
_GET = "SELECT record FROM atlas_online WHERE view = ? AND key = ?"
_CHUNK = 500


class SQLiteOnlineStore(OnlineStore):
    @classmethod
    def from_url(cls, url: str) -> SQLiteOnlineStore:
        """``sqlite:///path/online.db``."""
        if not url.startswith(URL_PREFIX):
            raise ConfigError(
                f"The SQLite online store URL {url!r} must start with {URL_PREFIX}.",
                hint="Use sqlite:///path/to/online.db.",
            )
        return cls(url[len(URL_PREFIX) :])

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._con()
            for statement in _SCHEMA:
                con.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"Cannot open the online store {self.path}: {exc}.",
                hint="Set ATLAS_ONLINE_STORE_URL to sqlite:///a/writable/file.db or redis://.",
            ) from None

    def __repr__(self) -> str:
        return f"SQLiteOnlineStore({str(self.path)!r})"

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    @contextmanager
    def transaction(self) -> Iterator[None]:
        con = self._con()
        if con.in_transaction:
            yield
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _put(self, view: str, items: Sequence[tuple[str, bytes]]) -> None:
        with self.transaction():
            self._con().executemany(
                "INSERT OR REPLACE INTO atlas_online (view, key, record) VALUES (?, ?, ?)",
                [(view, k, r) for k, r in items],
            )

    def _get(self, view: str, key: str) -> bytes | None:
        row = self._con().execute(_GET, (view, key)).fetchone()
        return None if row is None else row[0]

    def _get_many(self, view: str, keys: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        con = self._con()
        for start in range(0, len(keys), _CHUNK):
            chunk = list(dict.fromkeys(keys[start : start + _CHUNK]))
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, record FROM atlas_online WHERE view = ? AND key IN ({marks})"
            found.update(con.execute(sql, (view, *chunk)).fetchall())
        return [found.get(k) for k in keys]

    def _delete(self, view: str, keys: Sequence[str]) -> int:
        with self.transaction():
            cur = self._con().executemany(
                "DELETE FROM atlas_online WHERE view = ? AND key = ?", [(view, k) for k in keys]
            )
            return max(cur.rowcount, 0)

    def _put_layout(self, view: str, layout: int, names: Sequence[str]) -> None:
        with self.transaction():
            self._con().execute(
                "INSERT OR REPLACE INTO atlas_online_layouts (view, layout, names) VALUES (?,?,?)",
                (view, layout, json.dumps(list(names))),
            )

    def _get_layout(self, view: str, layout: int) -> list[str] | None:
        row = (
            self._con()
            .execute(
                "SELECT names FROM atlas_online_layouts WHERE view = ? AND layout = ?",
                (view, layout),
            )
            .fetchone()
        )
        return None if row is None else list(json.loads(row[0]))

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
