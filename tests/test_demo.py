"""The demo data: a small, believable helpdesk that a newcomer can explore."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peewee import Database
from ui_helpers import FIXED_NOW

from tuidesk.core.demo import ensure_demo_database, populate_demo
from tuidesk.core.store.db import connect
from tuidesk.core.store.models import (
    Agent,
    Attachment,
    Client,
    ClientDomain,
    Contact,
    Department,
    Mailbox,
    Message,
    Participant,
    Ticket,
)
from tuidesk.core.tickets import client_for_domain, domain_of, thread

pytest_plugins = ["ui_fixtures"]


@pytest.fixture
def demo_database(db: Database) -> Database:
    """The demo data on a fresh database: each test runs on SQLite and on PostgreSQL."""
    populate_demo(FIXED_NOW)
    return db


def test_the_demo_has_clients_with_mail_domains(demo_database: Database) -> None:
    clients = list(Client.select())
    assert 3 <= len(clients) <= 4
    for client in clients:
        assert client.domains.count() >= 1


def test_every_client_contact_writes_from_one_of_its_clients_domains(
    demo_database: Database,
) -> None:
    for contact in Contact.select().where(Contact.client.is_null(False)):
        assert client_for_domain(domain_of(contact.email)) == contact.client


def test_the_demo_has_about_eight_contacts_and_one_without_a_client(
    demo_database: Database,
) -> None:
    assert 7 <= Contact.select().count() <= 9
    assert Contact.select().where(Contact.client.is_null()).count() == 1


def test_the_demo_has_three_departments_and_three_agents(demo_database: Database) -> None:
    assert sorted(d.name for d in Department.select()) == ["Billing", "Sales", "Support"]
    assert Agent.select().count() == 3


def test_the_demo_mailbox_is_a_draft_so_nothing_is_polled(demo_database: Database) -> None:
    [mailbox] = Mailbox.select()
    assert (mailbox.status, mailbox.protocol, mailbox.host) == ("draft", "imap", "imap.example.com")


def test_the_demo_has_about_25_tickets_in_every_status_and_priority(
    demo_database: Database,
) -> None:
    tickets = list(Ticket.select())
    assert 20 <= len(tickets) <= 30
    assert {t.status for t in tickets} == {"open", "pending", "closed"}
    assert {t.priority for t in tickets} == {"low", "normal", "high", "urgent"}


def test_some_tickets_are_unread_and_some_are_not(demo_database: Database) -> None:
    assert Counter(t.unread for t in Ticket.select()).keys() == {True, False}


def test_some_tickets_are_assigned_and_some_are_not(demo_database: Database) -> None:
    assigned = Counter(t.assignee_id is not None for t in Ticket.select())
    assert assigned[True] > 0 and assigned[False] > 0


def test_ticket_numbers_have_six_digits(demo_database: Database) -> None:
    assert all(100000 <= t.number <= 999999 for t in Ticket.select())


def test_every_ticket_has_a_thread_of_several_messages(demo_database: Database) -> None:
    lengths = [len(thread(ticket)) for ticket in Ticket.select()]
    assert min(lengths) >= 2
    assert max(lengths) >= 5


def test_threads_hold_customer_mail_replies_notes_and_automatic_messages(
    demo_database: Database,
) -> None:
    kinds = {(m.direction, m.automatic) for m in Message.select()}
    assert {("in", False), ("out", False), ("note", False), ("out", True), ("in", True)} <= kinds


def test_each_thread_starts_with_the_customers_mail(demo_database: Database) -> None:
    for ticket in Ticket.select():
        first = thread(ticket)[0]
        assert (first.direction, first.author_email) == ("in", ticket.contact.email)


def test_replies_point_at_the_previous_mail_with_in_reply_to_and_references(
    demo_database: Database,
) -> None:
    for ticket in Ticket.select():
        mails = [m for m in thread(ticket) if m.direction != "note"]
        assert mails[0].in_reply_to == "" and mails[0].references == ""
        for index, mail in enumerate(mails[1:], start=1):
            assert mail.in_reply_to == mails[index - 1].message_id
            assert mail.references.split() == [m.message_id for m in mails[:index]]


def test_every_mail_has_a_unique_message_id_and_notes_have_none(demo_database: Database) -> None:
    mails = Message.select().where(Message.direction != "note")
    ids = [m.message_id for m in mails]
    assert all(i.startswith("<") and i.endswith(">") and "@" in i for i in ids)
    assert len(set(ids)) == len(ids)
    assert {m.message_id for m in Message.select().where(Message.direction == "note")} == {""}


def test_outgoing_message_ids_carry_the_ticket_number(demo_database: Database) -> None:
    for message in Message.select().where(Message.direction == "out"):
        assert f".{message.ticket.number:06d}." in message.message_id


def test_replies_carry_the_ticket_tag_in_their_subject(demo_database: Database) -> None:
    for message in Message.select().where(Message.direction == "out"):
        assert f"[#{message.ticket.number:06d}]" in message.subject


def test_some_tickets_have_participants_in_copy(demo_database: Database) -> None:
    assert Participant.select().count() >= 2


def test_attachments_include_a_log_a_csv_and_a_png(demo_database: Database) -> None:
    by_type = {a.content_type: a for a in Attachment.select()}
    assert {"text/plain", "text/csv", "image/png"} <= by_type.keys()
    for attachment in by_type.values():
        assert attachment.size == len(attachment.blob.data) > 0


def test_the_demo_png_is_a_valid_image(demo_database: Database) -> None:
    data = bytes(Attachment.get(Attachment.content_type == "image/png").blob.data)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = {}, 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = body
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert b"IEND" in chunks


def test_activity_is_spread_over_the_last_weeks_and_never_in_the_future(
    demo_database: Database, now: datetime
) -> None:
    moments = [t.last_activity_at for t in Ticket.select()]
    assert all(now - timedelta(weeks=6) <= moment <= now for moment in moments)
    assert max(moments) - min(moments) >= timedelta(weeks=3)


def test_a_threads_messages_are_in_time_order_and_end_at_the_tickets_last_activity(
    demo_database: Database,
) -> None:
    for ticket in Ticket.select():
        dates = [m.date for m in thread(ticket)]
        assert dates == sorted(dates)
        assert dates[-1] == ticket.last_activity_at


def test_closed_tickets_have_a_closing_time(demo_database: Database) -> None:
    for ticket in Ticket.select():
        assert (ticket.closed_at is not None) == (ticket.status == "closed")


def test_populating_twice_adds_nothing(demo_database: Database, now: datetime) -> None:
    before = (Ticket.select().count(), Message.select().count(), Contact.select().count())
    populate_demo(now)
    assert (Ticket.select().count(), Message.select().count(), Contact.select().count()) == before


def test_the_demo_does_not_touch_a_database_that_has_tickets(
    database: Path, now: datetime, add_ticket
) -> None:
    add_ticket("a real ticket")
    populate_demo(now)
    assert Ticket.select().count() == 1
    assert Client.select().count() == 0


def _snapshot() -> list[tuple]:
    return [(t.number, t.subject, t.status, t.last_activity_at) for t in Ticket.select()]


def test_the_same_now_gives_the_same_demo(tmp_path: Path, isolated_dirs: Path) -> None:
    moment = datetime(2025, 1, 2, 3, 4)
    snapshots = []
    for name in ("one.sqlite3", "two.sqlite3"):
        db = connect(str(tmp_path / name))
        populate_demo(moment)
        snapshots.append(_snapshot())
        db.close()
    assert snapshots[0] == snapshots[1]


def test_ensure_demo_database_creates_and_fills_the_file(
    tmp_path: Path, isolated_dirs: Path
) -> None:
    path = tmp_path / "sub" / "demo.sqlite3"
    try:
        ensure_demo_database(path)
        assert path.exists()
        assert Ticket.select().count() >= 20
        assert ClientDomain.select().count() >= 3
    finally:
        Ticket._meta.database.close()


@pytest.mark.parametrize("field", ["subject", "new_part"])
def test_demo_text_is_free_of_control_characters(demo_database: Database, field: str) -> None:
    model = Ticket if field == "subject" else Message
    for row in model.select():
        text = getattr(row, field)
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in text)
