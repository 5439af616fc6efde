"""One message of a thread: who, when, what kind, the new part, the quoted rest folded, files.

Every text from mail goes through ``safe_text``/``safe_line`` into a Rich ``Text`` (never
markup), so a name such as ``[bold]`` or an escape sequence in a body shows inert.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.style import Style
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


def short_time(value: datetime | None) -> str:
    """ "14 Mar 09:20": a recent time in the operator's time zone, in 12 characters."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone().strftime("%d %b %H:%M")


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
    """ "Customer · 14 Mar 2025 08:27 · Name <address>": what and when first, so a narrow
    terminal cuts the address rather than the date."""
    header = Text.assemble((entry.label, "bold"), f" · {local_time(entry.date)}")
    if entry.delivery:
        word = DELIVERY_WORDS.get(entry.delivery, entry.delivery)
        header.append(f" · {word}", "bold" if entry.delivery == "failed" else "italic")
    header.append(" · ")
    header.append(safe_line(entry.author) or safe_line(entry.author_email) or "unknown sender")
    if entry.author and entry.author_email:
        header.append(f" <{safe_line(entry.author_email)}>")
    return header


def quoted_title(quoted: str) -> str:
    lines = quoted.count("\n") + 1
    return f"Quoted text ({lines} line{'s' if lines != 1 else ''})"


class QuotedText(Collapsible):
    """The quoted rest of a message, folded; its text is only built when first opened, so a
    long thread with a quote in every message opens fast."""

    def __init__(self, quoted: str) -> None:
        super().__init__(title=quoted_title(quoted), classes="entry-quoted")
        self.quoted = quoted
        self._filled = False

    def watch_collapsed(self, collapsed: bool) -> None:
        if not collapsed and not self._filled:
            self._filled = True
            contents = self.query_one(Collapsible.Contents)
            contents.mount(Static(Text(safe_text(self.quoted)), classes="entry-quoted-text"))


def entry_body(entry: EntryView, attachment_style: Style) -> Text:
    """The new part and the attachments of one message, as one text (one widget)."""
    text = Text(safe_text(entry.text).strip() or "(no text)")
    if entry.delivery == "failed" and entry.delivery_error:
        text = Text.assemble((safe_line(entry.delivery_error), "bold"), "\n", text)
    for attachment in entry.attachments:
        text.append(f"\n{attachment_line(attachment)}", attachment_style)
    return text


class ThreadEntry(Vertical):
    """A message of the thread; an event (a status change…) is one dim line."""

    def __init__(self, entry: EntryView, attachment_style: Style | None = None) -> None:
        kind = entry.kind if entry.kind in ("in", "out", "note", "event") else "in"
        classes = f"entry -{kind}" + (" -automatic" if entry.automatic else "")
        if entry.delivery:
            classes += f" -delivery-{entry.delivery}"
        super().__init__(classes=classes)
        self.entry = entry
        self.attachment_style = attachment_style or Style()

    def compose(self) -> ComposeResult:
        entry = self.entry
        if entry.kind == "event":
            line = Text(
                f"{safe_line(entry.text)} · {local_time(entry.date)}",
                no_wrap=True,
                overflow="ellipsis",
            )
            yield Static(line, classes="entry-event")
            return
        yield Static(entry_header(entry), classes="entry-header")
        yield Static(entry_body(entry, self.attachment_style), classes="entry-body")
        if entry.quoted:
            yield QuotedText(entry.quoted)
