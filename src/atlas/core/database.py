"""The metadata database: SQLAlchemy 2 engine, sessions and Alembic migrations.

``sqlite:///path`` is the embedded default; ``postgresql://`` is production. The same code and
the same migrations run on both (tests/core/test_database.py is their shared conformance suite).

A database that cannot be reached, read or written is a :class:`DatabaseUnavailableError`
(503 on a server, one line in the CLI), whatever the backend says: a read-only SQLite file or
folder, a SQLite file deleted or replaced under a running process (its open connections would
otherwise go on writing to the deleted file, and every write would be lost), a PostgreSQL
server that is down or a transaction that is read-only. A value the database refuses (a NUL
byte, a string past its column's length) is an :class:`InvalidInputError`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from atlas.core.errors import (
    ConfigError,
    DatabaseUnavailableError,
    InvalidInputError,
    MissingDependencyError,
)

_MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "atlas_alembic_version"
READ_ONLY_SQLSTATE = "25006"  # PostgreSQL: read_only_sql_transaction
# a write that changes nothing, rolled back: whether the database takes writes now
BUSY_TIMEOUT_MS = 30_000  # SQLite: how long a writer queues for the lock
PROBE_TIMEOUT_MS = 2_000  # how long the write probe waits for a busy writer
_WRITE_PROBE = f"UPDATE {VERSION_TABLE} SET version_num = version_num"


def normalize_url(url: str) -> str:
    """Pick the installed PostgreSQL driver for a plain ``postgresql://`` URL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        if importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url[len("postgresql://") :]
        if importlib.util.find_spec("psycopg2") is None:
            raise MissingDependencyError("psycopg", "postgres")
    return url


def masked(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue, not fail."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine plus a session factory over one metadata database."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise ConfigError(
                f"The database URL {url!r} is not a valid SQLAlchemy URL.",
                hint="Use sqlite:///path/to/atlas.db or postgresql://user@host:5432/dbname.",
            ) from None
        self.dialect = parsed.get_backend_name()
        self._file: SQLiteFile | None = None
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self._file = SQLiteFile(Path(parsed.database))
                try:
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseUnavailableError(
                        f"Cannot create the folder of the SQLite database {parsed.database}: "
                        f"{exc.strerror or exc}.",
                        hint="Set ATLAS_HOME or ATLAS_DATABASE_URL to a writable place.",
                    ) from None
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif self.dialect == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 5}
        try:
            self.engine = create_engine(self.url, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"No driver for the database URL {masked(url)}: {exc}.",
                hint="Use sqlite:/// or postgresql:// (pip install 'atlas-ml[postgres]').",
            ) from None
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({masked(self.url)!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        self._check_file()
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            raise self._translate(exc) from None

    def ping(self) -> None:
        """Open one connection or raise :class:`DatabaseUnavailableError`."""
        self._check_file()
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            raise self._unavailable(exc) from None

    def check_writable(self) -> None:
        """Raise :class:`DatabaseUnavailableError` unless a write would succeed now (a write
        that changes nothing, rolled back; needs the migrated schema)."""
        self._check_file()
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                if self.dialect == "sqlite":  # wait for a busy writer briefly, not 30 s
                    raw.execute(f"PRAGMA busy_timeout={PROBE_TIMEOUT_MS}")
                try:
                    if self.dialect == "postgresql":
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {PROBE_TIMEOUT_MS}")
                    conn.exec_driver_sql(_WRITE_PROBE)
                finally:
                    conn.rollback()
                    if self.dialect == "sqlite":
                        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except DBAPIError as exc:
            raise self._unavailable(exc) from None

    def _check_file(self) -> None:
        if self._file is not None and self._file.check():
            self.engine.dispose()  # a restored file: connections to the old one must go

    def _translate(self, exc: DBAPIError) -> Exception:
        """Our error for a failure of the database, or ``exc`` itself for one of ours."""
        if isinstance(exc, DataError):
            return InvalidInputError(
                f"The metadata database refused a value: {_reason(exc)}.",
                hint="Use shorter names and text without NUL characters.",
            )
        read_only = getattr(exc.orig, "sqlstate", None) == READ_ONLY_SQLSTATE
        if isinstance(exc, OperationalError) or exc.connection_invalidated or read_only:
            return self._unavailable(exc)
        return exc

    def _unavailable(self, exc: DBAPIError) -> DatabaseUnavailableError:
        if getattr(exc.orig, "sqlstate", None) == READ_ONLY_SQLSTATE:
            hint = (
                "The server takes no writes (a standby, or default_transaction_read_only): set "
                "ATLAS_DATABASE_URL to the primary."
            )
        elif self._file is not None:
            hint = (
                f"Check that {self._file.path} and its folder exist and are writable, or set "
                "ATLAS_DATABASE_URL to a database that is."
            )
        else:
            hint = "Start the database server or set ATLAS_DATABASE_URL to one that is running."
        return DatabaseUnavailableError(
            f"Cannot use the metadata database at {masked(self.url)}: {_reason(exc)}.", hint=hint
        )

    # -- migrations ---------------------------------------------------------------------
    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        return cfg

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is already there."""
        self.ping()
        if self.current_revision() == self.head_revision():
            return
        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip() if exc.orig else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


class SQLiteFile:
    """The identity (device, inode) of a SQLite file, to tell when it was deleted or replaced
    under the connections that have it open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None  # None: not created yet

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def check(self) -> bool:
        """True when the file was replaced since it was last seen (then the new one counts);
        raises :class:`DatabaseUnavailableError` while it is deleted."""
        now = self._stat()
        if self._identity is None or now == self._identity:
            self._identity = now
            return False
        if now is None:
            raise DatabaseUnavailableError(
                f"The SQLite database {self.path} was deleted while ATLAS was using it; "
                "nothing was written.",
                hint="Restore the file from a backup and restart the process.",
            )
        self._identity = now
        return True


_open: dict[str, Database] = {}
_lock = threading.Lock()


def open_database(url: str) -> Database:
    """The process-wide :class:`Database` for ``url``, migrated to the newest schema."""
    with _lock:
        db = _open.get(url)
        if db is None:
            db = Database(url)
            db.migrate()
            _open[url] = db
        return db


def close_all() -> None:
    """Dispose every engine opened by :func:`open_database` (tests, forked workers)."""
    with _lock:
        for db in _open.values():
            db.dispose()
        _open.clear()
