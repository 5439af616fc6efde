"""Operations on ledger records: pipe-mode intake, retry, reset (003's "Reset Status")."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from peewee import Database

from tuidesk.core.errors import ConfigError
from tuidesk.core.ingest import ledger
from tuidesk.core.ingest.disposition import reopen_for_disposition
from tuidesk.core.ingest.ledger import StoredMail
from tuidesk.core.ingest.pipeline import Outcome, process_batch
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.mail.source import FetchedMail, RemoteMail
from tuidesk.core.store.models import InboundMail, Mailbox, Message, Ticket
from tuidesk.core.trace import Tracer


def intake(db: Database, mailbox: Mailbox, raw: bytes) -> InboundMail:
    """Store one piped message (committed before return); a message piped twice is stored
    once, and the second call returns the first record."""
    key = f"pipe:{hashlib.sha256(raw).hexdigest()}"
    with db.atomic():
        ledger.store_fetched(mailbox, [FetchedMail(RemoteMail(key=key, size=len(raw)), raw)])
    return InboundMail.get((InboundMail.mailbox == mailbox) & (InboundMail.source_key == key))


def undo(record: InboundMail) -> None:
    """Remove what an earlier processing of ``record`` made, so it can be processed afresh."""
    messages = list(Message.select().where(Message.inbound == record))
    for message in messages:
        ticket_id = message.ticket_id
        message.delete_instance(recursive=True)
        if record.state == "ticket_created":
            ticket = Ticket.get_or_none(Ticket.id == ticket_id)
            if ticket is not None and ticket.messages.count() == 0:
                ticket.delete_instance(recursive=True)


def reset(db: Database, record_ids: Sequence[int]) -> list[InboundMail]:
    """Make records new again; the next poll (or ``retry``) processes them."""
    records = _records(record_ids)
    with db.atomic():
        for record in records:
            undo(record)
            InboundMail.update(state="new", reason="", detail="", ticket=None).where(
                InboundMail.id == record.id
            ).execute()
        reopen_for_disposition([r.id for r in records])
    return records


def retry(db: Database, record_ids: Sequence[int], echo: bool = False) -> list[Outcome]:
    """Process records again now; their server-side action is applied by the next poll."""
    records = reset(db, record_ids)
    outcomes: list[Outcome] = []
    by_mailbox: dict[int, list[StoredMail]] = {}
    for record in records:
        fresh = InboundMail.get_by_id(record.id)
        by_mailbox.setdefault(record.mailbox_id, []).append(StoredMail.of(fresh))
    for mailbox_id, group in by_mailbox.items():
        mailbox = Mailbox.get_by_id(mailbox_id)
        policy = MailboxPolicy.from_mailbox(mailbox)
        trace = Tracer(mailbox.id, mailbox.name, keep=mailbox.debug_trace, echo=echo)
        outcomes += process_batch(db, group, mailbox, policy, trace)
    return outcomes


def _records(record_ids: Sequence[int]) -> list[InboundMail]:
    records = list(InboundMail.select().where(InboundMail.id.in_(list(record_ids))))
    missing = set(record_ids) - {r.id for r in records}
    if missing:
        raise ConfigError(
            f"there is no record {', '.join(str(i) for i in sorted(missing))}",
            hint="`tuidesk records` lists them",
        )
    return records
