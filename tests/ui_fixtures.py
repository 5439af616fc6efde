"""Fixtures shared by the demo, queue and UI tests.

Load them in a test module with ``pytest_plugins = ["ui_fixtures"]``; helpers come as fixtures
too (``now``, ``settle``, ``add_ticket``), so no test module imports this one and pytest can
rewrite its asserts. Every test gets its own SQLite file and its own platformdirs folders, so
nothing reads or writes the real user's settings or data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tuidesk.core.context import AppContext
from tuidesk.core.demo import populate_demo
from tuidesk.core.paths import Paths
from tuidesk.core.settings import Settings
from tuidesk.core.store.db import connect
from tuidesk.core.store.models import Ticket
from tuidesk.core.tickets import NewTicket, create_ticket, get_or_create_contact

FIXED_NOW = datetime(2025, 3, 14, 9, 30)
"""'Now' for the demo data and the app's clock, so ages and snapshots never drift."""


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
def make_app(make_context: Callable[..., AppContext]) -> Callable[..., Any]:
    """Build a TuideskApp whose clock is :data:`FIXED_NOW`; ``page_size`` and settings vary."""
    from tuidesk.ui.app import TuideskApp

    def make(page_size: int = 100, **settings: Any) -> TuideskApp:
        return TuideskApp(make_context(**settings), clock=lambda: FIXED_NOW, page_size=page_size)

    return make


@pytest.fixture
def now() -> datetime:
    """The fixed 'now' of the demo data and of the app's clock."""
    return FIXED_NOW


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):  # a page that arrives may ask for the next one
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


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
