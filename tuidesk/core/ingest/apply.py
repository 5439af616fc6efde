"""Carry out a Decision in the store: contacts, tickets, thread entries, attachments.

Runs inside the caller's transaction; raises on a store error so the caller's savepoint rolls
the whole mail back. What it chose not to keep (an attachment that was filtered) comes back as
``Applied.notes``, one sentence each, for the trace.

New tickets follow 003's data mapping: subject -> title (the mailbox's default title when
empty), sender -> contact and client, new part -> first message, source "email", the
mailbox's department, type and priority (from Importance / X-Priority / Priority when the
mailbox says so, 002), and 003's "field:value" default values.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.attachments import sanitize_filename, screen
from tuidesk.core.ingest.body import body_text
from tuidesk.core.ingest.decide import CREATE, REPLY, Decision
from tuidesk.core.ingest.facts import Directory
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store import sql
from tuidesk.core.store.models import PRIORITIES, Mailbox
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
PRIORITY_HEADER = {"urgent": "urgent", "non-urgent": "low"}  # RFC 2156's Priority
CLIENT_KEYS = ("client", "org_id", "organization", "organisation", "org")
NAME_KEYS = ("name", "full_name", "display_name")


@dataclass(frozen=True)
class Applied:
    state: str  # the record's final state
    ticket_id: int | None = None
    message_id: int | None = None
    created: bool = False
    notes: tuple[str, ...] = ()  # what was not kept, and why (for the trace)


def priority_of(mail: ParsedMail, policy: MailboxPolicy) -> str:
    """The mailbox's priority (or a ``priority:`` default value), unless the mail's
    Importance, X-Priority or Priority header says otherwise and the mailbox listens (002)."""
    base = dict(policy.field_defaults).get("priority", "").lower()
    base = base if base in PRIORITIES else policy.default_priority
    if not policy.priority_from_importance:
        return base
    importance = mail.header("importance").lower().strip()
    if importance in IMPORTANCE_TO_PRIORITY:
        return IMPORTANCE_TO_PRIORITY[importance]
    x_priority = mail.header("x-priority").strip()[:1]
    if x_priority in X_PRIORITY_TO_PRIORITY:
        return X_PRIORITY_TO_PRIORITY[x_priority]
    return PRIORITY_HEADER.get(mail.header("priority").lower().strip(), base)


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
        return _reply(decision, mail, record_id, policy, directory)
    state = {"hold": "held_for_review", "reject": "rejected", "error": "error"}[decision.action]
    return Applied(state=state, ticket_id=decision.ticket_id)


def _own(policy: MailboxPolicy, directory: Directory) -> frozenset[str]:
    """Our addresses: every mailbox's (read per batch), which include this one's."""
    return directory.own_addresses or policy.own_addresses


def _contact_for(
    decision: Decision, mail: ParsedMail, policy: MailboxPolicy, directory: Directory
) -> int | None:
    if decision.contact == "none":
        return sql.value('SELECT "id" FROM "contact" WHERE "email" = ?', mail.from_addr)
    client_id = None
    name = mail.from_name
    fields = ""
    if decision.contact == "create_for_client":
        client_id = directory.client_by_domain.get(mail.from_addr.rpartition("@")[2])
    elif decision.contact == "create_unknown":
        defaults = dict(policy.contact_defaults)
        fields = policy.new_contact_defaults
        client_id = _client_named(next((defaults[k] for k in CLIENT_KEYS if k in defaults), ""))
        name = name or next((defaults[k] for k in NAME_KEYS if defaults.get(k)), "")
    return contact_id_for(mail.from_addr, name, client_id, fields)


def _client_named(value: str) -> int | None:
    """003: a key field is given by its name or its numeric id."""
    if not value:
        return None
    if value.isdigit():
        found = sql.value('SELECT "id" FROM "client" WHERE "id" = ?', int(value))
        if found is not None:
            return found
    return sql.value('SELECT "id" FROM "client" WHERE "name" = ?', value)


def _create(
    decision: Decision,
    mail: ParsedMail,
    record_id: int,
    mailbox: Mailbox,
    policy: MailboxPolicy,
    directory: Directory,
) -> Applied:
    contact_id = _contact_for(decision, mail, policy, directory)
    defaults = dict(policy.field_defaults)
    ticket = create_ticket(
        NewTicket(
            subject=(mail.subject or policy.default_title)[:2000],
            contact=contact_id,
            department=mailbox.department_id,
            mailbox=mailbox.id,
            priority=priority_of(mail, policy),
            ticket_type=defaults.get("ticket_type") or defaults.get("type") or policy.ticket_type,
            source="email",
            fields=policy.ticket_defaults,
            linked_ticket=decision.link_to,
            created_at=utcnow(),
            unread=True,
        )
    )
    message_id, notes = _store_message(ticket.id, mail, record_id, False, policy, replying=False)
    if policy.attach_original:
        _attach_original(message_id, record_id, mail.subject)
    add_participants(ticket.id, mail.to + mail.cc, exclude=_own(policy, directory))
    return Applied("ticket_created", ticket.id, message_id, created=True, notes=notes)


def _reply(
    decision: Decision,
    mail: ParsedMail,
    record_id: int,
    policy: MailboxPolicy,
    directory: Directory,
) -> Applied:
    ticket_id = decision.ticket_id
    message_id, notes = _store_message(
        ticket_id, mail, record_id, decision.automatic, policy, replying=True
    )
    if decision.bounced and not _mark_bouncing(decision.bounced):
        _mark_bouncing(decision.bounced_fallback)
    if not decision.automatic:
        people = ((mail.from_name, mail.from_addr), *mail.to, *mail.cc)
        add_participants(ticket_id, people, exclude=_own(policy, directory))
    touch(ticket_id, customer_wrote=not decision.automatic, reopen=decision.reopen)
    return Applied("reply_added", ticket_id, message_id, notes=notes)


def _mark_bouncing(addresses: tuple[str, ...]) -> int:
    """Mark the contacts with these addresses as bouncing; how many there were."""
    if not addresses:
        return 0
    marks = sql.placeholders(len(addresses))
    return sql.run(
        f'UPDATE "contact" SET "bouncing" = ?, "bounced_at" = ? WHERE "email" IN ({marks})',
        True,
        utcnow(),
        *addresses,
    )


def _store_message(
    ticket_id: int,
    mail: ParsedMail,
    record_id: int,
    automatic: bool,
    policy: MailboxPolicy,
    replying: bool,
) -> tuple[int, tuple[str, ...]]:
    body = body_text(mail, policy)
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
    if not mail.attachments:
        return message_id, ()
    kept, notes = screen(mail.attachments, policy.attachment_rules)
    for item in kept:
        attachment = item.attachment
        if replying and not attachment.inline and _on_ticket(ticket_id, item.sha256):
            notes.append(f"attachment '{item.filename}' not imported: already on the ticket")
            continue
        add_attachment(
            message_id,
            attachment.data,
            item.filename,
            attachment.content_type,
            attachment.content_id,
            attachment.inline,
        )
    return message_id, tuple(notes)


def _on_ticket(ticket_id: int, sha256: str) -> bool:
    """003's duplicate detection: the same file (a signature logo) is kept once per ticket."""
    return (
        sql.value(
            'SELECT 1 FROM "attachment" a JOIN "message" m ON m."id" = a."message_id" '
            'WHERE a."blob_id" = ? AND m."ticket_id" = ? LIMIT 1',
            sha256,
            ticket_id,
        )
        is not None
    )


def _attach_original(message_id: int, record_id: int, subject: str) -> None:
    """002's "add email as attachment": the raw mail, as stored in the ledger (no copy)."""
    title = subject[:80].replace("/", "_").replace("\\", "_")  # a subject is not a path
    name = sanitize_filename(f"{title}.eml" if title.strip() else "original-message.eml")
    sql.later(
        'INSERT INTO "attachment" ("message_id", "blob_id", "filename", "content_type", '
        '"size", "content_id", "inline") SELECT ?, b."sha256", ?, ?, b."size", ?, ? '
        'FROM "inbound_mail" i JOIN "blob" b ON b."sha256" = i."raw_id" WHERE i."id" = ?',
        message_id,
        name,
        "message/rfc822",
        "",
        False,
        record_id,
    )
