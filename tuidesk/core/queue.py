"""The ticket queue as the operator sees it: a filter, a count and one page of rows.

Headless (no Textual): the TUI, the CLI and benchmarks all ask the same two questions,
:func:`count_queue` and :func:`fetch_queue`. Each is one SQL statement that selects only the
columns a row shows, so a page costs the same at 100 tickets as at 100,000. The text is a
full-text search (core.search: words, "phrases", prefix*, from:, status:, #number), whose
conditions join the others in that one statement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from peewee import JOIN, SQL, Case, ColumnBase, Expression, NodeList, SqliteDatabase, fn

from tuidesk.core.search.match import SearchPlan, plan_search
from tuidesk.core.search.query import parse_query
from tuidesk.core.store.models import (
    PRIORITIES,
    TICKET_STATUSES,
    Agent,
    Client,
    Contact,
    Department,
    Ticket,
    database_proxy,
)

STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "active": ("open", "pending"),
    "open": ("open",),
    "pending": ("pending",),
    "closed": ("closed",),
    "all": TICKET_STATUSES,
}
"""Each status filter and the ticket statuses it shows, in the order the UI offers them."""

SORT_COLUMNS: tuple[str, ...] = (
    "last_activity",
    "number",
    "status",
    "priority",
    "subject",
    "contact",
    "client",
    "department",
    "assignee",
    "unread",
)
"""The columns a queue can be sorted by; the first is the default."""

DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class QueueFilter:
    """Which tickets the queue shows, and in what order.

    ``mine`` keeps the tickets assigned to the agent whose address is ``agent_email`` (the
    operator's, from the settings); it wins over ``assignee_id``. ``text`` is a search in the
    language of :mod:`tuidesk.core.search.query` (words of the messages, subject and contact, a
    ticket number, ``from:``, ``status:``…); reading raises its ``SearchQueryError`` when the
    text cannot be searched. ``descending`` applies to ``sort``; the default is the newest
    activity first.
    """

    status: str = "active"
    department_id: int | None = None
    assignee_id: int | None = None
    mine: bool = False
    agent_email: str = ""
    mailbox_id: int | None = None
    priority: str | None = None
    text: str = ""
    sort: str = "last_activity"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.status not in STATUS_FILTERS:
            raise ValueError(
                f"unknown status filter {self.status!r}: use one of {_names(STATUS_FILTERS)}"
            )
        if self.sort not in SORT_COLUMNS:
            raise ValueError(
                f"unknown sort column {self.sort!r}: use one of {_names(SORT_COLUMNS)}"
            )
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ValueError(f"unknown priority {self.priority!r}: use one of {_names(PRIORITIES)}")

    def with_changes(self, **changes: Any) -> QueueFilter:
        return replace(self, **changes)


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue; texts are as stored (the UI makes them safe to show)."""

    ticket_id: int
    number: str  # "NNNNNN"
    status: str
    priority: str
    subject: str
    contact: str  # the contact's name, or its address when it has none
    client: str
    department: str
    assignee: str
    last_activity: datetime
    unread: bool


def count_queue(queue_filter: QueueFilter) -> int:
    """How many tickets ``queue_filter`` selects."""
    query = Ticket.select(fn.COUNT(Ticket.id))
    conditions = _conditions(queue_filter, _search_plan(queue_filter, counting=True))
    if conditions:
        query = query.where(*conditions)
    return int(query.scalar() or 0)


def count_by_status(queue_filter: QueueFilter) -> dict[str, int]:
    """How many tickets each status filter would show, with the rest of ``queue_filter`` applied
    (one grouped query: the numbers next to the filter keys)."""
    everything = replace(queue_filter, status="all")
    query = Ticket.select(Ticket.status, fn.COUNT(Ticket.id))
    conditions = _conditions(everything, _search_plan(everything, counting=True))
    if conditions:
        query = query.where(*conditions)
    per_status = dict(query.group_by(Ticket.status).tuples())
    return {
        name: sum(per_status.get(status, 0) for status in statuses)
        for name, statuses in STATUS_FILTERS.items()
    }


def fetch_queue(
    queue_filter: QueueFilter, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE
) -> list[QueueRow]:
    """The rows ``offset`` to ``offset + limit`` of the queue, in one query."""
    query = (
        Ticket.select(
            Ticket.id,
            Ticket.number,
            Ticket.status,
            Ticket.priority,
            Ticket.subject,
            _contact_label(),
            Client.name,
            Department.name,
            Agent.name,
            Ticket.last_activity_at,
            Ticket.unread,
        )
        .join(Contact, JOIN.LEFT_OUTER, on=Ticket.contact == Contact.id)
        .switch(Ticket)
        .join(Client, JOIN.LEFT_OUTER, on=Ticket.client == Client.id)
        .switch(Ticket)
        .join(Department, JOIN.LEFT_OUTER, on=Ticket.department == Department.id)
        .switch(Ticket)
        .join(Agent, JOIN.LEFT_OUTER, on=Ticket.assignee == Agent.id)
        .order_by(*_ordering(queue_filter))
        .offset(max(offset, 0))
        .limit(max(limit, 0))
    )
    # Sorted by activity, walking the last_activity_at index in order stops after one page;
    # on SQLite a unary + keeps the planner (without ANALYZE statistics) from preferring the
    # status index and sorting every matching ticket instead. PostgreSQL has no unary + on text.
    # A selective search (few matching messages) is the exception: gathering its few tickets
    # and sorting them beats walking every ticket to find them.
    plan = _search_plan(queue_filter)
    walk_activity = (
        queue_filter.sort == "last_activity"
        and isinstance(database_proxy.obj, SqliteDatabase)
        and (plan is None or not plan.selective)
    )
    conditions = _conditions(queue_filter, plan, status_by_index=not walk_activity)
    if conditions:
        query = query.where(*conditions)
    return [
        QueueRow(
            ticket_id=ticket_id,
            number=f"{number:06d}",
            status=status,
            priority=priority,
            subject=subject,
            contact=contact or "",
            client=client or "",
            department=department or "",
            assignee=assignee or "",
            last_activity=last_activity,
            unread=bool(unread),
        )
        for (
            ticket_id,
            number,
            status,
            priority,
            subject,
            contact,
            client,
            department,
            assignee,
            last_activity,
            unread,
        ) in query.tuples()
    ]


def parse_ticket_number(text: str) -> int | None:
    """The ticket number written in ``text`` (``123456``, ``#123456``, ``[#123456]``), if any."""
    digits = text.strip().strip("[]").lstrip("#").strip()
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


# --- the query's parts ---------------------------------------------------------------------


def _names(values: Any) -> str:
    return ", ".join(values)


def _search_plan(queue_filter: QueueFilter, counting: bool = False) -> SearchPlan | None:
    """The search's conditions, or None without a search; SearchQueryError for a bad one."""
    text = queue_filter.text.strip()
    if not text:
        return None
    query = parse_query(text)
    return None if query.empty else plan_search(query, counting=counting)


def _contact_label() -> ColumnBase:
    """The contact's name, or its address when it has none."""
    return fn.COALESCE(fn.NULLIF(Contact.name, ""), Contact.email)


def _conditions(
    queue_filter: QueueFilter, plan: SearchPlan | None, status_by_index: bool = True
) -> list[Expression]:
    statuses = STATUS_FILTERS[queue_filter.status]
    status = Ticket.status if status_by_index else NodeList((SQL("+"), Ticket.status), glue="")
    conditions: list[Expression] = []
    if len(statuses) == 1:
        conditions.append(status == statuses[0])
    elif statuses != TICKET_STATUSES:
        conditions.append(status.in_(statuses))
    if queue_filter.department_id is not None:
        conditions.append(Ticket.department == queue_filter.department_id)
    if queue_filter.mine:
        mine = Agent.select(Agent.id).where(Agent.email == queue_filter.agent_email.strip().lower())
        conditions.append(Ticket.assignee.in_(mine))
    elif queue_filter.assignee_id is not None:
        conditions.append(Ticket.assignee == queue_filter.assignee_id)
    if queue_filter.mailbox_id is not None:
        conditions.append(Ticket.mailbox == queue_filter.mailbox_id)
    if queue_filter.priority is not None:
        conditions.append(Ticket.priority == queue_filter.priority)
    if plan is not None:
        conditions.extend(plan.conditions)
    return conditions


def _rank(field: ColumnBase, values: tuple[str, ...]) -> ColumnBase:
    """Sort a choice column in its meaning's order (low < normal < high < urgent), not A–Z."""
    return Case(field, [(value, index) for index, value in enumerate(values)], len(values))


def _ordering(queue_filter: QueueFilter) -> list[ColumnBase]:
    """The sort column, then the newest activity, then the id, so paging is stable."""
    keys: dict[str, ColumnBase] = {
        "last_activity": Ticket.last_activity_at,
        "number": Ticket.number,
        "status": _rank(Ticket.status, TICKET_STATUSES),
        "priority": _rank(Ticket.priority, PRIORITIES),
        "subject": fn.LOWER(Ticket.subject),
        # a ticket without one shows "" and sorts as "": SQLite puts NULL first when
        # ascending, PostgreSQL last
        "contact": fn.COALESCE(fn.LOWER(_contact_label()), ""),
        "client": fn.COALESCE(fn.LOWER(Client.name), ""),
        "department": fn.COALESCE(fn.LOWER(Department.name), ""),
        "assignee": fn.COALESCE(fn.LOWER(Agent.name), ""),
        "unread": Ticket.unread,
    }
    key = keys[queue_filter.sort]
    if queue_filter.sort == "last_activity":
        if queue_filter.descending:  # both follow the last_activity_at index
            return [key.desc(), Ticket.id.desc()]
        return [key.asc(), Ticket.id.asc()]
    direction = key.desc() if queue_filter.descending else key.asc()
    return [direction, Ticket.last_activity_at.desc(), Ticket.id.desc()]


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "SORT_COLUMNS",
    "STATUS_FILTERS",
    "QueueFilter",
    "QueueRow",
    "count_by_status",
    "count_queue",
    "fetch_queue",
    "parse_ticket_number",
]
