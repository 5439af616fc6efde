"""A lease per mailbox in the database: two pollers (cron and the TUI, or two hosts) never poll
one mailbox at once. An expired lease, left by a crashed poller, is taken over."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from tuidesk.core.clock import utcnow
from tuidesk.core.store.models import Mailbox


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(mailbox_id: int, owner: str, seconds: int) -> bool:
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
