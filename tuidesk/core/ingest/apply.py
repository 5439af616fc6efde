"""Carry out a Decision in the store: contacts, tickets, thread entries, attachments.

Runs inside the caller's transaction; raises on a store error so the caller's savepoint rolls
the whole mail back.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.body import body_text
from tuidesk.core.ingest.decide import CREATE, REPLY, Decision
from tuidesk.core.ingest.facts import Directory
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store import sql
from tuidesk.core.store.models import Mailbox
from tuidesk.core.tickets import (
    NewMessage,
    NewTicket,
    add_attachment,
    add_message,
    add_participants,
    contact_id_for,
    create_ticket,
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
    record_id: int,
    mailbox: Mailbox,
    policy: MailboxPolicy,
    directory: Directory,
) -> Applied:
    if decision.action == CREATE:
        return _create(decision, mail, record_id, mailbox, policy, directory)
    if decision.action == REPLY:
        return _reply(decision, mail, record_id, policy)
    state = {"hold": "held_for_review", "reject": "rejected", "error": "error"}[decision.action]
    return Applied(state=state, ticket_id=decision.ticket_id)


def _contact_for(
    decision: Decision, mail: ParsedMail, policy: MailboxPolicy, directory: Directory
) -> int | None:
    if decision.contact == "none":
        return sql.value('SELECT "id" FROM "contact" WHERE "email" = ?', mail.from_addr)
    client_id = None
    fields = ""
    if decision.contact == "create_for_client":
        client_id = directory.client_by_domain.get(mail.from_addr.rpartition("@")[2])
    elif decision.contact == "create_unknown":
        fields = policy.new_contact_defaults
        client_id = _client_from_defaults(policy.new_contact_defaults)
    return contact_id_for(mail.from_addr, mail.from_name, client_id, fields)


def _client_from_defaults(defaults: str) -> int | None:
    for line in defaults.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"client", "org_id", "organization"} and value.strip():
            return sql.value('SELECT "id" FROM "client" WHERE "name" = ?', value.strip())
    return None


def _create(
    decision: Decision,
    mail: ParsedMail,
    record_id: int,
    mailbox: Mailbox,
    policy: MailboxPolicy,
    directory: Directory,
) -> Applied:
    contact_id = _contact_for(decision, mail, policy, directory)
    ticket = create_ticket(
        NewTicket(
            subject=(mail.subject or policy.default_title)[:2000],
            contact=contact_id,
            department=mailbox.department_id,
            mailbox=mailbox.id,
            priority=priority_of(mail, policy),
            ticket_type=policy.ticket_type,
            source="email",
            fields=policy.ticket_defaults,
            linked_ticket=decision.link_to,
            created_at=utcnow(),
            unread=True,
        )
    )
    message_id = _store_message(ticket.id, mail, record_id, automatic=False)
    add_participants(ticket.id, mail.to + mail.cc, exclude=policy.own_addresses)
    return Applied("ticket_created", ticket.id, message_id, created=True)


def _reply(decision: Decision, mail: ParsedMail, record_id: int, policy: MailboxPolicy) -> Applied:
    ticket_id = decision.ticket_id
    message_id = _store_message(ticket_id, mail, record_id, automatic=decision.automatic)
    if decision.bounce:
        sql.run(
            'UPDATE "contact" SET "bouncing" = ?, "bounced_at" = ? WHERE "id" = '
            '(SELECT "contact_id" FROM "ticket" WHERE "id" = ?)',
            True,
            utcnow(),
            ticket_id,
        )
    if not decision.automatic:
        add_participants(ticket_id, mail.to + mail.cc, exclude=policy.own_addresses)
    touch(ticket_id, customer_wrote=not decision.automatic, reopen=decision.reopen)
    return Applied("reply_added", ticket_id, message_id)


def _store_message(ticket_id: int, mail: ParsedMail, record_id: int, automatic: bool) -> int:
    body = body_text(mail)
    message_id = add_message(
        NewMessage(
            ticket=ticket_id,
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
            inbound=record_id,
        )
    )
    for attachment in mail.attachments:
        add_attachment(
            message_id,
            attachment.data,
            attachment.filename,
            attachment.content_type,
            attachment.content_id,
            attachment.inline,
        )
    return message_id
