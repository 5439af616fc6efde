"""A lease per mailbox in the database: two pollers (cron and the TUI, or two hosts) never poll
one mailbox at once. An expired lease, left by a crashed or stalled poller, is taken over.

Taking the lease is one conditional UPDATE (free, expired, or already ours), so of two pollers
racing for it exactly one sees a row changed: SQLite serializes writers, and PostgreSQL
re-checks the condition on the row the other one just committed.

Clock: on PostgreSQL, where pollers may run on several hosts, the lease's times come from the
database server's clock (``now()``), never from the host's: a host whose clock runs ahead
would otherwise see every lease as expired and take it over, and one that runs behind would
hold leases too long. On SQLite every poller shares one machine and its clock.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from peewee import PostgresqlDatabase

from tuidesk.core.clock import utcnow
from tuidesk.core.store import sql
from tuidesk.core.store.models import Mailbox, database_proxy

LEASE_ENV = "TUIDESK_POLL_LEASE_SECONDS"
"""Overrides the lease length (seconds), for tests and for tuning many hosts."""
MIN_LEASE_SECONDS = 300

_DB_NOW = "(now() AT TIME ZONE 'UTC')"
_ACQUIRE_PG = (
    f'UPDATE "mailbox" SET "lease_owner" = ?, "lease_until" = {_DB_NOW} + ? '
    f'WHERE "id" = ? AND ("lease_until" IS NULL OR "lease_until" < {_DB_NOW} '
    'OR "lease_owner" = ?)'
)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _override() -> int:
    value = os.environ.get(LEASE_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 0


def stalled_transaction_seconds() -> int:
    """After how long idle inside a transaction a PostgreSQL session is ended: the shortest
    lease, for by then another poller may have taken the mailbox over (store/postgres.py)."""
    return _override() or MIN_LEASE_SECONDS


def seconds_for(mailbox: Mailbox) -> int:
    """How long a lease lasts: it is renewed after every batch, so it must outlast the slowest
    batch; four server timeouts, at least five minutes, unless the environment says."""
    return _override() or max(MIN_LEASE_SECONDS, mailbox.timeout_ms // 1000 * 4)


def acquire(mailbox_id: int, owner: str, seconds: int) -> bool:
    """Take (or extend) the lease; False when another owner holds an unexpired one."""
    if isinstance(database_proxy.obj, PostgresqlDatabase):
        return sql.run(_ACQUIRE_PG, owner, timedelta(seconds=seconds), mailbox_id, owner) == 1
    now = utcnow()
    taken = (
        Mailbox.update(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        .where(
            (Mailbox.id == mailbox_id)
            & (
                Mailbox.lease_until.is_null()
                | (Mailbox.lease_until < now)
                | (Mailbox.lease_owner == owner)
            )
        )
        .execute()
    )
    return taken == 1


def renew(mailbox_id: int, owner: str, seconds: int) -> bool:
    """Extend our lease; False when it expired and another poller has taken it over."""
    return acquire(mailbox_id, owner, seconds)


def release(mailbox_id: int, owner: str) -> None:
    Mailbox.update(lease_owner="", lease_until=None).where(
        (Mailbox.id == mailbox_id) & (Mailbox.lease_owner == owner)
    ).execute()


def holder(mailbox_id: int) -> str:
    mailbox = Mailbox.get_by_id(mailbox_id)
    if mailbox.lease_until and mailbox.lease_until > utcnow():
        return mailbox.lease_owner
    return ""
