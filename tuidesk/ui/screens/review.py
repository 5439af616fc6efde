"""Review: the mail tuidesk held for a person (000's "left in the inbox to be actioned
manually") and the mail it failed to process, with what can be done about each.

Space selects; an action applies to the selection, or to the mail under the cursor when
nothing is selected. After an action the mail's mailbox is polled at once, so the mail on the
server gets its disposition (moved, deleted…) and loses its held/error flag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tuidesk.core.queue import parse_ticket_number
from tuidesk.core.redact import redact
from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.messages import Changes, HeldMailLoaded
from tuidesk.ui.screens.pickers import ChoiceScreen, PromptScreen
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.status_bar import PollStatusBar
from tuidesk.ui.widgets.thread_entry import local_time, short_time

if TYPE_CHECKING:
    from tuidesk.core.review import HeldMail
    from tuidesk.ui.app import TuideskApp

REASONS = {  # at most 14 characters: the "Why" column
    "unknown_sender": "unknown sender",
    "own_address": "own mailbox",
    "domain_not_allowed": "domain refused",
    "subject_stranger": "stranger on #",
    "update_only_no_match": "update-only",
    "no_sender": "no sender",
    "closed_ticket": "closed ticket",
    "processing_failed": "error",
}
COLUMNS = (
    ("mark", " ", 1),
    ("reason", "Why", 14),
    ("sender", "From", 18),
    ("subject", "Subject", 0),
    ("fetched", "Fetched", 12),
    ("mailbox", "Mailbox", 10),
)
WIDE = 110  # from this width on, the mailbox column is shown too


def reason_label(mail: HeldMail) -> str:
    if mail.state == "error":
        return "error"
    return REASONS.get(mail.reason, mail.reason.replace("_", " ") or "held")


def preview_text(mail: HeldMail) -> Text:
    text = Text()
    text.append("From ", "dim")
    text.append(safe_line(mail.sender) or "(no sender)")
    text.append("  ·  ", "dim")
    text.append(f"{reason_label(mail)}", "bold")
    if mail.detail:
        text.append(f": {safe_line(mail.detail)}")
    text.append("\n")
    text.append(safe_line(mail.subject) or "(no subject)", "bold")
    text.append(f"  ·  {safe_line(mail.mailbox)}, {local_time(mail.fetched_at)}", "dim")
    text.append("\n\n")
    text.append(safe_text(mail.preview).strip() or "(no text)")
    return text


class ReviewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", id="review.select"),
        Binding("A", "mark_all", "Mark all", id="review.select_all", show=False),
        Binding("c", "create_ticket", "Ticket", id="review.create"),
        Binding("a", "append", "Append", id="review.append"),
        Binding("x", "reject", "Reject", id="review.reject"),
        Binding("b", "block", "Block", id="review.block"),
        Binding("B", "block_domain", "Block domain", id="review.block_domain", show=False),
        Binding("r", "retry", "Retry", id="review.retry", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="review.refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown_columns = [key for key, _h, _w in COLUMNS]
        self.rows: list[HeldMail] = []
        self.marked: set[int] = set()
        self._generation = 0

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="review-summary")
        yield DataTable(id="review-table", cursor_type="row")
        yield Static(Text("No held mail: everything found its ticket."), id="review-empty")
        yield Static(id="review-preview")
        yield PollStatusBar(id="status-bar")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        self.tuidesk.changes_signal.subscribe(self, self._on_changes)
        self.query_one(DataTable).focus()
        self.reload()

    # --- reading ----------------------------------------------------------------------------

    def reload(self) -> None:
        self._generation += 1
        self._read(self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-read")
    def _read(self, generation: int) -> None:
        from tuidesk.core.review import held_mail

        try:
            with database_proxy.connection_context():
                rows = held_mail()
        except Exception as exc:
            error = f"the held mail cannot be read: {redact(str(exc))}"
            self.post_message(HeldMailLoaded(generation, [], error))
            return
        self.post_message(HeldMailLoaded(generation, rows))

    def on_held_mail_loaded(self, message: HeldMailLoaded) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self.notify(message.error, severity="error", timeout=10, markup=False)
            return
        current = self.current
        self.rows = message.rows
        self.marked &= {row.record_id for row in self.rows}
        self._rebuild(current.record_id if current else None)

    def _on_changes(self, changes: Changes) -> None:
        if changes.review:
            self.reload()

    # --- showing ----------------------------------------------------------------------------

    def _columns(self) -> list[tuple[str, str, int]]:
        """The columns that fit, the subject taking what the others leave."""
        width = self.size.width or self.app.size.width
        columns = [c for c in COLUMNS if c[0] != "mailbox" or width >= WIDE]
        fixed = sum(w + 2 for key, _h, w in columns if key != "subject")
        return [
            (key, header, max(16, width - 1 - fixed - 2) if key == "subject" else w)
            for key, header, w in columns
        ]

    def _rebuild(self, keep: int | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        self._shown_columns = [key for key, _h, _w in self._columns()]
        for key, header, width in self._columns():
            table.add_column(Text(header), width=width, key=key)
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.record_id))
        ids = [row.record_id for row in self.rows]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        self.set_class(not self.rows, "-empty")
        self._show_summary()
        self._show_preview()

    def _cells(self, row: HeldMail) -> list[Text]:
        cells = {
            "mark": Text("✓" if row.record_id in self.marked else " ", style="bold"),
            "reason": Text(reason_label(row), style="bold" if row.state == "error" else ""),
            "sender": Text(safe_line(row.sender)),
            "subject": Text(safe_line(row.subject) or "(no subject)"),
            "fetched": Text(short_time(row.fetched_at)),
            "mailbox": Text(safe_line(row.mailbox)),
        }
        for cell in cells.values():
            cell.no_wrap, cell.overflow = True, "ellipsis"
        return [cells[key] for key in self._shown_columns]

    def _show_summary(self) -> None:
        errors = sum(1 for row in self.rows if row.state == "error")
        held = len(self.rows) - errors
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" Held {held} ", "reverse bold")
        line.append(f" Errors {errors} ")
        if self.marked:
            line.append(f"  {len(self.marked)} selected", "bold")
        line.append("  space marks; keys act on the marked mail", "dim")
        self.query_one("#review-summary", Static).update(line)

    def _show_preview(self) -> None:
        current = self.current
        preview = self.query_one("#review-preview", Static)
        preview.update(preview_text(current) if current else Text(""))

    @property
    def current(self) -> HeldMail | None:
        table = self.query_one(DataTable)
        if not self.rows or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_preview()

    def on_resize(self, _event: Resize) -> None:
        if self.rows:
            current = self.current
            self._rebuild(current.record_id if current else None)

    # --- selecting --------------------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        current = self.current
        if current is None:
            return
        self.marked ^= {current.record_id}
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.update_cell_at((row, 0), self._cells(current)[0])
        if row + 1 < table.row_count:
            table.move_cursor(row=row + 1)
        self._show_summary()

    def action_mark_all(self) -> None:
        everything = {row.record_id for row in self.rows}
        self.marked = set() if self.marked == everything else everything
        current = self.current
        self._rebuild(current.record_id if current else None)

    def chosen(self) -> list[HeldMail]:
        """The selected mail, or the one under the cursor."""
        if self.marked:
            return [row for row in self.rows if row.record_id in self.marked]
        return [self.current] if self.current else []

    # --- acting -----------------------------------------------------------------------------

    def _act(self, verb: str, mails: list[HeldMail], call: Callable[[int], Any]) -> None:
        if not mails:
            self.notify("No held mail is selected.", severity="warning", markup=False)
            return
        ids = [mail.record_id for mail in mails]
        count = f"{len(ids)} mail{'s' if len(ids) != 1 else ''}"

        def run_all() -> list[Any]:
            return [call(record_id) for record_id in ids]

        self.marked -= set(ids)
        self.tuidesk.perform(
            f"{verb} {count}",
            run_all,
            notice=f"{count}: {verb}",
            record_ids=ids,
            poll_records=True,
        )

    def action_reject(self) -> None:
        from tuidesk.core.review import reject

        actor = self.tuidesk.actor
        self._act("rejected", self.chosen(), lambda record: reject(record, actor))

    def action_block(self, whole_domain: bool = False) -> None:
        from tuidesk.core.review import block_sender

        actor = self.tuidesk.actor
        verb = "sender's domain blocked" if whole_domain else "sender blocked"
        self._act(verb, self.chosen(), lambda record: block_sender(record, actor, whole_domain))

    def action_block_domain(self) -> None:
        """Block every address of the senders' domains (asked first: it is wide)."""
        domains = sorted({m.sender.rpartition("@")[2] for m in self.chosen() if "@" in m.sender})
        if not domains:
            self.notify("No held mail with a sender is selected.", markup=False)
            return
        question = f"Block all mail from {', '.join(domains)}?"
        self.confirm(question, lambda: self.action_block(whole_domain=True))

    def action_retry(self) -> None:
        from tuidesk.core.review import retry

        self._act("retried", self.chosen(), retry)

    def action_append(self) -> None:
        mails = self.chosen()
        if not mails:
            return
        from tuidesk.core.review import append_to_ticket

        actor = self.tuidesk.actor

        def typed(text: str | None) -> None:
            if not text:
                return
            number = parse_ticket_number(text)
            if number is None:
                self.notify(f"{text!r} is not a ticket number", severity="error", markup=False)
                return
            self._act(
                f"appended to #{number:06d}",
                mails,
                lambda record: append_to_ticket(record, actor, number),
            )

        self.app.push_screen(
            PromptScreen("Append to the ticket number", placeholder="123456"), typed
        )

    def action_create_ticket(self) -> None:
        mails = self.chosen()
        if not mails:
            return
        from tuidesk.core.review import create_ticket_from
        from tuidesk.ui.screens.create_ticket import CreateTicketScreen, TicketFor

        actor = self.tuidesk.actor

        def decided(choice: TicketFor | None) -> None:
            if choice is None:
                return
            self._act(
                "ticket created",
                mails,
                lambda record: create_ticket_from(
                    record, actor, choice.contact_id, choice.client_id, choice.add_domain
                ),
            )

        self.app.push_screen(CreateTicketScreen([m.sender for m in mails]), decided)

    def action_refresh(self) -> None:
        self.reload()

    def confirm(self, question: str, then: Callable[[], None]) -> None:
        def chosen(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ChoiceScreen(question, [("No", False), ("Yes", True)]), chosen)
