"""pytest fixtures that run real mail servers; conftest.py imports them by name.

When a server cannot run here (Dovecot not installed, aiosmtpd not importable) the fixtures
skip, except in CI (`CI=true`), where they fail: tests that need a server must never be
skipped silently there.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

from .dovecot import INSTALL_HINT, DovecotServer, MailUser, dovecot_available
from .postgres import PostgresServer, postgres_available

if TYPE_CHECKING:
    from .smtp import SmtpServer

AIOSMTPD_HINT = "aiosmtpd is not installed: pip install -e '.[test]'"
SMTP_AGENT = "agent@example.com"


def server_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when running in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
    pytest.skip(reason)


def require_dovecot() -> None:
    """Skip (or fail in CI) unless Dovecot is installed."""
    if not dovecot_available():
        server_unavailable(INSTALL_HINT)


def smtp_server_class() -> type[SmtpServer]:
    """`SmtpServer`, imported only now so a missing aiosmtpd skips (or fails in CI)."""
    try:
        from .smtp import SmtpServer
    except ImportError as error:
        server_unavailable(f"{AIOSMTPD_HINT} ({error})")
    return SmtpServer


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot for the whole session; isolate tests with `dovecot.add_user()`.

    Do not stop, restart or reconfigure it: use `dovecot_private` for that.
    """
    require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture
def dovecot_private() -> Iterator[DovecotServer]:
    """A Dovecot of this test's own, free to be stopped, restarted or kicked."""
    require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture
def mail_user(dovecot: DovecotServer) -> MailUser:
    """A fresh, empty mailbox account on the session Dovecot."""
    return dovecot.add_user()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server with AUTH PLAIN/LOGIN for one user, `agent@example.com`.

    The password is in `smtp_server.users[SMTP_AGENT]`; mail ends up in `smtp_server.received`.
    """
    server_class = smtp_server_class()
    with server_class({SMTP_AGENT: secrets.token_urlsafe(12)}) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole session; take databases with `new_database()`.

    Do not stop or restart it: start a `PostgresServer()` of the test's own for that.
    """
    reason = postgres_available()
    if reason:
        server_unavailable(reason)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, migrated to the current schema."""
    url = postgres.new_database()
    yield url
    postgres.drop_database(url)
