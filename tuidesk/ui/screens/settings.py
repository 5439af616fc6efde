"""Settings: the helpdesk's own (in the database, shared by everyone: fetching on or off, the
default outgoing mailbox, the admin and alert addresses, the helpdesk's name…) and the
operator's (in the settings file: name, address, theme, the stale-fetch alarm)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Static

from tuidesk.core import global_settings
from tuidesk.core.settings import Settings, save_settings
from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line, safe_text
from tuidesk.ui import data
from tuidesk.ui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
ADDRESS_KEYS = {"admin_address", "operator_email"}
ADDRESS_LIST_KEYS = {"alert_recipients"}
USER_FIELDS = {  # the operator's settings: (attribute, label, help)
    "operator_name": "your name as agents and customers see it",
    "operator_email": "your address, to match you as an agent",
    "theme": "the colours of the app",
    "stale_fetch_alarm_minutes": "minutes without a fetch before a mailbox shows red",
}
INT_KEYS = {"stale_fetch_alarm_minutes"}


def setting_problem(key: str, kind: str, text: str) -> str:
    """Why ``text`` is refused for the setting ``key`` ("" when it is fine)."""
    value = text.strip()
    if kind == "int" and not value.isdigit():
        return f"'{value}' is not a whole number"
    if key in ADDRESS_KEYS and value and not _ADDRESS.match(value):
        return f"'{value}' is not an e-mail address"
    if key in ADDRESS_LIST_KEYS:
        bad = [a for a in re.split(r"[,\s]+", value) if a and not _ADDRESS.match(a)]
        if bad:
            return f"'{bad[0]}' is not an e-mail address"
    return ""


def read_global() -> tuple[dict[str, str], list[str]]:
    """The helpdesk settings as text, and the mailbox names to send from."""
    values = {key: global_settings.get(key) for key in global_settings.SETTINGS}
    return values, [name for _id, name in data.mailboxes()]


def save_global(changed: dict[str, str]) -> int:
    with database_proxy.atomic():
        for key, value in changed.items():
            global_settings.set_value(key, value)
    return len(changed)


class SettingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save", priority=True),
        Binding("ctrl+r", "refresh", "Read again", id="settings.refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, str] = {}
        self.problems: dict[str, str] = {}
        self.ready = False

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="settings-fields"):
            yield Static(Text("The helpdesk (shared by everyone)"), classes="settings-section")
            for key, spec in global_settings.SETTINGS.items():
                yield from self._row(key, self._global_editor(key, spec.kind), spec.help)
            yield Static(Text("You (your settings file)"), classes="settings-section")
            for key, help_text in USER_FIELDS.items():
                yield from self._row(key, self._user_editor(key), help_text)
        yield Static(id="settings-status")
        yield KeysFooter(show_command_palette=False)

    def _row(self, key: str, editor: Widget, help_text: str) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Static(Text(key), classes="form-label")
            with Vertical(classes="form-value"):
                yield editor
                yield Static(Text(help_text), classes="form-help")
                yield Static(classes="form-problem", id=f"problem-{key}")

    def _global_editor(self, key: str, kind: str) -> Widget:
        if kind == "bool":
            return Checkbox("", id=f"setting-{key}", compact=True)
        if key == "default_outgoing_mailbox":
            return Select([], prompt="(none)", id=f"setting-{key}", compact=True)
        return Input(id=f"setting-{key}", compact=True)

    def _user_editor(self, key: str) -> Widget:
        settings = self.tuidesk.context.settings
        if key == "theme":
            themes = sorted(self.app.available_themes)
            return Select(
                [(name, name) for name in themes],
                value=settings.theme if settings.theme in themes else self.app.theme,
                allow_blank=False,
                id=f"setting-{key}",
                compact=True,
            )
        return Input(str(getattr(settings, key)), id=f"setting-{key}", compact=True)

    def on_mount(self) -> None:
        self._read()

    def action_refresh(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="settings-read")
    def _read(self) -> None:
        with database_proxy.connection_context():
            values, mailboxes = read_global()
        self.app.call_from_thread(self._show, values, mailboxes)

    def _show(self, values: dict[str, str], mailboxes: list[str]) -> None:
        self.stored = values
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            for key, value in values.items():
                widget = self.query_one(f"#setting-{key}")
                if isinstance(widget, Checkbox):
                    widget.value = _true(value)
                elif isinstance(widget, Select):
                    names = sorted(set(mailboxes) | ({value} if value else set()))
                    widget.set_options([(Text(safe_line(name)), name) for name in names])
                    widget.value = value if value else Select.NULL
                elif isinstance(widget, Input):
                    widget.value = safe_text(value)
        self.ready = True
        for key in [*values, *USER_FIELDS]:
            self._check(key)

    def text_of(self, key: str) -> str:
        widget = self.query_one(f"#setting-{key}")
        if isinstance(widget, Checkbox):
            return "true" if widget.value else "false"
        if isinstance(widget, Select):
            return "" if widget.value == Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def _kind(self, key: str) -> str:
        spec = global_settings.SETTINGS.get(key)
        if spec is not None:
            return spec.kind
        return "int" if key in INT_KEYS else "str"

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Input.Changed) -> None:
        widget_id = event.control.id or "" if event.control else ""
        if self.ready and widget_id.startswith("setting-"):
            self._check(widget_id.removeprefix("setting-"))

    def _check(self, key: str) -> None:
        problem = setting_problem(key, self._kind(key), self.text_of(key))
        if problem:
            self.problems[key] = problem
        else:
            self.problems.pop(key, None)
        shown = self.query_one(f"#problem-{key}", Static)
        shown.update(Text(f"✗ {problem}" if problem else ""))
        shown.set_class(bool(problem), "-shown")
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.problems:
            first = next(iter(self.problems))
            status.append(f" {len(self.problems)} to fix ", "reverse bold")
            status.append(f" {first}: {self.problems[first]}")
        else:
            status.append(" ctrl+s saves", "dim")
        self.query_one("#settings-status", Static).update(status)

    def action_save(self) -> None:
        if not self.ready:
            return
        if self.problems:
            first = next(iter(self.problems))
            self.query_one(f"#setting-{first}").focus()
            self.notify(
                f"Not saved: {first}: {self.problems[first]}", severity="error", markup=False
            )
            return
        changed = {
            key: self.text_of(key)
            for key in global_settings.SETTINGS
            if self.text_of(key).strip() != self.stored.get(key, "").strip()
        }
        current = self.tuidesk.context.settings
        mine: Settings = replace(
            current,
            operator_name=self.text_of("operator_name").strip(),
            operator_email=self.text_of("operator_email").strip(),
            theme=self.text_of("theme"),
            stale_fetch_alarm_minutes=int(self.text_of("stale_fetch_alarm_minutes")),
        )
        path = self.tuidesk.context.paths.config_file

        def save_both() -> Settings:
            save_global(changed)
            if mine != current:
                save_settings(mine, path)
            return mine

        self.tuidesk.perform(
            "save the settings",
            save_both,
            notice="Settings saved",
            queue=False,
            on_success=self._saved,
        )

    def _saved(self, mine: Settings) -> None:
        app = self.tuidesk
        app.context = replace(app.context, settings=mine)
        if app.theme != mine.theme:
            app.switch_theme(mine.theme)
        self._read()
        app.read_status()


def _true(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}
