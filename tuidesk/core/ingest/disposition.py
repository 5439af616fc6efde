"""What happens to a mail on the server once the store has it (DESIGN.md, step 3).

``plan`` is pure: record state and mailbox settings in, actions out. ``apply_dispositions``
runs the actions in as few server commands as possible and marks the records done, only after
the processing transaction has committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from peewee import JOIN

from tuidesk.core.clock import utcnow
from tuidesk.core.mail.source import (
    ERROR_KEYWORD,
    HELD_KEYWORD,
    TOO_LARGE_KEYWORD,
    MailSource,
    RemoteMail,
    Trace,
)
from tuidesk.core.store.models import InboundMail, Mailbox, Ticket

SUCCESS_STATES = {"ticket_created", "reply_added"}
Action = tuple[str, str]  # (action, argument)


def plan(
    state: str,
    reason: str,
    detail: str,
    mailbox: Mailbox,
    ticket_closed: bool,
    retried: bool,
) -> list[Action] | None:
    """The actions for one record; None means 'not yet' (kept until its ticket closes)."""
    if state == "held_for_review":
        return [("flag", HELD_KEYWORD)]
    if state == "error":
        if mailbox.error_behaviour == "delete":
            return [("delete", "")]
        return [("flag", ERROR_KEYWORD)]
    if state == "rejected" and reason == "too_large" and "saved whole to" not in detail:
        return [("flag", TOO_LARGE_KEYWORD)]
    if state not in SUCCESS_STATES and state != "rejected":
        return []
    actions: list[Action] = []
    if retried:
        actions += [("unflag", HELD_KEYWORD), ("unflag", ERROR_KEYWORD)]
    after = mailbox.after_fetch
    if after == "keep_until_closed":
        if state in SUCCESS_STATES and not ticket_closed:
            return None
        after = "move" if mailbox.after_fetch_folder else "delete"
    if after == "move":
        actions.append(("move", mailbox.after_fetch_folder))
    elif after == "delete":
        actions.append(("delete", ""))
    elif after == "mark_seen":
        actions.append(("mark_seen", ""))
    return actions


def remote_of(record: InboundMail) -> RemoteMail:
    return RemoteMail(
        key=record.source_key,
        size=record.size,
        folder=record.folder,
        uidvalidity=record.uidvalidity,
        uid=record.uid,
        uidl=record.uidl,
    )


def pending_dispositions(mailbox: Mailbox) -> list[InboundMail]:
    """Records whose server-side action is still owed (a crash, a failed move, a closed ticket)."""
    query = (
        InboundMail.select(InboundMail)
        .join(Ticket, join_type=JOIN.LEFT_OUTER, on=(InboundMail.ticket == Ticket.id))
        .where(
            (InboundMail.mailbox == mailbox)
            & (InboundMail.disposition_done == False)  # noqa: E712
            & (InboundMail.on_server == True)  # noqa: E712
            & (InboundMail.state != "new")
        )
        .order_by(InboundMail.id)
    )
    if mailbox.after_fetch == "keep_until_closed":
        query = query.where(
            (InboundMail.state.not_in(list(SUCCESS_STATES))) | (Ticket.status == "closed")
        )
    return list(query)


def apply_dispositions(
    source: MailSource, mailbox: Mailbox, records: Sequence[InboundMail], trace: Trace
) -> int:
    """Run the planned actions; mark the records done. Returns how many were dispositioned."""
    groups: dict[Action, list[InboundMail]] = defaultdict(list)
    done: list[InboundMail] = []
    gone: list[int] = []
    ticket_ids = list({r.ticket_id for r in records if r.ticket_id})
    closed_ids = (
        {
            t.id
            for t in Ticket.select(Ticket.id).where(
                Ticket.id.in_(ticket_ids) & (Ticket.status == "closed")
            )
        }
        if ticket_ids
        else set()
    )
    for record in records:
        closed = record.ticket_id in closed_ids
        actions = plan(
            record.state, record.reason, record.detail, mailbox, closed, record.attempts > 1
        )
        if actions is None:
            continue
        for action in actions:
            groups[action].append(record)
        if any(a in {"move", "delete"} for a, _ in actions):
            gone.append(record.id)
        done.append(record)
    order = ("unflag", "flag", "mark_seen", "move", "delete")
    for action, argument in sorted(groups, key=lambda g: order.index(g[0])):
        members = groups[(action, argument)]
        source.apply(action, [remote_of(r) for r in members], argument)
        trace("debug", f"{action} {argument} for {len(members)} mail(s)".replace("  ", " "))
    ids = [r.id for r in done]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        InboundMail.update(disposition_done=True, disposition_error="").where(
            InboundMail.id.in_(chunk)
        ).execute()
    for start in range(0, len(gone), 500):
        InboundMail.update(on_server=False).where(
            InboundMail.id.in_(gone[start : start + 500])
        ).execute()
    return len(done)


def reopen_for_disposition(record_ids: Sequence[int]) -> None:
    """After an operator acts on a record, owe its server-side action again."""
    InboundMail.update(disposition_done=False, processed_at=utcnow()).where(
        InboundMail.id.in_(list(record_ids))
    ).execute()
