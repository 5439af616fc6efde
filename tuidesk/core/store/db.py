"""Open the database named by a path or URL, bind the models to it, and bring it up to date.

SQLite (the default) runs in WAL mode with foreign keys on and a busy timeout, so the TUI and a
cron poller can share one file. ``postgresql://`` URLs go through playhouse.db_url.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, OperationalError, SqliteDatabase

from tuidesk.core.errors import StoreError
from tuidesk.core.paths import create_private_file
from tuidesk.core.redact import redact
from tuidesk.core.store.migrations import migrate
from tuidesk.core.store.models import database_proxy


def describe_url(url: str) -> str:
    """The URL as it may be shown: any password in it masked."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":••••••@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _sqlite_path(target: str) -> Path | None:
    if target.startswith("sqlite:///"):
        return Path(target[len("sqlite:///") :])
    if "://" not in target:
        return Path(target).expanduser()
    return None


def connect(target: str, *, busy_timeout_ms: int = 5000, upgrade: bool = True) -> Database:
    """Open ``target`` (a file path or a URL), bind every model to it and migrate it."""
    path = _sqlite_path(target)
    try:
        db = _open_sqlite(path, busy_timeout_ms) if path is not None else _open_url(target)
        database_proxy.initialize(db)
        db.connect(reuse_if_open=True)
        if upgrade:
            migrate(db)
    except StoreError:
        raise
    except (OperationalError, sqlite3.Error, OSError) as exc:
        raise StoreError(
            f"the database {describe_url(target)} cannot be opened ({redact(str(exc))})",
            hint="check the path or URL, its permissions and free disk space",
        ) from None
    return db


def _open_sqlite(path: Path, busy_timeout_ms: int) -> SqliteDatabase:
    if str(path) != ":memory:":
        path = path.resolve()
        if not path.exists():
            create_private_file(path)  # the database may hold mailbox passwords
    return SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": busy_timeout_ms,
            "synchronous": "normal",
            "cache_size": -32 * 1024,
        },
        timeout=busy_timeout_ms / 1000,
        check_same_thread=False,
    )


def _open_url(url: str) -> Database:
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "postgresext", "postgresqlext"}:
        raise StoreError(
            f"the database URL scheme '{scheme}' is not supported",
            hint="use a file path, sqlite:///PATH or postgresql://USER@HOST/DB",
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise StoreError(
            "PostgreSQL needs the psycopg2 driver",
            hint="install it with `pip install 'tuidesk[postgres]'`",
        ) from None
    from playhouse.db_url import parse

    from tuidesk.core.store.postgres import PostgresStore

    return PostgresStore(**parse(url))


def ensure_connected(db: Database) -> None:
    """Before a unit of work (a poll, an outbox run): a PostgreSQL connection lost while idle is
    reopened here, so it costs nothing; SQLite has no connection to lose."""
    check = getattr(db, "ensure_connected", None)
    if check is not None:
        check()


def close() -> None:
    """Close the bound database; SQLite first refreshes its planner statistics."""
    db = database_proxy.obj
    if db is None or db.is_closed():
        return
    if isinstance(db, SqliteDatabase):
        with contextlib.suppress(OperationalError, sqlite3.Error):
            db.execute_sql("PRAGMA optimize")
    db.close()
