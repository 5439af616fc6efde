"""Failures are one clear sentence, cool the mailbox off, never stop other mailboxes, and
never lose or double a mail — even when the poller is killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from ingest_helpers import imap_mailbox, poll
from mailgen import mail

from tuidesk.core import lease
from tuidesk.core.clock import utcnow
from tuidesk.core.poller import due_mailboxes, poll_mailboxes
from tuidesk.core.store.models import InboundMail, Mailbox, PollRun, Ticket, TraceLine

pytestmark = pytest.mark.servers


def test_a_wrong_password_is_one_sentence_naming_server_and_user(db, dovecot, mail_user) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, password="wrong-password")
    result = poll(mailbox)
    assert not result.ok
    assert result.error.startswith(
        f"IMAP login to {dovecot.host}:{dovecot.imap_port} as {mail_user.address} was refused"
    )
    assert result.error.endswith("check the user name and the password")


def test_a_failure_cools_the_mailbox_off_and_counts(db, dovecot, mail_user) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, password="wrong", cool_off_minutes=5, max_tries=2)
    poll(mailbox)
    fresh = Mailbox.get_by_id(mailbox.id)
    assert fresh.consecutive_failures == 1 and not fresh.failing
    assert fresh.cool_off_until > utcnow() + timedelta(minutes=4)
    assert fresh not in due_mailboxes()
    poll(mailbox)
    assert Mailbox.get_by_id(mailbox.id).failing


def test_success_clears_the_failure_state(db, dovecot, mail_user) -> None:
    mailbox = imap_mailbox(dovecot, mail_user, password="wrong")
    poll(mailbox)
    Mailbox.update(password=mail_user.password).execute()
    assert poll(mailbox).ok
    fresh = Mailbox.get_by_id(mailbox.id)
    assert (fresh.consecutive_failures, fresh.last_error, fresh.cool_off_until) == (0, "", None)
    assert fresh.last_success_at is not None


def test_an_unreachable_host_is_a_clear_sentence(db, dovecot, mail_user) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    result = poll(imap_mailbox(dovecot, mail_user, port=closed_port))
    assert result.error == (
        f"the IMAP connection to 127.0.0.1:{closed_port} was refused: "
        "check the host and port, and that the server is running"
    )


def test_an_unknown_host_name_is_a_clear_sentence(db, dovecot, mail_user) -> None:
    result = poll(imap_mailbox(dovecot, mail_user, host="no-such-host.invalid"))
    assert "cannot be resolved" in result.error


def test_an_invalid_subject_pattern_is_a_clear_error_not_a_crash(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    result = poll(imap_mailbox(dovecot, mail_user, subject_pattern="[#(\\d{6}"))
    assert not result.ok
    assert "subject_pattern" in result.error and "not a valid regular expression" in result.error
    assert dovecot.messages(mail_user), "the mail stays on the server"


def test_one_failing_mailbox_does_not_stop_another(db, dovecot, mail_user) -> None:
    good_user = dovecot.add_user()
    dovecot.append(good_user, mail())
    imap_mailbox(dovecot, mail_user, name="broken", password="wrong")
    imap_mailbox(dovecot, good_user, name="good")
    results = poll_mailboxes(db, due_mailboxes())
    by_name = {r.mailbox: r for r in results}
    assert not by_name["broken"].ok
    assert by_name["good"].ok and by_name["good"].created == 1


def test_a_second_poller_skips_a_mailbox_whose_lease_is_held(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(dovecot, mail_user)
    assert lease.acquire(mailbox.id, "other-host:1:abc", 300)
    result = poll(mailbox)
    assert result.skipped.startswith("another poller holds it")
    assert InboundMail.select().count() == 0


def test_an_expired_lease_is_taken_over(db, dovecot, mail_user) -> None:
    dovecot.append(mail_user, mail())
    mailbox = imap_mailbox(dovecot, mail_user)
    lease.acquire(mailbox.id, "crashed:1:abc", 300)
    Mailbox.update(lease_until=utcnow() - timedelta(seconds=1)).execute()
    assert poll(mailbox).created == 1


def test_secrets_never_reach_a_trace_an_error_or_a_poll_run(db, dovecot, mail_user) -> None:
    secret = "Sup3r-Secret-Pa55"
    mailbox = imap_mailbox(dovecot, mail_user, password=secret, debug_trace=True)
    result = poll(mailbox)
    texts = [
        result.error,
        *[t.text for t in TraceLine.select()],
        *[r.error for r in PollRun.select()],
        Mailbox.get_by_id(mailbox.id).last_error,
    ]
    assert texts and not any(secret in t for t in texts)


def _ledger_count(db_target: str) -> int:
    """The ledger's row count seen from another connection (the poller's commits only)."""
    if "://" in db_target:
        import psycopg2

        con = psycopg2.connect(db_target)
        try:
            with con.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM inbound_mail")
                return cursor.fetchone()[0]
        finally:
            con.close()
    import sqlite3

    con = sqlite3.connect(db_target, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM inbound_mail").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_a_poller_killed_mid_batch_loses_nothing_and_doubles_nothing(
    db, db_target, dovecot, mail_user, cli_env
) -> None:
    count = 300
    dovecot.append_many(
        mail_user, [mail(subject=f"crash {i}", message_id=f"<c{i}@x>") for i in range(count)]
    )
    imap_mailbox(dovecot, mail_user, emails_per_fetch=10)
    db.close()
    killed_at = []
    for threshold in (15, 120):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tuidesk", "--db", db_target, "--poll-once"],
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while _ledger_count(db_target) < threshold and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at.append(_ledger_count(db_target))
        db.connect(reuse_if_open=True)
        Mailbox.update(lease_until=None, next_poll_at=None).execute()
        db.close()
    assert all(0 < n < count for n in killed_at), killed_at
    done = subprocess.run(
        [sys.executable, "-m", "tuidesk", "--db", db_target, "--poll-once"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    db.connect(reuse_if_open=True)
    subjects = [t.subject for t in Ticket.select()]
    assert sorted(subjects) == sorted(f"crash {i}" for i in range(count))
    assert InboundMail.select().count() == count
    assert InboundMail.select().where(InboundMail.state == "new").count() == 0
    assert dovecot.messages(mail_user, "INBOX") == []
    assert len(dovecot.messages(mail_user, "Processed")) == count
