"""Mailbox content (003): the messages on the server with their ledger state, and what can be
done to one — Reset Status, Retry, Delete (asked first), View raw."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_helpers import imap_mailbox, poll
from mailgen import mail
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TextArea
from ui_helpers import wait_until

from tuidesk.core.mailbox_ops import CONTENT_PAGE_SIZE
from tuidesk.core.store.models import InboundMail, Mailbox
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.screens.mailbox_content import MailboxContentScreen, RawMailScreen
from tuidesk.ui.screens.pickers import ChoiceScreen

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


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


def maildir_of(tmp_path: Path, count: int) -> Mailbox:
    """A Maildir mailbox of ``count`` messages, "Message 1" the oldest, none fetched yet."""
    root = tmp_path / "Big"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    for number in range(1, count + 1):
        path = root / "new" / f"{number:05d}.host"
        path.write_bytes(mail(subject=f"Message {number}"))
        os.utime(path, (1_700_000_000 + number, 1_700_000_000 + number))
    return Mailbox.create(
        name="big", address="big@example.com", protocol="maildir", maildir_path=str(root)
    )


def summary(screen: MailboxContentScreen) -> str:
    content = screen.query_one("#content-summary", Static).content
    assert isinstance(content, Text)
    return content.plain


async def test_a_large_mailbox_is_shown_a_page_at_a_time(
    database: Path, make_app: MakeApp, tmp_path: Path, settle: Any
) -> None:
    maildir_of(tmp_path, 2 * CONTENT_PAGE_SIZE + 50)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_content(pilot, settle)
        table = screen.query_one(DataTable)
        assert table.row_count == len(screen.rows) == CONTENT_PAGE_SIZE
        assert "rows 1–200 of 450" in summary(screen)
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "rows 201–400 of 450" in summary(screen))
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: "rows 401–450 of 450" in summary(screen))
        assert table.row_count == 50
        assert screen.rows[-1].key.endswith("00450.host")
        await pilot.press("right_square_bracket")  # no page after the last
        await settle(pilot)
        assert "rows 401–450 of 450" in summary(screen)
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "rows 201–400 of 450" in summary(screen))
        assert screen.rows[0].key.endswith("00201.host")


async def test_a_mailbox_of_one_page_says_how_many_messages(
    database: Path, make_app: MakeApp, tmp_path: Path, settle: Any
) -> None:
    maildir_of(tmp_path, 3)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_content(pilot, settle)
        assert "3 message(s) on the server" in summary(screen)
        await pilot.press("left_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert len(screen.rows) == 3
