"""What the administrator's screens show, read from the store as plain dataclasses (no Textual).

Each reader runs in a worker thread, inside a connection context the caller opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import fn

from tuidesk.core.mailbox_config import FieldInfo, default_port, editable_fields
from tuidesk.core.store.models import InboundMail, Mailbox, PollRun, TraceLine


@dataclass(frozen=True)
class MailboxRow:
    """One line of the mailboxes table."""

    mailbox_id: int
    name: str
    address: str
    protocol: str
    status: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    failures: int
    cool_off_until: datetime | None
    next_poll_at: datetime | None
    held: int
    errors: int
    last_error: str

    def stale(self, now: datetime, alarm_minutes: int) -> bool:
        """An active mailbox that has not fetched successfully for longer than the alarm."""
        if self.status != "active" or alarm_minutes <= 0:
            return False
        if self.last_success_at is None:
            return True
        return now - self.last_success_at > timedelta(minutes=alarm_minutes)


def mailbox_rows() -> list[MailboxRow]:
    """Every mailbox with its held and error counts (three queries)."""
    counts: dict[tuple[int, str], int] = {
        (mailbox_id, state): count
        for mailbox_id, state, count in InboundMail.select(
            InboundMail.mailbox, InboundMail.state, fn.COUNT(InboundMail.id)
        )
        .where(InboundMail.state.in_(["held_for_review", "error"]))
        .group_by(InboundMail.mailbox, InboundMail.state)
        .tuples()
    }
    return [
        MailboxRow(
            m.id,
            m.name,
            m.address,
            m.protocol,
            m.status,
            m.last_fetch_at,
            m.last_success_at,
            m.consecutive_failures,
            m.cool_off_until,
            m.next_poll_at,
            counts.get((m.id, "held_for_review"), 0),
            counts.get((m.id, "error"), 0),
            m.last_error,
        )
        for m in Mailbox.select().order_by(Mailbox.name)
    ]


def field_text(info: FieldInfo, mailbox: Mailbox | None) -> str:
    """The text a form shows for a setting (secrets: always empty)."""
    if info.secret:
        return ""
    if mailbox is None:
        value = info.default
    elif info.kind == "department":
        value = mailbox.department.name if mailbox.department_id else ""
    else:
        value = getattr(mailbox, info.name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class MailboxForm:
    """What the form starts from: every setting as text, and which secrets are stored."""

    mailbox_id: int | None
    texts: dict[str, str]
    stored_secrets: frozenset[str]


def mailbox_form(mailbox_id: int | None, duplicate: bool = False) -> MailboxForm:
    """The form of ``mailbox_id`` (None: a new mailbox); ``duplicate`` copies it as a new one
    without its secrets and with a new name."""
    mailbox = Mailbox.get_by_id(mailbox_id) if mailbox_id is not None else None
    fields = editable_fields()
    texts = {info.name: field_text(info, mailbox) for info in fields}
    stored = frozenset(
        info.name for info in fields if info.secret and mailbox and getattr(mailbox, info.name)
    )
    if duplicate and mailbox is not None:
        texts["name"] = f"{mailbox.name}-copy"
        texts["status"] = "draft"
        return MailboxForm(None, texts, frozenset())
    return MailboxForm(mailbox_id, texts, stored)


@dataclass(frozen=True)
class RunRow:
    run_id: int
    started_at: datetime
    duration_ms: int
    fetched: int
    created: int
    replied: int
    held: int
    rejected: int
    errors: int
    ok: bool
    error: str


def poll_runs(mailbox_id: int, limit: int = 200) -> list[RunRow]:
    """The mailbox's latest poll runs, newest first."""
    query = (
        PollRun.select()
        .where(PollRun.mailbox == mailbox_id)
        .order_by(PollRun.id.desc())
        .limit(limit)
    )
    return [
        RunRow(
            r.id,
            r.started_at,
            r.duration_ms,
            r.fetched,
            r.created,
            r.replied,
            r.held,
            r.rejected,
            r.errors,
            bool(r.ok),
            r.error,
        )
        for r in query
    ]


@dataclass(frozen=True)
class TraceRow:
    line_id: int
    at: datetime
    level: str
    text: str


def trace_lines(mailbox_id: int, after_id: int = 0, limit: int = 2000) -> list[TraceRow]:
    """The trace lines of a mailbox written after ``after_id``, oldest first."""
    query = (
        TraceLine.select(TraceLine.id, TraceLine.at, TraceLine.level, TraceLine.text)
        .where((TraceLine.mailbox == mailbox_id) & (TraceLine.id > after_id))
        .order_by(TraceLine.id.desc())
        .limit(limit)
        .tuples()
    )
    return [TraceRow(*row) for row in reversed(list(query))]


SMTP_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}


def port_for(field: str, protocol: str, security: str) -> int:
    """The usual port of ``field`` ("port" or "smtp_port") for the protocol and security
    (0 when there is none: Graph, Maildir, pipe); the form follows it while the port is the
    usual one."""
    if field == "smtp_port":
        return SMTP_PORTS.get(security, 0)
    return default_port(protocol, security)
