"""Mailbox content (003): the messages on the server with their ledger state, and what can be
done to one — Reset Status, Retry, Delete (asked first), View raw."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_helpers import imap_mailbox, poll
from mailgen import mail
from textual.pilot import Pilot
from textual.widgets import TextArea

from tuidesk.core.store.models import InboundMail
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.mailbox_content import MailboxContentScreen, RawMailScreen
from tuidesk.ui.screens.pickers import ChoiceScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not become true in time")
        await pilot.pause(0.05)


async def open_content(pilot: Pilot[Any], settle: Any) -> MailboxContentScreen:
    await pilot.press("f4")
    await settle(pilot)
    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MailboxContentScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MailboxContentScreen)
    await wait_until(pilot, lambda: not screen.reading)
    return screen


def states(screen: MailboxContentScreen) -> dict[str, str]:
    return {row.subject: row.state for row in screen.rows}


async def test_a_held_mail_is_shown_held_and_reset_status_makes_it_new(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, unknown_sender="hold")
    dovecot.append(mail_user, mail(subject="Who are you?", sender="stranger@nowhere.example"))
    assert poll(mailbox).held == 1
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_content(pilot, settle)
        assert states(screen) == {"Who are you?": "held"}
        await pilot.press("n")
        await wait_until(pilot, lambda: states(screen) == {"Who are you?": "new"})
    assert InboundMail.get().state == "new"


async def test_a_mail_not_fetched_yet_is_new(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    imap_mailbox(dovecot, mail_user)
    dovecot.append(mail_user, mail(subject="Fresh"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_content(pilot, settle)
        assert [row.state for row in screen.rows] == ["new"]
        assert screen.rows[0].record_id is None


async def test_delete_asks_first_then_removes_the_mail_from_the_server(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    imap_mailbox(dovecot, mail_user)
    dovecot.append(mail_user, mail(subject="Spam, delete me"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_content(pilot, settle)
        assert len(screen.rows) == 1
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("down", "enter")  # Yes
        await wait_until(pilot, lambda: app.screen is screen and not screen.rows)


async def test_view_raw_shows_the_message_source(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any, settle: Any
) -> None:
    imap_mailbox(dovecot, mail_user)
    dovecot.append(mail_user, mail(subject="Look at my headers"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_content(pilot, settle)
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, RawMailScreen))
        assert "Subject: Look at my headers" in app.screen.query_one(TextArea).text
