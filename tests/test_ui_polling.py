"""The TUI's background poll worker: new mail shows up by itself, failures show in the status
bar, and the screen keeps answering while a poll waits on a server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import imap_mailbox
from mailgen import mail
from rich.text import Text
from textual.widgets import DataTable, Static
from ui_helpers import wait_until

from tuidesk.core.store.models import Mailbox, Ticket
from tuidesk.ui.app import TuideskApp
from tuidesk.ui.data import PollStatus

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


def subjects(app: TuideskApp) -> list[str]:
    table = app.screen.query_one("#queue-table", DataTable)
    index = table.get_column_index("subject")
    return [table.get_row_at(row)[index].plain for row in range(table.row_count)]


def status_bar(app: TuideskApp) -> str:
    content = app.screen.query_one("#status-bar", Static).content
    return content.plain if isinstance(content, Text) else str(content)


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """A TCP server that accepts connections and never says a word (a hung IMAP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


async def test_new_mail_appears_in_the_queue_and_is_announced_without_a_key_press(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    imap_mailbox(dovecot, mail_user)
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#queue-table") is not None)
        dovecot.append(mail_user, mail(subject="Scanner offline in room 4"))
        app.request_poll()
        await wait_until(
            pilot,
            lambda: "Scanner offline in room 4" in subjects(app),
            explain=lambda: (
                f"{Ticket.select().count()} tickets, {status_bar(app)!r}, "
                f"{[n.message for n in app._notifications]}"
            ),
        )
        ticket = Ticket.get(Ticket.subject == "Scanner offline in room 4")
        toasts = [n.message for n in app._notifications]
        assert any(f"#{ticket.display_number} Scanner offline in room 4" in t for t in toasts)


async def test_the_first_poll_runs_when_the_app_starts(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    dovecot.append(mail_user, mail(subject="Waiting since last night"))
    imap_mailbox(dovecot, mail_user)
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Waiting since last night" in subjects(app))
        await wait_until(pilot, lambda: "✓ support" in status_bar(app))


async def test_a_failing_mailbox_shows_in_the_status_bar(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    imap_mailbox(dovecot, mail_user, name="sales", password="wrong", max_tries=1)
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "✗ sales failing" in status_bar(app))
        assert Mailbox.get(Mailbox.name == "sales").failing


async def test_the_screen_answers_while_a_poll_waits_on_a_hung_server(
    demo_database: Path, make_app: MakeApp, silent_server: tuple[str, int]
) -> None:
    host, port = silent_server
    Mailbox.create(
        name="hung",
        address="hung@example.com",
        status="active",
        protocol="imap",
        host=host,
        port=port,
        security="plain",
        username="u",
        password="p",
        timeout_ms=3000,
    )
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app._poll_running)
        await pilot.press("4")  # the closed tickets
        await wait_until(pilot, lambda: bool(subjects(app)), timeout=2)
        statuses = {row.status for row in app.screen.rows}
        assert statuses == {"closed"}
        assert app._poll_running, "the poll was expected to be still waiting on the server"
        await wait_until(pilot, lambda: "✗ hung" in status_bar(app), timeout=15)


async def test_a_poll_asked_for_during_a_round_runs_right_after_it(
    database: Path, make_app: MakeApp, silent_server: tuple[str, int]
) -> None:
    host, port = silent_server
    Mailbox.create(
        name="hung",
        address="hung@example.com",
        status="active",
        protocol="imap",
        host=host,
        port=port,
        security="plain",
        username="u",
        password="p",
        timeout_ms=1000,
    )
    rounds: list[PollStatus] = []
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        app.poll_status_signal.subscribe(app.screen, rounds.append, immediate=True)
        await wait_until(pilot, lambda: app._poll_running)
        app.request_poll()
        app.request_poll()  # asked twice: still one more round, never two at once
        assert app._poll_running and app._poll_again
        await wait_until(pilot, lambda: len(rounds) >= 2, timeout=20)
        await pilot.pause(0.3)
        assert len(rounds) == 2
        assert app._poll_timer is not None  # the next round waits on a one-shot timer


async def test_without_the_worker_nothing_is_polled(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    mailbox = imap_mailbox(dovecot, mail_user)
    app = make_app(poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "polling off" in status_bar(app))
        await pilot.pause(0.3)
    assert Mailbox.get_by_id(mailbox.id).last_fetch_at is None


async def test_quitting_during_a_poll_on_a_hung_server_does_not_wait_for_its_timeout(
    database: Path, make_app: MakeApp, silent_server: tuple[str, int]
) -> None:
    host, port = silent_server
    Mailbox.create(
        name="hung",
        address="hung@example.com",
        status="active",
        protocol="imap",
        host=host,
        port=port,
        security="plain",
        username="u",
        password="p",
        timeout_ms=4000,
    )
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app._poll_running)
        await pilot.press("ctrl+q")
        started = time.monotonic()
    await app.workers.wait_for_complete()
    assert time.monotonic() - started < 2
    for thread in threading.enumerate():  # let the abandoned poll end before the next test
        if thread.name == "tuidesk-poll":
            thread.join(timeout=10)


async def test_a_customer_reply_shows_in_the_open_thread_without_a_key_press(
    database: Path, make_app: MakeApp, dovecot: Any, mail_user: Any
) -> None:
    from ingest_helpers import poll

    from tuidesk.ui.screens.thread import ThreadScreen
    from tuidesk.ui.widgets.thread_entry import ThreadEntry

    dovecot.append(mail_user, mail(subject="Badge reader broken", message_id="<first@cust>"))
    mailbox = imap_mailbox(dovecot, mail_user)
    assert poll(mailbox).created == 1
    ticket = Ticket.get()
    app = make_app(poll=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "Badge reader broken" in subjects(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ThreadScreen))
        screen = app.screen
        await wait_until(pilot, lambda: len(screen.query(ThreadEntry)) >= 1)
        before = len(screen.query(ThreadEntry))
        reply = mail(
            subject=f"Re: [#{ticket.display_number}] Badge reader broken",
            body="It works again after the reboot.",
            in_reply_to="<first@cust>",
        )
        dovecot.append(mail_user, reply)
        app.request_poll()
        await wait_until(pilot, lambda: len(screen.query(ThreadEntry)) > before)
        last = screen.query(ThreadEntry).last()
        assert last.entry.text.startswith("It works again after the reboot.")
