"""The poll status line: mailbox states, the last poll, failures, the outbox and held mail."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from tuidesk.core.text import safe_line
from tuidesk.ui.data import PollStatus
from tuidesk.ui.widgets.ticket_table import theme_styles

ERROR_ROOM = 40


def clock_time(moment: datetime | None) -> str:
    """A stored (naive UTC) moment as the operator's local HH:MM."""
    if moment is None:
        return "never"
    return moment.replace(tzinfo=UTC).astimezone().strftime("%H:%M")


def status_line(status: PollStatus, styles: dict[str, Style]) -> Text:
    """One line: failing mailboxes first (they matter most), then what is fine."""
    line = Text(no_wrap=True, overflow="ellipsis")
    parts: list[Text] = []
    active = [m for m in status.mailboxes if m.status == "active"]
    if not status.mailboxes:
        parts.append(Text("no mailbox configured"))
    elif not status.polling:
        parts.append(Text("polling off here"))
    elif not status.fetching:
        parts.append(Text("fetching switched off", style=styles["high"]))
    elif not active:
        parts.append(Text("no active mailbox: nothing to poll"))
    for mailbox in status.mailboxes:
        if mailbox.status == "active" and (mailbox.failing or mailbox.failures):
            error = safe_line(mailbox.last_error)
            if len(error) > ERROR_ROOM:
                error = error[: ERROR_ROOM - 1] + "…"
            word = "failing" if mailbox.failing else "retrying"
            parts.append(
                Text.assemble(
                    (f"✗ {safe_line(mailbox.name)} {word}", styles["urgent"]),
                    f": {error}" if error else "",
                )
            )
    fine = [m for m in active if not (m.failing or m.failures)]
    if fine and status.polling:
        names = ", ".join(safe_line(m.name) for m in fine[:3])
        more = f" +{len(fine) - 3}" if len(fine) > 3 else ""
        parts.append(Text(f"✓ {names}{more}", style=styles["ok"]))
    if status.polling and active:
        parts.append(Text(f"polled {clock_time(status.last_round)}", style="dim"))
    if status.outbox_queued:
        parts.append(Text(f"{status.outbox_queued} to send"))
    if status.outbox_failed:
        parts.append(Text(f"{status.outbox_failed} not sent", style=styles["urgent"]))
    if status.held:
        parts.append(Text(f"{status.held} held (f3)", style=styles["high"]))
    for index, part in enumerate(parts):
        if index:
            line.append(" · ", style="dim")
        line.append_text(part)
    return line


class PollStatusBar(Static):
    """Redrawn whenever the app publishes a new poll status."""

    def on_mount(self) -> None:
        app = self.app
        app.poll_status_signal.subscribe(self, self._show)  # type: ignore[attr-defined]
        app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())
        self._redraw()

    def _redraw(self) -> None:
        self._show(self.app.poll_status)  # type: ignore[attr-defined]

    def _show(self, status: PollStatus) -> None:
        self.update(status_line(status, theme_styles(self.app.theme_variables)))
