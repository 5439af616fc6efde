"""The tuidesk Textual application: modes, themes, key map and the command palette."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.theme import Theme

from tuidesk.core.clock import utcnow
from tuidesk.core.context import AppContext
from tuidesk.core.demo import populate_demo
from tuidesk.core.errors import TuideskError
from tuidesk.core.queue import DEFAULT_PAGE_SIZE
from tuidesk.core.settings import save_settings
from tuidesk.ui.commands import TuideskCommands
from tuidesk.ui.screens.queue import QueueScreen
from tuidesk.ui.screens.thread import ThreadScreen
from tuidesk.ui.themes import install_themes
from tuidesk.ui.widgets.ticket_table import TicketTable


class TuideskApp(App[int]):
    """The operator's helpdesk. ``clock`` gives "now" (fixed in tests, so ages are stable);
    ``page_size`` is how many queue rows are read at a time."""

    CSS_PATH = "app.tcss"
    TITLE = "tuidesk"
    MODES = {"queue": QueueScreen}  # review, mailboxes and trace come later
    DEFAULT_MODE = "queue"
    COMMANDS = App.COMMANDS | {TuideskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("question_mark", "toggle_help", "Keys", id="app.help"),
        Binding(
            "ctrl+p", "command_palette", "Palette", id="app.palette", show=False, priority=True
        ),
        Binding("ctrl+c", "help_quit", show=False, system=True, id="app.interrupt"),
    ]

    def __init__(
        self,
        context: AppContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        super().__init__()
        self.context = context
        self.clock = clock
        self.page_size = page_size
        self._startup_problems = install_themes(self, context)

    def on_mount(self) -> None:
        self.apply_keymap()
        for problem in self._startup_problems:
            self.notify(problem, severity="warning", timeout=15, markup=False)
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def apply_keymap(self) -> None:
        """Apply the settings' [keymap]; warn about binding ids that do not exist."""
        keymap = self.context.settings.keymap
        self.set_keymap(keymap)
        unknown = sorted(set(keymap) - binding_ids())
        if unknown:
            self.notify(
                f"[keymap] in {self.context.paths.config_file} names unknown bindings: "
                f"{', '.join(unknown)} (ids look like queue.open, queue.filter.closed, app.quit)",
                severity="warning",
                timeout=15,
                markup=False,
            )

    def switch_theme(self, name: str) -> None:
        """Use the theme ``name``; it is saved in the settings once applied."""
        self.theme = name

    def _remember_theme(self, theme: Theme) -> None:
        if theme.name == self.context.settings.theme:
            return
        settings = self.context.settings.with_changes(theme=theme.name)
        path = self.context.paths.config_file
        try:
            save_settings(settings, path)
        except OSError as exc:
            self.notify(
                f"the theme could not be saved in {path}: {exc}", severity="error", markup=False
            )
            return
        self.context = replace(self.context, settings=settings)

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def binding_ids() -> set[str]:
    """Every binding id a [keymap] entry may name."""
    ids: set[str] = set()
    for owner in (TuideskApp, QueueScreen, TicketTable, ThreadScreen):
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def run_tui(context: AppContext) -> int:
    """Open the database, run the TUI until the operator quits, return the exit code."""
    try:
        database = context.connect()
        if context.demo:
            populate_demo()
    except TuideskError as exc:
        print(f"tuidesk: {exc.sentence}", file=sys.stderr)
        return exc.exit_code
    try:
        app = TuideskApp(context)
        app.run()
    finally:
        database.close()
    return app.return_code or 0
