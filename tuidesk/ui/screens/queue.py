"""The queue: the tickets a filter selects, newest activity first, read a page at a time.

The table never holds the whole queue: the first page is read when the filter changes and the
next one when the cursor (or the scroll position) comes near the last row read. Reads run in a
thread worker that only posts messages; a generation number drops pages of a previous filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Input, Static

from tuidesk.core.queue import (
    SORT_COLUMNS,
    STATUS_FILTERS,
    QueueFilter,
    QueueRow,
    count_by_status,
    fetch_queue,
)
from tuidesk.core.redact import redact
from tuidesk.core.search import SearchQueryError, parse_query
from tuidesk.core.store.models import database_proxy
from tuidesk.ui.messages import Changes, QueueCounted, QueueLoadFailed, QueuePageLoaded
from tuidesk.ui.screens.queue_filters import QueueFilters
from tuidesk.ui.screens.thread import ThreadScreen
from tuidesk.ui.ticket_actions import TicketActionsMixin, TicketRef
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.status_bar import PollStatusBar
from tuidesk.ui.widgets.ticket_table import (
    COLUMNS,
    LOAD_AHEAD,
    NEWEST_FIRST,
    SORT_LABELS,
    TicketTable,
    column_widths,
    row_cells,
    theme_styles,
)

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

STATUS_LABELS: dict[str, str] = {
    "active": "Active",
    "open": "Open",
    "pending": "Pending",
    "closed": "Closed",
    "all": "All",
}
FILTER_GROUP = Binding.Group("Status", compact=True)
SEARCH_HELP = (
    "Words of the mail, subject or contact (all must match), "
    '"a phrase", print*, vpn OR wifi, -excluded, from:acme.com, from:maria, '
    "subject:invoice, status:open, #123456"
)
MAX_RELOAD_ROWS = 1000  # a refresh reads again at most this many rows (the cursor stays put)


def short_count(count: int) -> str:
    """A count in at most 5 characters: 987, 9876, 40.2k, 100k, 1.2M."""
    if count < 10_000:
        return str(count)
    if count < 100_000:
        return f"{count / 1000:.1f}k"
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count / 1_000_000:.1f}M"


class QueueScreen(TicketActionsMixin, QueueFilters, Screen[None]):
    """The ticket queue with status filters, a search and the thread of the chosen ticket."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                str(key),
                f"status('{status}')",
                label,
                id=f"queue.filter.{status}",
                group=FILTER_GROUP,
            )
            for key, (status, label) in enumerate(STATUS_LABELS.items(), start=1)
        ),
        Binding("slash", "focus_search", "Search", id="queue.search"),
        Binding("f", "filter_menu", "Filter", id="queue.filter.menu"),
        Binding("F", "clear_filters", "Clear filters", id="queue.filter.clear", show=False),
        Binding("m", "toggle_mine", "Only mine", id="queue.mine", show=False),
        Binding("a", "assign_to_me", "Take", id="queue.assign_to_me"),
        Binding("p", "change_priority", "Priority", id="queue.priority", show=False),
        Binding("t", "change_status", "Status", id="queue.status", show=False),
        Binding("x", "close_ticket", "Close", id="queue.close", show=False),
        Binding("s", "next_sort", "Sort", id="queue.sort", show=False),
        Binding("r", "reverse_sort", "Reverse order", id="queue.reverse", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="queue.refresh", show=False),
        Binding("escape", "clear_search", "Clear search", id="queue.clear_search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.queue_filter = QueueFilter()
        self.rows: list[QueueRow] = []
        self.counts: dict[str, int] = {}
        self._ticket_ids: set[int] = set()
        self._generation = 0
        self._loading = False
        self._read_all = False
        self._keep_ticket: int | None = None
        self._widths: dict[str, int] = {}
        self.filter_names: dict[str, str] = {}  # department/assignee/mailbox id -> its name

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    @property
    def load_ahead(self) -> int:
        """Rows before the end of what is read at which the next page is asked for."""
        return max(1, min(LOAD_AHEAD, self.tuidesk.page_size // 2))

    def compose(self) -> ComposeResult:
        yield Static(id="queue-summary")
        search = Input(
            placeholder="/ to search: subject, ticket number, contact",
            id="queue-search",
            compact=True,
        )
        search.tooltip = SEARCH_HELP
        yield search
        yield TicketTable(id="queue-table", cursor_type="row")
        yield Static(
            Text("No tickets match. Try another status filter, or clear the search (F)."),
            id="queue-empty",
        )
        yield PollStatusBar(id="status-bar")
        yield KeysFooter()

    def on_mount(self) -> None:
        operator = self.tuidesk.context.settings.operator_email
        self.queue_filter = QueueFilter(agent_email=operator)
        self.query_one(TicketTable).load_ahead = self.load_ahead
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.tuidesk.changes_signal.subscribe(self, self._on_changes)
        self.query_one(TicketTable).focus()
        self.reload()

    # --- reading ----------------------------------------------------------------------------

    def apply_filter(self, queue_filter: QueueFilter) -> None:
        """Show ``queue_filter``'s tickets, from the first page."""
        if queue_filter != self.queue_filter:
            self.queue_filter = queue_filter
            self.reload()

    def reload(self, keep_ticket: int | None = None, keep_rows: bool = False) -> None:
        """Read the first page again; the cursor stays on ``keep_ticket`` if it is still there.
        ``keep_rows`` reads as many rows as are shown (a refresh), not only the first page."""
        self._generation += 1
        self._keep_ticket = keep_ticket
        self._loading = True
        limit = self.tuidesk.page_size
        if keep_rows:
            limit = min(max(limit, len(self.rows)), MAX_RELOAD_ROWS)
        self._read(self._generation, self.queue_filter, 0, limit)

    def _load_more(self) -> None:
        if self._loading or self._read_all:
            return
        self._loading = True
        self._read(self._generation, self.queue_filter, len(self.rows), self.tuidesk.page_size)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-read")
    def _read(self, generation: int, queue_filter: QueueFilter, offset: int, limit: int) -> None:
        try:
            with database_proxy.connection_context():
                rows = fetch_queue(queue_filter, offset, limit)
        except Exception as exc:  # shown to the operator rather than lost in a worker
            error = f"the queue cannot be read: {redact(str(exc))}"
            self.post_message(QueueLoadFailed(generation, error))
            return
        self.post_message(QueuePageLoaded(generation, offset, rows, len(rows) < limit))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-count")
    def _count(self, generation: int, queue_filter: QueueFilter) -> None:
        """The numbers next to the status filters: after the rows, which matter more."""
        if generation != self._generation:
            return
        try:
            with database_proxy.connection_context():
                counts = count_by_status(queue_filter)
        except Exception:
            return  # the rows (and their own error) tell enough
        self.post_message(QueueCounted(generation, counts))

    def on_queue_counted(self, message: QueueCounted) -> None:
        if message.generation == self._generation:
            self.counts = message.counts
            self._update_summary()

    def on_queue_page_loaded(self, message: QueuePageLoaded) -> None:
        if message.generation != self._generation:
            return  # a page of a filter that is no longer shown
        self._loading = False
        self._read_all = message.last
        if message.offset == 0:
            # the counts are read once these rows are on screen: they must not slow them down
            self.call_after_refresh(self._count, message.generation, self.queue_filter)
            self.rows, self._ticket_ids = [], set()
            self._add_rows(message.rows)
            self._rebuild_table(self._keep_ticket)
        else:
            table = self.query_one(TicketTable)
            now, styles = self.tuidesk.clock(), self._styles()
            for row in self._add_rows(message.rows):
                table.add_row(*row_cells(row, now, styles), key=str(row.ticket_id))
        self._update_summary()

    def on_queue_load_failed(self, message: QueueLoadFailed) -> None:
        if message.generation == self._generation:
            self._loading = False
            self.notify(message.error, severity="error", timeout=10, markup=False)

    def _add_rows(self, rows: list[QueueRow]) -> list[QueueRow]:
        """Keep the rows not seen yet (a ticket may move between pages while reading)."""
        fresh = [row for row in rows if row.ticket_id not in self._ticket_ids]
        self.rows.extend(fresh)
        self._ticket_ids.update(row.ticket_id for row in fresh)
        return fresh

    # --- showing ----------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        return theme_styles(self.app.theme_variables)

    def _rebuild_table(self, keep_ticket: int | None = None) -> None:
        table = self.query_one(TicketTable)
        self._widths = column_widths(self.size.width or self.app.size.width)
        table.clear(columns=True)
        sort, descending = self.queue_filter.sort, self.queue_filter.descending
        for key, header, _width in COLUMNS:
            label = f"{header}{'▼' if descending else '▲'}" if key == sort else header
            table.add_column(Text(label), width=self._widths[key], key=key)
        now, styles = self.tuidesk.clock(), self._styles()
        for row in self.rows:
            table.add_row(*row_cells(row, now, styles), key=str(row.ticket_id))
        ids = [row.ticket_id for row in self.rows]
        if keep_ticket in ids:
            table.move_cursor(row=ids.index(keep_ticket))
        self.set_class(not self.rows, "-empty")

    def _update_summary(self) -> None:
        """The status filters with their counts (the current one highlighted), then the order.
        The search text needs no mention: it stays in the search line just below."""
        summary = Text(no_wrap=True, overflow="ellipsis")
        for status, label in STATUS_LABELS.items():
            count = f" {label} {short_count(self.counts.get(status, 0))} "
            summary.append(count, "reverse bold" if status == self.queue_filter.status else "")
        arrow = "▼" if self.queue_filter.descending else "▲"
        extra = "".join(f"{name} · " for name in self.filter_descriptions())
        summary.append(f"  {extra}", "bold")
        summary.append(f"by {SORT_LABELS[self.queue_filter.sort]}{arrow}", "dim")
        self.query_one("#queue-summary", Static).update(summary)

    def on_resize(self, event: Resize) -> None:
        if column_widths(event.size.width) != self._widths:
            self._rebuild_table(self.current_ticket_id)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._rebuild_table(self.current_ticket_id)

    @property
    def current_ticket_id(self) -> int | None:
        table = self.query_one(TicketTable)
        if not self.rows or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.rows[table.cursor_row].ticket_id

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.rows) - self.load_ahead:
            self._load_more()

    @on(TicketTable.NearEnd)
    def _scrolled_near_the_end(self) -> None:
        self._load_more()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(ThreadScreen(int(event.row_key.value)))

    def _on_changes(self, changes: Changes) -> None:
        if changes.queue:
            self.reload(self.current_ticket_id, keep_rows=True)

    @on(DataTable.HeaderSelected)
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.queue_filter.sort:
            self.action_reverse_sort()
        else:
            self.sort_by(column)

    # --- actions ----------------------------------------------------------------------------

    def action_status(self, status: str) -> None:
        if status in STATUS_FILTERS:
            self.apply_filter(self.queue_filter.with_changes(status=status))

    def action_focus_search(self) -> None:
        # set_focus is immediate (focus() waits a turn): keys typed right after "/" go to the
        # search and not to the table's bindings.
        self.set_focus(self.query_one("#queue-search", Input))

    @on(Input.Submitted, "#queue-search")
    def _search(self, event: Input.Submitted) -> None:
        """A full-text search (core.search); a query that cannot run is said in one sentence and
        stays in the box to be corrected, the queue unchanged. A ``status:`` in the query wins
        over the status filter (which turns to All), so ``status:closed`` finds closed tickets
        from the Active view too."""
        text = event.value.strip()
        try:
            query = parse_query(text)
        except SearchQueryError as exc:
            self.notify(str(exc), title="Search", severity="error", timeout=8, markup=False)
            return
        changes: dict[str, str] = {"text": text}
        if query.statuses:
            changes["status"] = "all"
        self.apply_filter(self.queue_filter.with_changes(**changes))
        self.set_focus(self.query_one(TicketTable))

    def action_clear_search(self) -> None:
        self.query_one("#queue-search", Input).value = ""
        self.apply_filter(self.queue_filter.with_changes(text=""))
        self.set_focus(self.query_one(TicketTable))

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        if column in SORT_COLUMNS:
            down = column in NEWEST_FIRST if descending is None else descending
            self.apply_filter(self.queue_filter.with_changes(sort=column, descending=down))

    def action_next_sort(self) -> None:
        """Sort by the next column: activity, number, status, priority, subject, contact…"""
        position = SORT_COLUMNS.index(self.queue_filter.sort)
        self.sort_by(SORT_COLUMNS[(position + 1) % len(SORT_COLUMNS)])

    def action_reverse_sort(self) -> None:
        self.apply_filter(
            self.queue_filter.with_changes(descending=not self.queue_filter.descending)
        )

    def action_refresh(self) -> None:
        self.reload(self.current_ticket_id, keep_rows=True)

    # --- acting on the ticket under the cursor ----------------------------------------------

    @property
    def current_row(self) -> QueueRow | None:
        table = self.query_one(TicketTable)
        if not self.rows or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.rows[table.cursor_row]

    def _ticket(self) -> TicketRef | None:
        row = self.current_row
        if row is None:
            self.notify("No ticket is selected.", severity="warning", markup=False)
            return None
        return TicketRef(row.ticket_id, row.number, row.status, row.priority)
