"""Which one thing happens to a mail: the decision, from plain facts, with its reason.

``decide`` is pure: the pipeline gathers the facts from the store, calls it, and applies the
decision in one transaction. Every branch says why, and the reason goes to the trace.

The order of the rules is the order a careful operator would check them in:

1. our own mail come back (a loop) is dropped;
2. a bounce of mail we sent goes quietly onto that ticket and marks the address bouncing;
   any other bounce is dropped;
3. blocked and excluded senders, excluded subject keywords are dropped;
4. an auto-reply is recorded quietly on the ticket it answers, except when it answers our own
   automatic mail (a machine answering a machine: the start of a loop); otherwise dropped;
5. mail without a sender, from one of our own mailboxes, or from a domain the mailbox does not
   allow is held (or rejected, per setting);
6. a reply: In-Reply-To/References first, then the subject pattern (only for the ticket's
   contact, participants and client: a stranger who types a number is held); a closed ticket
   is reopened, answered by a new linked ticket, or held (per mailbox);
7. otherwise a new ticket, for a known contact, a new contact of the client whose domain it
   is, or an unknown sender (held, created or rejected, per mailbox).
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
    own_message: bool = False  # its references include a mail we sent
    answers_automatic: bool = False  # ... and that mail was automatic (a notification)
    our_mail: bool = False  # its own Message-ID is one we generated: our mail came back
    own_sender: bool = False  # sent from one of our mailboxes' addresses or aliases
    returned_ticket: TicketFacts | None = None  # a bounce returned a mail we sent on this
    returned_to: tuple[str, ...] = ()  # the recipients of that returned mail


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
    bounced: tuple[str, ...] = ()  # addresses to mark as bouncing
    bounced_fallback: tuple[str, ...] = ()  # ... when none of those is a contact


def decide(mail: ParsedMail, policy: MailboxPolicy, facts: Facts, kind: Classification) -> Decision:
    dropped = _drop(mail, policy, facts, kind)
    if dropped is not None:
        return dropped
    sender = mail.from_addr
    domain = sender.rpartition("@")[2]
    if not sender:
        return Decision(HOLD, "no_sender", "the mail has no readable From address", contact="none")
    if facts.own_sender:
        return Decision(
            HOLD, "own_address", f"{sender} is one of our own mailboxes", contact="none"
        )
    if policy.allowed_domains and domain not in policy.allowed_domains:
        detail = f"{domain} is not an allowed domain of this mailbox"
        if policy.disallowed_domain_action == "reject":
            return Decision(REJECT, "domain_not_allowed", detail, contact="none")
        return Decision(HOLD, "domain_not_allowed", detail, contact="none")

    ticket, via = _thread(facts)
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


def _drop(
    mail: ParsedMail, policy: MailboxPolicy, facts: Facts, kind: Classification
) -> Decision | None:
    """Rules 1 to 4: loops, bounces, blocked senders, auto-replies."""
    sender = mail.from_addr
    domain = sender.rpartition("@")[2]
    if facts.our_mail:
        return Decision(REJECT, "loop", "our own outbound mail came back in", contact="none")
    if kind.bounce:
        return _bounce(mail, facts, kind)
    if facts.sender_blocked or facts.contact_blocked:
        return Decision(REJECT, "blocked_sender", f"{sender} is blocked", contact="none")
    excluded = policy.excluded_senders
    if sender and (sender in excluded or f"@{domain}" in excluded or domain in excluded):
        return Decision(
            REJECT, "excluded_sender", f"{sender} is an excluded sender", contact="none"
        )
    lowered = (mail.subject or "").lower()
    for keyword in policy.excluded_keywords:
        if keyword in lowered:
            return Decision(
                REJECT, "excluded_keyword", f"the subject contains '{keyword}'", contact="none"
            )
    if kind.auto_reply:
        ticket, via = _thread(facts)
        if facts.answers_automatic and via == "header":
            return Decision(
                REJECT,
                "loop",
                f"an automatic answer to our own automatic mail ({kind.auto_reply})",
                contact="none",
            )
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
    return None


def _bounce(mail: ParsedMail, facts: Facts, kind: Classification) -> Decision:
    ticket = facts.returned_ticket
    addresses = facts.returned_to
    if ticket is None and facts.own_message and facts.header_ticket is not None:
        ticket = facts.header_ticket  # a bounce that threads to our mail by its headers
    if ticket is None:
        return Decision(REJECT, "bounce", f"a bounce ({kind.bounce})", contact="none")
    # Who failed: the report's recipients; when they are not contacts (a forwarding address
    # failed further on), the recipients of our returned mail, else the ticket's contact.
    failed = mail.report.failed
    fallback = addresses or ((ticket.contact_email,) if ticket.contact_email else ())
    if mail.report.delayed_only:
        failed = fallback = ()
    what = "a delay notice" if mail.report.delayed_only else "a bounce"
    return Decision(
        REPLY,
        "bounce",
        f"{what} of our mail on #{ticket.number:06d} ({kind.bounce})",
        ticket_id=ticket.id,
        automatic=True,
        bounce=True,
        bounced=failed or fallback,
        bounced_fallback=fallback if failed else (),
        contact="none",
    )


def _thread(facts: Facts) -> tuple[TicketFacts | None, str]:
    if facts.header_ticket is not None:
        return facts.header_ticket, "header"
    if facts.subject_ticket is not None:
        return facts.subject_ticket, "subject"
    return None, ""


def _may_write_to(ticket: TicketFacts, sender: str, domain: str, via: str) -> bool:
    if via == "header":
        return True  # only someone who received the thread's Message-IDs can reply to it
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
