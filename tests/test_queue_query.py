"""The queue query: which tickets a filter selects, in which order, a page at a time."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta
from typing import Any

import pytest
from peewee import Database, SqliteDatabase

from tuidesk.core.queue import (
    SORT_COLUMNS,
    QueueFilter,
    QueueRow,
    count_by_status,
    count_queue,
    fetch_queue,
    parse_ticket_number,
)
from tuidesk.core.search import SearchQueryError
from tuidesk.core.store.models import Agent, Client, Department, Mailbox, Ticket, database_proxy
from tuidesk.core.tickets import (
    NewMessage,
    NewTicket,
    add_message,
    create_ticket,
    get_or_create_contact,
)

pytest_plugins = ["ui_fixtures"]


class Helpdesk:
    """A small helpdesk built ticket by ticket, with readable names for what the tests need."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.acme = Client.create(name="Acme")
        self.support = Department.create(name="Support")
        self.billing = Department.create(name="Billing")
        self.dana = Agent.create(name="Dana", email="dana@helpdesk.example")
        self.ravi = Agent.create(name="Ravi", email="ravi@helpdesk.example")
        self.inbox = Mailbox.create(name="inbox", address="support@helpdesk.example")
        self.other_inbox = Mailbox.create(name="sales", address="sales@helpdesk.example")
        self.minutes = 0

    def ticket(
        self,
        subject: str,
        *,
        status: str = "open",
        priority: str = "normal",
        address: str = "maria@acme.example",
        name: str = "Maria Lopez",
        client: Client | None = None,
        department: Department | None = None,
        assignee: Agent | None = None,
        mailbox: Mailbox | None = None,
        unread: bool = False,
    ) -> Ticket:
        """A ticket; each one is a minute more recent than the one before."""
        self.minutes += 1
        ticket = create_ticket(
            NewTicket(
                subject=subject,
                contact=get_or_create_contact(address, name, client),
                department=department,
                assignee=assignee,
                mailbox=mailbox,
                priority=priority,
                created_at=self.now - timedelta(days=1) + timedelta(minutes=self.minutes),
            )
        )
        Ticket.update(status=status, unread=unread).where(Ticket.id == ticket.id).execute()
        return Ticket.get_by_id(ticket.id)


@pytest.fixture
def desk(db: Database, now: datetime) -> Helpdesk:
    """A helpdesk on a fresh database: each test runs on SQLite and on PostgreSQL."""
    return Helpdesk(now)


def subjects(queue_filter: QueueFilter, offset: int = 0, limit: int = 100) -> list[str]:
    return [row.subject for row in fetch_queue(queue_filter, offset, limit)]


# --- status filters ------------------------------------------------------------------------


def test_the_default_filter_shows_open_and_pending_tickets_newest_first(desk: Helpdesk) -> None:
    desk.ticket("open one", status="open")
    desk.ticket("pending one", status="pending")
    desk.ticket("closed one", status="closed")
    assert subjects(QueueFilter()) == ["pending one", "open one"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", ["open one"]),
        ("pending", ["pending one"]),
        ("closed", ["closed one"]),
        ("active", ["pending one", "open one"]),
        ("all", ["closed one", "pending one", "open one"]),
    ],
)
def test_each_status_filter_selects_its_tickets(
    desk: Helpdesk, status: str, expected: list[str]
) -> None:
    desk.ticket("open one", status="open")
    desk.ticket("pending one", status="pending")
    desk.ticket("closed one", status="closed")
    assert subjects(QueueFilter(status=status)) == expected


def test_count_queue_counts_what_the_filter_selects(desk: Helpdesk) -> None:
    for status in ("open", "open", "pending", "closed"):
        desk.ticket(status, status=status)
    assert count_queue(QueueFilter()) == 3
    assert count_queue(QueueFilter(status="closed")) == 1
    assert count_queue(QueueFilter(status="all")) == 4


def test_count_by_status_gives_every_status_filter_at_once(desk: Helpdesk) -> None:
    for status in ("open", "open", "pending", "closed"):
        desk.ticket(status, status=status)
    assert count_by_status(QueueFilter(status="closed")) == {
        "active": 3,
        "open": 2,
        "pending": 1,
        "closed": 1,
        "all": 4,
    }


# --- other filters -------------------------------------------------------------------------


def test_department_filter(desk: Helpdesk) -> None:
    desk.ticket("support", department=desk.support)
    desk.ticket("billing", department=desk.billing)
    assert subjects(QueueFilter(department_id=desk.billing.id)) == ["billing"]


def test_assignee_filter(desk: Helpdesk) -> None:
    desk.ticket("dana's", assignee=desk.dana)
    desk.ticket("ravi's", assignee=desk.ravi)
    desk.ticket("nobody's")
    assert subjects(QueueFilter(assignee_id=desk.ravi.id)) == ["ravi's"]


def test_mine_selects_the_tickets_of_the_agent_with_the_operators_address(
    desk: Helpdesk,
) -> None:
    desk.ticket("dana's", assignee=desk.dana)
    desk.ticket("ravi's", assignee=desk.ravi)
    assert subjects(QueueFilter(mine=True, agent_email="Dana@Helpdesk.example")) == ["dana's"]


def test_mine_with_an_address_that_is_no_agent_selects_nothing(desk: Helpdesk) -> None:
    desk.ticket("dana's", assignee=desk.dana)
    assert subjects(QueueFilter(mine=True, agent_email="stranger@example.org")) == []


def test_mailbox_filter(desk: Helpdesk) -> None:
    desk.ticket("support mail", mailbox=desk.inbox)
    desk.ticket("sales mail", mailbox=desk.other_inbox)
    assert subjects(QueueFilter(mailbox_id=desk.other_inbox.id)) == ["sales mail"]


def test_priority_filter(desk: Helpdesk) -> None:
    desk.ticket("calm", priority="low")
    desk.ticket("fire", priority="urgent")
    assert subjects(QueueFilter(priority="urgent")) == ["fire"]


def test_filters_combine(desk: Helpdesk) -> None:
    desk.ticket("a", department=desk.support, priority="high", assignee=desk.dana)
    desk.ticket("b", department=desk.support, priority="low", assignee=desk.dana)
    desk.ticket("c", department=desk.billing, priority="high", assignee=desk.dana)
    wanted = QueueFilter(department_id=desk.support.id, priority="high", assignee_id=desk.dana.id)
    assert subjects(wanted) == ["a"]


# --- search --------------------------------------------------------------------------------


def test_search_matches_part_of_the_subject_ignoring_case(desk: Helpdesk) -> None:
    desk.ticket("VPN drops every 10 minutes")
    desk.ticket("Printer offline")
    assert subjects(QueueFilter(text="vpn drops")) == ["VPN drops every 10 minutes"]


def test_search_matches_the_contacts_address(desk: Helpdesk) -> None:
    desk.ticket("from maria", address="maria@acme.example")
    desk.ticket("from tom", address="tom@northwind.example", name="Tom")
    assert subjects(QueueFilter(text="northwind")) == ["from tom"]


def test_search_matches_the_contacts_name(desk: Helpdesk) -> None:
    desk.ticket("from maria", address="maria@acme.example", name="Maria Lopez")
    desk.ticket("from tom", address="tom@northwind.example", name="Tom Becker")
    assert subjects(QueueFilter(text="becker")) == ["from tom"]


@pytest.mark.parametrize("written", ["{n}", "#{n}", "[#{n}]", " {n} "])
def test_search_finds_a_ticket_by_its_number(desk: Helpdesk, written: str) -> None:
    wanted = desk.ticket("the one")
    desk.ticket("another")
    rows = fetch_queue(QueueFilter(text=written.format(n=wanted.number)))
    assert [row.ticket_id for row in rows] == [wanted.id]


def test_search_treats_like_wildcards_as_plain_characters(desk: Helpdesk) -> None:
    desk.ticket("100% broken")
    desk.ticket("1000 fine")
    assert subjects(QueueFilter(text="100%")) == ["100% broken"]
    assert subjects(QueueFilter(text="10_")) == []


@pytest.mark.parametrize("text", ["%", "_", "*", '"', "-"])
def test_a_search_of_punctuation_only_is_refused_with_one_sentence(
    desk: Helpdesk, text: str
) -> None:
    desk.ticket("100% broken")
    with pytest.raises(SearchQueryError, match="has no letters or digits to look for"):
        fetch_queue(QueueFilter(text=text))


def test_search_matches_the_text_of_the_messages(desk: Helpdesk) -> None:
    ticket = desk.ticket("Printer on floor 3")
    desk.ticket("Something else")
    add_message(NewMessage(ticket=ticket, direction="in", new_part="The paper tray jams."))
    assert subjects(QueueFilter(text="tray jams")) == ["Printer on floor 3"]
    assert count_queue(QueueFilter(text="tray")) == 1


def test_search_respects_the_status_filter(desk: Helpdesk) -> None:
    desk.ticket("printer open", status="open")
    desk.ticket("printer closed", status="closed")
    assert subjects(QueueFilter(text="printer")) == ["printer open"]
    assert count_queue(QueueFilter(text="printer", status="all")) == 2


@pytest.mark.parametrize(
    ("text", "number"),
    [("123456", 123456), ("#123456", 123456), ("[#123456]", 123456), ("12a", None), ("", None)],
)
def test_parse_ticket_number(text: str, number: int | None) -> None:
    assert parse_ticket_number(text) == number


# --- rows ----------------------------------------------------------------------------------


def test_a_row_carries_what_the_queue_shows(desk: Helpdesk) -> None:
    ticket = desk.ticket(
        "Invoice charged twice",
        status="pending",
        priority="urgent",
        client=desk.acme,
        department=desk.billing,
        assignee=desk.ravi,
        unread=True,
    )
    Ticket.update(number=4217).where(Ticket.id == ticket.id).execute()
    [row] = fetch_queue(QueueFilter())
    assert row == QueueRow(
        ticket_id=ticket.id,
        number="004217",
        status="pending",
        priority="urgent",
        subject="Invoice charged twice",
        contact="Maria Lopez",
        client="Acme",
        department="Billing",
        assignee="Ravi",
        last_activity=ticket.last_activity_at,
        unread=True,
    )


def test_a_contact_without_a_name_is_shown_by_address_and_missing_parts_are_empty(
    desk: Helpdesk,
) -> None:
    desk.ticket("anonymous", address="frontdesk@clinic.example", name="")
    [row] = fetch_queue(QueueFilter())
    assert (row.contact, row.client, row.department, row.assignee) == (
        "frontdesk@clinic.example",
        "",
        "",
        "",
    )


def test_rows_and_filters_are_frozen(desk: Helpdesk) -> None:
    desk.ticket("x")
    [row] = fetch_queue(QueueFilter())
    with pytest.raises(FrozenInstanceError):
        row.subject = "changed"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        QueueFilter().status = "all"  # type: ignore[misc]


@pytest.mark.parametrize("field", ["status", "sort", "priority"])
def test_an_unknown_choice_in_a_filter_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        QueueFilter(**{field: "bogus"})


# --- sorting -------------------------------------------------------------------------------


def test_the_default_order_is_newest_activity_first(desk: Helpdesk) -> None:
    first, _second = desk.ticket("first"), desk.ticket("second")
    Ticket.update(last_activity_at=desk.now).where(Ticket.id == first.id).execute()
    assert subjects(QueueFilter()) == ["first", "second"]
    assert subjects(QueueFilter(descending=False)) == ["second", "first"]


def test_priority_sorts_by_urgency_not_alphabetically(desk: Helpdesk) -> None:
    for priority in ("normal", "urgent", "low", "high"):
        desk.ticket(priority, priority=priority)
    assert subjects(QueueFilter(sort="priority")) == ["urgent", "high", "normal", "low"]
    assert subjects(QueueFilter(sort="priority", descending=False)) == [
        "low",
        "normal",
        "high",
        "urgent",
    ]


def test_status_sorts_open_pending_closed(desk: Helpdesk) -> None:
    for status in ("closed", "open", "pending"):
        desk.ticket(status, status=status)
    assert subjects(QueueFilter(status="all", sort="status", descending=False)) == [
        "open",
        "pending",
        "closed",
    ]


def _sort_value(row: QueueRow, column: str) -> object:
    ranks = {"priority": ("low", "normal", "high", "urgent"), "status": ("open", "pending")}
    if column in ranks:
        return ranks[column].index(getattr(row, column))
    value = {"last_activity": row.last_activity, "number": int(row.number)}.get(
        column, getattr(row, column)
    )
    return value.lower() if isinstance(value, str) else value


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("column", SORT_COLUMNS)
def test_every_column_sorts_both_ways(desk: Helpdesk, column: str, descending: bool) -> None:
    people = [("b@x.example", "bob"), ("a@x.example", "Alice"), ("c@x.example", "")]
    for index, (priority, status) in enumerate(
        [("high", "open"), ("low", "pending"), ("urgent", "open"), ("normal", "pending")]
    ):
        address, name = people[index % len(people)]
        desk.ticket(
            f"subject {'dcab'[index]}",
            priority=priority,
            status=status,
            address=address,
            name=name,
            client=desk.acme if index % 2 else None,
            department=(desk.support, desk.billing)[index % 2],
            assignee=(desk.dana, desk.ravi, None)[index % 3],
            unread=bool(index % 2),
        )
    rows = fetch_queue(QueueFilter(sort=column, descending=descending))
    values = [_sort_value(row, column) for row in rows]
    assert values == sorted(values, reverse=descending)


# --- paging and cost -----------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_repeats(desk: Helpdesk) -> None:
    for index in range(23):
        desk.ticket(f"ticket {index:02d}")
    everything = [row.ticket_id for row in fetch_queue(QueueFilter(), 0, 100)]
    paged = [
        row.ticket_id
        for offset in range(0, 30, 10)
        for row in fetch_queue(QueueFilter(), offset, 10)
    ]
    assert paged == everything
    assert len(everything) == count_queue(QueueFilter()) == 23


def test_a_page_past_the_end_is_empty(desk: Helpdesk) -> None:
    desk.ticket("only")
    assert fetch_queue(QueueFilter(), offset=10, limit=10) == []


@pytest.fixture
def statements(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every SQL statement run from now on, with its parameters."""
    db = database_proxy.obj
    original = db.execute_sql
    seen: list[tuple[str, Any]] = []

    def recording(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        seen.append((sql, params))
        return original(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", recording)
    return seen


def test_a_page_is_read_with_a_single_sql_statement(desk: Helpdesk, statements: list) -> None:
    for index in range(5):
        desk.ticket(f"t{index}", client=desk.acme, department=desk.support, assignee=desk.dana)
    statements.clear()
    rows = fetch_queue(QueueFilter(department_id=desk.support.id), 0, 50)
    assert len(rows) == 5
    assert len(statements) == 1


@pytest.mark.sqlite_only  # the FTS5 tables and SQLite's query plan
def test_a_searched_page_takes_one_statement_and_one_index_probe(
    desk: Helpdesk, statements: list
) -> None:
    for index in range(5):
        desk.ticket(f"ticket {index}", client=desk.acme, assignee=desk.dana)
    statements.clear()
    rows = fetch_queue(QueueFilter(text="ticket"), 0, 50)
    assert len(rows) == 5
    probe, page = statements
    assert "LIMIT" in probe[0] and "message_fts" in probe[0]
    assert "ticket_fts" in page[0]


@pytest.mark.sqlite_only  # the FTS5 tables and SQLite's query plan
def test_the_default_page_walks_the_activity_index_instead_of_sorting(
    desk: Helpdesk, statements: list
) -> None:
    for index in range(3):
        desk.ticket(f"t{index}")
    statements.clear()
    fetch_queue(QueueFilter(), 0, 100)
    [(sql, params)] = statements
    db = database_proxy.obj
    assert isinstance(db, SqliteDatabase)
    plan = " ".join(
        str(row[-1]) for row in db.cursor().execute(f"EXPLAIN QUERY PLAN {sql}", params)
    )
    assert "ticket_last_activity_at" in plan
    assert "TEMP B-TREE" not in plan
