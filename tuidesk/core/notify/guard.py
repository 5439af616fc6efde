"""Who may get automatic mail: no loops, no mail to machines, no flooding.

No automatic mail to auto-replies or bounces (the ingest decision already says so), to
mailer-daemon/postmaster/noreply addresses, to our own mailboxes, or to contacts whose address
bounces; and at most N automatic mails per recipient per hour (global setting).
"""

from __future__ import annotations

import re
from datetime import timedelta

from tuidesk.core import global_settings
from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.policy import split_list
from tuidesk.core.store import sql

_MACHINE = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|daemon)([+._-].*)?@", re.I
)


def own_addresses() -> set[str]:
    found: set[str] = set()
    for address, aliases in sql.rows('SELECT "address", "aliases" FROM "mailbox"'):
        found.add(address.lower())
        found.update(a.lower() for a in split_list(aliases))
    return found


def why_not_automatic(recipient: str, own: set[str] | None = None, limit: int | None = None) -> str:
    """Empty when ``recipient`` may get automatic mail now; otherwise why not."""
    address = recipient.strip().lower()
    if not address or "@" not in address:
        return "no usable address"
    if _MACHINE.match(address):
        return f"{address} is a machine address"
    if address in (own if own is not None else own_addresses()):
        return f"{address} is one of our own mailboxes"
    if sql.value('SELECT "bouncing" FROM "contact" WHERE "email" = ?', address):
        return f"mail to {address} bounces"
    limit = global_settings.get_int("auto_mail_per_hour") if limit is None else limit
    sent = sql.value(
        'SELECT COUNT(*) FROM "outbox" WHERE "recipients" = ? AND "automatic" = ? '
        'AND "created_at" >= ? AND "state" != ?',
        address,
        True,
        utcnow() - timedelta(hours=1),
        "discarded",
    )
    if sent >= limit:
        return f"{address} already got {sent} automatic mails this hour (limit {limit})"
    return ""
