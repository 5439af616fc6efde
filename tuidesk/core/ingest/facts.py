"""Gather from the store the Facts that ``decide`` needs for one mail (indexed lookups only).

Client domains, blocked senders and our own addresses are small tables read once per batch
(``Directory``); everything else is one indexed query each, and most mail needs three: its
references, its sender, and (only when the references found nothing) its subject's number.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.ingest.decide import Facts, TicketFacts
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy, split_list
from tuidesk.core.store import sql

# Our outbound Message-IDs look like <tuidesk.NNNNNN.TOKEN@domain> (notify/compose.py): only
# a mail whose own Message-ID has that shape can be our own mail come back.
OUR_ID_PREFIX = "<tuidesk."
MAX_REFERENCES = 50


@dataclass(frozen=True)
class Directory:
    """The small tables routing needs, read once per batch."""

    client_by_domain: dict[str, int]
    domains_of_client: dict[int, frozenset[str]]
    blocked: frozenset[str]  # addresses and "@domain" patterns
    own_addresses: frozenset[str] = frozenset()  # every mailbox's address and aliases

    @classmethod
    def load(cls) -> Directory:
        by_domain: dict[str, int] = {}
        of_client: dict[int, set[str]] = {}
        for domain, client_id in sql.rows('SELECT "domain", "client_id" FROM "client_domain"'):
            by_domain[domain.lower()] = client_id
            of_client.setdefault(client_id, set()).add(domain.lower())
        blocked = frozenset(p.lower() for (p,) in sql.rows('SELECT "pattern" FROM "sender_block"'))
        own: set[str] = set()
        for address, aliases in sql.rows('SELECT "address", "aliases" FROM "mailbox"'):
            own.add((address or "").lower())
            own.update(a.lower() for a in split_list(aliases or ""))
        own.discard("")
        return cls(
            by_domain, {k: frozenset(v) for k, v in of_client.items()}, blocked, frozenset(own)
        )


def ticket_facts(ticket_id: int, directory: Directory) -> TicketFacts | None:
    found = sql.row(
        'SELECT t."id", t."number", t."status", t."client_id", c."email" FROM "ticket" t '
        'LEFT JOIN "contact" c ON c."id" = t."contact_id" WHERE t."id" = ?',
        ticket_id,
    )
    if found is None:
        return None
    tid, number, status, client_id, contact_email = found
    participants = frozenset(
        email
        for (email,) in sql.rows('SELECT "email" FROM "participant" WHERE "ticket_id" = ?', tid)
    )
    return TicketFacts(
        id=tid,
        number=number,
        status=status,
        contact_email=contact_email or "",
        participants=participants,
        client_domains=directory.domains_of_client.get(client_id, frozenset()),
    )


@dataclass(frozen=True)
class Thread:
    """What a set of Message-IDs points at."""

    ticket_id: int | None = None
    origin: str = ""  # "in": a mail we received; "out": one we sent; "out_auto": sent by itself
    recipients: tuple[str, ...] = ()  # who our mail went to (for "out")


def thread_of(ids: tuple[str, ...]) -> Thread:
    """The ticket of the newest message we know among ``ids``: our outbox first (its mail
    carries the ticket), then every stored message, inbound and outbound."""
    if not ids:
        return Thread()
    marks = sql.placeholders(len(ids))
    ours = sql.row(
        f'SELECT "ticket_id", "automatic", "recipients" FROM "outbox" WHERE "message_id" IN '
        f'({marks}) AND "ticket_id" IS NOT NULL ORDER BY "id" DESC LIMIT 1',
        *ids,
    )
    if ours is not None:
        recipients = tuple(r.strip().lower() for r in (ours[2] or "").splitlines() if r.strip())
        return Thread(ours[0], "out_auto" if ours[1] else "out", recipients)
    found = sql.row(
        f'SELECT "ticket_id", "direction", "automatic", "to_addrs", "cc_addrs" FROM "message" '
        f'WHERE "message_id" IN ({marks}) ORDER BY "id" DESC LIMIT 1',
        *ids,
    )
    if found is None:
        return Thread()
    ticket_id, direction, automatic, to_addrs, cc_addrs = found
    if direction != "out":
        return Thread(ticket_id, "in")
    recipients = tuple(split_list(f"{to_addrs or ''},{cc_addrs or ''}".lower()))
    return Thread(ticket_id, "out_auto" if automatic else "out", recipients)


def is_our_mail(message_id: str) -> bool:
    """Is ``message_id`` one we generated: our own mail come back (a loop)?"""
    if not message_id.startswith(OUR_ID_PREFIX):
        return False
    return (
        sql.value('SELECT 1 FROM "outbox" WHERE "message_id" = ? LIMIT 1', message_id) is not None
        or sql.value(
            'SELECT 1 FROM "message" WHERE "message_id" = ? AND "direction" = ? LIMIT 1',
            message_id,
            "out",
        )
        is not None
    )


def gather_facts(mail: ParsedMail, policy: MailboxPolicy, directory: Directory) -> Facts:
    references = tuple(dict.fromkeys(mail.in_reply_to + tuple(reversed(mail.references))))
    thread = thread_of(references[:MAX_REFERENCES])
    returned = Thread()
    if mail.report.returned_ids:
        returned = thread_of(mail.report.returned_ids)
        if returned.origin not in ("out", "out_auto"):
            returned = Thread()  # a bounce of mail we did not send is not ours to attach
    number = policy.ticket_number_in(mail.subject)
    subject_id = None
    if thread.ticket_id is None and number is not None:
        subject_id = sql.value('SELECT "id" FROM "ticket" WHERE "number" = ?', number)
    sender = mail.from_addr
    domain = sender.rpartition("@")[2]
    contact = (
        sql.row('SELECT "id", "blocked" FROM "contact" WHERE "email" = ?', sender)
        if sender
        else None
    )
    blocked = bool(sender) and (sender in directory.blocked or f"@{domain}" in directory.blocked)
    return Facts(
        header_ticket=ticket_facts(thread.ticket_id, directory) if thread.ticket_id else None,
        subject_ticket=ticket_facts(subject_id, directory) if subject_id else None,
        subject_number=number,
        contact_id=contact[0] if contact else None,
        contact_blocked=bool(contact and contact[1]),
        domain_client_id=directory.client_by_domain.get(domain),
        sender_blocked=blocked,
        own_message=thread.origin in ("out", "out_auto"),
        answers_automatic=thread.origin == "out_auto",
        our_mail=is_our_mail(mail.message_id),
        own_sender=sender in policy.own_addresses or sender in directory.own_addresses,
        returned_ticket=(
            ticket_facts(returned.ticket_id, directory) if returned.ticket_id else None
        ),
        returned_to=returned.recipients,
    )
