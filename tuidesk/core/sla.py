"""Response due times and the overdue alert (004's "Overdue Alert: SLA breached").

A customer's mail makes an answer due within the hours set for the ticket's priority (global
setting ``sla_hours``, e.g. ``urgent=4, high=8, normal=24, low=72``; empty: no SLA). An agent's
reply or closing the ticket clears it. Once per overdue ticket, the assignee (or the alert
recipients) get the overdue alert; the poller runs the sweep after every round.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tuidesk.core.clock import utcnow
from tuidesk.core.store import sql

DEFAULT_SLA = "urgent=4, high=8, normal=24, low=72"


def parse_sla(text: str) -> dict[str, float]:
    """'urgent=4, high=8' -> {'urgent': 4.0, 'high': 8.0}; ValueError names the bad part."""
    hours: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.replace("\n", ",").split(","))):
        name, sep, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1
        if not sep or number <= 0:
            raise ValueError(f"'{part}' is not like normal=24 (a priority and hours)")
        hours[name.strip()] = number
    return hours


def hours_by_priority() -> dict[str, float]:
    value = sql.value('SELECT "value" FROM "setting" WHERE "key" = ?', "sla_hours")
    try:
        return parse_sla(DEFAULT_SLA if value is None else value)
    except ValueError:
        return {}


def due_for(priority: str, now: datetime | None = None) -> datetime | None:
    hours = hours_by_priority().get(priority)
    return (now or utcnow()) + timedelta(hours=hours) if hours else None


def customer_waiting(ticket_id: int, now: datetime | None = None) -> None:
    """A customer wrote: an answer is due (unless one was due already)."""
    priority = sql.value('SELECT "priority" FROM "ticket" WHERE "id" = ?', ticket_id)
    due = due_for(priority or "normal", now)
    if due is not None:
        sql.later(
            'UPDATE "ticket" SET "due_at" = COALESCE("due_at", ?) WHERE "id" = ?', due, ticket_id
        )


def answered(ticket_id: int) -> None:
    """An agent answered (or closed the ticket): nothing is due, the alert may fire again."""
    sql.run(
        'UPDATE "ticket" SET "due_at" = NULL, "overdue_alerted" = ? WHERE "id" = ?',
        False,
        ticket_id,
    )


def overdue_sweep(
    trace: Callable[[str, str], None] | None = None, now: datetime | None = None
) -> int:
    """Queue the overdue alert once for every ticket whose answer is late; return how many."""
    from tuidesk.core.notify.events import Routing, queue_event, staff_events
    from tuidesk.core.store.db import ensure_connected
    from tuidesk.core.store.models import database_proxy

    ensure_connected(database_proxy.obj)  # the first work of a poll round after an idle spell
    now = now or utcnow()
    late = sql.rows(
        'SELECT t."id", a."email" FROM "ticket" t LEFT JOIN "agent" a ON a."id" = t."assignee_id" '
        'WHERE t."due_at" < ? AND t."overdue_alerted" = ? AND t."status" != ? ORDER BY t."id"',
        now,
        False,
        "closed",
    )
    if not late:
        return 0
    routing = Routing.load()
    with database_proxy.obj.atomic():
        for ticket_id, assignee in late:
            recipients = [assignee] if assignee else list(routing.alert_recipients)
            for event in staff_events("overdue_alert", ticket_id, recipients, {}):
                queue_event(
                    event, trace or (lambda level, text: None), guard=False, routing=routing
                )
            sql.run('UPDATE "ticket" SET "overdue_alerted" = ? WHERE "id" = ?', True, ticket_id)
    return len(late)
