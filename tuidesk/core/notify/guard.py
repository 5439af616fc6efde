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
from tuidesk.core.store.models import Contact, Mailbox, Outbox

_MACHINE = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|daemon)([+._-].*)?@", re.I
)


def own_addresses() -> set[str]:
    found: set[str] = set()
    for mailbox in Mailbox.select(Mailbox.address, Mailbox.aliases):
        found.add(mailbox.address.lower())
        found.update(a.lower() for a in split_list(mailbox.aliases))
    return found


def why_not_automatic(recipient: str, own: set[str] | None = None) -> str:
    """Empty when ``recipient`` may get automatic mail now; otherwise why not."""
    address = recipient.strip().lower()
    if not address or "@" not in address:
        return "no usable address"
    if _MACHINE.match(address):
        return f"{address} is a machine address"
    if address in (own if own is not None else own_addresses()):
        return f"{address} is one of our own mailboxes"
    contact = Contact.get_or_none(Contact.email == address)
    if contact is not None and contact.bouncing:
        return f"mail to {address} bounces"
    limit = global_settings.get_int("auto_mail_per_hour")
    since = utcnow() - timedelta(hours=1)
    sent = (
        Outbox.select()
        .where(
            (Outbox.automatic == True)  # noqa: E712
            & (Outbox.created_at >= since)
            & (Outbox.recipients == address)
            & (Outbox.state != "discarded")
        )
        .count()
    )
    if sent >= limit:
        return f"{address} already got {sent} automatic mails this hour (limit {limit})"
    return ""
