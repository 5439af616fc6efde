"""Ticket operations of the core: numbers, creation, messages, participants, queries.

The ingest pipeline, agent actions, the demo and the UI all go through these functions, so a
ticket is made the same way wherever it comes from.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from peewee import fn

from tuidesk.core.clock import utcnow
from tuidesk.core.store.models import (
    Agent,
    Attachment,
    Blob,
    Client,
    ClientDomain,
    Contact,
    Department,
    Mailbox,
    Message,
    Participant,
    Ticket,
)

_NUMBER_LOW, _NUMBER_HIGH = 100000, 999999


def allocate_number() -> int:
    """A random unused six-digit ticket number (hard to guess), or the next free one."""
    for _ in range(20):
        candidate = _NUMBER_LOW + secrets.randbelow(_NUMBER_HIGH - _NUMBER_LOW + 1)
        if not Ticket.select().where(Ticket.number == candidate).exists():
            return candidate
    highest = Ticket.select(fn.MAX(Ticket.number)).scalar() or _NUMBER_HIGH
    return max(highest, _NUMBER_HIGH) + 1


def normalise_address(address: str) -> str:
    return address.strip().strip("<>").lower()


def domain_of(address: str) -> str:
    return normalise_address(address).rpartition("@")[2]


def find_contact(address: str) -> Contact | None:
    return Contact.get_or_none(Contact.email == normalise_address(address))


def client_for_domain(domain: str) -> Client | None:
    row = ClientDomain.get_or_none(ClientDomain.domain == domain.lower())
    return row.client if row else None


def get_or_create_contact(
    address: str, name: str = "", client: Client | None = None, fields: str = ""
) -> Contact:
    email = normalise_address(address)
    contact = Contact.get_or_none(Contact.email == email)
    if contact is None:
        contact = Contact.create(email=email, name=name, client=client, fields=fields)
    return contact


@dataclass(frozen=True)
class NewTicket:
    subject: str
    contact: Contact | None = None
    client: Client | None = None
    department: Department | None = None
    mailbox: Mailbox | None = None
    priority: str = "normal"
    ticket_type: str = "request"
    source: str = "email"
    fields: str = ""
    assignee: Agent | None = None
    linked_ticket: Ticket | None = None
    created_at: datetime | None = None


def create_ticket(spec: NewTicket) -> Ticket:
    now = spec.created_at or utcnow()
    client = spec.client or (spec.contact.client if spec.contact else None)
    return Ticket.create(
        number=allocate_number(),
        subject=spec.subject,
        contact=spec.contact,
        client=client,
        department=spec.department,
        mailbox=spec.mailbox,
        priority=spec.priority,
        ticket_type=spec.ticket_type,
        source=spec.source,
        fields=spec.fields,
        assignee=spec.assignee,
        linked_ticket=spec.linked_ticket,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )


def add_participants(ticket: Ticket, people: Iterable[tuple[str, str]]) -> None:
    """Record (name, address) pairs as participants of ``ticket``, once each."""
    contact_email = ticket.contact.email if ticket.contact_id else ""
    seen = {p.email for p in ticket.participants}
    for name, address in people:
        email = normalise_address(address)
        if not email or email == contact_email or email in seen:
            continue
        Participant.create(ticket=ticket, email=email, name=name or "")
        seen.add(email)


def touch(ticket: Ticket, *, when: datetime | None = None, customer_wrote: bool = False) -> None:
    now = when or utcnow()
    changes: dict = {Ticket.updated_at: now, Ticket.last_activity_at: now}
    if customer_wrote:
        changes[Ticket.unread] = True
    Ticket.update(changes).where(Ticket.id == ticket.id).execute()


def store_blob(data: bytes, digest: str | None = None) -> Blob:
    """Store ``data`` once, keyed by its sha256."""
    import hashlib

    key = digest or hashlib.sha256(data).hexdigest()
    blob = Blob.get_or_none(Blob.sha256 == key)
    if blob is None:
        blob = Blob.create(sha256=key, size=len(data), data=data)
    return blob


def add_attachment(
    message: Message,
    data: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
    content_id: str = "",
    inline: bool = False,
) -> Attachment:
    return Attachment.create(
        message=message,
        blob=store_blob(data),
        filename=filename,
        content_type=content_type,
        size=len(data),
        content_id=content_id,
        inline=inline,
    )


def ticket_by_number(number: int) -> Ticket | None:
    return Ticket.get_or_none(Ticket.number == number)


def thread(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.order_by(Message.created_at, Message.id))
