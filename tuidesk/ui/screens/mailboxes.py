"""Mailboxes (the administrator's mode): every mailbox with its state, and what can be done
to one — add, edit, duplicate, enable or disable, poll now, test, its content and its trace."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color, ColorParseError
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.core.text import safe_line
from tuidesk.ui.admin_data import MailboxRow, mailbox_rows
from tuidesk.ui.messages import Changes, MailboxesLoaded
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.status_bar import PollStatusBar
from tuidesk.ui.widgets.thread_entry import short_time

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

COLUMNS = (
    ("name", "Name", 12),
    ("address", "Address", 22),
    ("protocol", "Proto", 5),
    ("status", "Status", 8),
    ("last_fetch", "Last fetch", 12),
    ("last_success", "Last success", 12),
    ("failures", "Fails", 5),
    ("cool_off", "Cool-off until", 14),
    ("next_poll", "Next poll", 12),
    ("held", "Held", 4),
    ("errors", "Errors", 6),
)
NEXT_STATUS = {"active": "disabled", "disabled": "active", "draft": "active"}


def error_style(variables: dict[str, str]) -> Style:
    """The theme's error colour (never a hard-coded one)."""
    try:
        return Style(color=Color.parse(variables.get("error", "")).rich_color, bold=True)
    except ColorParseError:
        return Style(bold=True)


def mailbox_cells(row: MailboxRow, stale: bool, alarm: Style) -> list[Text]:
    cells = [
        Text(safe_line(row.name)),
        Text(safe_line(row.address)),
        Text(row.protocol),
        Text(row.status, style="dim" if row.status != "active" else ""),
        Text(short_time(row.last_fetch_at) or "never"),
        Text(short_time(row.last_success_at) or "never", style=alarm if stale else ""),
        Text(str(row.failures), style=alarm if row.failures else ""),
        Text(short_time(row.cool_off_until)),
        Text(short_time(row.next_poll_at) if row.status == "active" else ""),
        Text(str(row.held)),
        Text(str(row.errors), style=alarm if row.errors else ""),
    ]
    for cell in cells:
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return cells


class MailboxesScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="mailboxes.add"),
        Binding("e", "edit", "Edit", id="mailboxes.edit"),
        Binding("d", "duplicate", "Duplicate", id="mailboxes.duplicate", show=False),
        Binding("s", "toggle_status", "On/off", id="mailboxes.toggle"),
        Binding("p", "poll", "Poll", id="mailboxes.poll"),
        Binding("t", "test", "Test", id="mailboxes.test"),
        Binding("c", "content", "Mail", id="mailboxes.content", tooltip="The mail on the server"),
        Binding("l", "trace", "Trace", id="mailboxes.trace", show=False),
        Binding("o", "authorize", "Sign in", id="mailboxes.authorize", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="mailboxes.refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[MailboxRow] = []

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="mailboxes-summary")
        yield DataTable(id="mailboxes-table", cursor_type="row", zebra_stripes=False)
        yield Static(id="mailboxes-detail")
        yield PollStatusBar(id="status-bar")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, header, width in COLUMNS:
            table.add_column(Text(header), width=width, key=key)
        self.tuidesk.changes_signal.subscribe(self, self._on_changes)
        self.tuidesk.poll_status_signal.subscribe(self, lambda _status: self.reload())
        table.focus()
        self.reload()

    def _on_changes(self, _changes: Changes) -> None:
        self.reload()

    # --- reading ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="mailboxes-read")
    def reload(self) -> None:
        try:
            with database_proxy.connection_context():
                rows = mailbox_rows()
        except Exception as exc:
            self.post_message(
                MailboxesLoaded([], f"the mailboxes cannot be read: {redact(str(exc))}")
            )
            return
        self.post_message(MailboxesLoaded(rows))

    def on_mailboxes_loaded(self, message: MailboxesLoaded) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=10, markup=False)
            return
        current = self.current
        self.rows = message.rows
        now = self.tuidesk.clock()
        alarm_minutes = self.tuidesk.context.settings.stale_fetch_alarm_minutes
        alarm = error_style(self.app.theme_variables)
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            cells = mailbox_cells(row, row.stale(now, alarm_minutes), alarm)
            table.add_row(*cells, key=str(row.mailbox_id))
        ids = [row.mailbox_id for row in self.rows]
        if current is not None and current.mailbox_id in ids:
            table.move_cursor(row=ids.index(current.mailbox_id))
        self._show_summary(now, alarm_minutes)
        self._show_detail()

    def _show_summary(self, now: object, alarm_minutes: int) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" Mailboxes {len(self.rows)} ", "reverse bold")
        active = sum(1 for row in self.rows if row.status == "active")
        line.append(f" {active} active")
        stale = [row.name for row in self.rows if row.stale(now, alarm_minutes)]  # type: ignore[arg-type]
        if stale:
            line.append(f"  no mail fetched for {alarm_minutes} min: ", "bold")
            line.append(safe_line(", ".join(stale)))
        self.query_one("#mailboxes-summary", Static).update(line)

    def _show_detail(self) -> None:
        current = self.current
        text = Text(no_wrap=True, overflow="ellipsis")
        if current is None:
            text.append("No mailbox yet: press a to add one.", "dim")
        elif current.last_error:
            text.append("Last error: ", "bold")
            text.append(safe_line(current.last_error))
        else:
            text.append(f"{safe_line(current.name)}: no error", "dim")
        self.query_one("#mailboxes-detail", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @property
    def current(self) -> MailboxRow | None:
        table = self.query_one(DataTable)
        if not self.rows or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.rows[table.cursor_row]

    def _chosen(self) -> MailboxRow | None:
        current = self.current
        if current is None:
            self.notify("No mailbox is selected.", severity="warning", markup=False)
        return current

    # --- acting -----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.reload()

    def action_add(self) -> None:
        from tuidesk.ui.screens.mailbox_form import MailboxFormScreen

        self.app.push_screen(MailboxFormScreen(None), self._saved)

    def action_edit(self) -> None:
        from tuidesk.ui.screens.mailbox_form import MailboxFormScreen

        if current := self._chosen():
            self.app.push_screen(MailboxFormScreen(current.mailbox_id), self._saved)

    def action_duplicate(self) -> None:
        from tuidesk.ui.screens.mailbox_form import MailboxFormScreen

        if current := self._chosen():
            screen = MailboxFormScreen(current.mailbox_id, duplicate=True)
            self.app.push_screen(screen, self._saved)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_edit()

    def _saved(self, mailbox_id: int | None) -> None:
        if mailbox_id is not None:
            self.reload()
            self.tuidesk.read_status()

    def action_toggle_status(self) -> None:
        current = self._chosen()
        if current is None:
            return
        status = NEXT_STATUS.get(current.status, "active")

        def switch() -> None:
            Mailbox.update(status=status).where(Mailbox.id == current.mailbox_id).execute()

        self.tuidesk.perform(
            f"{status} {current.name}",
            switch,
            notice=f"{current.name} is {status}",
            queue=False,
            on_success=lambda _result: self.reload(),
        )

    def action_poll(self) -> None:
        current = self._chosen()
        if current is None:
            return
        if current.status != "active":
            self.notify(
                f"{current.name} is {current.status}: press s to make it active first",
                severity="warning",
                markup=False,
            )
            return
        if not self.tuidesk.polling_enabled:
            self.notify("Polling is off in this session.", severity="warning", markup=False)
            return
        self.tuidesk.request_poll([current.mailbox_id])
        self.notify(f"Polling {current.name}…", timeout=3, markup=False)

    def action_test(self) -> None:
        from tuidesk.ui.screens.mailbox_test import ConnectionTestScreen

        if current := self._chosen():
            self.app.push_screen(ConnectionTestScreen(current.mailbox_id, current.name))

    def action_content(self) -> None:
        from tuidesk.ui.screens.mailbox_content import MailboxContentScreen

        if current := self._chosen():
            self.app.push_screen(MailboxContentScreen(current.mailbox_id, current.name))

    def action_authorize(self) -> None:
        """Sign an OAuth2 mailbox in (device code) or check its client credentials."""
        from tuidesk.core.mail.oauth import is_oauth
        from tuidesk.ui.screens.authorize import AuthorizeScreen

        current = self._chosen()
        if current is None:
            return
        try:
            with database_proxy.connection_context():
                mailbox = Mailbox.get_by_id(current.mailbox_id)
        except Exception as exc:
            self.notify(
                f"the mailbox cannot be read: {redact(str(exc))}", severity="error", markup=False
            )
            return
        if not is_oauth(mailbox):
            self.notify(
                f"{current.name} signs in with a password, not OAuth2: set its authentication "
                "method in the form (e) first",
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(AuthorizeScreen(current.mailbox_id, current.name))

    def action_trace(self) -> None:
        if current := self._chosen():
            self.tuidesk.show_trace(current.mailbox_id)
