"""The automatic mail an ingested mail causes (004's triggers, 000's closed-ticket answer,
003's error forward), queued in the same transaction as the record's outcome."""

from __future__ import annotations

from collections.abc import Callable

from tuidesk.core import global_settings
from tuidesk.core.ingest.parse import ParsedMail
from tuidesk.core.notify.events import Event, Routing, queue_event, staff_events
from tuidesk.core.store import sql
from tuidesk.core.store.models import Mailbox

Trace = Callable[[str, str], None]


def after_ingest(
    *,
    state: str,
    reason: str,
    detail: str,
    ticket_id: int | None,
    autorespond: bool,
    automatic: bool,
    mail: ParsedMail | None,
    mailbox: Mailbox,
    record_id: int,
    trace: Trace,
    routing: Routing | None = None,
) -> None:
    routing = routing or Routing.load()
    for event, guarded in _events(
        state,
        reason,
        detail,
        ticket_id,
        autorespond,
        automatic,
        mail,
        mailbox,
        record_id,
        routing,
    ):
        queue_event(event, trace, guard=guarded, routing=routing)


def _events(
    state,
    reason,
    detail,
    ticket_id,
    autorespond,
    automatic,
    mail,
    mailbox,
    record_id,
    routing: Routing,
):
    thread = ()
    if mail is not None and mail.message_id:
        thread = (*mail.references, mail.message_id)
    if state == "ticket_created" and ticket_id:
        if autorespond and mailbox.auto_response and mail is not None:
            yield (
                Event(
                    "new_ticket_autoresponse",
                    ticket_id,
                    mail.from_addr,
                    mail.from_name,
                    role="auto_response",
                    in_reply_to=mail.message_id,
                    references=thread,
                ),
                True,
            )
        for event in staff_events("new_ticket_alert", ticket_id, routing.alert_recipients, {}):
            yield event, False
    elif state == "reply_added" and ticket_id and not automatic:
        assignee = sql.value(
            'SELECT a."email" FROM "ticket" t JOIN "agent" a ON a."id" = t."assignee_id" '
            'WHERE t."id" = ?',
            ticket_id,
        )
        recipients = [assignee] if assignee else list(routing.alert_recipients)
        for event in staff_events("new_message_alert", ticket_id, recipients, {}):
            yield event, False
    elif state == "held_for_review" and reason == "closed_ticket" and autorespond and mail:
        yield (
            Event(
                "closed_ticket_autoresponse",
                ticket_id,
                mail.from_addr,
                mail.from_name,
                role="auto_response",
                in_reply_to=mail.message_id,
                references=thread,
            ),
            True,
        )
    elif state == "error" and mailbox.error_behaviour == "forward" and mailbox.error_forward_to:
        yield (
            Event(
                "error_forward",
                None,
                mailbox.error_forward_to,
                role="alert",
                extra={
                    "reason": detail,
                    "record_id": record_id,
                    "mailbox": {"name": mailbox.name, "address": mailbox.address},
                },
                forward_record_id=record_id,
                mailbox_id=_error_sender(mailbox),
            ),
            False,
        )


def _error_sender(mailbox: Mailbox) -> int | None:
    if mailbox.smtp_enabled:
        return mailbox.id
    name = global_settings.get("default_outgoing_mailbox")
    found = Mailbox.get_or_none(Mailbox.name == name) if name else None
    return found.id if found else None
