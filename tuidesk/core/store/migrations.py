"""Schema versions and the steps between them.

A fresh database gets every table at ``SCHEMA_VERSION``. An older one is first copied beside
itself (``NAME.vN.bak``, SQLite), then runs each step after its version, in order, in one
transaction per step; a newer one is refused, so an old tuidesk never
writes into a database it does not understand. Every release that changes the models adds a
step here and a frozen copy of its schema under tests/data/schemas/.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from peewee import Database, PostgresqlDatabase, SqliteDatabase

from tuidesk.core.errors import StoreError
from tuidesk.core.paths import create_private_file
from tuidesk.core.store.models import ALL_MODELS, SchemaVersion

SCHEMA_VERSION = 3


def _v2_queue_index_and_outbox_events(db: Database) -> None:
    """The queue filters by status and sorts by last activity (and by department); automatic
    mail is queued as an event rendered at send time (Outbox.payload); the response SLA marks
    tickets alerted as overdue (Ticket.overdue_alerted) and finds them by due time."""
    from peewee import BooleanField, TextField
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as run_operations

    migrator = SchemaMigrator.from_database(db)
    run_operations(
        migrator.add_index("ticket", ("status", "last_activity_at"), False),
        migrator.add_index("ticket", ("department_id", "status"), False),
        migrator.add_column("ticket", "overdue_alerted", BooleanField(default=False)),
        migrator.add_index("ticket", ("due_at",), False),
        migrator.add_column("outbox", "payload", TextField(default="")),
        migrator.add_index("outbox", ("recipients", "created_at"), False),
    )


def _v3_full_text_search(db: Database) -> None:
    """Full-text search over messages, ticket subjects and contacts (core.search.schema):
    FTS5 tables kept in step by triggers on SQLite, generated tsvector columns with GIN indexes
    on PostgreSQL; both filled from the rows already stored, so old mail is found too. And a
    message's direction takes eight letters ("event")."""
    from tuidesk.core.search.schema import install

    install(db)
    if isinstance(db, PostgresqlDatabase):
        # "event" entries (who changed what) are five letters; SQLite never enforced the old
        # length of four, PostgreSQL refused them. Widening a varchar rewrites nothing.
        db.execute_sql('ALTER TABLE "message" ALTER COLUMN "direction" TYPE VARCHAR(8)')


# version -> the step that brings a database from version-1 to version.
STEPS: dict[int, Callable[[Database], None]] = {
    2: _v2_queue_index_and_outbox_events,
    3: _v3_full_text_search,
}


def create_schema(db: Database) -> None:
    """Every table of a fresh database at SCHEMA_VERSION, with what the models cannot declare
    (the full-text index: virtual tables and triggers, or generated columns)."""
    from tuidesk.core.search.schema import install

    db.create_tables(ALL_MODELS, safe=True)
    install(db)


def current_version(db: Database) -> int | None:
    """The schema version of ``db``, or None when it has no tuidesk tables at all."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return None
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate(db: Database) -> int:
    """Create or upgrade the schema; return the version the database is now at."""
    version = current_version(db)
    if version is None:
        with db.atomic():
            create_schema(db)
            SchemaVersion.create(version=SCHEMA_VERSION)
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this database is at schema version {version}, newer than this tuidesk "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade tuidesk, or open a different database with --db",
        )
    if version == SCHEMA_VERSION:
        return version  # up to date: nothing to copy, nothing to run
    sqlite = isinstance(db, SqliteDatabase)
    if sqlite and db.database != ":memory:":
        backup = f"{db.database}.v{version}.bak"
        if not os.path.exists(backup):
            create_private_file(Path(backup))  # empty and 0600 before a byte is copied
            db.execute_sql("VACUUM INTO ?", (backup,))  # a consistent copy, taken first
    if sqlite:
        # SQLite changes a column by rebuilding its table; with foreign keys on, dropping the
        # old table would cascade (deleting every message of every ticket). Off, then checked.
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        for step_version in range(version + 1, SCHEMA_VERSION + 1):
            step = STEPS[step_version]
            with db.atomic():
                step(db)
                SchemaVersion.create(version=step_version)
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
    if sqlite:
        broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(
                f"upgrading the database left {len(broken)} broken references "
                f"(first in table {broken[0][0]})",
                hint="restore the backup taken before the upgrade and report this",
            )
    return SCHEMA_VERSION
