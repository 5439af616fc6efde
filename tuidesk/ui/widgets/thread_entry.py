"""One message of a thread: who, when, what kind, the new part, the quoted rest folded, files.

Every text from mail goes through ``safe_text``/``safe_line`` into a Rich ``Text`` (never
markup), so a name such as ``[bold]`` or an escape sequence in a body shows inert.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, Static

from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.data import AttachmentView, EntryView

DELIVERY_WORDS = {
    "queued": "queued, not sent yet",
    "sending": "sending…",
    "sent": "sent",
    "failed": "NOT SENT",
    "discarded": "discarded, not sent",
}


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


def attachment_line(attachment: AttachmentView) -> str:
    inline = ", inline" if attachment.inline else ""
    kind = safe_line(attachment.content_type) or "unknown type"
    size = human_size(attachment.size)
    return f"▪ {safe_line(attachment.filename) or 'unnamed'} ({size}, {kind}{inline})"


def entry_header(entry: EntryView) -> Text:
    header = Text.assemble(
        (entry.label, "bold"),
        " · ",
        safe_line(entry.author) or safe_line(entry.author_email) or "unknown sender",
        no_wrap=True,
        overflow="ellipsis",
    )
    if entry.author and entry.author_email:
        header.append(f" <{safe_line(entry.author_email)}>")
    header.append(f" · {local_time(entry.date)}")
    if entry.delivery:
        word = DELIVERY_WORDS.get(entry.delivery, entry.delivery)
        header.append(f" · {word}", "bold" if entry.delivery == "failed" else "italic")
    return header


def quoted_title(quoted: str) -> str:
    lines = quoted.count("\n") + 1
    return f"Quoted text ({lines} line{'s' if lines != 1 else ''})"


class ThreadEntry(Vertical):
    """A message of the thread; an event (a status change…) is one dim line."""

    def __init__(self, entry: EntryView) -> None:
        kind = entry.kind if entry.kind in ("in", "out", "note", "event") else "in"
        classes = f"entry -{kind}" + (" -automatic" if entry.automatic else "")
        if entry.delivery:
            classes += f" -delivery-{entry.delivery}"
        super().__init__(classes=classes)
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        if entry.kind == "event":
            line = Text(f"{safe_line(entry.text)} · {local_time(entry.date)}", no_wrap=True,
                        overflow="ellipsis")  # fmt: skip
            yield Static(line, classes="entry-event")
            return
        yield Static(entry_header(entry), classes="entry-header")
        if entry.delivery == "failed" and entry.delivery_error:
            yield Static(Text(safe_line(entry.delivery_error)), classes="entry-delivery-error")
        yield Static(Text(safe_text(entry.text).strip() or "(no text)"), classes="entry-body")
        if entry.quoted:
            with Collapsible(title=quoted_title(entry.quoted), classes="entry-quoted"):
                yield Static(Text(safe_text(entry.quoted)), classes="entry-quoted-text")
        if entry.attachments:
            lines = "\n".join(attachment_line(a) for a in entry.attachments)
            yield Static(Text(lines), classes="entry-attachments")
