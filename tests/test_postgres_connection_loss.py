"""Losing the PostgreSQL connection in the middle of a poll.

The sessions are cut (as an administrator or a failover would) or the server restarts while a
poll of a few hundred messages is under way. That poll ends with one sentence on its result
and its poll-run record, never a traceback or a crash; nothing is lost; and the next poll, by
the same long-running poller (as the TUI's worker keeps one) or by a new process, stores every
mail exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from ingest_helpers import imap_mailbox
from mailgen import mail
from servers.postgres import PostgresServer

from tuidesk.core.poller import Poller
from tuidesk.core.store import db as store
from tuidesk.core.store.models import InboundMail, Mailbox, PollRun, Ticket

pytestmark = pytest.mark.servers

MAILS = 400
LOST = "the connection to the database was lost during the poll"


def fill(dovecot, user) -> None:
    dovecot.append_many(
        user,
        [
            mail(sender=f"c{i}@customer.example", subject=f"cut {i}", message_id=f"<cut.{i}@x>")
            for i in range(MAILS)
        ],
    )


def stored(server: PostgresServer, url: str) -> int:
    rows = server.execute("SELECT count(*) FROM inbound_mail", url.rsplit("/", 1)[1])
    return rows[0][0]


def when_stored(server: PostgresServer, url: str, count: int, act) -> threading.Thread:
    """Run ``act()`` once ``count`` mails are committed to the ledger (from another thread)."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while stored(server, url) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        act()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def assert_each_stored_once(dovecot, user) -> None:
    assert InboundMail.select().count() == MAILS
    assert not InboundMail.select().where(InboundMail.state != "ticket_created").exists()
    assert sorted(t.subject for t in Ticket.select()) == sorted(f"cut {i}" for i in range(MAILS))
    assert dovecot.messages(user, "INBOX") == []


def test_cut_sessions_fail_the_poll_with_a_sentence_and_the_same_poller_goes_on(
    postgres, pg_url, dovecot, mail_user
):
    fill(dovecot, mail_user)
    db = store.connect(pg_url)
    mailbox = imap_mailbox(dovecot, mail_user, emails_per_fetch=25)
    poller = Poller(db)  # one poller for both polls, as the TUI's worker keeps it
    cutter = when_stored(postgres, pg_url, 100, lambda: postgres.terminate_sessions(pg_url))
    failed = poller.poll(mailbox)
    cutter.join()
    assert not failed.ok
    assert LOST in failed.error and "Traceback" not in failed.error
    assert 0 < InboundMail.select().count() < MAILS
    assert PollRun.get(PollRun.ok == False).error == failed.error  # noqa: E712
    assert Mailbox.get_by_id(mailbox.id).last_error == failed.error

    again = poller.poll(Mailbox.get_by_id(mailbox.id))
    assert again.ok, again.error
    assert_each_stored_once(dovecot, mail_user)
    store.close()


def poll_once_while(
    server: PostgresServer, act, dovecot, user, cli_env
) -> subprocess.CompletedProcess:
    """A `--poll-once` of a full mailbox during which ``act()`` happens to the server (once 100
    mails are stored); then, with the server up, a new process that must finish the mailbox,
    each mail stored once. Returns the first run."""
    url = server.new_database()
    fill(dovecot, user)
    store.connect(url)
    imap_mailbox(dovecot, user, emails_per_fetch=25)
    store.close()
    command = [sys.executable, "-m", "tuidesk", "--db", url, "--poll-once"]
    actor = when_stored(server, url, 100, act)
    first = subprocess.run(
        command, env=cli_env, capture_output=True, text=True, timeout=300, check=False
    )
    actor.join()
    if not server.running:
        server.start()
    store.connect(url)
    assert 0 < InboundMail.select().count() < MAILS
    # as a later cron run would find it: the dead poller's lease (not released while the
    # server was down) and the cool-off after a failure have passed
    Mailbox.update(lease_until=None, cool_off_until=None, next_poll_at=None).execute()
    store.close()
    second = subprocess.run(
        command, env=cli_env, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr
    store.connect(url)
    try:
        assert_each_stored_once(dovecot, user)
    finally:
        store.close()
    return first


def test_a_database_restart_fails_that_poll_and_a_new_process_finishes(dovecot, mail_user, cli_env):
    with PostgresServer() as server:
        first = poll_once_while(server, server.restart, dovecot, mail_user, cli_env)
    assert first.returncode == 1
    assert LOST in first.stderr
    assert "Traceback" not in first.stderr + first.stdout


def test_a_database_that_stays_down_ends_the_poll_once_run_with_sentences(
    dovecot, mail_user, cli_env
):
    """The server stops mid-poll and is still down for the overdue sweep and the outbox that
    follow: each says so in a sentence and the exit status is 1; once the server is back a new
    run stores the rest, each mail once."""
    with PostgresServer() as server:
        first = poll_once_while(server, server.stop, dovecot, mail_user, cli_env)
    assert first.returncode == 1
    assert LOST in first.stderr
    assert "the connection to the database was lost during this poll round" in first.stderr
    assert "unexpected" not in first.stderr
    assert "Traceback" not in first.stderr + first.stdout
