"""The administrator's screens at 80×24 with the demo data, as pictures
(pytest-textual-snapshot; ``--snapshot-update`` after a change to the look)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tuidesk.core.store.models import Mailbox, PollRun, TraceLine
from tuidesk.ui.app import TuideskApp

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
Settle = Callable[[Pilot[Any]], Awaitable[None]]
MakeApp = Callable[..., TuideskApp]


def _mailboxes(now: Any) -> None:
    Mailbox.update(
        status="active",
        last_fetch_at=now - timedelta(minutes=2),
        last_success_at=now - timedelta(minutes=2),
        next_poll_at=now + timedelta(minutes=3),
    ).execute()
    Mailbox.create(
        name="billing",
        address="billing@helpdesk.example",
        status="active",
        protocol="pop3",
        last_fetch_at=now - timedelta(minutes=1),
        last_success_at=now - timedelta(hours=2),
        consecutive_failures=4,
        cool_off_until=now + timedelta(minutes=5),
        last_error="login refused: authentication failed",
    )
    Mailbox.create(name="sales", address="sales@helpdesk.example", status="draft")


def test_the_mailboxes(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any, now: Any
) -> None:
    _mailboxes(now)

    async def show(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=show)


def test_the_mailbox_form_with_a_field_refused(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any, now: Any
) -> None:
    async def edit(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        field = pilot.app.screen.query_one("#field-port")
        field.cursor_blink = False  # type: ignore[attr-defined]  # the same picture every time
        field.focus()
        field.value = ""  # type: ignore[attr-defined]
        await pilot.press(*"99999")
        await settle(pilot)
        await pilot.pause(0.5)  # the scroll to the focused field has ended

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=edit)


def test_a_failed_connection_test(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    Mailbox.update(protocol="maildir", maildir_path="/nonexistent/Maildir").execute()

    async def test(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=test)


def test_the_content_of_a_mailbox(
    demo_database: Path,
    held_mailbox: Mailbox,
    make_app: MakeApp,
    settle: Settle,
    snap_compare: Any,
    now: Any,
) -> None:
    Mailbox.delete().where(Mailbox.id != held_mailbox.id).execute()
    moment = now.replace(tzinfo=UTC).timestamp()
    for message in Path(held_mailbox.maildir_path).rglob("*"):
        if message.is_file():
            os.utime(message, (moment, moment))  # the dates shown are the files' times

    async def content(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=content)


def test_the_trace(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any, now: Any
) -> None:
    mailbox = Mailbox.get()
    lines = [
        ("info", "connecting to imap.helpdesk.example:993 (ssl)"),
        ("debug", "S: * OK [CAPABILITY IMAP4rev1 IDLE] Dovecot ready."),
        ("info", "2 new message(s) on the server"),
        ("info", "message 1: ticket #000042 created"),
        ("warn", "message 2: held for review (unknown sender)"),
        ("error", "login refused: authentication failed"),
    ]
    for seconds, (level, text) in enumerate(lines):
        TraceLine.create(
            mailbox=mailbox, at=now + timedelta(seconds=seconds), level=level, text=text
        )
    PollRun.create(
        mailbox=mailbox, started_at=now, duration_ms=1234, fetched=2, created=1, held=1, ok=True
    )
    PollRun.create(
        mailbox=mailbox,
        started_at=now + timedelta(minutes=5),
        duration_ms=310,
        ok=False,
        error="login refused: authentication failed",
    )

    async def trace(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=trace)


def test_the_template_editor(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    async def templates(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.pause(0.5)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=templates)


def test_the_settings(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    async def settings(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settings)
