"""What the screens show, read from the store in plain dataclasses (no Textual here).

Each reader is a few queries whatever the size of the database, and runs in a worker thread;
texts stay as stored: the widgets make them safe (``safe_text``/``safe_line``) when they draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, fn

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.body import html_to_text
from tuidesk.core.poller import fetching_enabled
from tuidesk.core.store.models import (
    Agent,
    Attachment,
    Client,
    Contact,
    Department,
    InboundMail,
    Mailbox,
    Message,
    Outbox,
    Ticket,
)

IDLE_WAIT_S = 60.0
"""The longest the poll worker sleeps: a mailbox switched to active is picked up this soon."""
SOONEST_WAIT_S = 1.0

# --- the thread ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    attachment_id: int
    filename: str
    size: int
    content_type: str
    inline: bool


@dataclass(frozen=True)
class EntryView:
    """One message of a thread, as the screen shows it."""

    message_id: int
    kind: str  # in, out or note
    automatic: bool
    author: str
    author_email: str
    date: datetime | None
    text: str  # the new part (or the whole text when nothing was split off)
    quoted: str  # the rest of the full text, folded
    attachments: tuple[AttachmentView, ...]
    delivery: str = ""  # outgoing mail: queued, sending, sent, failed, discarded
    delivery_error: str = ""

    @property
    def label(self) -> str:
        if self.kind == "note":
            return "Internal note"
        if self.kind == "in":
            return "Automatic reply" if self.automatic else "Customer"
        return "Automatic" if self.automatic else "Agent reply"


@dataclass(frozen=True)
class ThreadView:
    ticket_id: int
    number: str
    subject: str
    status: str
    priority: str
    contact: str  # "Name <address>" or the address
    client: str
    department: str
    department_id: int | None
    assignee: str
    assignee_id: int | None
    mailbox: str
    unread: bool
    entries: tuple[EntryView, ...]

    @property
    def facts(self) -> tuple[str, ...]:
        """The header's second line, in reading order."""
        facts = [self.status, f"{self.priority} priority"]
        if self.contact:
            facts.append(self.contact)
        facts += [text for text in (self.client, self.department) if text]
        facts.append(f"agent {self.assignee}" if self.assignee else "unassigned")
        if self.mailbox:
            facts.append(f"via {self.mailbox}")
        return tuple(facts)


def split_quoted(new_part: str, full_text: str) -> tuple[str, str]:
    """(what to show, what to fold): the new part, and the full text beyond it."""
    new, full = new_part.strip(), full_text.strip()
    if not new:
        return full, ""
    if not full or full == new:
        return new, ""
    at = full.find(new)
    if at < 0:
        return new, full  # the new part was rewritten: fold the whole original
    return new, (full[:at] + full[at + len(new) :]).strip()


def load_thread(ticket_id: int) -> ThreadView | None:
    """The ticket ``ticket_id`` and its messages (four queries), or None if it is gone."""
    row = (
        Ticket.select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.status,
            Ticket.priority,
            Contact.name,
            Contact.email,
            Client.name,
            Department.id,
            Department.name,
            Agent.id,
            Agent.name,
            Mailbox.name,
            Ticket.unread,
        )
        .join(Contact, JOIN.LEFT_OUTER, on=Ticket.contact == Contact.id)
        .switch(Ticket)
        .join(Client, JOIN.LEFT_OUTER, on=Ticket.client == Client.id)
        .switch(Ticket)
        .join(Department, JOIN.LEFT_OUTER, on=Ticket.department == Department.id)
        .switch(Ticket)
        .join(Agent, JOIN.LEFT_OUTER, on=Ticket.assignee == Agent.id)
        .switch(Ticket)
        .join(Mailbox, JOIN.LEFT_OUTER, on=Ticket.mailbox == Mailbox.id)
        .where(Ticket.id == ticket_id)
        .tuples()
        .first()
    )
    if row is None:
        return None
    (
        _id,
        number,
        subject,
        status,
        priority,
        contact_name,
        contact_email,
        client,
        department_id,
        department,
        agent_id,
        agent,
        mailbox,
        unread,
    ) = row
    contact = ""
    if contact_email:
        contact = f"{contact_name} <{contact_email}>" if contact_name else contact_email
    return ThreadView(
        ticket_id=ticket_id,
        number=f"{number:06d}",
        subject=subject,
        status=status,
        priority=priority,
        contact=contact,
        client=client or "",
        department=department or "",
        department_id=department_id,
        assignee=agent or "",
        assignee_id=agent_id,
        mailbox=mailbox or "",
        unread=bool(unread),
        entries=tuple(_entries(ticket_id)),
    )


def _entries(ticket_id: int) -> list[EntryView]:
    messages = list(
        Message.select(
            Message.id,
            Message.direction,
            Message.automatic,
            Message.author_name,
            Message.author_email,
            Message.date,
            Message.created_at,
            Message.new_part,
            Message.full_text,
            Message.html,
        )
        .where(Message.ticket == ticket_id)
        .order_by(Message.created_at, Message.id)
        .tuples()
    )
    ids = [m[0] for m in messages]
    files: dict[int, list[AttachmentView]] = {}
    deliveries: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = Attachment.select(
            Attachment.id,
            Attachment.message,
            Attachment.filename,
            Attachment.size,
            Attachment.content_type,
            Attachment.inline,
        ).where(Attachment.message.in_(chunk))
        for attachment_id, message_id, filename, size, content_type, inline in query.tuples():
            files.setdefault(message_id, []).append(
                AttachmentView(attachment_id, filename, size, content_type, bool(inline))
            )
        outbox = (
            Outbox.select(Outbox.thread_message, Outbox.state, Outbox.last_error)
            .where(Outbox.thread_message.in_(chunk))
            .order_by(Outbox.id)
        )
        for message_id, state, error in outbox.tuples():
            deliveries[message_id] = (state, error)
    entries = []
    for (
        message_id,
        direction,
        automatic,
        author,
        email,
        date,
        created,
        new_part,
        full_text,
        html,
    ) in messages:
        if not new_part.strip() and not full_text.strip() and html:
            full_text = html_to_text(html)
        shown, quoted = split_quoted(new_part, full_text)
        delivery, error = deliveries.get(message_id, ("", ""))
        entries.append(
            EntryView(
                message_id=message_id,
                kind=direction,
                automatic=bool(automatic),
                author=author,
                author_email=email,
                date=date or created,
                text=shown,
                quoted=quoted,
                attachments=tuple(files.get(message_id, ())),
                delivery=delivery,
                delivery_error=error,
            )
        )
    return entries


# --- choices for pickers --------------------------------------------------------------------


def departments() -> list[tuple[int, str]]:
    return list(
        Department.select(Department.id, Department.name).order_by(Department.name).tuples()
    )


def agents() -> list[tuple[int, str, str]]:
    """(id, name, address) of the active agents."""
    query = Agent.select(Agent.id, Agent.name, Agent.email).where(Agent.active == True)  # noqa: E712
    return list(query.order_by(Agent.name).tuples())


def mailboxes() -> list[tuple[int, str]]:
    return list(Mailbox.select(Mailbox.id, Mailbox.name).order_by(Mailbox.name).tuples())


def contacts_and_clients(address: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Contacts (the one with ``address`` first) and clients to offer for a held mail."""
    domain = address.rpartition("@")[2].lower()
    contacts = list(
        Contact.select(Contact.id, fn.COALESCE(fn.NULLIF(Contact.name, ""), Contact.email))
        .where(
            (Contact.email == address.lower()) | (Contact.email.endswith(f"@{domain}"))
            if domain
            else (Contact.email == address.lower())
        )
        .order_by(Contact.email)
        .limit(50)
        .tuples()
    )
    clients = list(Client.select(Client.id, Client.name).order_by(Client.name).limit(500).tuples())
    return contacts, clients


# --- the poll status line ------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxState:
    mailbox_id: int
    name: str
    status: str
    failing: bool
    failures: int
    last_error: str
    last_success_at: datetime | None


@dataclass(frozen=True)
class PollStatus:
    """What the status bar says: the mailboxes, the last round, the outbox and held mail."""

    mailboxes: tuple[MailboxState, ...] = ()
    fetching: bool = True
    polling: bool = False  # the TUI's worker is on
    last_round: datetime | None = None
    outbox_queued: int = 0
    outbox_failed: int = 0
    held: int = 0


def read_poll_status(polling: bool, last_round: datetime | None = None) -> PollStatus:
    states = tuple(
        MailboxState(
            m.id,
            m.name,
            m.status,
            m.failing,
            m.consecutive_failures,
            m.last_error,
            m.last_success_at,
        )
        for m in Mailbox.select(
            Mailbox.id,
            Mailbox.name,
            Mailbox.status,
            Mailbox.failing,
            Mailbox.consecutive_failures,
            Mailbox.last_error,
            Mailbox.last_success_at,
        ).order_by(Mailbox.name)
    )
    outbox = dict(
        Outbox.select(Outbox.state, fn.COUNT(Outbox.id))
        .where(Outbox.state.in_(["queued", "sending", "failed"]))
        .group_by(Outbox.state)
        .tuples()
    )
    held = (
        InboundMail.select(fn.COUNT(InboundMail.id))
        .where(InboundMail.state.in_(["held_for_review", "error"]))
        .scalar()
    )
    return PollStatus(
        mailboxes=states,
        fetching=fetching_enabled(),
        polling=polling,
        last_round=last_round,
        outbox_queued=outbox.get("queued", 0) + outbox.get("sending", 0),
        outbox_failed=outbox.get("failed", 0),
        held=int(held or 0),
    )


def seconds_until_next_poll(now: datetime | None = None) -> float:
    """How long the worker may sleep: until the first active mailbox or queued mail is due."""
    now = now or utcnow()
    moments = [
        max(filter(None, (m.next_poll_at, m.cool_off_until)), default=now)
        for m in Mailbox.select(Mailbox.next_poll_at, Mailbox.cool_off_until).where(
            Mailbox.status == "active"
        )
    ]
    queued = Outbox.select(fn.MIN(Outbox.next_attempt_at)).where(Outbox.state == "queued").scalar()
    if queued is not None:
        moments.append(queued)
    waits = [(moment - now).total_seconds() for moment in moments]
    return max(SOONEST_WAIT_S, min([IDLE_WAIT_S, *waits]))


def ticket_labels(ticket_ids: list[int]) -> list[tuple[str, str]]:
    """(number, subject) of ``ticket_ids``, in that order."""
    if not ticket_ids:
        return []
    found = dict(
        (ticket_id, (f"{number:06d}", subject))
        for ticket_id, number, subject in Ticket.select(Ticket.id, Ticket.number, Ticket.subject)
        .where(Ticket.id.in_(ticket_ids))
        .tuples()
    )
    return [found[t] for t in ticket_ids if t in found]


def tickets_of_outbox_since(moment: datetime) -> list[int]:
    """The tickets whose outgoing mail changed state since ``moment`` (to refresh them)."""
    query = Outbox.select(fn.DISTINCT(Outbox.ticket)).where(
        (Outbox.ticket.is_null(False))
        & ((Outbox.sent_at >= moment) | (Outbox.next_attempt_at >= moment - timedelta(seconds=1)))
    )
    return [t for (t,) in query.tuples() if t is not None]
