"""Which one thing happens to a mail: the decision, from plain facts, with its reason.

``decide`` is pure: the pipeline gathers the facts from the store, calls it, and applies the
decision in one transaction. Every branch says why, and the reason goes to the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.ingest.classify import Classification
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.ingest.policy import MailboxPolicy

CREATE, REPLY, HOLD, REJECT, ERROR = "create", "reply", "hold", "reject", "error"


@dataclass(frozen=True)
class TicketFacts:
    id: int
    number: int
    status: str
    contact_email: str
    participants: frozenset[str]
    client_domains: frozenset[str]


@dataclass(frozen=True)
class Facts:
    """What the store knows that matters for one mail."""

    header_ticket: TicketFacts | None = None  # by In-Reply-To / References
    subject_ticket: TicketFacts | None = None  # by the subject pattern
    subject_number: int | None = None  # a number was in the subject (even if unknown)
    contact_id: int | None = None
    contact_blocked: bool = False
    domain_client_id: int | None = None
    sender_blocked: bool = False
    own_message: bool = False  # carries one of our outbound Message-IDs in In-Reply-To


@dataclass(frozen=True)
class Decision:
    action: str  # create, reply, hold, reject, error
    reason: str  # a short code: new_ticket, threaded_by_header, unknown_sender, auto_reply…
    detail: str  # one sentence for the trace and the review queue
    ticket_id: int | None = None
    reopen: bool = False
    link_to: int | None = None  # create a new ticket linked to this closed one
    contact: str = "existing"  # existing, create_for_client, create_unknown, none
    automatic: bool = False  # record quietly: no auto-response, no unread mark
    autorespond: bool = False
    bounce: bool = False


def decide(mail: ParsedMail, policy: MailboxPolicy, facts: Facts, kind: Classification) -> Decision:
    sender = mail.from_addr
    domain = sender.rpartition("@")[2]
    if not sender:
        return Decision(HOLD, "no_sender", "the mail has no readable From address", contact="none")
    if facts.sender_blocked or facts.contact_blocked:
        return Decision(REJECT, "blocked_sender", f"{sender} is blocked", contact="none")
    if sender in policy.excluded_senders or any(
        domain == s.lstrip("@") for s in policy.excluded_senders if s.startswith("@")
    ):
        return Decision(
            REJECT, "excluded_sender", f"{sender} is an excluded sender", contact="none"
        )
    lowered = (mail.subject or "").lower()
    for keyword in policy.excluded_keywords:
        if keyword in lowered:
            return Decision(
                REJECT, "excluded_keyword", f"the subject contains '{keyword}'", contact="none"
            )

    ticket, via = _thread(facts)
    if kind.bounce:
        if ticket is not None and via == "header":
            return Decision(
                REPLY,
                "bounce",
                f"bounce of our mail on #{ticket.number:06d} ({kind.bounce})",
                ticket_id=ticket.id,
                automatic=True,
                bounce=True,
                contact="none",
            )
        return Decision(REJECT, "bounce", f"a bounce ({kind.bounce})", contact="none")
    if facts.own_message and kind.auto_reply:
        return Decision(REJECT, "loop", "an automatic answer to our own mail", contact="none")
    if kind.auto_reply:
        if ticket is not None and _may_write_to(ticket, sender, domain, via):
            return Decision(
                REPLY,
                "auto_reply",
                f"auto-reply recorded on #{ticket.number:06d} ({kind.auto_reply})",
                ticket_id=ticket.id,
                automatic=True,
                contact="none",
            )
        return Decision(REJECT, "auto_reply", f"an auto-reply ({kind.auto_reply})", contact="none")

    if policy.allowed_domains and domain not in policy.allowed_domains:
        detail = f"{domain} is not an allowed domain of this mailbox"
        if policy.disallowed_domain_action == "reject":
            return Decision(REJECT, "domain_not_allowed", detail, contact="none")
        return Decision(HOLD, "domain_not_allowed", detail, contact="none")

    if ticket is not None and policy.behaviour != "create_only":
        if not _may_write_to(ticket, sender, domain, via):
            return Decision(
                HOLD,
                "subject_stranger",
                f"{sender} used the number of #{ticket.number:06d} in the subject but is "
                "neither its contact, a participant nor of its client",
                ticket_id=ticket.id,
                contact="none",
            )
        return _reply(ticket, via, policy, facts, kind)

    if policy.behaviour == "update_only":
        return Decision(
            ERROR,
            "update_only_no_match",
            "this mailbox only updates tickets and the mail matches none",
            contact="none",
        )
    contact = _contact_plan(facts, policy)
    if contact is None:
        if policy.unknown_sender == "reject":
            return Decision(
                REJECT, "unknown_sender", f"{sender} is not a known contact", contact="none"
            )
        return Decision(
            HOLD,
            "unknown_sender",
            f"{sender} is neither a contact nor of a client's domain",
            contact="none",
        )
    return Decision(
        CREATE,
        "new_ticket",
        "a new ticket",
        contact=contact,
        autorespond=not kind.no_autoresponse,
    )


def _thread(facts: Facts) -> tuple[TicketFacts | None, str]:
    if facts.header_ticket is not None:
        return facts.header_ticket, "header"
    if facts.subject_ticket is not None:
        return facts.subject_ticket, "subject"
    return None, ""


def _may_write_to(ticket: TicketFacts, sender: str, domain: str, via: str) -> bool:
    if via == "header":
        return True  # only someone who received our Message-ID can reply to it
    return (
        sender == ticket.contact_email
        or sender in ticket.participants
        or domain in ticket.client_domains
    )


def _reply(
    ticket: TicketFacts, via: str, policy: MailboxPolicy, facts: Facts, kind: Classification
) -> Decision:
    how = "threaded_by_header" if via == "header" else "threaded_by_subject"
    label = f"#{ticket.number:06d}"
    contact = "existing" if facts.contact_id else "none"
    if ticket.status != "closed":
        return Decision(REPLY, how, f"a reply on {label}", ticket_id=ticket.id, contact=contact)
    if policy.closed_ticket_policy == "new_linked":
        plan = _contact_plan(facts, policy) or "create_unknown"
        return Decision(
            CREATE,
            "closed_ticket_new",
            f"{label} is closed: a new ticket linked to it",
            link_to=ticket.id,
            contact=plan,
            autorespond=not kind.no_autoresponse,
        )
    if policy.closed_ticket_policy == "hold":
        return Decision(
            HOLD,
            "closed_ticket",
            f"{label} is closed: held for review",
            ticket_id=ticket.id,
            contact="none",
            autorespond=not kind.no_autoresponse,
        )
    return Decision(
        REPLY,
        how,
        f"a reply on {label}, which is reopened",
        ticket_id=ticket.id,
        reopen=True,
        contact=contact,
    )


def _contact_plan(facts: Facts, policy: MailboxPolicy) -> str | None:
    if facts.contact_id:
        return "existing"
    if facts.domain_client_id:
        return "create_for_client"
    if policy.unknown_sender == "create":
        return "create_unknown"
    return None
