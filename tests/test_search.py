"""Full-text search in the store: what a search finds, on SQLite (FTS5) and PostgreSQL (tsvector).

Every test runs on both databases through the `db` fixture. The index follows every write in the
write's own transaction (SQLite triggers, PostgreSQL generated columns), whoever writes: the
models, or the hand-written SQL of the ingest path (tickets.add_message).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from peewee import Database, SqliteDatabase

from tuidesk.core.queue import QueueFilter, count_by_status, count_queue, fetch_queue
from tuidesk.core.search import SearchQueryError, search_tickets
from tuidesk.core.search import match as search_match
from tuidesk.core.search.schema import check
from tuidesk.core.store import sql
from tuidesk.core.store.models import Client, Contact, Message, Ticket
from tuidesk.core.tickets import (
    NewMessage,
    NewTicket,
    add_message,
    create_ticket,
    get_or_create_contact,
)

START = datetime(2025, 3, 1, 9, 0)


class Desk:
    """Tickets with messages, each ticket a minute newer than the one before."""

    def __init__(self) -> None:
        self.minutes = 0

    def ticket(
        self,
        subject: str,
        *messages: str,
        address: str = "maria@acme.example",
        name: str = "Maria Lopez",
        status: str = "open",
        client: Client | None = None,
    ) -> Ticket:
        self.minutes += 1
        at = START + timedelta(minutes=self.minutes)
        ticket = create_ticket(
            NewTicket(
                subject=subject,
                contact=get_or_create_contact(address, name, client),
                created_at=at,
            )
        )
        for text in messages:
            add_message(
                NewMessage(
                    ticket=ticket,
                    direction="in",
                    new_part=text,
                    full_text=text,
                    author_email=address,
                    author_name=name,
                    subject=subject,
                    created_at=at,
                )
            )
        Ticket.update(status=status).where(Ticket.id == ticket.id).execute()
        return Ticket.get_by_id(ticket.id)


@pytest.fixture
def desk(db: Database) -> Iterator[Desk]:
    yield Desk()
    if isinstance(db, SqliteDatabase):
        assert check(db) == [], "the full-text index disagrees with its tables"


def found(text: str, status: str = "all") -> list[str]:
    return [row.subject for row in fetch_queue(QueueFilter(status=status, text=text))]


# --- what matches --------------------------------------------------------------------------


def test_a_word_of_a_message_finds_its_ticket(desk: Desk) -> None:
    desk.ticket("Printer on floor 3", "The paper tray jams every morning.")
    desk.ticket("VPN drops", "It drops every hour.")
    assert found("tray") == ["Printer on floor 3"]
    assert found("TRAY") == ["Printer on floor 3"]


def test_the_quoted_history_of_a_reply_is_not_searched(desk: Desk) -> None:
    ticket = desk.ticket("Printer", "Thanks, it works now.")
    Message.update(full_text="Thanks, it works now.\n> the toner is empty").where(
        Message.ticket == ticket.id
    ).execute()
    assert found("toner") == []
    assert found("works") == ["Printer"]


def test_every_word_must_match_in_one_message_or_the_subject_or_the_contact(desk: Desk) -> None:
    desk.ticket("Printer jams", "paper everywhere")
    desk.ticket("Printer offline", "no paper")
    assert found("printer offline") == ["Printer offline"]
    assert found("paper everywhere") == ["Printer jams"]
    assert found("paper printer") == ["Printer offline", "Printer jams"]  # message subject
    assert found("everywhere offline") == []


def test_a_phrase_needs_its_words_together_and_in_order(desk: Desk) -> None:
    desk.ticket("one", "the paper jam is back")
    desk.ticket("two", "jam with paper")
    assert found('"paper jam"') == ["one"]
    assert found("paper jam") == ["two", "one"]


def test_a_prefix_matches_the_words_it_begins(desk: Desk) -> None:
    desk.ticket("one", "printing fails")
    desk.ticket("two", "the printer")
    desk.ticket("three", "a sprint")
    assert found("print*") == ["two", "one"]


def test_or_matches_either_word(desk: Desk) -> None:
    desk.ticket("one", "vpn drops")
    desk.ticket("two", "wifi drops")
    desk.ticket("three", "cable drops")
    assert found("vpn OR wifi") == ["two", "one"]
    assert found("vpn OR wifi drops") == ["two", "one"]


def test_an_excluded_word_removes_the_ticket_wherever_it_occurs(desk: Desk) -> None:
    desk.ticket("Printer", "it jams", "and the toner is low")
    desk.ticket("Printer again", "it jams")
    assert found("jams -toner") == ["Printer again"]
    assert found("-toner") == ["Printer again"]


def test_contacts_are_found_by_name_and_by_the_words_of_their_address(desk: Desk) -> None:
    desk.ticket("from maria", address="maria@acme.example", name="Maria Lopez")
    desk.ticket("from tom", address="tom@northwind.example", name="Tom Becker")
    assert found("becker") == ["from tom"]
    assert found("northwind") == ["from tom"]
    assert found("tom@northwind.example") == ["from tom"]


def test_a_ticket_without_messages_is_found_by_its_subject(desk: Desk) -> None:
    desk.ticket("Invoice charged twice")
    assert found("charged") == ["Invoice charged twice"]


def test_subject_searches_only_the_subject(desk: Desk) -> None:
    desk.ticket("Invoice question", "about the printer")
    desk.ticket("Printer question", "about the invoice")
    assert found("subject:invoice") == ["Invoice question"]
    assert found('subject:"printer question"') == ["Printer question"]


# --- filters -------------------------------------------------------------------------------


def test_from_a_domain_takes_its_subdomains_but_not_lookalikes(desk: Desk) -> None:
    desk.ticket("acme", address="maria@acme.example")
    desk.ticket("acme sub", address="ops@eu.acme.example")
    desk.ticket("lookalike", address="eve@notacme.example")
    assert found("from:acme.example") == ["acme sub", "acme"]
    assert found("from:@acme.example") == ["acme sub", "acme"]


def test_from_an_address_or_a_name_or_a_client(desk: Desk) -> None:
    northwind = Client.create(name="Northwind Traders")
    desk.ticket("maria's", address="maria@acme.example", name="Maria Lopez")
    desk.ticket("tom's", address="tom@nw.example", name="Tom Becker", client=northwind)
    assert found("from:Maria@Acme.example") == ["maria's"]
    assert found("from:lopez") == ["maria's"]
    assert found("from:northwind") == ["tom's"]
    assert found('from:"tom becker"') == ["tom's"]


def test_from_combines_with_words(desk: Desk) -> None:
    desk.ticket("printer", "jams", address="maria@acme.example")
    desk.ticket("printer too", "jams", address="tom@northwind.example")
    assert found("from:northwind.example jams") == ["printer too"]


def test_status_in_the_search_narrows_the_queues_status_filter(desk: Desk) -> None:
    desk.ticket("open one", "printer", status="open")
    desk.ticket("pending one", "printer", status="pending")
    desk.ticket("closed one", "printer", status="closed")
    assert found("printer status:closed") == ["closed one"]
    assert found("printer status:active") == ["pending one", "open one"]
    assert found("printer status:closed", status="active") == []
    counts = count_by_status(QueueFilter(status="active", text="printer status:closed"))
    assert counts["closed"] == 1 and counts["active"] == 0


def test_a_ticket_number(desk: Desk) -> None:
    wanted = desk.ticket("the one")
    desk.ticket("another", f"see ticket {wanted.number}")
    assert found(f"#{wanted.number}") == ["the one"]
    assert found(f"[#{wanted.number}]") == ["the one"]
    assert found(str(wanted.number)) == ["another", "the one"]  # the number, or the word


# --- the index follows the data --------------------------------------------------------------


def test_an_edited_message_is_found_by_its_new_words_only(desk: Desk) -> None:
    ticket = desk.ticket("Printer", "old words")
    Message.update(new_part="new words").where(Message.ticket == ticket.id).execute()
    assert found("old") == []
    assert found("new") == ["Printer"]


def test_a_renamed_subject_and_contact(desk: Desk) -> None:
    ticket = desk.ticket("Printer", address="maria@acme.example", name="Maria")
    Ticket.update(subject="Scanner").where(Ticket.id == ticket.id).execute()
    Contact.update(name="Marianne").where(Contact.id == ticket.contact_id).execute()
    assert found("printer") == []
    assert found("scanner") == ["Scanner"]
    assert found("marianne") == ["Scanner"]


def test_a_deleted_ticket_takes_its_messages_out_of_the_index(desk: Desk) -> None:
    ticket = desk.ticket("Printer", "unique words here")
    desk.ticket("Other", "other words")
    Ticket.delete().where(Ticket.id == ticket.id).execute()
    assert found("unique") == []
    assert found("words") == ["Other"]


def test_a_message_written_with_hand_sql_is_found(desk: Desk) -> None:
    ticket = desk.ticket("Printer")
    sql.run(
        'INSERT INTO "message" ("ticket_id", "direction", "automatic", "author_name", '
        '"author_email", "message_id", "in_reply_to", "references", "to_addrs", "cc_addrs", '
        '"subject", "new_part", "full_text", "html", "created_at") '
        "VALUES (?, 'in', ?, '', '', '', '', '', '', '', '', 'handwritten words', '', '', ?)",
        ticket.id,
        False,
        START,
    )
    assert found("handwritten") == ["Printer"]


def test_a_rolled_back_write_leaves_nothing_in_the_index(db: Database, desk: Desk) -> None:
    ticket = desk.ticket("Printer")
    with db.atomic() as transaction:
        add_message(NewMessage(ticket=ticket, direction="in", new_part="vanishing words"))
        assert found("vanishing") == ["Printer"]  # in step within the transaction
        transaction.rollback()
    assert found("vanishing") == []


# --- how the pages are read ----------------------------------------------------------------


@pytest.fixture(params=["gather", "member", "probe"])
def shape(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way SQLite can run a text search, forced by the thresholds that choose it."""
    if request.param != "gather":
        monkeypatch.setattr(search_match, "SELECTIVE_LIMIT", 0)
    if request.param == "probe":
        monkeypatch.setattr(search_match, "PROBE_FROM", 0)
    return request.param


QUERIES = [
    "printer",
    "printer jams",
    '"paper jam"',
    "print*",
    "printer -toner",
    "vpn OR wifi",
    "maria",
    "northwind",
    "from:acme.example printer",
    "printer status:open",
]


@pytest.mark.parametrize("text", QUERIES)
def test_every_way_of_running_a_search_finds_the_same_tickets_in_the_same_order(
    desk: Desk, shape: str, text: str
) -> None:
    desk.ticket("Printer jams", "the paper jam is back", address="maria@acme.example")
    desk.ticket("Toner", "printer toner low", address="tom@northwind.example", name="Tom")
    desk.ticket("VPN", "vpn drops", status="closed", address="ann@globex.example", name="Ann")
    desk.ticket("Wifi", "wifi drops, printer fine", address="ops@acme.example", name="Ops")
    desk.ticket("Printing", "fails", status="pending", address="bob@globex.example", name="Bob")
    expected = {
        "printer": ["Wifi", "Toner", "Printer jams"],
        "printer jams": ["Printer jams"],
        '"paper jam"': ["Printer jams"],
        "print*": ["Printing", "Wifi", "Toner", "Printer jams"],
        "printer -toner": ["Wifi", "Printer jams"],
        "vpn OR wifi": ["Wifi", "VPN"],
        "maria": ["Printer jams"],
        "northwind": ["Toner"],
        "from:acme.example printer": ["Wifi", "Printer jams"],
        "printer status:open": ["Wifi", "Toner", "Printer jams"],
    }[text]
    assert found(text) == expected
    assert count_queue(QueueFilter(status="all", text=text)) == len(expected)


def test_search_results_page_without_gaps_or_repeats(desk: Desk, shape: str) -> None:
    for index in range(23):
        desk.ticket(f"ticket {index:02d}", "printer trouble")
    desk.ticket("unrelated", "nothing")
    search = QueueFilter(status="all", text="printer")
    everything = [row.ticket_id for row in fetch_queue(search, 0, 100)]
    paged = [
        row.ticket_id for offset in range(0, 30, 10) for row in fetch_queue(search, offset, 10)
    ]
    assert paged == everything
    assert len(everything) == count_queue(search) == 23


# --- what cannot be searched -----------------------------------------------------------------


HOSTILE = [
    "a AND",
    "NEAR(a b)",
    "a NOT b",
    "col:value",
    "'; DROP TABLE ticket; --",
    '") OR 1=1 --',
    "a\x00b",
    "((a",
    "^a",
    "a:*",
    "%s %(x)s ?",
    "\u202eevil",
    "x" * 3000,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_searched_literally_and_never_breaks_the_sql(desk: Desk, text: str) -> None:
    desk.ticket("Printer", "a harmless message")
    rows = fetch_queue(QueueFilter(status="all", text=text))
    assert count_queue(QueueFilter(status="all", text=text)) == len(rows)
    assert Ticket.select().count() == 1


def test_search_tickets_is_the_queue_query_for_the_command_line(desk: Desk) -> None:
    desk.ticket("open", "printer", status="open")
    desk.ticket("closed", "printer", status="closed")
    assert [row.subject for row in search_tickets("printer")] == ["closed", "open"]
    assert [row.subject for row in search_tickets("printer", status="active")] == ["open"]
    assert [row.subject for row in search_tickets("printer", limit=1, offset=1)] == ["open"]
    with pytest.raises(SearchQueryError, match="the search is empty"):
        search_tickets("  ")
