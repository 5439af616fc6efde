"""Trace (003's Debug Trace, 004's "Last Fetch"): a mailbox's debug trace as it is written,
filterable by level and text, and its poll-run history; errors stand out; export to a file.

Lines come from two places: the trace stored in the database (what earlier polls and other
processes wrote, tailed by id) and the app's own poll worker, whose tracer lines arrive as
they are written (``TuideskApp.trace_signal``). A line heard live is not shown again when the
poll stores it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, RichLog, Select, Static

from tuidesk.core.redact import redact
from tuidesk.core.store.models import database_proxy
from tuidesk.core.text import safe_line
from tuidesk.core.trace import LEVELS
from tuidesk.ui import data
from tuidesk.ui.admin_data import RunRow, TraceRow, poll_runs, trace_lines
from tuidesk.ui.messages import Changes, TraceRead
from tuidesk.ui.screens.mailboxes import error_style
from tuidesk.ui.widgets.footer import KeysFooter
from tuidesk.ui.widgets.status_bar import PollStatusBar
from tuidesk.ui.widgets.thread_entry import short_time

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

TAIL_S = 1.0
RUN_COLUMNS = (
    ("start", "Start", 12),
    ("duration", "Time", 6),
    ("fetched", "Fetch", 5),
    ("created", "New", 4),
    ("replied", "Repl", 4),
    ("held", "Held", 4),
    ("rejected", "Rej", 4),
    ("errors", "Err", 4),
    ("error", "Error", 20),
)


def trace_text(line: TraceRow, styles: dict[str, Style]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{line.at:%H:%M:%S} ", "dim")
    text.append(f"{line.level:<5} ", styles.get(line.level, Style()))
    text.append(
        safe_line(line.text), styles.get(line.level, Style()) if line.level == "error" else ""
    )
    return text


def run_cells(run: RunRow, alarm: Style) -> list[Text]:
    bad = not run.ok or run.errors > 0
    style = alarm if bad else Style()
    cells = [
        Text(short_time(run.started_at)),
        Text(f"{run.duration_ms / 1000:.1f}s"),
        Text(str(run.fetched)),
        Text(str(run.created)),
        Text(str(run.replied)),
        Text(str(run.held)),
        Text(str(run.rejected)),
        Text(str(run.errors), style=alarm if run.errors else Style()),
        Text(safe_line(run.error), style=style),
    ]
    for cell in cells:
        cell.no_wrap, cell.overflow = True, "ellipsis"
    return cells


class TraceScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="trace.filter"),
        Binding("x", "export", "Export", id="trace.export"),
        Binding("ctrl+r", "refresh", "Refresh", id="trace.refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mailbox_id: int | None = None
        self.mailbox_name = ""
        self.lines: list[TraceRow] = []
        self.last_id = 0
        self.heard: Counter[tuple[str, str]] = Counter()
        self.names: dict[int, str] = {}

    @property
    def tuidesk(self) -> TuideskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="trace-controls"):
            yield Select([], prompt="Mailbox", id="trace-mailbox", compact=True)
            yield Select(
                [(f"{level}+", level) for level in LEVELS],
                value="debug",
                allow_blank=False,
                id="trace-level",
                compact=True,
            )
            yield Input(placeholder="text filter", id="trace-filter", compact=True)
        yield RichLog(id="trace-log", wrap=False, markup=False, max_lines=5000)
        yield Static(id="trace-runs-title")
        yield DataTable(id="trace-runs", cursor_type="row")
        yield PollStatusBar(id="status-bar")
        yield KeysFooter(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#trace-runs", DataTable)
        for key, header, width in RUN_COLUMNS:
            table.add_column(Text(header), width=width, key=key)
        self.tuidesk.trace_signal.subscribe(self, self._heard)
        self.tuidesk.changes_signal.subscribe(self, self._on_changes)
        self.set_interval(TAIL_S, self._tail, name="trace-tail")
        self._read_mailboxes()

    def on_screen_resume(self) -> None:
        wanted = self.tuidesk.trace_request
        if wanted is not None and wanted != self.mailbox_id and self.is_mounted:
            self._read_mailboxes()

    # --- which mailbox ----------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="trace-mailboxes")
    def _read_mailboxes(self) -> None:
        with database_proxy.connection_context():
            choices = data.mailboxes()
        self.app.call_from_thread(self._offer, choices)

    def _offer(self, choices: list[tuple[int, str]]) -> None:
        picker = self.query_one("#trace-mailbox", Select)
        self.names = dict(choices)
        picker.set_options([(Text(safe_line(name)), mailbox_id) for mailbox_id, name in choices])
        ids = [mailbox_id for mailbox_id, _name in choices]
        wanted = self.tuidesk.trace_request
        self.tuidesk.trace_request = None
        chosen = wanted if wanted in ids else self.mailbox_id if self.mailbox_id in ids else None
        if chosen is None and ids:
            chosen = ids[0]
        if chosen is not None:
            picker.value = chosen
            self._choose(chosen)

    @on(Select.Changed, "#trace-mailbox")
    def _mailbox_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != self.mailbox_id:
            self._choose(event.value)

    def _choose(self, mailbox_id: int) -> None:
        self.mailbox_id = mailbox_id
        self.mailbox_name = self.names.get(mailbox_id, "")
        self.lines, self.last_id = [], 0
        self.heard.clear()
        self.query_one(RichLog).clear()
        self._read(mailbox_id, 0, True)

    # --- reading ------------------------------------------------------------------------------

    def _tail(self) -> None:
        if self.mailbox_id is not None and self.is_attached and self.app.screen is self:
            self._read(self.mailbox_id, self.last_id, False)

    def _on_changes(self, _changes: Changes) -> None:
        if self.mailbox_id is not None:
            self._read(self.mailbox_id, self.last_id, True)

    def action_refresh(self) -> None:
        if self.mailbox_id is not None:
            self._read(self.mailbox_id, self.last_id, True)

    @work(thread=True, exit_on_error=False, group="trace-read")
    def _read(self, mailbox_id: int, after_id: int, with_runs: bool) -> None:
        try:
            with database_proxy.connection_context():
                lines = trace_lines(mailbox_id, after_id)
                runs = poll_runs(mailbox_id) if with_runs else None
        except Exception as exc:
            self.post_message(TraceRead(mailbox_id, [], None, redact(str(exc))))
            return
        self.post_message(TraceRead(mailbox_id, lines, runs))

    def on_trace_read(self, message: TraceRead) -> None:
        if message.mailbox_id != self.mailbox_id:
            return
        if message.error:
            self.notify(
                f"the trace cannot be read: {message.error}", severity="error", markup=False
            )
            return
        for line in message.lines:
            if line.line_id <= self.last_id:
                continue
            self.last_id = line.line_id
            key = (line.level, line.text)
            if self.heard[key]:
                self.heard[key] -= 1  # already shown as it was written
                continue
            self._add(line)
        if message.runs is not None:
            self._show_runs(message.runs)

    def _heard(self, heard: tuple[str, str, str, object]) -> None:
        """A line of this app's poll worker, as it is written."""
        mailbox, level, text, at = heard
        if mailbox != self.mailbox_name:
            return
        self.heard[(level, text)] += 1
        self._add(TraceRow(0, at, level, text))  # type: ignore[arg-type]

    # --- showing ------------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        alarm = error_style(self.app.theme_variables)
        return {"error": alarm, "warn": Style(bold=True), "debug": Style(dim=True)}

    def _shown(self, line: TraceRow) -> bool:
        level = self.query_one("#trace-level", Select).value
        minimum = LEVELS.index(level) if level in LEVELS else 0
        if LEVELS.index(line.level) < minimum if line.level in LEVELS else False:
            return False
        needle = self.query_one("#trace-filter", Input).value.strip().lower()
        return not needle or needle in line.text.lower()

    def _add(self, line: TraceRow) -> None:
        self.lines.append(line)
        if self._shown(line):
            self.query_one(RichLog).write(trace_text(line, self._styles()))

    def _redraw(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        styles = self._styles()
        for line in self.lines:
            if self._shown(line):
                log.write(trace_text(line, styles))

    @on(Select.Changed, "#trace-level")
    @on(Input.Changed, "#trace-filter")
    def _filter_changed(self) -> None:
        self._redraw()

    def _show_runs(self, runs: list[RunRow]) -> None:
        table = self.query_one("#trace-runs", DataTable)
        table.clear()
        alarm = error_style(self.app.theme_variables)
        for run in runs:
            table.add_row(*run_cells(run, alarm), key=str(run.run_id))
        failed = sum(1 for run in runs if not run.ok or run.errors)
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f" Poll runs of {safe_line(self.mailbox_name)} ", "reverse bold")
        title.append(f" {len(runs)} shown")
        if failed:
            title.append(f", {failed} with errors", alarm)
        self.query_one("#trace-runs-title", Static).update(title)

    # --- acting -------------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.query_one("#trace-filter", Input).focus()

    def action_export(self) -> None:
        from tuidesk.ui.screens.pickers import PromptScreen

        if self.mailbox_id is None:
            return
        default = str(Path.home() / f"tuidesk-trace-{self.mailbox_name}.txt")

        def chosen(path: str | None) -> None:
            if path:
                self.export(Path(path).expanduser())

        self.app.push_screen(PromptScreen("Export the trace shown to the file", default), chosen)

    def export(self, path: Path) -> None:
        """Write the lines shown (the filters applied) to ``path``."""
        text = "".join(
            f"{line.at:%Y-%m-%d %H:%M:%S} {line.level:<5} {line.text}\n"
            for line in self.lines
            if self._shown(line)
        )

        def write() -> int:
            path.write_text(text, encoding="utf-8")
            return text.count("\n")

        self.tuidesk.perform(
            f"export the trace to {path}",
            write,
            notice=lambda count: f"{count} trace lines written to {path}",
            queue=False,
        )
