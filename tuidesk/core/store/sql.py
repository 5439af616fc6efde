"""Hand-written SQL for the ingest hot path, run on whichever database the models are bound to.

Peewee builds SQL anew for every query, which costs more than SQLite takes to run it; the
statements here are written once (with ``?`` placeholders, turned into ``%s`` for PostgreSQL)
and run with new parameters. Only the per-message path uses them; everything else uses the
models. Identifiers are double-quoted, and ``RETURNING`` / ``ON CONFLICT DO NOTHING`` work on
SQLite >= 3.35 and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from peewee import Database, PostgresqlDatabase

from tuidesk.core.store.models import database_proxy
from tuidesk.core.store.postgres import preparable


def _db() -> Database:
    return database_proxy.obj


@lru_cache(maxsize=512)
def _text(sql: str, postgres: bool) -> str:
    return sql.replace("?", "%s") if postgres else sql


def _execute(sql: str, params: Sequence[Any]):
    db = _db()
    if not isinstance(db, PostgresqlDatabase):
        return db.execute_sql(sql, tuple(params))
    text = _text(sql, True)
    prepare = getattr(db, "prepared", None)
    if prepare is not None and preparable(text):
        text = prepare(text)
    return db.execute_sql(text, tuple(params))


def rows(sql: str, *params: Any) -> list[tuple]:
    return list(_execute(sql, params).fetchall())


def row(sql: str, *params: Any) -> tuple | None:
    return _execute(sql, params).fetchone()


def value(sql: str, *params: Any) -> Any:
    found = row(sql, *params)
    return found[0] if found else None


def run(sql: str, *params: Any) -> int:
    return _execute(sql, params).rowcount


def later(sql: str, *params: Any) -> None:
    """Run a write whose result nobody reads: on PostgreSQL, inside a transaction, it travels
    with the next statement instead of costing a round trip of its own (store/postgres.py);
    an error in it is raised by that next statement, within the same transaction."""
    db = _db()
    defer = getattr(db, "defer", None)
    if defer is None:
        _execute(sql, params)
    else:
        defer(_text(sql, True), tuple(params))


def insert(sql: str, *params: Any) -> int | None:
    """Run an INSERT ending in RETURNING "id"; the new id, or None when nothing was inserted."""
    return value(sql, *params)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
