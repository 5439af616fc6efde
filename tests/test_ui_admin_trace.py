"""Trace mode: a mailbox's debug trace as a poll writes it, filtered by level and text, the
poll-run history, and an export to a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_helpers import imap_mailbox
from mailgen import mail
from textual.widgets import DataTable, Input, Select
from ui_helpers import wait_until

from tuidesk.core.store.models import Mailbox, PollRun, TraceLine
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.trace import TraceScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


def log_text(screen: TraceScreen) -> str:
    from textual.widgets import RichLog

    return "\n".join(strip.text for strip in screen.query_one(RichLog).lines)


async def test_the_trace_shows_the_lines_of_a_poll_as_it_runs(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, debug_trace=True, status="draft")
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, TraceScreen))
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        await wait_until(pilot, lambda: screen.mailbox_id == mailbox.id)
        dovecot.append(mail_user, mail(subject="Traced mail"))
        Mailbox.update(status="active").where(Mailbox.id == mailbox.id).execute()
        app.request_poll([mailbox.id])
        await wait_until(pilot, lambda: "new message(s) on the server" in log_text(screen))
        await wait_until(pilot, lambda: screen.query_one("#trace-runs", DataTable).row_count == 1)
        shown = log_text(screen)
        assert shown.count("1 new message(s) on the server") == 1  # heard live, not read twice


async def test_the_trace_is_filtered_by_level_and_text(
    database: Path, make_app: MakeApp, settle: Any, now: Any
) -> None:
    mailbox = Mailbox.create(name="support", address="support@example.com")
    for level, text in [("debug", "S: * OK ready"), ("info", "3 new"), ("error", "login refused")]:
        TraceLine.create(mailbox=mailbox, at=now, level=level, text=text)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        await wait_until(pilot, lambda: "login refused" in log_text(screen))
        screen.query_one("#trace-level", Select).value = "info"
        await pilot.pause()
        assert "S: * OK" not in log_text(screen) and "3 new" in log_text(screen)
        await pilot.press("slash", *"login")
        await pilot.pause()
        assert "3 new" not in log_text(screen) and "login refused" in log_text(screen)
        assert screen.query_one("#trace-filter", Input).value == "login"


async def test_the_poll_runs_are_listed_with_their_errors(
    database: Path, make_app: MakeApp, settle: Any, now: Any
) -> None:
    mailbox = Mailbox.create(name="support", address="support@example.com")
    PollRun.create(mailbox=mailbox, started_at=now, fetched=3, created=2, ok=True)
    PollRun.create(mailbox=mailbox, started_at=now, ok=False, error="login refused")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        table = app.screen.query_one("#trace-runs", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        assert table.get_row_at(0)[-1].plain == "login refused"
        assert table.get_row_at(1)[2].plain == "3"


async def test_export_writes_the_lines_shown_to_a_file(
    database: Path, make_app: MakeApp, settle: Any, now: Any, tmp_path: Path
) -> None:
    mailbox = Mailbox.create(name="support", address="support@example.com")
    TraceLine.create(mailbox=mailbox, at=now, level="info", text="3 new message(s)")
    target = tmp_path / "trace.txt"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        await wait_until(pilot, lambda: "3 new" in log_text(screen))
        screen.export(target)
        await wait_until(pilot, target.exists)
    assert target.read_text().endswith("info  3 new message(s)\n")
