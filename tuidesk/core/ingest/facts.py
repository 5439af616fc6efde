"""Gather from the store the Facts that ``decide`` needs for one mail (indexed lookups only)."""

from __future__ import annotations

from tuidesk.core.ingest.decide import Facts, TicketFacts
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store.models import (
    ClientDomain,
    Contact,
    Message,
    Outbox,
    Participant,
    SenderBlock,
    Ticket,
)


def ticket_facts(ticket: Ticket) -> TicketFacts:
    contact_email = ""
    if ticket.contact_id:
        contact_email = Contact.get_by_id(ticket.contact_id).email
    participants = frozenset(
        p.email for p in Participant.select(Participant.email).where(Participant.ticket == ticket)
    )
    domains: frozenset[str] = frozenset()
    if ticket.client_id:
        domains = frozenset(
            d.domain
            for d in ClientDomain.select(ClientDomain.domain).where(
                ClientDomain.client == ticket.client_id
            )
        )
    return TicketFacts(
        id=ticket.id,
        number=ticket.number,
        status=ticket.status,
        contact_email=contact_email,
        participants=participants,
        client_domains=domains,
    )


def ticket_by_message_ids(ids: tuple[str, ...]) -> tuple[Ticket | None, bool]:
    """The ticket of the newest referenced message we know, and whether one was ours."""
    if not ids:
        return None, False
    ours = False
    row = (
        Outbox.select(Outbox.ticket, Outbox.message_id)
        .where(Outbox.message_id.in_(ids) & Outbox.ticket.is_null(False))
        .order_by(Outbox.id.desc())
        .first()
    )
    if row is not None:
        ours = True
        return Ticket.get_or_none(Ticket.id == row.ticket_id), ours
    message = (
        Message.select(Message.ticket, Message.direction)
        .where(Message.message_id.in_(ids))
        .order_by(Message.id.desc())
        .first()
    )
    if message is None:
        return None, False
    return Ticket.get_or_none(Ticket.id == message.ticket_id), message.direction == "out"


def gather_facts(mail: ParsedMail, policy: MailboxPolicy) -> Facts:
    references = tuple(dict.fromkeys(mail.in_reply_to + tuple(reversed(mail.references))))
    header_ticket, own = ticket_by_message_ids(references)
    number = policy.ticket_number_in(mail.subject)
    subject_ticket = None
    if header_ticket is None and number is not None:
        subject_ticket = Ticket.get_or_none(Ticket.number == number)
    sender = mail.from_addr
    domain = sender.rpartition("@")[2]
    contact = Contact.get_or_none(Contact.email == sender) if sender else None
    client_row = ClientDomain.get_or_none(ClientDomain.domain == domain) if domain else None
    blocked = (
        SenderBlock.select().where(SenderBlock.pattern.in_([sender, f"@{domain}"])).exists()
        if sender
        else False
    )
    return Facts(
        header_ticket=ticket_facts(header_ticket) if header_ticket else None,
        subject_ticket=ticket_facts(subject_ticket) if subject_ticket else None,
        subject_number=number,
        contact_id=contact.id if contact else None,
        contact_blocked=bool(contact and contact.blocked),
        domain_client_id=client_row.client_id if client_row else None,
        sender_blocked=blocked,
        own_message=own,
    )
