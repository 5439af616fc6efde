"""Automatic mail: queue a templated event now, render it when it is sent.

An event is queued in the transaction of what caused it (a ticket opened, a reply, a
transfer), after the loop and abuse guard allowed it. Rendering waits for the send, so a
template broken after the event was queued fails visibly in the outbox and the event stays
queued until the template is fixed: nothing is dropped silently. ``Routing`` holds what every
event of a batch needs to know, read once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tuidesk.core import global_settings
from tuidesk.core.clock import utcnow
from tuidesk.core.notify import templates
from tuidesk.core.notify.compose import compose, ticket_context
from tuidesk.core.notify.defaults import DEFAULTS
from tuidesk.core.notify.guard import own_addresses, why_not_automatic
from tuidesk.core.notify.outbox import sender_id
from tuidesk.core.store import sql
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


@dataclass
class Routing:
    """Settings every event needs, read once per batch instead of once per event."""

    switched_off: frozenset[str]
    alert_recipients: tuple[str, ...]
    own: set[str]
    auto_limit: int
    _senders: dict[tuple, int | None] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)  # templates already reported as unsendable

    @classmethod
    def load(cls) -> Routing:
        off = frozenset(
            n for (n,) in sql.rows('SELECT "name" FROM "template" WHERE "enabled" = ?', False)
        )
        return cls(
            off,
            tuple(global_settings.alert_recipients()),
            own_addresses(),
            global_settings.get_int("auto_mail_per_hour"),
        )

    def sender(self, mailbox_id: int | None, department_id: int | None, role: str) -> int | None:
        key = (mailbox_id, department_id, role)
        if key not in self._senders:
            self._senders[key] = sender_id(mailbox_id, department_id, role)
        return self._senders[key]


_INSERT = (
    'INSERT INTO "outbox" ("mailbox_id", "ticket_id", "thread_message_id", "kind", "automatic", '
    '"mail_from", "recipients", "subject", "message_id", "raw", "payload", "state", "attempts", '
    '"next_attempt_at", "last_error", "created_at", "sent_at") VALUES '
    "(?, ?, NULL, ?, ?, '', ?, '', '', ?, ?, 'queued', 0, ?, '', ?, NULL) RETURNING \"id\""
)


def queue_event(
    event: Event, trace: Trace = _quiet, guard: bool = True, routing: Routing | None = None
) -> int | None:
    """Queue ``event`` unless its template is off, the guard refuses the recipient, or no
    mailbox can send it; return the outbox id."""
    routing = routing or Routing.load()
    if event.template in routing.switched_off:
        trace("info", f"no {event.template} mail: the template is switched off")
        return None
    mailbox_id = event.mailbox_id
    if mailbox_id is None:
        found = (
            sql.row(
                'SELECT "mailbox_id", "department_id" FROM "ticket" WHERE "id" = ?',
                event.ticket_id,
            )
            if event.ticket_id
            else None
        )
        mailbox_id = routing.sender(
            found[0] if found else None, found[1] if found else None, event.role
        )
    if mailbox_id is None:
        if event.template not in routing.warned:
            routing.warned.add(event.template)
            trace(
                "warn",
                f"no {event.template} mail: no mailbox can send it (enable SMTP on a "
                "mailbox, or set default_outgoing_mailbox)",
            )
        return None
    if guard:
        why = why_not_automatic(event.to, routing.own, routing.auto_limit)
        if why:
            trace("info", f"no {event.template} mail to {event.to}: {why}")
            return None
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
    now = utcnow()
    trace("info", f"queued {event.template} mail to {event.to}")
    return sql.insert(
        _INSERT,
        mailbox_id,
        event.ticket_id,
        event.template,
        True,
        event.to.lower(),
        b"",
        json.dumps(payload),
        now,
        now,
    )


def render_event(row: Outbox) -> None:
    """Render a queued event into its mail (caller holds the transaction). Raises
    TemplateProblem when the template cannot render; the row then stays queued."""
    data = json.loads(row.payload)
    name = data["template"]
    ticket = Ticket.get_or_none(Ticket.id == data["ticket"]) if data["ticket"] else None
    mailbox = Mailbox.get_or_none(Mailbox.id == row.mailbox_id) if row.mailbox_id else None
    base = ticket_context(ticket) if ticket is not None else {"url": ""}
    base.update(data["extra"])
    base["recipient"] = {"name": data["to_name"], "email": data["to"]}
    if mailbox is not None:
        base.setdefault("mailbox", {"name": mailbox.name, "address": mailbox.address})
    base.setdefault("helpdesk", {"name": global_settings.get("helpdesk_name"), "address": ""})
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
