"""Save a thread's attachments to a folder: pick the files, edit the folder, save.

Names are made safe and never overwrite a file (``tuidesk.core.attachments_export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, SelectionList, Static

from tuidesk.ui.data import AttachmentView
from tuidesk.ui.widgets.thread_entry import attachment_line

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp


def save_all(attachment_ids: list[int], folder: str) -> list[Path]:
    from tuidesk.core.attachments_export import save_attachment

    return [save_attachment(attachment_id, folder) for attachment_id in attachment_ids]


def saved_notice(paths: list[Path]) -> str:
    if not paths:
        return "Nothing was saved."
    names = ", ".join(path.name for path in paths[:3])
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return f"Saved {names}{more} in {paths[0].parent}"


class SaveAttachmentsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="attachments.cancel"),
        Binding("ctrl+s", "save", "Save", id="attachments.save", priority=True),
    ]

    def __init__(self, attachments: list[AttachmentView], folder: Path) -> None:
        super().__init__(classes="dialog-screen")
        self.attachments = attachments
        self.folder = folder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Text("Save attachments (space: pick, ctrl+s: save)"), classes="dialog-title"
            )
            yield SelectionList[int](
                *((Text(attachment_line(a)), a.attachment_id, True) for a in self.attachments),
                id="attachments-list",
            )
            yield Static(Text("Into the folder:"), classes="dialog-label")
            yield Input(str(self.folder), id="attachments-folder")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="attachments-save", variant="primary", compact=True)
                yield Button("Cancel", id="attachments-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @on(Button.Pressed, "#attachments-save")
    @on(Input.Submitted, "#attachments-folder")
    def action_save(self) -> None:
        chosen = list(self.query_one(SelectionList).selected)
        folder = self.query_one("#attachments-folder", Input).value.strip()
        if not chosen:
            self.notify("Pick at least one file (space).", severity="warning", markup=False)
            return
        if not folder:
            self.notify("Name a folder to save into.", severity="warning", markup=False)
            return
        app: TuideskApp = self.app  # type: ignore[assignment]
        app.perform(
            "save the attachments",
            lambda: save_all(chosen, folder),
            notice=saved_notice,
            queue=False,
        )
        self.dismiss(None)

    @on(Button.Pressed, "#attachments-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
