"""What agents do to tickets. The TUI and the CLI call these; each records who did it.

Replies and notifications are queued in the outbox in the same transaction as the change, and
sent by the poller (headless or the TUI's worker).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tuidesk.core import global_settings, sla
from tuidesk.core.clock import utcnow
from tuidesk.core.errors import TuideskError
from tuidesk.core.ingest.policy import split_list
from tuidesk.core.notify import templates
from tuidesk.core.notify.compose import compose, read_attachments, ticket_context
from tuidesk.core.notify.events import Event, queue_event, staff_events
from tuidesk.core.notify.guard import own_addresses
from tuidesk.core.notify.outbox import SendReport, queue_mail, send_outbox, sending_mailbox
from tuidesk.core.notify.templates import RenderedMail
from tuidesk.core.store.models import (
    PRIORITIES,
    TICKET_STATUSES,
    Agent,
    Contact,
    Department,
    Message,
    Participant,
    Ticket,
    database_proxy,
)
from tuidesk.core.tickets import NewMessage, add_message

__all__ = ["Actor", "RenderedMail", "SendReport", "send_outbox"]


@dataclass(frozen=True)
class Actor:
    """The operator acting, from the settings file (operator name and address)."""

    name: str
    email: str = ""

    @classmethod
    def from_settings(cls, settings) -> Actor:
        return cls(settings.operator_name or "operator", settings.operator_email)


def _ticket(ticket_id: int) -> Ticket:
    ticket = Ticket.get_or_none(Ticket.id == ticket_id)
    if ticket is None:
        raise TuideskError(f"there is no ticket with id {ticket_id}")
    return ticket


def agent_for(actor: Actor) -> Agent | None:
    """The Agent row of ``actor`` (created on first use when the actor has an address)."""
    if not actor.email:
        return None
    agent, _ = Agent.get_or_create(email=actor.email.lower(), defaults={"name": actor.name})
    return agent


def _event_entry(ticket: Ticket, actor: Actor, text: str) -> None:
    add_message(
        NewMessage(
            ticket=ticket.id,
            direction="event",
            automatic=True,
            author_name=actor.name,
            author_email=actor.email,
            new_part=text,
            full_text=text,
        )
    )


def _reply_context(ticket: Ticket, actor: Actor, body: str) -> dict:
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.strip().split("\n\n")
    )
    return ticket_context(
        ticket,
        body=body.rstrip(),
        body_html=paragraphs,
        agent={"name": actor.name, "email": actor.email},
    )


def preview_reply(ticket_id: int, actor: Actor, body: str) -> RenderedMail:
    """The reply as the customer would get it (subject tag added when sent)."""
    ticket = _ticket(ticket_id)
    return templates.render("reply", _reply_context(ticket, actor, body))


def reply(
    ticket_id: int,
    actor: Actor,
    body: str,
    attachments: Sequence[Path] = (),
    cc: Sequence[str] = (),
    from_address: str = "",
) -> int:
    """Queue an agent's reply to the contact and the participants; return the message id.

    The reply comes from the mailbox's address; with header spoofing allowed on the mailbox
    (001), from ``from_address`` or else the alias the customer wrote to."""
    if not body.strip():
        raise TuideskError("the reply is empty")
    ticket = _ticket(ticket_id)
    contact = Contact.get_or_none(Contact.id == ticket.contact_id) if ticket.contact_id else None
    if contact is None:
        raise TuideskError(f"ticket #{ticket.number:06d} has no contact to reply to")
    mailbox = sending_mailbox(ticket)
    if mailbox is None:
        raise TuideskError(
            "no mailbox can send for this ticket",
            hint="enable SMTP on its mailbox, or set default_outgoing_mailbox",
        )
    files = read_attachments([Path(p).expanduser() for p in attachments])
    own = own_addresses()
    copies = [p.email for p in Participant.select().where(Participant.ticket == ticket)]
    copies = [
        a for a in dict.fromkeys([*copies, *cc]) if a.lower() not in own and a != contact.email
    ]
    last = (
        Message.select()
        .where((Message.ticket == ticket) & (Message.message_id != ""))
        .order_by(Message.id.desc())
        .first()
    )
    references = ([*last.references.split(), last.message_id]) if last else []
    sender = _from_address(mailbox, ticket, from_address)
    rendered = templates.render("reply", _reply_context(ticket, actor, body))
    outgoing = compose(
        mailbox=mailbox,
        ticket=ticket,
        rendered=rendered,
        to=[contact.email],
        cc=copies,
        automatic=False,
        in_reply_to=last.message_id if last else "",
        references=references[-20:],
        attachments=files,
        from_address=sender,
    )
    agent = agent_for(actor)
    with database_proxy.obj.atomic():
        row = queue_mail(
            outgoing,
            mailbox=mailbox,
            ticket=ticket,
            kind="reply",
            automatic=False,
            thread_entry=NewMessage(
                ticket=ticket.id,
                direction="out",
                author_name=actor.name,
                author_email=actor.email,
                agent=agent,
                message_id=outgoing.message_id,
                in_reply_to=last.message_id if last else "",
                references=" ".join(references),
                to_addrs=contact.email,
                cc_addrs=", ".join(copies),
                subject=outgoing.subject,
                new_part=body.rstrip(),
                full_text=rendered.text,
                html=rendered.html,
            ),
        )
        now = utcnow()
        Ticket.update(updated_at=now, last_activity_at=now, unread=False).where(
            Ticket.id == ticket.id
        ).execute()
        sla.answered(ticket.id)
    return row.thread_message_id


def _from_address(mailbox, ticket: Ticket, wanted: str) -> str:
    """The From address of an agent's reply (the envelope sender stays the mailbox's)."""
    own = mailbox.address.lower()
    if wanted and wanted.lower() != own:
        if not mailbox.smtp_allow_spoofing:
            raise TuideskError(
                f"mailbox '{mailbox.name}' may only send as {mailbox.address}",
                hint=f"allow other senders with `tuidesk mailbox edit {mailbox.name} "
                "--set smtp_allow_spoofing=true`",
            )
        return wanted
    if not mailbox.smtp_allow_spoofing:
        return ""
    aliases = {a.lower() for a in split_list(mailbox.aliases)}
    latest = (
        Message.select(Message.to_addrs, Message.cc_addrs)
        .where((Message.ticket == ticket) & (Message.direction == "in"))
        .order_by(Message.id.desc())
        .first()
    )
    if latest is not None:
        for address in f"{latest.to_addrs},{latest.cc_addrs}".split(","):
            if address.strip().lower() in aliases:
                return address.strip()
    return ""


def add_note(ticket_id: int, actor: Actor, body: str) -> int:
    """An internal note: stored on the thread, never sent."""
    if not body.strip():
        raise TuideskError("the note is empty")
    ticket = _ticket(ticket_id)
    with database_proxy.obj.atomic():
        message_id = add_message(
            NewMessage(
                ticket=ticket.id,
                direction="note",
                author_name=actor.name,
                author_email=actor.email,
                agent=agent_for(actor),
                new_part=body.rstrip(),
                full_text=body.rstrip(),
            )
        )
        Ticket.update(updated_at=utcnow()).where(Ticket.id == ticket.id).execute()
    return message_id


def set_status(ticket_id: int, actor: Actor, status: str) -> None:
    if status not in TICKET_STATUSES:
        raise TuideskError(f"'{status}' is not a status", hint=f"use {', '.join(TICKET_STATUSES)}")
    ticket = _ticket(ticket_id)
    if ticket.status == status:
        return
    now = utcnow()
    with database_proxy.obj.atomic():
        Ticket.update(
            status=status, updated_at=now, closed_at=now if status == "closed" else None
        ).where(Ticket.id == ticket.id).execute()
        _event_entry(
            ticket, actor, f"{actor.name} changed the status from {ticket.status} to {status}"
        )
        if status == "closed":
            sla.answered(ticket.id)
        if status == "closed" and ticket.contact_id:
            contact = Contact.get_by_id(ticket.contact_id)
            queue_event(Event("ticket_closed", ticket.id, contact.email, contact.name))


def close(ticket_id: int, actor: Actor) -> None:
    set_status(ticket_id, actor, "closed")


def set_priority(ticket_id: int, actor: Actor, priority: str) -> None:
    if priority not in PRIORITIES:
        raise TuideskError(f"'{priority}' is not a priority", hint=f"use {', '.join(PRIORITIES)}")
    ticket = _ticket(ticket_id)
    with database_proxy.obj.atomic():
        Ticket.update(priority=priority, updated_at=utcnow()).where(
            Ticket.id == ticket.id
        ).execute()
        _event_entry(
            ticket, actor, f"{actor.name} changed the priority from {ticket.priority} to {priority}"
        )


def set_department(ticket_id: int, actor: Actor, department_id: int | None) -> None:
    ticket = _ticket(ticket_id)
    department = Department.get_or_none(Department.id == department_id) if department_id else None
    if department_id and department is None:
        raise TuideskError(f"there is no department with id {department_id}")
    with database_proxy.obj.atomic():
        Ticket.update(department=department_id, updated_at=utcnow()).where(
            Ticket.id == ticket.id
        ).execute()
        name = department.name if department else "no department"
        _event_entry(ticket, actor, f"{actor.name} transferred the ticket to {name}")
        for event in staff_events(
            "transfer_alert",
            ticket.id,
            global_settings.alert_recipients(),
            {"changed_by": actor.name},
        ):
            queue_event(event, guard=False)


def assign(ticket_id: int, actor: Actor, agent_id: int | None) -> None:
    ticket = _ticket(ticket_id)
    agent = Agent.get_or_none(Agent.id == agent_id) if agent_id else None
    if agent_id and agent is None:
        raise TuideskError(f"there is no agent with id {agent_id}")
    with database_proxy.obj.atomic():
        Ticket.update(assignee=agent_id, updated_at=utcnow()).where(
            Ticket.id == ticket.id
        ).execute()
        who = agent.name if agent else "nobody"
        _event_entry(ticket, actor, f"{actor.name} assigned the ticket to {who}")
        if agent is not None and agent.email.lower() != actor.email.lower():
            queue_event(
                Event(
                    "assignment_alert",
                    ticket.id,
                    agent.email,
                    agent.name,
                    role="alert",
                    extra={"changed_by": actor.name},
                ),
                guard=False,
            )


def assign_to_me(ticket_id: int, actor: Actor) -> None:
    agent = agent_for(actor)
    if agent is None:
        raise TuideskError(
            "tuidesk does not know your address",
            hint="set [operator] email in the settings file",
        )
    assign(ticket_id, actor, agent.id)


def mark_read(ticket_id: int) -> None:
    Ticket.update(unread=False).where(Ticket.id == ticket_id).execute()
