"""A database made by an earlier schema opens, upgrades, and keeps everything it held.

``tests/data/schemas/vN.sql`` is a frozen dump (schema and sample rows) of a database as
schema version N left it. When the models change, add a migration step and a new dump;
this test then proves every older dump upgrades to exactly the schema a new database gets.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tuidesk.core.search import search_tickets
from tuidesk.core.search.schema import check
from tuidesk.core.store import db as store
from tuidesk.core.store.migrations import SCHEMA_VERSION, current_version
from tuidesk.core.store.models import Contact, InboundMail, Mailbox, Message, SchemaVersion, Ticket
from tuidesk.core.tickets import NewMessage, add_message

SCHEMAS = Path(__file__).parent / "data" / "schemas"
DUMPS = sorted(SCHEMAS.glob("v*.sql"), key=lambda p: int(p.stem[1:]))


def declared_type(declared: str) -> str:
    """A column's type as SQLite keeps it: without a length, which SQLite never enforces (a
    wider VARCHAR changes nothing on SQLite, so no upgrade step rebuilds a table for it)."""
    return re.sub(r"\(\d+\)$", "", declared.upper())


def shape(path: Path) -> dict[str, object]:
    """Tables with their columns and indexes: what must match after an upgrade."""
    con = sqlite3.connect(path)
    tables = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out: dict[str, object] = {}
    for table in sorted(tables):
        columns = sorted(
            (row[1], declared_type(row[2]), row[3], row[4], row[5])
            for row in con.execute(f'PRAGMA table_info("{table}")')
        )
        indexes = sorted(
            (tuple(c[2] for c in con.execute(f'PRAGMA index_info("{ix[1]}")')), ix[2])
            for ix in con.execute(f'PRAGMA index_list("{table}")')
        )
        out[table] = (columns, indexes)
    out["triggers"] = sorted(
        r[0] for r in con.execute("SELECT sql FROM sqlite_master WHERE type='trigger'")
    )
    con.close()
    return out


def load_dump(dump: Path, target: Path) -> None:
    con = sqlite3.connect(target)
    con.executescript(dump.read_text(encoding="utf-8"))
    con.close()


def test_there_is_a_frozen_dump_of_every_schema_version() -> None:
    assert [int(p.stem[1:]) for p in DUMPS] == list(range(1, SCHEMA_VERSION + 1))


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.stem)
def test_an_older_database_upgrades_to_the_current_schema(dump: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    load_dump(dump, old)
    database = store.connect(str(old))
    assert current_version(database) == SCHEMA_VERSION
    store.close()
    fresh = tmp_path / "fresh.sqlite3"
    store.connect(str(fresh))
    store.close()
    assert shape(old) == shape(fresh)


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.stem)
def test_an_upgrade_keeps_the_tickets_messages_and_ledger(dump: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    load_dump(dump, old)
    store.connect(str(old))
    ticket = Ticket.get(Ticket.number == 123456)
    assert ticket.subject == "Printer on floor 3"
    assert ticket.contact.email == "alice@customer.example"
    assert [m.new_part for m in ticket.messages.order_by(Message.id)] == [
        "The printer jams.",
        "We sent a technician.",
    ]
    assert Mailbox.get(Mailbox.name == "support").host == "imap.example.com"
    assert InboundMail.get().state == "ticket_created"
    assert Contact.select().count() == 1


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    store.connect(str(path))
    store.close()
    before = shape(path)
    store.connect(str(path))
    store.close()
    assert shape(path) == before


def test_an_upgrade_first_keeps_a_private_copy_of_the_old_database(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    load_dump(DUMPS[0], old)
    store.connect(str(old))
    store.close()
    backup = tmp_path / "old.sqlite3.v1.bak"
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    con = sqlite3.connect(backup)
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    assert con.execute("SELECT COUNT(*) FROM message").fetchone()[0] == 2
    con.close()


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.stem)
def test_an_upgraded_database_finds_its_old_mail_and_indexes_new_mail(
    dump: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old.sqlite3"
    load_dump(dump, old)
    database = store.connect(str(old))
    assert check(database) == []
    assert [row.number for row in search_tickets("jams")] == ["123456"]  # a message
    assert [row.number for row in search_tickets("technician")] == ["123456"]
    assert [row.number for row in search_tickets("floor")] == ["123456"]  # the subject
    assert [row.number for row in search_tickets("alice")] == ["123456"]  # the contact
    assert [row.number for row in search_tickets("from:customer.example")] == ["123456"]
    ticket = Ticket.get(Ticket.number == 123456)
    add_message(NewMessage(ticket=ticket, direction="in", new_part="Now it smokes."))
    assert [row.number for row in search_tickets("smokes")] == ["123456"]
    assert check(database) == []


def test_a_postgresql_database_at_version_2_upgrades_and_finds_its_old_mail(pg_url: str) -> None:
    """No frozen dump for PostgreSQL: the fresh database is taken back to version 2 (the search
    columns and indexes dropped), filled, and opened again."""
    from tuidesk.core.search.schema import PG_COLUMN, SOURCES
    from tuidesk.core.tickets import NewTicket, create_ticket, get_or_create_contact

    database = store.connect(pg_url)
    try:
        for source in SOURCES:
            database.execute_sql(f'ALTER TABLE "{source}" DROP COLUMN "{PG_COLUMN}"')
        database.execute_sql('ALTER TABLE "message" ALTER COLUMN "direction" TYPE VARCHAR(4)')
        SchemaVersion.delete().where(SchemaVersion.version == 3).execute()
        SchemaVersion.create(version=2)
        ticket = create_ticket(
            NewTicket(
                subject="Printer on floor 3",
                contact=get_or_create_contact("alice@customer.example", "Alice"),
            )
        )
        add_message(NewMessage(ticket=ticket, direction="in", new_part="The printer jams."))
        store.close()
        database = store.connect(pg_url)
        assert current_version(database) == SCHEMA_VERSION
        for text in ("jams", "floor", "alice", "from:customer.example"):
            assert [row.ticket_id for row in search_tickets(text)] == [ticket.id], text
        add_message(NewMessage(ticket=ticket, direction="event", new_part="Closed by Olga"))
    finally:
        store.close()


def test_an_up_to_date_database_is_opened_without_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    store.connect(str(path))
    store.close()
    store.connect(str(path))
    store.close()
    assert list(tmp_path.glob("*.bak")) == []
