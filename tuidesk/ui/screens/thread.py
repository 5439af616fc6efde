"""A ticket's thread, read-only: its header, then every message in order, newest last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tuidesk.core.store.models import Attachment, Message, Ticket
from tuidesk.core.text import safe_line, safe_text
from tuidesk.core.tickets import thread


@dataclass(frozen=True)
class EntryView:
    """One message of a thread, as the screen shows it."""

    kind: str  # in, out or note
    automatic: bool
    author: str
    author_email: str
    date: datetime | None
    text: str
    attachments: tuple[tuple[str, int], ...]  # (filename, size)

    @property
    def label(self) -> str:
        if self.kind == "note":
            return "Internal note"
        if self.kind == "in":
            return "Automatic reply" if self.automatic else "Customer"
        return "Automatic" if self.automatic else "Reply"


@dataclass(frozen=True)
class ThreadView:
    number: str
    subject: str
    facts: tuple[str, ...]  # status, priority, contact, client, department, assignee
    entries: tuple[EntryView, ...]


def load_thread(ticket_id: int) -> ThreadView | None:
    """The ticket ``ticket_id`` and its messages (three queries), or None if it is gone."""
    ticket = Ticket.get_or_none(Ticket.id == ticket_id)
    if ticket is None:
        return None
    messages = thread(ticket)
    files: dict[int, list[tuple[str, int]]] = {}
    attachments = Attachment.select(Attachment.message, Attachment.filename, Attachment.size)
    for message_id, filename, size in attachments.where(
        Attachment.message.in_([m.id for m in messages])
    ).tuples():
        files.setdefault(message_id, []).append((filename, size))
    contact = ticket.contact
    facts = [ticket.status, f"{ticket.priority} priority"]
    if contact is not None:
        facts.append(f"{contact.name} <{contact.email}>" if contact.name else contact.email)
    facts += [related.name for related in (ticket.client, ticket.department) if related is not None]
    facts.append(f"assigned to {ticket.assignee.name}" if ticket.assignee else "unassigned")
    return ThreadView(
        number=ticket.display_number,
        subject=ticket.subject,
        facts=tuple(facts),
        entries=tuple(_entry(message, files.get(message.id, [])) for message in messages),
    )


def _entry(message: Message, files: list[tuple[str, int]]) -> EntryView:
    return EntryView(
        kind=message.direction,
        automatic=message.automatic,
        author=message.author_name,
        author_email=message.author_email,
        date=message.date or message.created_at,
        text=message.new_part or message.full_text,
        attachments=tuple(files),
    )


def local_time(value: datetime | None) -> str:
    """A stored (naive UTC) time in the operator's time zone."""
    if value is None:
        return "no date"
    return value.replace(tzinfo=UTC).astimezone().strftime("%d %b %Y %H:%M")


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


class ThreadEntry(Vertical):
    """One message: who, when, what kind, the new part of its text and its attachments."""

    def __init__(self, entry: EntryView) -> None:
        classes = f"entry -{entry.kind}" + (" -automatic" if entry.automatic else "")
        super().__init__(classes=classes)
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        header = Text.assemble(
            (entry.label, "bold"),
            " · ",
            safe_line(entry.author) or safe_line(entry.author_email) or "unknown sender",
        )
        if entry.author and entry.author_email:
            header.append(f" <{safe_line(entry.author_email)}>")
        header.append(f" · {local_time(entry.date)}")
        yield Static(header, classes="entry-header")
        yield Static(Text(safe_text(entry.text).strip() or "(no text)"), classes="entry-body")
        if entry.attachments:
            lines = [
                f"Attachment: {safe_line(name)} ({human_size(size)})"
                for name, size in entry.attachments
            ]
            yield Static(Text("\n".join(lines)), classes="entry-attachments")


class ThreadScreen(Screen[None]):
    """The read-only thread of one ticket; escape goes back to where it was opened from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="thread.back"),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id

    def compose(self) -> ComposeResult:
        view = load_thread(self.ticket_id)
        if view is None:
            yield Static(Text("This ticket no longer exists."), id="thread-title")
            yield Footer()
            return
        yield Static(Text(f"#{view.number}  {safe_line(view.subject)}"), id="thread-title")
        yield Static(Text(" · ".join(safe_line(fact) for fact in view.facts)), id="thread-meta")
        with VerticalScroll(id="thread-messages"):
            for entry in view.entries:
                yield ThreadEntry(entry)
        yield Footer()

    def action_back(self) -> None:
        self.dismiss(None)
