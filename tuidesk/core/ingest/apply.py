"""Carry out a Decision in the store: contacts, tickets, thread entries, attachments.

Runs inside the caller's transaction; raises on a store error so the caller's savepoint rolls
the whole mail back.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.body import BodyText, body_text
from tuidesk.core.ingest.decide import CREATE, REPLY, Decision
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store.models import Client, Contact, InboundMail, Mailbox, Message, Ticket
from tuidesk.core.tickets import (
    NewTicket,
    add_attachment,
    add_participants,
    create_ticket,
    get_or_create_contact,
    touch,
)

IMPORTANCE_TO_PRIORITY = {"high": "high", "urgent": "urgent", "low": "low"}
X_PRIORITY_TO_PRIORITY = {"1": "urgent", "2": "high", "4": "low", "5": "low"}


@dataclass(frozen=True)
class Applied:
    state: str  # the record's final state
    ticket_id: int | None = None
    message_id: int | None = None
    created: bool = False


def priority_of(mail: ParsedMail, policy: MailboxPolicy) -> str:
    if not policy.priority_from_importance:
        return policy.default_priority
    importance = mail.header("importance").lower()
    if importance in IMPORTANCE_TO_PRIORITY:
        return IMPORTANCE_TO_PRIORITY[importance]
    x_priority = mail.header("x-priority").strip()[:1]
    return X_PRIORITY_TO_PRIORITY.get(x_priority, policy.default_priority)


def apply_decision(
    decision: Decision,
    mail: ParsedMail,
    record: InboundMail,
    mailbox: Mailbox,
    policy: MailboxPolicy,
) -> Applied:
    if decision.action == CREATE:
        return _create(decision, mail, record, mailbox, policy)
    if decision.action == REPLY:
        return _reply(decision, mail, record, policy)
    state = {"hold": "held_for_review", "reject": "rejected", "error": "error"}[decision.action]
    return Applied(state=state, ticket_id=decision.ticket_id)


def _contact_for(decision: Decision, mail: ParsedMail, policy: MailboxPolicy) -> Contact | None:
    if decision.contact == "none":
        return Contact.get_or_none(Contact.email == mail.from_addr)
    client = None
    if decision.contact == "create_for_client":
        from tuidesk.core.tickets import client_for_domain

        client = client_for_domain(mail.from_addr.rpartition("@")[2])
    fields = policy.new_contact_defaults if decision.contact == "create_unknown" else ""
    if decision.contact == "create_unknown" and not client:
        client = _client_from_defaults(policy.new_contact_defaults)
    return get_or_create_contact(mail.from_addr, mail.from_name, client=client, fields=fields)


def _client_from_defaults(defaults: str) -> Client | None:
    for line in defaults.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"client", "org_id", "organization"} and value.strip():
            return Client.get_or_none(Client.name == value.strip())
    return None


def _create(
    decision: Decision,
    mail: ParsedMail,
    record: InboundMail,
    mailbox: Mailbox,
    policy: MailboxPolicy,
) -> Applied:
    contact = _contact_for(decision, mail, policy)
    when = utcnow()
    ticket = create_ticket(
        NewTicket(
            subject=mail.subject or policy.default_title,
            contact=contact,
            department=mailbox.department,
            mailbox=mailbox,
            priority=priority_of(mail, policy),
            ticket_type=policy.ticket_type,
            source="email",
            fields=policy.ticket_defaults,
            linked_ticket=Ticket.get_by_id(decision.link_to) if decision.link_to else None,
            created_at=when,
        )
    )
    Ticket.update(unread=True).where(Ticket.id == ticket.id).execute()
    message = _store_message(ticket, mail, record, policy, automatic=False)
    add_participants(ticket, _others(mail, policy))
    return Applied("ticket_created", ticket.id, message.id, created=True)


def _reply(
    decision: Decision, mail: ParsedMail, record: InboundMail, policy: MailboxPolicy
) -> Applied:
    ticket = Ticket.get_by_id(decision.ticket_id)
    message = _store_message(ticket, mail, record, policy, automatic=decision.automatic)
    if decision.bounce:
        _mark_bouncing(ticket)
    if decision.reopen and ticket.status == "closed":
        Ticket.update(status="open", closed_at=None).where(Ticket.id == ticket.id).execute()
    if not decision.automatic:
        add_participants(ticket, _others(mail, policy))
    touch(ticket, customer_wrote=not decision.automatic)
    return Applied("reply_added", ticket.id, message.id)


def _mark_bouncing(ticket: Ticket) -> None:
    if ticket.contact_id:
        Contact.update(bouncing=True, bounced_at=utcnow()).where(
            Contact.id == ticket.contact_id
        ).execute()


def _others(mail: ParsedMail, policy: MailboxPolicy) -> list[tuple[str, str]]:
    return [(n, a) for n, a in mail.to + mail.cc if a not in policy.own_addresses]


def _store_message(
    ticket: Ticket,
    mail: ParsedMail,
    record: InboundMail,
    policy: MailboxPolicy,
    automatic: bool,
) -> Message:
    body: BodyText = body_text(mail)
    message = Message.create(
        ticket=ticket,
        direction="in",
        automatic=automatic,
        author_name=mail.from_name,
        author_email=mail.from_addr,
        message_id=mail.message_id,
        in_reply_to=" ".join(mail.in_reply_to),
        references=" ".join(mail.references),
        to_addrs=", ".join(a for _n, a in mail.to),
        cc_addrs=", ".join(a for _n, a in mail.cc),
        subject=mail.subject,
        date=mail.date,
        new_part=body.new_part,
        full_text=body.full_text,
        html=mail.html,
        inbound=record,
    )
    for attachment in mail.attachments:
        add_attachment(
            message,
            attachment.data,
            attachment.filename,
            attachment.content_type,
            attachment.content_id,
            attachment.inline,
        )
    return message
