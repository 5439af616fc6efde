"""Gather from the store the Facts that ``decide`` needs for one mail (indexed lookups only).

Client domains and blocked senders are small tables read once per batch (``Directory``);
everything else is one indexed query each.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.ingest.decide import Facts, TicketFacts
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store import sql


@dataclass(frozen=True)
class Directory:
    """The small tables routing needs, read once per batch."""

    client_by_domain: dict[str, int]
    domains_of_client: dict[int, frozenset[str]]
    blocked: frozenset[str]  # addresses and "@domain" patterns

    @classmethod
    def load(cls) -> Directory:
        by_domain: dict[str, int] = {}
        of_client: dict[int, set[str]] = {}
        for domain, client_id in sql.rows('SELECT "domain", "client_id" FROM "client_domain"'):
            by_domain[domain.lower()] = client_id
            of_client.setdefault(client_id, set()).add(domain.lower())
        blocked = frozenset(p.lower() for (p,) in sql.rows('SELECT "pattern" FROM "sender_block"'))
        return cls(by_domain, {k: frozenset(v) for k, v in of_client.items()}, blocked)


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


def ticket_by_message_ids(ids: tuple[str, ...]) -> tuple[int | None, bool]:
    """The ticket of the newest referenced message we know, and whether one was ours."""
    if not ids:
        return None, False
    marks = sql.placeholders(len(ids))
    ours = sql.value(
        f'SELECT "ticket_id" FROM "outbox" WHERE "message_id" IN ({marks}) '
        'AND "ticket_id" IS NOT NULL ORDER BY "id" DESC LIMIT 1',
        *ids,
    )
    if ours is not None:
        return ours, True
    found = sql.row(
        f'SELECT "ticket_id", "direction" FROM "message" WHERE "message_id" IN ({marks}) '
        'ORDER BY "id" DESC LIMIT 1',
        *ids,
    )
    if found is None:
        return None, False
    return found[0], found[1] == "out"


def gather_facts(mail: ParsedMail, policy: MailboxPolicy, directory: Directory) -> Facts:
    references = tuple(dict.fromkeys(mail.in_reply_to + tuple(reversed(mail.references))))
    header_id, own = ticket_by_message_ids(references[:50])
    number = policy.ticket_number_in(mail.subject)
    subject_id = None
    if header_id is None and number is not None:
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
        header_ticket=ticket_facts(header_id, directory) if header_id else None,
        subject_ticket=ticket_facts(subject_id, directory) if subject_id else None,
        subject_number=number,
        contact_id=contact[0] if contact else None,
        contact_blocked=bool(contact and contact[1]),
        domain_client_id=directory.client_by_domain.get(domain),
        sender_blocked=blocked,
        own_message=own,
    )
