"""The tuidesk Textual application: modes, themes, key map, the poll worker and agent actions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.signal import Signal
from textual.theme import Theme

from tuidesk.core.clock import utcnow
from tuidesk.core.context import AppContext
from tuidesk.core.demo import populate_demo
from tuidesk.core.errors import TuideskError
from tuidesk.core.queue import DEFAULT_PAGE_SIZE
from tuidesk.core.settings import save_settings
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui.commands import TuideskCommands
from tuidesk.ui.data import PollStatus
from tuidesk.ui.messages import Changes
from tuidesk.ui.operator import ActionsMixin
from tuidesk.ui.polling import PollingMixin
from tuidesk.ui.screens.compose import ComposeScreen
from tuidesk.ui.screens.mailboxes import MailboxesScreen
from tuidesk.ui.screens.queue import QueueScreen
from tuidesk.ui.screens.review import ReviewScreen
from tuidesk.ui.screens.settings import SettingsScreen
from tuidesk.ui.screens.templates import TemplatesScreen
from tuidesk.ui.screens.thread import ThreadScreen
from tuidesk.ui.screens.trace import TraceScreen
from tuidesk.ui.themes import install_themes
from tuidesk.ui.widgets.ticket_table import TicketTable

MODE_LABELS = {
    "queue": "Queue",
    "review": "Review",
    "mailboxes": "Mailboxes",
    "trace": "Trace",
    "templates": "Templates",
    "settings": "Settings",
}


MODE_KEYS = {
    "queue": "f2",
    "review": "f3",
    "mailboxes": "f4",
    "trace": "f5",
    "templates": "f6",
    "settings": "f7",
}
MODE_GROUP = Binding.Group("Modes")
"""The mode keys show as one group in the footer ("f3 f4 f5 f6 f7 Modes") so that all of
them fit in 80 columns next to a screen's own keys; the help panel (?) and the tooltips name
each one."""


class TuideskApp(PollingMixin, ActionsMixin, App[int]):
    """The operator's helpdesk. ``clock`` gives "now" (fixed in tests, so ages are stable);
    ``page_size`` is how many queue rows are read at a time; ``poll`` switches the background
    poll worker on (tests and benchmarks switch it off)."""

    CSS_PATH: ClassVar[list[str | Path]] = ["app.tcss", "admin.tcss"]
    TITLE = "tuidesk"
    MODES = {
        "queue": QueueScreen,
        "review": ReviewScreen,
        "mailboxes": MailboxesScreen,
        "trace": TraceScreen,
        "templates": TemplatesScreen,
        "settings": SettingsScreen,
    }
    DEFAULT_MODE = "queue"
    COMMANDS = App.COMMANDS | {TuideskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
        Binding("question_mark", "toggle_help", "Keys", id="app.help"),
        *(
            Binding(
                key,
                f"switch_mode('{mode}')",
                MODE_LABELS[mode],
                id=f"app.mode.{mode}",
                group=MODE_GROUP,
            )
            for mode, key in MODE_KEYS.items()
        ),
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
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.context = context
        self.clock = clock
        self.page_size = page_size
        self.changes_signal: Signal[Changes] = Signal(self, "changes")
        self.poll_status_signal: Signal[PollStatus] = Signal(self, "poll-status")
        self.trace_signal: Signal[tuple[str, str, str, datetime]] = Signal(self, "trace")
        self.trace_request: int | None = None  # the mailbox the trace mode is to show
        self.init_polling(poll)
        self.init_actions()
        self._startup_problems = install_themes(self, context)

    def on_mount(self) -> None:
        self.apply_keymap()
        for problem in self._startup_problems:
            self.notify(problem, severity="warning", timeout=15, markup=False)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.start_polling()

    def on_unmount(self) -> None:
        self.stop_polling()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Toasts name mailboxes, subjects and errors that came from mail or from servers: each
        one goes through ``safe_text`` here, once for every screen."""
        super().notify(
            safe_text(message),
            title=safe_line(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def attachments_dir(self) -> Path:
        """Where attachments are saved unless the operator names another folder."""
        chosen = self.context.settings.attachments_dir
        return Path(chosen).expanduser() if chosen else self.context.paths.attachments

    def publish_changes(self, changes: Changes) -> None:
        """Tell every screen what changed in the store; each reads again what it shows."""
        self.changes_signal.publish(changes)

    # --- keys and themes ----------------------------------------------------------------------

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The key of the mode on show is left out of the footer."""
        on_show = action == "switch_mode" and parameters and parameters[0] == self.current_mode
        return not on_show

    def go_to(self, mode: str) -> None:
        """Show the mode ``mode`` (one of MODES) as it was left."""
        if mode in self.MODES and mode != self.current_mode:
            self.switch_mode(mode)

    async def action_switch_mode(self, mode: str) -> None:
        self.go_to(mode)

    def show_trace(self, mailbox_id: int) -> None:
        """Show the trace mode on the mailbox ``mailbox_id``."""
        self.trace_request = mailbox_id
        if self.current_mode == "trace":
            self.screen.on_screen_resume()  # type: ignore[attr-defined]
        else:
            self.go_to("trace")


def binding_owners() -> list[type]:
    """Every class of the UI that declares key bindings."""
    from tuidesk.ui.screens.attachments import SaveAttachmentsScreen
    from tuidesk.ui.screens.compose import PreviewScreen
    from tuidesk.ui.screens.create_ticket import CreateTicketScreen
    from tuidesk.ui.screens.mailbox_content import MailboxContentScreen, RawMailScreen
    from tuidesk.ui.screens.mailbox_form import MailboxFormScreen
    from tuidesk.ui.screens.mailbox_test import ConnectionTestScreen
    from tuidesk.ui.screens.pickers import ChoiceScreen, PromptScreen

    return [
        TuideskApp,
        QueueScreen,
        TicketTable,
        ThreadScreen,
        ComposeScreen,
        PreviewScreen,
        ReviewScreen,
        ChoiceScreen,
        PromptScreen,
        SaveAttachmentsScreen,
        CreateTicketScreen,
        MailboxesScreen,
        MailboxFormScreen,
        ConnectionTestScreen,
        MailboxContentScreen,
        RawMailScreen,
        TraceScreen,
        TemplatesScreen,
        SettingsScreen,
    ]


def binding_ids() -> set[str]:
    """Every binding id a [keymap] entry may name."""
    return {
        binding.id
        for owner in binding_owners()
        for binding in owner.BINDINGS
        if isinstance(binding, Binding) and binding.id
    }


def run_tui(context: AppContext, *, poll: bool = True) -> int:
    """Open the database, run the TUI until the operator quits, return the exit code."""
    try:
        database = context.connect()
        if context.demo:
            populate_demo()
    except TuideskError as exc:
        print(f"tuidesk: {exc.sentence}", file=sys.stderr)
        return exc.exit_code
    try:
        app = TuideskApp(context, poll=poll)
        app.run()
    finally:
        database.close()
    return app.return_code or 0
