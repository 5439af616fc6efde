"""Held mail (000's "left in the inbox to be actioned manually") and what operators do with it.

Each action ends with the record owing its mailbox's disposition: the next poll of that
mailbox moves or deletes the mail on the server and removes its held/error flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tuidesk.core.actions import Actor
from tuidesk.core.clock import utcnow
from tuidesk.core.errors import TuideskError
from tuidesk.core.ingest.body import body_text
from tuidesk.core.ingest.decide import CREATE, REPLY, Decision
from tuidesk.core.ingest.operator import apply_operator_decision, parsed_record
from tuidesk.core.ingest.records import retry as retry_records
from tuidesk.core.store.models import (
    Client,
    ClientDomain,
    Contact,
    InboundMail,
    Mailbox,
    SenderBlock,
    Ticket,
    database_proxy,
)
from tuidesk.core.text import safe_text
from tuidesk.core.tickets import contact_id_for, domain_of

REVIEW_STATES = ("held_for_review", "error")
PREVIEW_CHARS = 600


@dataclass(frozen=True)
class HeldMail:
    record_id: int
    mailbox: str
    state: str
    reason: str
    detail: str
    sender: str
    subject: str
    fetched_at: datetime
    preview: str


def held_mail(mailbox_id: int | None = None, limit: int = 500) -> list[HeldMail]:
    query = (
        InboundMail.select(InboundMail, Mailbox.name)
        .join(Mailbox)
        .where(InboundMail.state.in_(REVIEW_STATES))
        .order_by(InboundMail.id.desc())
        .limit(limit)
    )
    if mailbox_id is not None:
        query = query.where(InboundMail.mailbox == mailbox_id)
    return [
        HeldMail(
            record_id=r.id,
            mailbox=r.mailbox.name,
            state=r.state,
            reason=r.reason,
            detail=r.detail,
            sender=safe_text(r.from_addr),
            subject=safe_text(r.subject),
            fetched_at=r.fetched_at,
            preview=preview(r),
        )
        for r in query
    ]


def preview(record: InboundMail) -> str:
    if record.headers_only:
        return f"(too large: {record.size:,} bytes; only the headers were kept)"
    text = body_text(parsed_record(record)).full_text
    return safe_text(text[:PREVIEW_CHARS])


def _record(record_id: int) -> InboundMail:
    record = InboundMail.get_or_none(InboundMail.id == record_id)
    if record is None:
        raise TuideskError(f"there is no record {record_id}")
    if record.state not in REVIEW_STATES:
        raise TuideskError(
            f"record {record_id} is {record.state.replace('_', ' ')}, not waiting for review"
        )
    return record


def create_ticket_from(
    record_id: int,
    actor: Actor,
    contact_id: int | None = None,
    client_id: int | None = None,
    add_domain_to_client: bool = False,
) -> int:
    """Open a ticket for a held mail: for a chosen contact, or a contact made for the sender
    (under ``client_id``); optionally the sender's domain joins the client, so the next mail
    from it goes straight through."""
    record = _record(record_id)
    mail = parsed_record(record)
    if not mail.from_addr and contact_id is None:
        raise TuideskError("the mail has no sender address: choose a contact")
    with database_proxy.obj.atomic():
        if contact_id is None:
            contact_id = contact_id_for(mail.from_addr, mail.from_name, client_id)
            if client_id is not None:
                Contact.update(client=client_id).where(
                    (Contact.id == contact_id) & Contact.client.is_null()
                ).execute()
        contact = Contact.get_by_id(contact_id)
        target_client = client_id or contact.client_id
        if add_domain_to_client:
            if target_client is None:
                raise TuideskError("choose a client to add the sender's domain to")
            domain = domain_of(mail.from_addr)
            existing = ClientDomain.get_or_none(ClientDomain.domain == domain)
            if existing is not None and existing.client_id != target_client:
                owner = Client.get_by_id(existing.client_id).name
                raise TuideskError(f"the domain {domain} belongs to the client {owner} already")
            if existing is None:
                ClientDomain.create(client=target_client, domain=domain)
        decision = Decision(
            CREATE, "operator", f"ticket opened by {actor.name}", contact="existing"
        )
        if mail.from_addr.lower() != contact.email:
            decision = Decision(
                CREATE,
                "operator",
                f"ticket opened by {actor.name} for {contact.email}",
                contact="none",
            )
        outcome = apply_operator_decision(database_proxy.obj, record, decision, actor.name)
        if decision.contact == "none":
            Ticket.update(contact=contact.id, client=contact.client_id).where(
                Ticket.id == outcome.ticket_id
            ).execute()
    return outcome.ticket_id


def append_to_ticket(record_id: int, actor: Actor, ticket_number: int) -> int:
    record = _record(record_id)
    ticket = Ticket.get_or_none(Ticket.number == ticket_number)
    if ticket is None:
        raise TuideskError(f"there is no ticket #{ticket_number:06d}")
    decision = Decision(
        REPLY,
        "operator",
        f"appended to #{ticket.number:06d} by {actor.name}",
        ticket_id=ticket.id,
        reopen=ticket.status == "closed",
        contact="none",
    )
    apply_operator_decision(database_proxy.obj, record, decision, actor.name)
    return ticket.id


def reject(record_id: int, actor: Actor) -> None:
    record = _record(record_id)
    decision = Decision("reject", "operator_rejected", f"rejected by {actor.name}", contact="none")
    apply_operator_decision(database_proxy.obj, record, decision, actor.name)


def block_sender(record_id: int, actor: Actor, whole_domain: bool = False) -> None:
    """Block the sender (or its whole domain) and reject this mail."""
    record = _record(record_id)
    address = parsed_record(record).from_addr
    if not address:
        raise TuideskError("the mail has no sender address to block")
    pattern = f"@{domain_of(address)}" if whole_domain else address.lower()
    with database_proxy.obj.atomic():
        SenderBlock.get_or_create(
            pattern=pattern,
            defaults={
                "reason": f"blocked by {actor.name} from record {record_id}",
                "created_at": utcnow(),
            },
        )
        decision = Decision(
            "reject", "blocked_sender", f"{pattern} blocked by {actor.name}", contact="none"
        )
        apply_operator_decision(database_proxy.obj, record, decision, actor.name)


def retry(record_id: int) -> str:
    """Process an error (or held) record again; return its new state."""
    _record(record_id)
    outcome = retry_records(database_proxy.obj, [record_id])[0]
    return outcome.state
