"""The metadata database: SQLAlchemy 2 engine, sessions and Alembic migrations.

``sqlite:///path`` is the embedded default; ``postgresql://`` is production. The same code and
the same migrations run on both (tests/core/test_database.py is their shared conformance suite).
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
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from atlas.core.errors import ConfigError, DatabaseUnavailableError, MissingDependencyError

_MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "atlas_alembic_version"


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
        cur.execute("PRAGMA busy_timeout=30000")
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
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
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
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_connect_error(exc):
                raise self._unavailable(exc) from None
            raise

    def ping(self) -> None:
        """Open one connection or raise :class:`DatabaseUnavailableError`."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: DBAPIError) -> DatabaseUnavailableError:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return DatabaseUnavailableError(
            f"Cannot reach the metadata database at {masked(self.url)}: {reason}.",
            hint="Start the database server or set ATLAS_DATABASE_URL to one that is running.",
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


def _is_connect_error(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(s in text for s in ("could not connect", "connection refused", "unable to open"))


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
