"""Freeze the current schema with sample rows as tests/data/schemas/vN.sql.

Run once per schema version, when a release changes the models:
    .venv/bin/python tests/data/schemas/freeze.py
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from tuidesk.core.store import db as store
from tuidesk.core.store.migrations import SCHEMA_VERSION
from tuidesk.core.store.models import InboundMail, Mailbox, Message, Ticket
from tuidesk.core.tickets import get_or_create_contact, store_blob


def replayable_dump(con: sqlite3.Connection) -> list[str]:
    """``iterdump`` without what it cannot replay: virtual tables (FTS5) are dumped as raw
    writes to sqlite_master plus their rows and shadow tables. They are left out and created
    again at the end with their own statement, then rebuilt from their content tables."""
    virtual = dict(
        con.execute("SELECT name, sql FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
    )
    owned = tuple(virtual)  # FTS5 shadow tables are named after their table: NAME_data…

    def belongs(line: str) -> bool:
        """A row of a virtual table, one of its shadow tables (or their rows), or a raw write."""
        starts = [
            f"{verb} {q}{name}"
            for name in owned
            for verb in ("CREATE TABLE", "INSERT INTO")
            for q in "\"'"
        ]
        return line.startswith(("PRAGMA writable_schema", "INSERT INTO sqlite_master", *starts))

    lines = [line for line in con.iterdump() if not belongs(line)]
    assert lines[-1] == "COMMIT;"
    rebuilt = [f"{sql};" for sql in virtual.values()]
    rebuilt += [f'INSERT INTO "{name}"("{name}") VALUES(\'rebuild\');' for name in virtual]
    return lines[:-1] + rebuilt + ["COMMIT;"]


def main() -> int:
    target = Path(__file__).with_name(f"v{SCHEMA_VERSION}.sql")
    if target.exists() and "--force" not in sys.argv:
        print(f"{target} exists; a released schema is never re-frozen (use --force if unreleased)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.sqlite3"
        store.connect(str(path))
        contact = get_or_create_contact("alice@customer.example", "Alice")
        mailbox = Mailbox.create(
            name="support", address="support@example.com", host="imap.example.com"
        )
        ticket = Ticket.create(
            number=123456, subject="Printer on floor 3", contact=contact, mailbox=mailbox
        )
        raw = (
            b"From: alice@customer.example\r\nSubject: Printer on floor 3\r\n\r\n"
            b"The printer jams.\r\n"
        )
        key = store_blob(raw)
        record = InboundMail.create(
            mailbox=mailbox,
            source_key="imap:INBOX:1:1",
            folder="INBOX",
            uidvalidity=1,
            uid=1,
            message_id="<a@customer.example>",
            sha256=key,
            size=len(raw),
            raw=key,
            state="ticket_created",
            ticket=ticket,
        )
        Message.create(
            ticket=ticket,
            direction="in",
            message_id="<a@customer.example>",
            new_part="The printer jams.",
            full_text="The printer jams.",
            inbound=record,
        )
        Message.create(
            ticket=ticket,
            direction="out",
            message_id="<tuidesk.123456.x@example.com>",
            new_part="We sent a technician.",
            full_text="We sent a technician.",
        )
        store.close()
        con = sqlite3.connect(path)
        target.write_text("\n".join(replayable_dump(con)) + "\n", encoding="utf-8")
        con.close()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
