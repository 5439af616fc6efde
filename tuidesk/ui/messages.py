"""The messages that workers post back to the app and its screens (one place, as dataclasses).

Workers never touch widgets: they read or write through the core in their own thread and post
one of these; the handler, on the UI thread, updates what is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.message import Message

from tuidesk.core.poller import PollResult
from tuidesk.core.queue import QueueRow
from tuidesk.ui.data import PollStatus, ThreadView


@dataclass(frozen=True)
class Changes:
    """What changed in the store, published to every screen (``TuideskApp.changes_signal``)
    so each reads again what it shows: the queue, the threads of ``ticket_ids``, held mail."""

    ticket_ids: frozenset[int] = frozenset()
    queue: bool = True
    review: bool = False
    any_ticket: bool = False  # mail was added to tickets not named (a poll's replies)


# --- the queue -----------------------------------------------------------------------------


@dataclass
class QueuePageLoaded(Message):
    """A page of the queue arrived from the database.

    ``generation`` tells a page of the current filter from a late one of a previous filter;
    the counts per status come apart, in :class:`QueueCounted`.
    """

    generation: int
    offset: int
    rows: list[QueueRow]
    last: bool = False  # fewer rows than asked for: nothing more to read


@dataclass
class QueueCounted(Message):
    """How many tickets each status filter shows, with the rest of the filter applied."""

    generation: int
    counts: dict[str, int]


@dataclass
class QueueLoadFailed(Message):
    """Reading the queue failed; ``error`` is a sentence for the operator."""

    generation: int
    error: str


# --- a thread ------------------------------------------------------------------------------


@dataclass
class ThreadLoaded(Message):
    """A ticket and its messages were read; ``view`` is None when the ticket is gone."""

    ticket_id: int
    generation: int
    view: ThreadView | None
    error: str = ""


@dataclass
class PreviewReady(Message):
    """A reply rendered as the customer will get it (or why it could not be)."""

    subject: str
    text: str
    error: str = ""


# --- held mail -----------------------------------------------------------------------------


@dataclass
class HeldMailLoaded(Message):
    """The held and error mail to review, newest first."""

    generation: int
    rows: list[Any]  # tuidesk.core.review.HeldMail
    error: str = ""


# --- agent actions -------------------------------------------------------------------------


@dataclass
class ActionDone(Message):
    """A core action succeeded. ``notice`` is a sentence for a toast (empty: none);
    the ids say which views to read again and which mailboxes owe a poll now."""

    description: str
    notice: str = ""
    ticket_ids: tuple[int, ...] = ()
    record_ids: tuple[int, ...] = ()
    poll_mailbox_ids: tuple[int, ...] = ()
    send_now: bool = False
    result: object = None
    queue: bool = True
    on_success: Callable[[Any], None] | None = None


@dataclass
class ActionFailed(Message):
    """A core action failed; ``error`` is a sentence for the operator."""

    description: str
    error: str
    ticket_ids: tuple[int, ...] = ()
    record_ids: tuple[int, ...] = ()
    on_failure: Callable[[str], None] | None = None


# --- the poll worker -----------------------------------------------------------------------


@dataclass
class MailboxPolled(Message):
    """One mailbox was polled; ``new_tickets`` are (number, subject) of the tickets it made."""

    result: PollResult
    new_tickets: list[tuple[str, str]] = field(default_factory=list)
    touched_ticket_ids: list[int] = field(default_factory=list)


@dataclass
class PollRoundDone(Message):
    """A round of polls (and the outbox run after it) ended; the next one is due in
    ``next_in`` seconds. ``sent`` is how many mails left the outbox; ``error`` says why the
    round itself failed, if it did."""

    status: PollStatus
    next_in: float
    sent: int = 0
    send_errors: list[str] = field(default_factory=list)
    sent_ticket_ids: list[int] = field(default_factory=list)
    error: str = ""
    finished_at: datetime | None = None


@dataclass
class PollStatusRead(Message):
    """The mailboxes' states were read (without polling)."""

    status: PollStatus


# --- the administrator's screens ------------------------------------------------------------


@dataclass
class MailboxesLoaded(Message):
    """Every mailbox with its state (``tuidesk.ui.admin_data.MailboxRow``)."""

    rows: list[Any]
    error: str = ""


@dataclass
class MailboxFormLoaded(Message):
    """The settings of the mailbox to edit (``tuidesk.ui.admin_data.MailboxForm``)."""

    form: Any
    error: str = ""


@dataclass
class ConnectionStep(Message):
    """A step of a connection test passed, as it happened (resolve, connect, tls, login…)."""

    step: str
    detail: str


@dataclass
class SignInStarted(Message):
    """A Microsoft 365 device code sign-in began: show ``uri`` and ``code``, then wait."""

    uri: str
    code: str
    message: str = ""


@dataclass
class SignInEnded(Message):
    """A sign-in (or a client-credentials check) ended; ``text`` is one sentence."""

    ok: bool
    text: str


@dataclass
class ConnectionTested(Message):
    """The connection test ended; ``failed_step`` and ``error`` say what went wrong."""

    ok: bool
    failed_step: str = ""
    error: str = ""
    protocol: str = ""


@dataclass
class ContentLoaded(Message):
    """A page of the messages on a mailbox's server with their ledger state (``ContentRow``):
    rows ``offset`` … of ``total``."""

    rows: list[Any]
    error: str = ""
    offset: int = 0
    total: int = 0


@dataclass
class TraceRead(Message):
    """New trace lines and the poll runs of the mailbox on show."""

    mailbox_id: int
    lines: list[Any]
    runs: list[Any] | None = None
    error: str = ""


@dataclass
class TraceHeard(Message):
    """A line of the poll worker's trace, as it was written (from the poll thread)."""

    mailbox: str
    level: str
    text: str
    at: datetime


@dataclass
class TemplatePreviewed(Message):
    """A template rendered as typed (``used`` says against what), or why it cannot be;
    ``html_text`` is the rendered HTML part as text ("" when there is none)."""

    generation: int
    used: str = ""
    subject: str = ""
    text: str = ""
    html_text: str = ""
    error: str = ""
