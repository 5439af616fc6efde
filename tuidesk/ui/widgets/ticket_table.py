"""The queue's table: its columns, how a row of the queue becomes cells, and the widget.

Every text that comes from mail goes through :func:`tuidesk.core.text.safe_line` into a Rich
``Text`` (never markup), so a subject such as ``[bold]`` or an escape sequence shows inert.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.color import Color, ColorParseError
from textual.message import Message
from textual.widgets import DataTable

from tuidesk.core.queue import QueueRow
from tuidesk.core.text import safe_line

SORT_LABELS: dict[str, str] = {
    "last_activity": "activity",
    "number": "number",
    "status": "status",
    "priority": "priority",
    "subject": "subject",
    "contact": "contact",
    "client": "client",
    "department": "department",
    "assignee": "agent",
    "unread": "unread",
}
NEWEST_FIRST = {"last_activity", "priority", "unread"}  # sorts that start descending

# (sort key, header, width); the subject takes the width left, the last columns may scroll.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("number", "#", 8),
    ("status", "Status", 7),
    ("priority", "Pri", 6),
    ("subject", "Subject", 0),
    ("contact", "From", 14),
    ("last_activity", "Activity", 9),
    ("client", "Client", 16),
    ("department", "Dept", 8),
    ("assignee", "Agent", 14),
)
ALWAYS_VISIBLE = 6  # the first columns always fit the screen
MIN_SUBJECT, ROOMY_SUBJECT = 16, 30
CELL_PADDING, SCROLLBAR = 1, 1
LOAD_AHEAD = 20  # at most this many rows before the end of what is read, read the next page


def column_widths(screen_width: int) -> dict[str, int]:
    """The width of each column at ``screen_width``: the subject gets what the others leave."""

    def room(columns: tuple[tuple[str, str, int], ...]) -> int:
        used = sum(width + 2 * CELL_PADDING for _key, _header, width in columns)
        return screen_width - SCROLLBAR - used

    subject = room(COLUMNS)
    if subject < ROOMY_SUBJECT:  # not everything fits: fill the first screenful
        subject = room(COLUMNS[:ALWAYS_VISIBLE])
    widths = {key: width for key, _header, width in COLUMNS}
    widths["subject"] = max(MIN_SUBJECT, subject)
    return widths


def age(moment: datetime, now: datetime) -> str:
    """How long ago ``moment`` was, in at most 8 characters: "now", "5m ago", "3w ago"…"""
    minutes = int((now - moment).total_seconds() // 60)
    for limit, unit, size in ((60, "m", 1), (24 * 60, "h", 60), (14 * 1440, "d", 1440)):
        if minutes < limit:
            return "now" if minutes < 1 else f"{minutes // size}{unit} ago"
    days = minutes // 1440
    if days < 60:
        return f"{days // 7}w ago"
    return f"{days // 30}mo ago" if days < 365 else f"{days // 365}y ago"


def theme_styles(variables: dict[str, str]) -> dict[str, Style]:
    """Cell styles from the theme's own colours (never hard-coded), by meaning."""

    def colour(name: str) -> Style:
        try:
            return Style(color=Color.parse(variables.get(name, "")).rich_color)
        except ColorParseError:
            return Style()

    return {
        "urgent": colour("error") + Style(bold=True),
        "high": colour("warning"),
        "low": Style(dim=True),
        "closed": Style(dim=True),
        "unread": colour("accent") + Style(bold=True),
        "subject-unread": Style(bold=True),
        "ok": colour("success"),
        "attachment": colour("text-accent"),
    }


def row_cells(row: QueueRow, now: datetime, styles: dict[str, Style]) -> list[Text]:
    """The cells of one row; every text from mail goes through safe_line and into Text."""
    plain = Style()
    closed = styles["closed"] if row.status == "closed" else plain
    cells = {
        "number": Text.assemble(("●" if row.unread else " ", styles["unread"]), " ", row.number),
        "status": Text(row.status, style=closed),
        "priority": Text(row.priority, style=styles.get(row.priority, plain)),
        "subject": Text(
            safe_line(row.subject) or "(no subject)",
            style=styles["subject-unread"] if row.unread else closed,
        ),
        "contact": Text(safe_line(row.contact)),
        "last_activity": Text(age(row.last_activity, now)),
        "client": Text(safe_line(row.client)),
        "department": Text(safe_line(row.department)),
        "assignee": Text(safe_line(row.assignee) or "–", style=plain if row.assignee else "dim"),
    }
    for cell in cells.values():
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return [cells[key] for key, _header, _width in COLUMNS]


class TicketTable(DataTable[Text]):
    """The queue's table; says when the reader scrolls near the last row read."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="queue.open"),
    ]

    class NearEnd(Message):
        """The view reached the last rows read: time for the next page."""

    load_ahead = LOAD_AHEAD

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.row_count and self.max_scroll_y - new_value < self.load_ahead:
            self.post_message(self.NearEnd())
