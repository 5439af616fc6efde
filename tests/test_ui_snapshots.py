"""Each screen at 80×24 with the demo data, as pictures (pytest-textual-snapshot).

Update them with ``pytest tests/test_ui_snapshots.py --snapshot-update`` after a change to the
look, and check the new pictures in the report before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tuidesk.core.store.models import Mailbox, Ticket
from tuidesk.ui.app import TuideskApp

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
Settle = Callable[[Pilot[Any]], Awaitable[None]]
MakeApp = Callable[..., TuideskApp]


def test_the_thread_of_a_ticket(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: Any, snap_compare: Any
) -> None:
    async def open_it(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await open_thread(pilot, "VPN drops every 10 minutes since Monday")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_it)


def test_the_reply_composer(
    demo_database: Path, make_app: MakeApp, settle: Settle, open_thread: Any, snap_compare: Any
) -> None:
    async def write(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await open_thread(pilot, "Printer on 2nd floor shows offline")
        await pilot.press("r", *"Is it the HP one?")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=write)


def test_the_review_of_held_mail(
    demo_database: Path,
    held_mailbox: Mailbox,
    make_app: MakeApp,
    settle: Settle,
    snap_compare: Any,
) -> None:
    async def review(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=review)


def test_the_create_ticket_dialog(
    demo_database: Path,
    held_mailbox: Mailbox,
    make_app: MakeApp,
    settle: Settle,
    snap_compare: Any,
) -> None:
    async def dialog(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=dialog)


def test_the_queue_filter_menu(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    async def menu(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=menu)


def test_the_queue_in_16_colours(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any
) -> None:
    """The ANSI theme, for terminals reached over ssh without COLORTERM."""
    assert snap_compare(make_app(theme="tuidesk-ansi"), terminal_size=SIZE, run_before=settle)


def test_a_failing_mailbox_in_the_status_bar(
    demo_database: Path, make_app: MakeApp, settle: Settle, snap_compare: Any, now: Any
) -> None:
    Mailbox.update(
        status="active",
        failing=True,
        consecutive_failures=3,
        last_error="login refused: authentication failed",
        last_success_at=now,
    ).execute()
    Mailbox.create(
        name="billing", address="billing@helpdesk.example", status="active", last_success_at=now
    )
    Ticket.update(unread=False).execute()
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)
