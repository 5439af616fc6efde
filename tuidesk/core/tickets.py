"""Ticket operations of the core: numbers, contacts, tickets, thread entries, attachments.

The ingest pipeline, agent actions and the demo all go through these functions, so a ticket is
made the same way wherever it comes from. They sit on the ingest hot path, so they write with
prepared SQL (``store.sql``) rather than building queries per call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tuidesk.core.clock import utcnow
from tuidesk.core.sla import customer_waiting, due_for
from tuidesk.core.store import sql
from tuidesk.core.store.models import (
    Agent,
    Client,
    ClientDomain,
    Contact,
    Department,
    Mailbox,
    Message,
    Ticket,
)

_NUMBER_LOW, _NUMBER_HIGH = 100000, 999999


def _random_number() -> int:
    return _NUMBER_LOW + secrets.randbelow(_NUMBER_HIGH - _NUMBER_LOW + 1)


def normalise_address(address: str) -> str:
    return address.strip().strip("<>").lower()


def domain_of(address: str) -> str:
    return normalise_address(address).rpartition("@")[2]


def find_contact(address: str) -> Contact | None:
    return Contact.get_or_none(Contact.email == normalise_address(address))


def client_for_domain(domain: str) -> Client | None:
    row = ClientDomain.get_or_none(ClientDomain.domain == domain.lower())
    return row.client if row else None


def _id(value) -> int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else value.id


def contact_id_for(address: str, name: str = "", client=None, fields: str = "") -> int:
    """The id of the contact with ``address``, creating it when missing (race-safe)."""
    email = normalise_address(address)
    found = sql.value('SELECT "id" FROM "contact" WHERE "email" = ?', email)
    if found is not None:
        return found
    sql.run(
        'INSERT INTO "contact" ("email", "name", "client_id", "bouncing", "blocked", "fields", '
        '"created_at") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("email") DO NOTHING',
        email,
        name or "",
        _id(client),
        False,
        False,
        fields,
        utcnow(),
    )
    return sql.value('SELECT "id" FROM "contact" WHERE "email" = ?', email)


def get_or_create_contact(
    address: str, name: str = "", client: Client | None = None, fields: str = ""
) -> Contact:
    return Contact.get_by_id(contact_id_for(address, name, client, fields))


@dataclass(frozen=True)
class NewTicket:
    subject: str
    contact: Contact | int | None = None
    client: Client | int | None = None
    department: Department | int | None = None
    mailbox: Mailbox | int | None = None
    priority: str = "normal"
    ticket_type: str = "request"
    source: str = "email"
    fields: str = ""
    assignee: Agent | int | None = None
    linked_ticket: Ticket | int | None = None
    created_at: datetime | None = None
    unread: bool = False
    number: int | None = None  # a chosen number (imports, the demo); random when None


def create_ticket(spec: NewTicket) -> Ticket:
    """Insert a ticket with a random unused six-digit number (hard to guess)."""
    now = spec.created_at or utcnow()
    client_id = _id(spec.client)
    contact_id = _id(spec.contact)
    if client_id is None and contact_id is not None:
        client_id = sql.value('SELECT "client_id" FROM "contact" WHERE "id" = ?', contact_id)
    values = dict(
        subject=spec.subject,
        status="open",
        priority=spec.priority,
        ticket_type=spec.ticket_type,
        department_id=_id(spec.department),
        contact_id=contact_id,
        client_id=client_id,
        assignee_id=_id(spec.assignee),
        mailbox_id=_id(spec.mailbox),
        source=spec.source,
        fields=spec.fields,
        linked_ticket_id=_id(spec.linked_ticket),
        unread=spec.unread,
        due_at=due_for(spec.priority, now) if spec.source == "email" else None,
        overdue_alerted=False,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    columns = ", ".join(f'"{c}"' for c in ["number", *values])
    statement = (
        f'INSERT INTO "ticket" ({columns}) VALUES ({sql.placeholders(len(values) + 1)}) '
        'ON CONFLICT ("number") DO NOTHING RETURNING "id"'
    )
    if spec.number is not None:
        ticket_id = sql.insert(statement, spec.number, *values.values())
        if ticket_id is None:
            raise ValueError(f"ticket number {spec.number:06d} is taken")
        return Ticket(id=ticket_id, number=spec.number, **values)
    for attempt in range(50):
        number = _random_number() if attempt < 40 else _next_number()
        ticket_id = sql.insert(statement, number, *values.values())
        if ticket_id is not None:
            return Ticket(id=ticket_id, number=number, **values)
    raise RuntimeError("no free ticket number could be found")


def _next_number() -> int:
    highest = sql.value('SELECT MAX("number") FROM "ticket"') or _NUMBER_HIGH
    return max(highest, _NUMBER_HIGH) + 1


def add_participants(
    ticket: Ticket | int, people: Iterable[tuple[str, str]], exclude: Iterable[str] = ()
) -> None:
    """Record (name, address) pairs as participants of ``ticket``, once each; the ticket's
    contact and the ``exclude`` addresses (our own mailboxes) are left out."""
    ticket_id = _id(ticket)
    skip = {normalise_address(a) for a in exclude}
    contact_email = sql.value(
        'SELECT c."email" FROM "ticket" t JOIN "contact" c ON c."id" = t."contact_id" '
        'WHERE t."id" = ?',
        ticket_id,
    )
    if contact_email:
        skip.add(contact_email)
    for name, address in people:
        email = normalise_address(address)
        if not email or email in skip:
            continue
        skip.add(email)
        sql.later(
            'INSERT INTO "participant" ("ticket_id", "email", "name") VALUES (?, ?, ?) '
            'ON CONFLICT ("ticket_id", "email") DO NOTHING',
            ticket_id,
            email,
            name or "",
        )


def touch(
    ticket: Ticket | int,
    *,
    when: datetime | None = None,
    customer_wrote: bool = False,
    reopen: bool = False,
) -> None:
    """Mark activity on a ticket: unread when a customer wrote, reopened when asked."""
    now = when or utcnow()
    sets = ['"updated_at" = ?', '"last_activity_at" = ?']
    params: list = [now, now]
    if customer_wrote:
        sets.append('"unread" = ?')
        params.append(True)
    if reopen:
        sets += ['"status" = ?', '"closed_at" = NULL']
        params.append("open")
    sql.later(f'UPDATE "ticket" SET {", ".join(sets)} WHERE "id" = ?', *params, _id(ticket))
    if customer_wrote:
        customer_waiting(_id(ticket), now)


def store_blob(data: bytes, digest: str | None = None) -> str:
    """Store ``data`` once, keyed by its sha256; return the key."""
    key = digest or hashlib.sha256(data).hexdigest()
    sql.later(
        'INSERT INTO "blob" ("sha256", "size", "data", "created_at") VALUES (?, ?, ?, ?) '
        'ON CONFLICT ("sha256") DO NOTHING',
        key,
        len(data),
        data,
        utcnow(),
    )
    return key


@dataclass(frozen=True)
class NewMessage:
    ticket: Ticket | int
    direction: str  # in, out, note
    new_part: str = ""
    full_text: str = ""
    html: str = ""
    automatic: bool = False
    author_name: str = ""
    author_email: str = ""
    agent: Agent | int | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    to_addrs: str = ""
    cc_addrs: str = ""
    subject: str = ""
    date: datetime | None = None
    inbound: int | None = None
    created_at: datetime | None = None


def add_message(spec: NewMessage) -> int:
    """Insert a thread entry; return its id."""
    values = dict(
        ticket_id=_id(spec.ticket),
        direction=spec.direction,
        automatic=spec.automatic,
        author_name=spec.author_name[:200],
        author_email=spec.author_email[:320],
        agent_id=_id(spec.agent),
        message_id=spec.message_id[:998],
        in_reply_to=spec.in_reply_to,
        references=spec.references,
        to_addrs=spec.to_addrs,
        cc_addrs=spec.cc_addrs,
        subject=spec.subject,
        date=spec.date,
        new_part=spec.new_part,
        full_text=spec.full_text,
        html=spec.html,
        inbound_id=spec.inbound,
        created_at=spec.created_at or utcnow(),
    )
    columns = ", ".join(f'"{c}"' for c in values)
    return sql.insert(
        f'INSERT INTO "message" ({columns}) VALUES ({sql.placeholders(len(values))}) '
        'RETURNING "id"',
        *values.values(),
    )


def add_attachment(
    message: Message | int,
    data: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
    content_id: str = "",
    inline: bool = False,
) -> int:
    key = store_blob(data)
    return sql.insert(
        'INSERT INTO "attachment" ("message_id", "blob_id", "filename", "content_type", "size", '
        '"content_id", "inline") VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING "id"',
        _id(message),
        key,
        filename,
        content_type[:200],
        len(data),
        content_id[:998],
        inline,
    )


def ticket_by_number(number: int) -> Ticket | None:
    return Ticket.get_or_none(Ticket.number == number)


def thread(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.order_by(Message.created_at, Message.id))
