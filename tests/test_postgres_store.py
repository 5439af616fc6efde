"""What tuidesk's PostgreSQL database does that SQLite never needs to (core/store/postgres.py):
held-back writes, NUL characters, reopening a lost connection, and leases on the server's clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from peewee import IntegrityError, OperationalError

from tuidesk.core import lease
from tuidesk.core.clock import utcnow
from tuidesk.core.store import db as store
from tuidesk.core.store import sql
from tuidesk.core.store.models import Contact, Mailbox

pytestmark = pytest.mark.servers


@pytest.fixture
def pg(pg_url):
    database = store.connect(pg_url)
    yield database
    store.close()


def contact_insert(email: str) -> tuple[str, str, str, bool, bool, str, object]:
    return (
        'INSERT INTO "contact" ("email", "name", "client_id", "bouncing", "blocked", "fields", '
        '"created_at") VALUES (?, ?, ?, ?, ?, ?, ?)',
        email,
        "",
        None,
        False,
        False,
        "{}",
        utcnow(),
    )


def test_a_held_back_write_fails_in_its_own_savepoint_and_spares_the_others(pg):
    with pg.atomic():
        with pytest.raises(IntegrityError), pg.atomic():
            sql.later(*contact_insert("a@example.com"))
            sql.later(*contact_insert("a@example.com"))  # the same address: refused
        with pg.atomic():
            sql.later(*contact_insert("b@example.com"))
    assert sorted(c.email for c in Contact.select()) == ["b@example.com"]


def test_held_back_writes_are_dropped_with_a_rollback(pg):
    with pytest.raises(RuntimeError), pg.atomic():
        sql.later(*contact_insert("gone@example.com"))
        raise RuntimeError("the batch failed")
    with pg.atomic():
        sql.later(*contact_insert("kept@example.com"))
    assert [c.email for c in Contact.select()] == ["kept@example.com"]


def test_text_with_nul_characters_is_stored(pg):
    Contact.create(email="nul@example.com", name="Eve\x00Hacker", created_at=utcnow())
    assert Contact.get(Contact.email == "nul@example.com").name == "Eve\ufffdHacker"


def test_a_lost_connection_fails_one_statement_and_the_next_one_reconnects(pg, postgres, pg_url):
    Contact.create(email="x@example.com", name="", created_at=utcnow())
    postgres.terminate_sessions(pg_url)
    with pytest.raises(OperationalError):
        Contact.select().count()
    assert Contact.select().count() == 1


def test_a_connection_lost_while_idle_is_reopened_before_the_work_starts(pg, postgres, pg_url):
    postgres.terminate_sessions(pg_url)
    store.ensure_connected(pg)
    assert Contact.select().count() == 0


def test_leases_follow_the_database_clock_not_the_hosts(pg, monkeypatch):
    mailbox = Mailbox.create(name="support", address="s@example.com", status="active")
    assert lease.acquire(mailbox.id, "host-a:1:x", 300)
    # host B's clock runs an hour ahead: by its own clock A's lease would have expired
    monkeypatch.setattr(lease, "utcnow", lambda: utcnow() + timedelta(hours=1))
    assert not lease.acquire(mailbox.id, "host-b:2:y", 300)
    assert lease.renew(mailbox.id, "host-a:1:x", 300)


def test_a_savepoint_rolled_back_drops_what_it_held_back_even_a_failing_write(pg):
    with pg.atomic():
        with pytest.raises(RuntimeError), pg.atomic():
            sql.later(*contact_insert("a@example.com"))
            sql.later(*contact_insert("a@example.com"))  # would be refused
            raise RuntimeError("the record failed for another reason")
        assert Contact.select().count() == 0
        sql.later(*contact_insert("b@example.com"))
    assert [c.email for c in Contact.select()] == ["b@example.com"]
