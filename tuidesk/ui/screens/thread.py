"""A ticket's thread: its header, every message in order (newest last), and what an agent does
with it: reply, note, status, priority, department, agent, close, save attachments.

The thread is read in a worker; a long thread shows its last :data:`SHOWN_AT_FIRST` messages
and a button for the earlier ones, so a ticket of 200 mails opens as fast as one of 5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Collapsible, Static

from tuidesk.core.redact import redact
from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line
from tuidesk.ui import data
from tuidesk.ui.data import EntryView, ThreadView
from tuidesk.ui.messages import Changes, ThreadLoaded
from tuidesk.ui.ticket_actions import TicketActionsMixin, TicketRef
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.status_bar import PollStatusBar
from tuidesk.ui.widgets.thread_entry import ThreadEntry
from tuidesk.ui.widgets.ticket_table import theme_styles

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

SHOWN_AT_FIRST = 10
"""Messages drawn when a thread opens; the earlier ones wait behind a button."""
EARLIER_BATCH = 50
"""Messages the button adds each time it is pressed."""
TICKET_GROUP = Binding.Group("Change", compact=True)


def earlier_label(count: int) -> str:
    """ "Show 3 earlier messages", "Show 50 earlier messages (of 190)"."""
    batch = min(count, EARLIER_BATCH)
    label = f"Show {batch} earlier message{'s' if batch != 1 else ''}"
    return label + (f" (of {count})" if count > batch else "")


class ThreadScreen(TicketActionsMixin, Screen[None]):
    """The thread of one ticket; escape goes back to where it was opened from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="thread.back"),
        Binding("r", "reply", "Reply", id="thread.reply"),
        Binding("n", "note", "Note", id="thread.note"),
        Binding("a", "assign_to_me", "Take", id="thread.assign_to_me", show=False),
        Binding("t", "change_status", "Status", id="thread.status", group=TICKET_GROUP),
        Binding("p", "change_priority", "Priority", id="thread.priority", group=TICKET_GROUP),
        Binding("d", "change_department", "Dept", id="thread.department", group=TICKET_GROUP),
        Binding("g", "change_assignee", "Agent", id="thread.assignee", group=TICKET_GROUP),
        Binding("x", "close_ticket", "Close", id="thread.close"),
        Binding("s", "save_attachments", "Save files", id="thread.save", show=False),
        Binding("z", "toggle_quotes", "Quotes", id="thread.quotes", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="thread.refresh", show=False),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.view: ThreadView | None = None
        self._generation = 0
        self._earlier: list[EntryView] = []
        self._shown_count = 0

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(Text("Reading the thread…"), id="thread-title")
        yield Static(id="thread-meta")
        yield VerticalScroll(id="thread-messages")
        yield PollStatusBar(id="status-bar")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.tuidesk.changes_signal.subscribe(self, self._on_changes)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.reload())
        self.reload()

    # --- reading ----------------------------------------------------------------------------

    def reload(self) -> None:
        self._generation += 1
        self._read(self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="thread-read")
    def _read(self, generation: int) -> None:
        try:
            with database_proxy.connection_context():
                view = data.load_thread(self.ticket_id)
        except Exception as exc:
            error = f"the thread cannot be read: {redact(str(exc))}"
            self.post_message(ThreadLoaded(self.ticket_id, generation, None, error))
            return
        self.post_message(ThreadLoaded(self.ticket_id, generation, view))

    async def on_thread_loaded(self, message: ThreadLoaded) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self.notify(message.error, severity="error", timeout=10, markup=False)
            return
        view = self.view = message.view
        title = self.query_one("#thread-title", Static)
        if view is None:
            title.update(Text("This ticket no longer exists."))
            return
        title.update(Text(f"#{view.number}  {safe_line(view.subject)}"))
        self.query_one("#thread-meta", Static).update(
            Text(" · ".join(safe_line(fact) for fact in view.facts))
        )
        await self._show_entries(view)
        if view.unread:  # the agent sees it now (a reply read while open is read too)
            self._mark_read()

    async def _show_entries(self, view: ThreadView) -> None:
        box = self.query_one("#thread-messages", VerticalScroll)
        at_end = box.scroll_y >= box.max_scroll_y - 1 or not box.children
        expanded = {
            entry.entry.message_id
            for entry in self.query(ThreadEntry)
            if any(not c.collapsed for c in entry.query(Collapsible))
        }
        style = theme_styles(self.app.theme_variables)["attachment"]
        hidden = max(0, len(view.entries) - max(SHOWN_AT_FIRST, self._shown_count))
        self._earlier = list(view.entries[:hidden])
        shown = [ThreadEntry(entry, style) for entry in view.entries[hidden:]]
        self._shown_count = len(shown)
        with self.app.batch_update():
            await box.remove_children()
            widgets: list[Button | ThreadEntry] = []
            if hidden:
                widgets.append(Button(earlier_label(hidden), id="thread-earlier", compact=True))
            widgets += shown
            await box.mount_all(widgets)
            for entry in shown:
                if entry.entry.message_id in expanded:
                    for collapsible in entry.query(Collapsible):
                        collapsible.collapsed = False
        if at_end:
            box.scroll_end(animate=False, immediate=False)

    @on(Button.Pressed, "#thread-earlier")
    async def show_earlier(self) -> None:
        """Draw the next :data:`EARLIER_BATCH` earlier messages above the ones shown."""
        box = self.query_one("#thread-messages", VerticalScroll)
        batch, self._earlier = self._earlier[-EARLIER_BATCH:], self._earlier[:-EARLIER_BATCH]
        self._shown_count += len(batch)
        button = self.query_one("#thread-earlier", Button)
        style = theme_styles(self.app.theme_variables)["attachment"]
        await box.mount_all([ThreadEntry(entry, style) for entry in batch], after=button)
        if self._earlier:
            button.label = earlier_label(len(self._earlier))
        else:
            await button.remove()
        box.scroll_home(animate=False)

    def _on_changes(self, changes: Changes) -> None:
        if changes.any_ticket or self.ticket_id in changes.ticket_ids:
            self.reload()

    def _mark_read(self) -> None:
        from tuidesk.core.actions import mark_read

        ticket_id = self.ticket_id
        self.tuidesk.perform("mark as read", lambda: mark_read(ticket_id))

    # --- acting on the ticket ---------------------------------------------------------------

    def _ticket(self) -> TicketRef | None:
        view = self.view
        if view is None:
            return None
        return TicketRef(
            view.ticket_id,
            view.number,
            view.status,
            view.priority,
            view.department_id,
            view.assignee_id,
        )

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.reload()

    def action_reply(self) -> None:
        self._open_composer("reply")

    def action_note(self) -> None:
        self._open_composer("note")

    def _open_composer(self, kind: str) -> None:
        if self.view is None:
            return
        from tuidesk.ui.screens.compose import ComposeScreen

        view = self.view
        self.app.push_screen(ComposeScreen(self.ticket_id, view.number, view.subject, kind))

    def action_toggle_quotes(self) -> None:
        collapsibles = list(self.query(Collapsible))
        fold = any(not c.collapsed for c in collapsibles)
        for collapsible in collapsibles:
            collapsible.collapsed = fold

    def action_save_attachments(self) -> None:
        if self.view is None:
            return
        files = [a for entry in self.view.entries for a in entry.attachments]
        if not files:
            self.notify("This thread has no attachments.", markup=False)
            return
        from tuidesk.ui.screens.attachments import SaveAttachmentsScreen

        self.app.push_screen(SaveAttachmentsScreen(files, self.tuidesk.attachments_dir()))
