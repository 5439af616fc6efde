"""Mailbox content (003): the messages on the server with their ledger state — new, processed,
held, error, too large — and Reset Status, Retry, Delete (asked first) and View raw.

A page of rows is read at a time (``CONTENT_PAGE_SIZE``), ``]`` and ``[`` turn the pages, so a
mailbox of thousands of messages opens as fast as a small one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static, TextArea

from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox, database_proxy
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.messages import ContentLoaded
from tuidesk.ui.screens.pickers import ChoiceScreen
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.thread_entry import human_size, short_time

if TYPE_CHECKING:
    from tuidesk.core.mailbox_ops import ContentRow
    from tuidesk.ui.app import TuideskApp

COLUMNS = (
    ("key", "Key", 10),
    ("date", "Date", 12),
    ("size", "Size", 8),
    ("state", "State", 14),
    ("subject", "Subject", 26),
)


def key_label(key: str) -> str:
    """The short part of a source key: the UID (imap:FOLDER:UIDVALIDITY:UID) or the UIDL."""
    return key.rsplit(":", 1)[-1]


class MailboxContentScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="content.back"),
        Binding("n", "reset", "Reset", id="content.reset", tooltip="Reset the status to new"),
        Binding("r", "retry", "Retry", id="content.retry"),
        Binding("D", "delete", "Delete", id="content.delete"),
        Binding("v", "view_raw", "Raw", id="content.raw", tooltip="View the raw message"),
        Binding("ctrl+r", "refresh", "Refresh", id="content.refresh", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", id="content.page.next", show=False),
        Binding(
            "left_square_bracket",
            "page(-1)",
            "Previous page",
            id="content.page.previous",
            show=False,
        ),
    ]

    def __init__(self, mailbox_id: int, name: str, page_size: int | None = None) -> None:
        from tuidesk.core.mailbox_ops import CONTENT_PAGE_SIZE

        super().__init__()
        self.mailbox_id = mailbox_id
        self.mailbox_name = name
        self.page_size = page_size or CONTENT_PAGE_SIZE
        self.rows: list[ContentRow] = []
        self.page_start = 0  # of the first row shown, among every message on the server
        self.total = 0
        self.reading = True

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="content-summary")
        yield DataTable(id="content-table", cursor_type="row")
        yield Static(id="content-detail")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, header, width in COLUMNS:
            table.add_column(Text(header), width=width, key=key)
        table.focus()
        self.reload()

    def reload(self) -> None:
        """Read the page shown again."""
        self.reading = True
        self._read(self.page_start, self.page_size)

    @work(thread=True, exclusive=True, exit_on_error=False, group="content-read")
    def _read(self, offset: int, limit: int) -> None:
        from tuidesk.core.errors import TuideskError
        from tuidesk.core.mailbox_ops import content_page

        try:
            with database_proxy.connection_context():
                page = content_page(Mailbox.get_by_id(self.mailbox_id), offset, limit)
        except TuideskError as exc:
            self.post_message(ContentLoaded([], redact(exc.sentence), offset))
            return
        except Exception as exc:
            error = redact(f"{type(exc).__name__}: {exc}")
            self.post_message(ContentLoaded([], error, offset))
            return
        self.post_message(ContentLoaded(page.rows, offset=page.offset, total=page.total))

    def action_page(self, step: int) -> None:
        """Show the next (``step`` 1) or the previous (-1) page, if there is one."""
        offset = self.page_start + step * self.page_size
        if self.reading or offset < 0 or offset >= self.total:
            return
        self.page_start = offset
        self.query_one(DataTable).move_cursor(row=0)
        self.reload()

    def on_content_loaded(self, message: ContentLoaded) -> None:
        self.reading = False
        current = self.current
        self.rows, self.page_start, self.total = message.rows, message.offset, message.total
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            cells = [
                Text(key_label(row.key)),
                Text(short_time(row.date)),
                Text(human_size(row.size)),
                Text(row.state, style="bold" if row.state in {"held", "error"} else ""),
                Text(safe_line(row.subject)),
            ]
            for cell in cells:
                cell.no_wrap, cell.overflow = True, "ellipsis"
            table.add_row(*cells, key=row.key)
        keys = [row.key for row in self.rows]
        if current is not None and current.key in keys:
            table.move_cursor(row=keys.index(current.key))
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f" {safe_line(self.mailbox_name)} ", "reverse bold")
        if message.error:
            summary.append(f" the server cannot be read: {safe_line(message.error)}", "bold")
        elif self.total > len(self.rows):
            first, last = self.page_start + 1, self.page_start + len(self.rows)
            summary.append(f" rows {first}–{last} of {self.total} on the server")
            summary.append("  ] next page  [ previous", "dim")
        else:
            summary.append(f" {self.total} message(s) on the server")
        self.query_one("#content-summary", Static).update(summary)
        self._show_detail()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The sender and whole subject of the message under the cursor."""
        row = self.current
        detail = Text(no_wrap=True, overflow="ellipsis")
        if row is not None and row.record_id is not None:
            detail.append(f" From {safe_line(row.sender) or '(nobody)'}", "bold")
            detail.append(f" · {safe_line(row.subject) or '(no subject)'}")
        elif row is not None:
            detail.append(" not fetched yet: no sender or subject stored", "dim")
        self.query_one("#content-detail", Static).update(detail)

    @property
    def current(self) -> ContentRow | None:
        table = self.query_one(DataTable)
        if not self.rows or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.rows[table.cursor_row]

    def _stored(self) -> ContentRow | None:
        current = self.current
        if current is None or current.record_id is None:
            self.notify("This message was not fetched yet: nothing to do.", markup=False)
            return None
        return current

    def _act(self, description: str, call: Callable[[], Any], record_ids: tuple[int, ...]) -> None:
        self.tuidesk.perform(
            description,
            call,
            notice=description,
            record_ids=record_ids,
            on_success=lambda _result: self.reload(),
        )

    def action_reset(self) -> None:
        from tuidesk.core.ingest.records import reset

        if row := self._stored():
            record_id = row.record_id
            assert record_id is not None
            self._act(
                f"status of {key_label(row.key)} reset to new",
                lambda: reset(database_proxy.obj, [record_id]),
                (record_id,),
            )

    def action_retry(self) -> None:
        from tuidesk.core.ingest.records import retry

        if row := self._stored():
            record_id = row.record_id
            assert record_id is not None
            self._act(
                f"message {key_label(row.key)} processed again",
                lambda: retry(database_proxy.obj, [record_id]),
                (record_id,),
            )

    def action_delete(self) -> None:
        from tuidesk.core.mailbox_ops import delete_from_server

        row = self.current
        if row is None:
            return
        mailbox_id, key = self.mailbox_id, row.key

        def chosen(yes: bool | None) -> None:
            if yes:
                self._act(
                    f"message {key_label(key)} deleted from the server",
                    lambda: delete_from_server(Mailbox.get_by_id(mailbox_id), [key]),
                    (),
                )

        subject = safe_line(row.subject) or "(not fetched yet)"
        question = f"Delete message {key_label(key)} ({subject}) from the server?"
        self.app.push_screen(ChoiceScreen(question, [("No", False), ("Yes", True)]), chosen)

    def action_view_raw(self) -> None:
        from tuidesk.core.mailbox_ops import raw_message

        row = self.current
        if row is None:
            return
        mailbox_id, key = self.mailbox_id, row.key
        self.tuidesk.perform(
            f"read message {key_label(key)}",
            lambda: raw_message(Mailbox.get_by_id(mailbox_id), key),
            queue=False,
            on_success=lambda raw: self.app.push_screen(RawMailScreen(key_label(key), raw)),
        )

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)


class RawMailScreen(ModalScreen[None]):
    """A message's source, read-only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="raw.close"),
    ]

    def __init__(self, label: str, raw: bytes) -> None:
        super().__init__(classes="dialog-screen")
        self.label = label
        self.raw = raw

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static(Text(f"Message {self.label} as stored"), classes="dialog-title")
            yield TextArea(
                safe_text(self.raw.decode("utf-8", "replace")), read_only=True, id="raw-text"
            )
            yield Static(Text("escape: close"), classes="dialog-help")

    def action_close(self) -> None:
        self.dismiss(None)
