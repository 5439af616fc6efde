"""Fixtures shared by the demo, queue and UI tests.

Load them in a test module with ``pytest_plugins = ["ui_fixtures"]``; helpers come as fixtures
too (``now``, ``settle``, ``add_ticket``), so no test module imports this one and pytest can
rewrite its asserts. Every test gets its own SQLite file and its own platformdirs folders, so
nothing reads or writes the real user's settings or data.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import FIXED_NOW

from tuidesk.core.context import AppContext
from tuidesk.core.demo import populate_demo
from tuidesk.core.paths import Paths
from tuidesk.core.settings import Settings
from tuidesk.core.store.db import connect
from tuidesk.core.store.models import Mailbox, Ticket
from tuidesk.core.tickets import NewTicket, create_ticket, get_or_create_contact


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' config, data, cache and state folders inside ``tmp_path``."""
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        folder = tmp_path / variable.lower()
        folder.mkdir()
        monkeypatch.setenv(variable, str(folder))
    monkeypatch.delenv("TUIDESK_CONFIG", raising=False)
    monkeypatch.delenv("TUIDESK_DB", raising=False)
    return tmp_path


@pytest.fixture
def database(isolated_dirs: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh SQLite file, connected and migrated; the models are bound to it."""
    path = tmp_path / "tuidesk.sqlite3"
    db = connect(str(path))
    yield path
    db.close()


@pytest.fixture
def demo_database(database: Path) -> Path:
    """The fresh database filled with the demo data as of :data:`FIXED_NOW`."""
    populate_demo(FIXED_NOW)
    return database


@pytest.fixture
def make_context(database: Path) -> Callable[..., AppContext]:
    """Build an AppContext on the test database; keyword arguments change the settings."""

    def make(**settings: Any) -> AppContext:
        paths = Paths.resolve()
        return AppContext(
            settings=Settings(source=paths.config_file).with_changes(**settings),
            paths=paths,
            database=str(database),
        )

    return make


@pytest.fixture
def make_app(make_context: Callable[..., AppContext], utc_clock: None) -> Callable[..., Any]:
    """Build a TuideskApp whose clock is :data:`FIXED_NOW`; ``page_size`` and settings vary.
    The background poll worker is off unless ``poll=True``."""
    from tuidesk.ui.app import TuideskApp

    def make(page_size: int = 100, poll: bool = False, **settings: Any) -> TuideskApp:
        return TuideskApp(
            make_context(**settings), clock=lambda: FIXED_NOW, page_size=page_size, poll=poll
        )

    return make


@pytest.fixture
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so times shown (and snapshots) do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def now() -> datetime:
    """The fixed 'now' of the demo data and of the app's clock."""
    return FIXED_NOW


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(4):  # a page that arrives may ask for the next one
        await _wait_for_workers(pilot)
        await pilot.pause()


async def _wait_for_workers(pilot: Pilot[Any]) -> None:
    """Wait for the app's workers, except the poll worker's timer between rounds."""
    await pilot.app.workers.wait_for_complete()


@pytest.fixture
def settle() -> Callable[[Pilot[Any]], Awaitable[None]]:
    """``await settle(pilot)``: wait until the queue's reads are done and their rows shown."""
    return _settle


def _add_ticket(
    subject: str,
    *,
    address: str = "someone@example.org",
    minutes_ago: int = 0,
    status: str = "open",
    unread: bool = False,
) -> Ticket:
    """One more ticket, the way ingest makes it, last active ``minutes_ago`` before FIXED_NOW."""
    when = FIXED_NOW - timedelta(minutes=minutes_ago)
    ticket = create_ticket(
        NewTicket(subject=subject, contact=get_or_create_contact(address), created_at=when)
    )
    Ticket.update(status=status, unread=unread).where(Ticket.id == ticket.id).execute()
    return Ticket.get_by_id(ticket.id)


@pytest.fixture
def add_ticket(database: Path) -> Callable[..., Ticket]:
    """``add_ticket(subject, address=…, minutes_ago=…, status=…, unread=…)`` adds a ticket."""
    return _add_ticket


# --- held mail -------------------------------------------------------------------------------

HELD_MAIL = (
    ("Can you quote 40 licences?", "buyer@newcorp.example", "Hello, we would like a quote."),
    ("Re: [#999999] my old ticket", "someone@stranger.example", "Any news on this one?"),
    ("Partnership proposal", "bd@agency.example", "We help helpdesks grow. Call us!"),
)


def _message(subject: str, sender: str, body: str, number: int) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime

    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@helpdesk.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<held-{number}@test.example>"
    message["Date"] = format_datetime(FIXED_NOW.replace(tzinfo=UTC) - timedelta(hours=number))
    message.set_content(body)
    return message.as_bytes(policy=SMTP)  # CRLF, as an IMAP server hands it over


@pytest.fixture
def held_mailbox(database: Path, tmp_path: Path) -> Mailbox:
    """A Maildir mailbox that holds mail from unknown senders, polled once with the
    :data:`HELD_MAIL` in it (so three records wait for review), fetched at fixed times."""
    return make_held_mailbox(tmp_path)


def make_held_mailbox(tmp_path: Path) -> Mailbox:
    from tuidesk.core.poller import Poller
    from tuidesk.core.store.models import InboundMail, database_proxy

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for number, (subject, sender, body) in enumerate(HELD_MAIL, start=1):
        (maildir / "new" / f"170000000{number}.{number}.host").write_bytes(
            _message(subject, sender, body, number)
        )
    mailbox = Mailbox.create(
        name="inbox",
        address="support@helpdesk.example",
        status="active",
        protocol="maildir",
        maildir_path=str(maildir),
        unknown_sender="hold",
        after_fetch="move",
        after_fetch_folder="Processed",
    )
    result = Poller(database_proxy.obj).poll(mailbox)
    assert result.ok and result.held == len(HELD_MAIL), result
    for record in InboundMail.select():
        InboundMail.update(fetched_at=FIXED_NOW - timedelta(minutes=10 * record.id)).where(
            InboundMail.id == record.id
        ).execute()
    Mailbox.update(last_fetch_at=FIXED_NOW, last_success_at=FIXED_NOW).execute()
    return Mailbox.get_by_id(mailbox.id)


# --- driving the app -------------------------------------------------------------------------


async def _open_thread(pilot: Pilot[Any], subject: str) -> Ticket:
    """Search the queue for the ticket of ``subject`` by its number (any status), open its
    thread and wait until it shows."""
    number = Ticket.get(Ticket.subject == subject).display_number
    await pilot.press("5", "slash", *number, "enter")
    await _settle(pilot)
    await pilot.press("enter")
    await _settle(pilot)
    return Ticket.get(Ticket.subject == subject)


@pytest.fixture
def open_thread() -> Callable[[Pilot[Any], str], Awaitable[Ticket]]:
    """``await open_thread(pilot, subject)``: find the ticket in the queue and open it."""
    return _open_thread


async def _choose(pilot: Pilot[Any], label: str) -> None:
    """In the open choice dialog, move to the option ``label`` with the arrow keys and take it."""
    from textual.widgets import OptionList

    from tuidesk.ui.screens.pickers import ChoiceScreen

    screen = pilot.app.screen
    assert isinstance(screen, ChoiceScreen), f"no choice dialog open, but {screen}"
    labels = [text for text, _value in screen.options]
    target = labels.index(label)
    options = screen.query_one(OptionList)
    current = options.highlighted or 0
    key = "down" if target >= current else "up"
    await pilot.press(*[key] * abs(target - current), "enter")
    await _settle(pilot)


@pytest.fixture
def choose() -> Callable[[Pilot[Any], str], Awaitable[None]]:
    """``await choose(pilot, "urgent")``: pick an option in the open choice dialog."""
    return _choose
