"""What an agent does to one ticket, from the queue or from its thread: the same pickers and the
same calls into ``tuidesk.core.actions``, run off the UI thread by ``TuideskApp.perform``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuidesk.core.store.models import PRIORITIES, TICKET_STATUSES
from tuidesk.ui import data
from tuidesk.ui.screens.pickers import ChoiceScreen

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

NOBODY = 0  # the "no department" / "nobody" choice (ids start at 1)


@dataclass(frozen=True)
class TicketRef:
    """The ticket acted on, as the screen knows it."""

    ticket_id: int
    number: str
    status: str
    priority: str
    department_id: int | None = None
    assignee_id: int | None = None


def act(
    app: TuideskApp, ticket: TicketRef, verb: str, call_name: str, *args: object, send: bool = False
) -> None:
    """Call ``tuidesk.core.actions.<call_name>(ticket_id, actor, *args)`` in a worker;
    ``verb`` says what happened ("closed"); ``send`` sends the outbox right after."""
    from tuidesk.core import actions

    call = getattr(actions, call_name)
    actor, ticket_id = app.actor, ticket.ticket_id
    app.perform(
        f"{verb} #{ticket.number}",
        lambda: call(ticket_id, actor, *args),
        notice=f"#{ticket.number}: {verb}",
        ticket_ids=(ticket_id,),
        send_now=send,
    )


def assign_to_me(app: TuideskApp, ticket: TicketRef) -> None:
    act(app, ticket, "assigned to you", "assign_to_me", send=True)


def close(app: TuideskApp, ticket: TicketRef) -> None:
    if ticket.status == "closed":
        app.notify(f"#{ticket.number} is already closed.", markup=False)
        return
    act(app, ticket, "closed", "close", send=True)


def _pick(
    app: TuideskApp,
    title: str,
    options: list[tuple[str, object]],
    current: object,
    then: Callable[[object], None],
) -> None:
    def chosen(value: object) -> None:
        if value is not None and value != current:
            then(value)

    app.push_screen(ChoiceScreen(title, options, current), chosen)


def change_status(app: TuideskApp, ticket: TicketRef) -> None:
    _pick(
        app,
        f"Status of #{ticket.number}",
        [(s, s) for s in TICKET_STATUSES],
        ticket.status,
        lambda status: act(app, ticket, f"status {status}", "set_status", status, send=True),
    )


def change_priority(app: TuideskApp, ticket: TicketRef) -> None:
    _pick(
        app,
        f"Priority of #{ticket.number}",
        [(p, p) for p in PRIORITIES],
        ticket.priority,
        lambda priority: act(app, ticket, f"priority {priority}", "set_priority", priority),
    )


def change_department(app: TuideskApp, ticket: TicketRef) -> None:
    options: list[tuple[str, object]] = [("No department", NOBODY)]
    options += [(name, i) for i, name in data.departments()]
    names = {value: label for label, value in options}

    def chosen(department_id: object) -> None:
        act(
            app,
            ticket,
            f"moved to {names[department_id]}",
            "set_department",
            department_id or None,
            send=True,
        )

    _pick(app, f"Department of #{ticket.number}", options, ticket.department_id or NOBODY, chosen)


def change_assignee(app: TuideskApp, ticket: TicketRef) -> None:
    options: list[tuple[str, object]] = [("Nobody", NOBODY)]
    options += [(name, i) for i, name, _email in data.agents()]
    names = {value: label for label, value in options}

    def chosen(agent_id: object) -> None:
        act(app, ticket, f"assigned to {names[agent_id]}", "assign", agent_id or None, send=True)

    _pick(app, f"Agent of #{ticket.number}", options, ticket.assignee_id or NOBODY, chosen)


class TicketActionsMixin:
    """The ticket actions a screen offers (queue and thread alike): the screen says which
    ticket is meant with ``_ticket()``; the actions are the shared ones above."""

    tuidesk: TuideskApp

    def _ticket(self) -> TicketRef | None:
        raise NotImplementedError

    def action_assign_to_me(self) -> None:
        if ticket := self._ticket():
            assign_to_me(self.tuidesk, ticket)

    def action_close_ticket(self) -> None:
        if ticket := self._ticket():
            close(self.tuidesk, ticket)

    def action_change_status(self) -> None:
        if ticket := self._ticket():
            change_status(self.tuidesk, ticket)

    def action_change_priority(self) -> None:
        if ticket := self._ticket():
            change_priority(self.tuidesk, ticket)

    def action_change_department(self) -> None:
        if ticket := self._ticket():
            change_department(self.tuidesk, ticket)

    def action_change_assignee(self) -> None:
        if ticket := self._ticket():
            change_assignee(self.tuidesk, ticket)
