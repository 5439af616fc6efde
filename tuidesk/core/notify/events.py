"""Automatic mail: queue a templated event now, render it when it is sent.

An event is queued in the transaction of what caused it (a ticket opened, a reply, a
transfer), after the loop and abuse guard allowed it. Rendering waits for the send, so a
template broken after the event was queued fails visibly in the outbox and the event stays
queued until the template is fixed: nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tuidesk.core.notify import templates
from tuidesk.core.notify.compose import compose, ticket_context
from tuidesk.core.notify.defaults import DEFAULTS
from tuidesk.core.notify.guard import why_not_automatic
from tuidesk.core.notify.outbox import sending_mailbox
from tuidesk.core.store.models import Blob, InboundMail, Mailbox, Outbox, Ticket
from tuidesk.core.tickets import NewMessage, add_message

Trace = Callable[[str, str], None]


def _quiet(level: str, text: str) -> None:
    return None


@dataclass(frozen=True)
class Event:
    template: str
    ticket_id: int | None
    to: str
    to_name: str = ""
    role: str = "outgoing"  # which department mailbox sends: outgoing, auto_response, alert
    extra: dict | None = None
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    forward_record_id: int | None = None
    mailbox_id: int | None = None  # who sends, when there is no ticket (error forwards)


def queue_event(event: Event, trace: Trace = _quiet, guard: bool = True) -> Outbox | None:
    """Queue ``event`` unless the template is switched off or the guard refuses the recipient."""
    if not templates.enabled(event.template):
        trace("info", f"no {event.template} mail: the template is switched off")
        return None
    if guard:
        why = why_not_automatic(event.to)
        if why:
            trace("info", f"no {event.template} mail to {event.to}: {why}")
            return None
    ticket = Ticket.get_or_none(Ticket.id == event.ticket_id) if event.ticket_id else None
    mailbox = (
        Mailbox.get_or_none(Mailbox.id == event.mailbox_id)
        if event.mailbox_id
        else sending_mailbox(ticket, event.role)
    )
    payload = {
        "template": event.template,
        "ticket": event.ticket_id,
        "to": event.to,
        "to_name": event.to_name,
        "extra": event.extra or {},
        "in_reply_to": event.in_reply_to,
        "references": list(event.references),
        "forward_record": event.forward_record_id,
    }
    trace("info", f"queued {event.template} mail to {event.to}")
    return Outbox.create(
        mailbox=mailbox,
        ticket=ticket,
        kind=event.template,
        automatic=True,
        mail_from=mailbox.address if mailbox else "",
        recipients=event.to.lower(),
        subject="",
        message_id="",
        raw=b"",
        payload=json.dumps(payload),
    )


def render_event(row: Outbox) -> None:
    """Render a queued event into its mail (caller holds the transaction). Raises
    TemplateProblem when the template cannot render; the row then stays queued."""
    data = json.loads(row.payload)
    name = data["template"]
    ticket = Ticket.get_or_none(Ticket.id == data["ticket"]) if data["ticket"] else None
    mailbox = Mailbox.get_or_none(Mailbox.id == row.mailbox_id) if row.mailbox_id else None
    recipient = {"name": data["to_name"], "email": data["to"]}
    base = ticket_context(ticket) if ticket is not None else {"url": "", "helpdesk": {}}
    base.update(data["extra"])
    base["recipient"] = recipient
    if mailbox is not None:
        base.setdefault("mailbox", {"name": mailbox.name, "address": mailbox.address})
    base.setdefault("helpdesk", {"name": "Helpdesk"})
    rendered = templates.render(name, base)
    forward = None
    if data.get("forward_record"):
        record = InboundMail.get_or_none(InboundMail.id == data["forward_record"])
        if record is not None and record.raw_id:
            forward = bytes(Blob.get_by_id(record.raw_id).data)
    outgoing = compose(
        mailbox=mailbox,
        ticket=ticket,
        rendered=rendered,
        to=[data["to"]],
        automatic=True,
        in_reply_to=data["in_reply_to"],
        references=data["references"],
        forward=forward,
    )
    thread_message = None
    if ticket is not None and DEFAULTS[name].audience == "customer":
        thread_message = add_message(
            NewMessage(
                ticket=ticket.id,
                direction="out",
                automatic=True,
                author_name=mailbox.display_name if mailbox else "",
                author_email=mailbox.address if mailbox else "",
                message_id=outgoing.message_id,
                in_reply_to=data["in_reply_to"],
                references=" ".join(data["references"]),
                to_addrs=data["to"],
                subject=outgoing.subject,
                new_part=rendered.text,
                full_text=rendered.text,
                html=rendered.html,
            )
        )
    Outbox.update(
        raw=outgoing.wire_bytes(),
        message_id=outgoing.message_id,
        subject=outgoing.subject,
        mail_from=outgoing.mail_from,
        thread_message=thread_message,
    ).where(Outbox.id == row.id).execute()


def staff_events(
    template: str, ticket_id: int, recipients: Sequence[str], extra: dict
) -> list[Event]:
    return [
        Event(template, ticket_id, address, role="alert", extra=extra)
        for address in dict.fromkeys(r.lower() for r in recipients if r)
    ]
