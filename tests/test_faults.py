"""Faults on the way: a connection cut mid-fetch, a server too slow, the database locked or
full. Each poll that fails says why in one sentence, cools the mailbox off, and loses or
doubles nothing: the next poll completes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest
from ingest_helpers import imap_mailbox, poll
from mailgen import mail
from servers.proxy import FaultyProxy

from tuidesk.core.store import sql
from tuidesk.core.store.models import InboundMail, Mailbox, Ticket

pytestmark = pytest.mark.servers


def messages(count: int, size: int = 4000) -> list[bytes]:
    return [
        mail(subject=f"fault {i}", message_id=f"<f{i}@x>", body="z" * size) for i in range(count)
    ]


def assert_each_stored_once(count: int) -> None:
    subjects = sorted(t.subject for t in Ticket.select())
    assert subjects == sorted(f"fault {i}" for i in range(count))
    assert InboundMail.select().count() == count


@pytest.mark.parametrize("cut_after", [200, 5_000, 60_000])
def test_a_connection_cut_mid_fetch_is_a_clear_failure_and_the_next_poll_completes(
    db, dovecot, mail_user, cut_after
):
    dovecot.append_many(mail_user, messages(30))
    with FaultyProxy(dovecot.host, dovecot.imap_port) as proxy:
        mailbox = imap_mailbox(
            dovecot, mail_user, port=proxy.port, emails_per_fetch=5, cool_off_minutes=3
        )
        proxy.cut_after = cut_after
        failed = poll(mailbox)
        assert not failed.ok
        assert "closed the connection" in failed.error or "did not answer" in failed.error
        assert Mailbox.get_by_id(mailbox.id).cool_off_until is not None
        proxy.healthy()
        done = poll(mailbox)
    assert done.ok, done.error
    assert_each_stored_once(30)
    assert dovecot.messages(mail_user, "INBOX") == []


def test_a_server_too_slow_times_out_with_a_clear_sentence(db, dovecot, mail_user):
    dovecot.append(mail_user, mail(subject="fault 0"))
    with FaultyProxy(dovecot.host, dovecot.imap_port) as proxy:
        mailbox = imap_mailbox(dovecot, mail_user, port=proxy.port, timeout_ms=300)
        proxy.delay = 1.0
        started = time.monotonic()
        failed = poll(mailbox)
        assert time.monotonic() - started < 5
        assert "did not answer in time" in failed.error and "timeout_ms" in failed.error
        proxy.healthy()
        assert poll(mailbox).created == 1
    assert_each_stored_once(1)


def test_dovecot_restarted_between_polls_loses_nothing(db, dovecot_private):
    user = dovecot_private.add_user()
    dovecot_private.append_many(user, messages(10))
    mailbox = imap_mailbox(dovecot_private, user, emails_per_fetch=3)
    dovecot_private.stop()
    failed = poll(mailbox)
    assert not failed.ok and "refused" in failed.error
    dovecot_private.start()
    assert poll(mailbox).ok
    assert_each_stored_once(10)


def _hold_lock(path: str, ready, seconds: float) -> None:
    con = sqlite3.connect(path, timeout=0)
    con.execute("BEGIN EXCLUSIVE")
    ready.set()
    time.sleep(seconds)
    con.rollback()
    con.close()


@pytest.mark.sqlite_only
def test_a_database_locked_longer_than_the_busy_timeout_fails_cleanly(
    db, db_path, dovecot, mail_user
):
    dovecot.append_many(mail_user, messages(3))
    mailbox = imap_mailbox(dovecot, mail_user)
    db.execute_sql("PRAGMA busy_timeout = 200")
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(db_path), ready, 2.0))
    holder.start()
    ready.wait(10)
    failed = poll(mailbox)
    holder.join()
    assert not failed.ok
    assert "database is locked" in failed.error and "stays on the server" in failed.error
    assert InboundMail.select().count() == 0
    assert len(dovecot.messages(mail_user)) == 3
    assert poll(mailbox).ok
    assert_each_stored_once(3)


def test_a_full_disk_leaves_no_partial_record_and_the_mail_on_the_server(
    db, dovecot, mail_user, monkeypatch
):
    dovecot.append_many(mail_user, messages(6))
    mailbox = imap_mailbox(dovecot, mail_user, emails_per_fetch=3)
    real_insert = sql.insert
    calls = {"n": 0}

    def insert_until_full(statement, *params):
        calls["n"] += 1
        if calls["n"] == 4:
            raise sqlite3.OperationalError("database or disk is full")
        return real_insert(statement, *params)

    monkeypatch.setattr(sql, "insert", insert_until_full)
    failed = poll(mailbox)
    assert not failed.ok
    assert "disk" in failed.error and "full" in failed.error
    assert InboundMail.select().count() in (0, 3)  # whole batches, never half a mail
    assert len(dovecot.messages(mail_user)) == 6  # nothing leaves the server unprocessed
    monkeypatch.setattr(sql, "insert", real_insert)
    assert poll(mailbox).ok
    assert_each_stored_once(6)


def test_a_store_failure_while_processing_is_not_blamed_on_the_mail(
    db, dovecot, mail_user, monkeypatch
):
    dovecot.append(mail_user, mail(subject="fault 0"))
    mailbox = imap_mailbox(dovecot, mail_user)
    import tuidesk.core.tickets as tickets

    real = tickets.create_ticket

    def full(spec):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("tuidesk.core.ingest.apply.create_ticket", full)
    failed = poll(mailbox)
    assert not failed.ok and "full" in failed.error
    assert [r.state for r in InboundMail.select()] in ([], ["new"])
    assert len(dovecot.messages(mail_user)) == 1
    monkeypatch.setattr("tuidesk.core.ingest.apply.create_ticket", real)
    assert poll(mailbox).created == 1
    assert_each_stored_once(1)
