"""Write a reply to the customer, or an internal note, for one ticket.

A reply is queued in the outbox (it shows in the thread at once, as "queued") and sent by the
poll worker; ctrl+r shows it as the customer will get it, rendered by the core's template.
Files are attached by path (several separated by ";"), copies go to the Cc addresses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static, TextArea

from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.messages import PreviewReady
from tuidesk.ui.operator import error_sentence
from tuidesk.ui.screens.pickers import ChoiceScreen
from tuidesk.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

KIND_TITLES = {"reply": "Reply to", "note": "Internal note on"}


def split_list(text: str, separators: str = ";,") -> list[str]:
    """The items of a ";"- (or ",")-separated line, without blanks."""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return [item.strip() for item in text.split(separators[0]) if item.strip()]


def missing_files(paths: list[str]) -> list[str]:
    return [path for path in paths if not Path(path).expanduser().is_file()]


class PreviewScreen(ModalScreen[None]):
    """The reply as the customer will get it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="preview.close"),
    ]

    def __init__(self, subject: str, text: str) -> None:
        super().__init__(classes="dialog-screen")
        self.subject, self.text = subject, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static(Text(f"Subject: {safe_line(self.subject)}"), classes="dialog-title")
            with VerticalScroll(id="preview-body"):
                yield Static(Text(safe_text(self.text)))
            yield Static(Text("escape: back to the reply"), classes="dialog-help")

    def action_close(self) -> None:
        self.dismiss(None)


class ComposeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", id="compose.send", priority=True),
        Binding("ctrl+r", "preview", "Preview", id="compose.preview", priority=True),
        Binding("ctrl+t", "toggle_kind", "Reply/note", id="compose.toggle", priority=True),
        Binding("escape", "cancel", "Cancel", id="compose.cancel"),
    ]

    def __init__(self, ticket_id: int, number: str, subject: str, kind: str = "reply") -> None:
        super().__init__()
        self.ticket_id, self.number, self.subject = ticket_id, number, subject
        self.kind = kind
        self._sending = False
        self._done = False

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="compose-title")
        yield TextArea(id="compose-body", soft_wrap=True, show_line_numbers=False)
        yield Input(
            placeholder="Attach files: paths separated by ;", id="compose-files", compact=True
        )
        yield Input(placeholder="Cc: addresses separated by ,", id="compose-cc", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._show_kind()
        self.query_one(TextArea).focus()

    def _show_kind(self) -> None:
        title = f"{KIND_TITLES[self.kind]} #{self.number}  {safe_line(self.subject)}"
        self.query_one("#compose-title", Static).update(
            Text(title, no_wrap=True, overflow="ellipsis")
        )
        self.set_class(self.kind == "note", "-note")
        for field in ("#compose-files", "#compose-cc"):
            self.query_one(field, Input).display = self.kind == "reply"

    @property
    def body(self) -> str:
        return self.query_one(TextArea).text

    def action_toggle_kind(self) -> None:
        self.kind = "note" if self.kind == "reply" else "reply"
        self._show_kind()

    def action_send(self) -> None:
        if self._sending:
            return
        body = self.body
        if not body.strip():
            self.notify("Write something first.", severity="warning", markup=False)
            return
        from tuidesk.core import actions

        actor, ticket_id = self.tuidesk.actor, self.ticket_id
        if self.kind == "note":
            call = lambda: actions.add_note(ticket_id, actor, body)  # noqa: E731
            verb, notice = "add a note to", f"#{self.number}: note added"
        else:
            files = split_list(self.query_one("#compose-files", Input).value, ";")
            missing = missing_files(files)
            if missing:
                self.notify(f"No such file: {', '.join(missing)}", severity="error", markup=False)
                return
            cc = split_list(self.query_one("#compose-cc", Input).value, ",;")
            paths = [Path(f).expanduser() for f in files]
            call = lambda: actions.reply(ticket_id, actor, body, paths, cc)  # noqa: E731
            verb, notice = "reply to", f"#{self.number}: reply queued for sending"
        self._sending = True
        self.tuidesk.perform(
            f"{verb} #{self.number}",
            call,
            notice=notice,
            ticket_ids=(ticket_id,),
            send_now=self.kind == "reply",
            on_success=self._sent,
            on_failure=self._failed,
        )

    def _sent(self, _result: object) -> None:
        self._done = True
        if self.is_current:
            self.dismiss(None)

    def on_screen_resume(self) -> None:
        if self._done:  # sent while the operator was in another mode
            self.dismiss(None)

    def _failed(self, _error: str) -> None:
        self._sending = False

    def action_preview(self) -> None:
        if self.kind != "reply":
            self.notify("A note is not sent: there is nothing to preview.", markup=False)
            return
        self._preview(self.body)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, body: str) -> None:
        from tuidesk.core.actions import preview_reply

        try:
            with database_proxy.connection_context():
                rendered = preview_reply(self.ticket_id, self.tuidesk.actor, body)
        except Exception as exc:
            self.post_message(PreviewReady("", "", error_sentence(exc)))
            return
        self.post_message(PreviewReady(rendered.subject, rendered.text))

    def on_preview_ready(self, message: PreviewReady) -> None:
        if message.error:
            self.notify(f"No preview: {message.error}", severity="error", markup=False)
        else:
            self.app.push_screen(PreviewScreen(message.subject, message.text))

    def action_cancel(self) -> None:
        if not self.body.strip():
            self.dismiss(None)
            return

        def chosen(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        options = [("Keep writing", False), ("Discard the draft", True)]
        self.app.push_screen(ChoiceScreen("Discard what you wrote?", options), chosen)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()
