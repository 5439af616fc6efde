"""Schema versions and the steps between them.

A fresh database gets every table at ``SCHEMA_VERSION``. An older one runs each step after its
version, in order, in one transaction per step; a newer one is refused, so an old tuidesk never
writes into a database it does not understand. Every release that changes the models adds a
step here and a frozen copy of its schema under tests/data/schemas/.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Database

from tuidesk.core.errors import StoreError
from tuidesk.core.store.models import ALL_MODELS, SchemaVersion

SCHEMA_VERSION = 2


def _v2_queue_index_and_outbox_events(db: Database) -> None:
    """The queue filters by status and sorts by last activity: one index serves both.
    Automatic mail is queued as an event and rendered at send time (Outbox.payload)."""
    from peewee import TextField
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as run_operations

    migrator = SchemaMigrator.from_database(db)
    run_operations(
        migrator.add_index("ticket", ("status", "last_activity_at"), False),
        migrator.add_index("ticket", ("department_id", "status"), False),
        migrator.add_column("outbox", "payload", TextField(default="")),
        migrator.add_index("outbox", ("recipients", "created_at"), False),
    )


# version -> the step that brings a database from version-1 to version.
STEPS: dict[int, Callable[[Database], None]] = {2: _v2_queue_index_and_outbox_events}


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
            db.create_tables(ALL_MODELS, safe=True)
            SchemaVersion.create(version=SCHEMA_VERSION)
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this database is at schema version {version}, newer than this tuidesk "
            f"understands ({SCHEMA_VERSION})",
            hint="upgrade tuidesk, or open a different database with --db",
        )
    for step_version in range(version + 1, SCHEMA_VERSION + 1):
        step = STEPS[step_version]
        with db.atomic():
            step(db)
            SchemaVersion.create(version=step_version)
    return SCHEMA_VERSION
