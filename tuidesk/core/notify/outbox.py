"""The outbox: every outgoing mail is queued in the transaction of the event that caused it,
then sent by the poller (headless and in the TUI's worker).

A row is marked "sending" (committed) before the SMTP exchange and "sent" after it, so a crash
in between can at worst send the same Message-ID twice, never lose a mail. Temporary failures
retry with backoff, in order per mailbox; after the last try a row is "failed" and shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from peewee import Database, PeeweeException

from tuidesk.core import global_settings
from tuidesk.core.clock import utcnow
from tuidesk.core.errors import TuideskError
from tuidesk.core.notify.compose import Outgoing
from tuidesk.core.redact import redact
from tuidesk.core.store import sql
from tuidesk.core.store.db import ensure_connected
from tuidesk.core.store.models import Mailbox, Outbox, Ticket
from tuidesk.core.tickets import NewMessage, add_attachment, add_message

STALE_SENDING = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(attempts - 1, 0)))


def sender_id(
    mailbox_id: int | None, department_id: int | None, role: str = "outgoing"
) -> int | None:
    """Which mailbox sends: the ticket's own for an agent's mail (when it can send), else the
    department's mailbox for ``role`` (outgoing, auto_response, alert), else the ticket's own,
    else the system default outgoing mailbox."""
    can_send = None
    if mailbox_id:
        can_send = sql.value(
            'SELECT "smtp_enabled" OR "send_via" = ? FROM "mailbox" WHERE "id" = ?',
            "graph",
            mailbox_id,
        )
        if can_send and role == "outgoing":
            return mailbox_id
    if department_id:
        for wanted in (role, "outgoing"):
            found = sql.value(
                'SELECT "mailbox_id" FROM "department_mail" WHERE "department_id" = ? '
                'AND "role" = ?',
                department_id,
                wanted,
            )
            if found:
                return found
    if can_send:
        return mailbox_id
    name = global_settings.get("default_outgoing_mailbox")
    return sql.value('SELECT "id" FROM "mailbox" WHERE "name" = ?', name) if name else None


def sending_mailbox(ticket: Ticket | None, role: str = "outgoing") -> Mailbox | None:
    found = sender_id(
        ticket.mailbox_id if ticket else None, ticket.department_id if ticket else None, role
    )
    return Mailbox.get_or_none(Mailbox.id == found) if found else None


def queue_mail(
    outgoing: Outgoing,
    *,
    mailbox: Mailbox | None,
    ticket: Ticket | None,
    kind: str,
    automatic: bool,
    thread_entry: NewMessage | None = None,
) -> Outbox:
    """Queue ``outgoing`` (caller holds the transaction); record it on the ticket's thread
    when it goes to the customer."""
    message_id = None
    if thread_entry is not None:
        message_id = add_message(thread_entry)
        for filename, content_type, data in outgoing.attachments:
            add_attachment(message_id, data, filename, content_type)
    return Outbox.create(
        mailbox=mailbox,
        ticket=ticket,
        thread_message=message_id,
        kind=kind,
        automatic=automatic,
        mail_from=outgoing.mail_from,
        recipients="\n".join(r.lower() for r in outgoing.recipients),
        subject=outgoing.subject,
        message_id=outgoing.message_id,
        raw=outgoing.wire_bytes(),
    )


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"outbox: {self.sent} sent, {self.deferred} deferred, {self.failed} failed"
        return text + (f" ({self.errors[0]})" if self.errors else "")


def due(now: datetime, limit: int) -> list[Outbox]:
    stale = now - STALE_SENDING
    return list(
        Outbox.select()
        .where(
            ((Outbox.state == "queued") & (Outbox.next_attempt_at <= now))
            | ((Outbox.state == "sending") & (Outbox.next_attempt_at <= stale))
        )
        .order_by(Outbox.id)
        .limit(limit)
    )


def claim(db: Database, row: Outbox, now: datetime) -> bool:
    """Mark ``row`` "sending" if it is still due: one atomic UPDATE, so of several processes
    that picked the same row from `due()`, exactly one gets it (rowcount 1) and sends it."""
    with db.atomic():
        return (
            sql.run(
                'UPDATE "outbox" SET "state" = ?, "next_attempt_at" = ? WHERE "id" = ? AND '
                '(("state" = ? AND "next_attempt_at" <= ?) OR '
                '("state" = ? AND "next_attempt_at" <= ?))',
                "sending",
                now,
                row.id,
                "queued",
                now,
                "sending",
                now - STALE_SENDING,
            )
            == 1
        )


def send_outbox(
    db: Database,
    *,
    now: datetime | None = None,
    limit: int = 500,
    trace: Callable[[str, str], None] | None = None,
) -> SendReport:
    """Send what is due, oldest first, one SMTP session per mailbox; a failing database is
    an error of this run (in the report), not an exception."""
    now = now or utcnow()
    report = SendReport()
    try:
        ensure_connected(db)
        _send_due(db, now, limit, trace, report)
    except PeeweeException as exc:
        # the database went away mid-run: what was marked "sent" was sent; a row left
        # "sending" is sent again once it is stale (at worst twice, never lost)
        report.errors.append(redact(f"the outbox could not be read or updated ({exc})"))
    return report


def _send_due(
    db: Database,
    now: datetime,
    limit: int,
    trace: Callable[[str, str], None] | None,
    report: SendReport,
) -> None:
    from tuidesk.core.mail.smtp import SendError, SmtpSender
    from tuidesk.core.notify.events import render_event

    rows = due(now, limit)
    by_mailbox: dict[int | None, list[Outbox]] = {}
    for row in rows:
        by_mailbox.setdefault(row.mailbox_id, []).append(row)
    max_attempts = global_settings.get_int("outbox_max_attempts")
    for mailbox_id, group in by_mailbox.items():
        mailbox = Mailbox.get_or_none(Mailbox.id == mailbox_id) if mailbox_id else None
        if mailbox is None:
            _defer_all(
                group,
                "no outgoing mailbox: set default_outgoing_mailbox "
                "(`tuidesk setting set default_outgoing_mailbox NAME`)",
                now,
                max_attempts,
                report,
            )
            continue
        try:
            if mailbox.send_via == "graph":
                from tuidesk.core.mail.graph import GraphSender

                sender = GraphSender(mailbox)
            else:
                sender = SmtpSender(mailbox)
            sender.connect()
        except TuideskError as exc:
            _defer_all(group, redact(exc.sentence), now, max_attempts, report)
            continue
        try:
            for index, row in enumerate(group):
                if not claim(db, row, now):
                    continue  # another process (poller, TUI, other host) is sending it
                if not row.raw:
                    try:
                        with db.atomic():
                            render_event(row)
                    except TuideskError as exc:  # a broken template: stays queued, visible
                        _record_failure(row, redact(exc.sentence), True, now, max_attempts, report)
                        continue
                    row = Outbox.get_by_id(row.id)
                try:
                    sender.send(
                        bytes(row.raw), row.mail_from or mailbox.address, row.recipients.split("\n")
                    )
                except SendError as exc:
                    _record_failure(
                        row, redact(exc.sentence), exc.temporary, now, max_attempts, report
                    )
                    if exc.temporary:  # keep the order: the rest waits for this one
                        _defer_all(
                            group[index + 1 :],
                            "waiting for an earlier mail",
                            now,
                            max_attempts,
                            report,
                            count_attempt=False,
                        )
                        break
                    continue
                except TuideskError as exc:
                    _record_failure(row, redact(exc.sentence), True, now, max_attempts, report)
                    _defer_all(
                        group[index + 1 :],
                        "waiting for an earlier mail",
                        now,
                        max_attempts,
                        report,
                        count_attempt=False,
                    )
                    break
                with db.atomic():
                    Outbox.update(
                        state="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1, last_error=""
                    ).where(Outbox.id == row.id).execute()
                report.sent += 1
                if trace:
                    trace("info", f"sent {row.kind} {row.message_id} to {row.recipients}")
        finally:
            sender.close()


def _record_failure(
    row: Outbox,
    error: str,
    temporary: bool,
    now: datetime,
    max_attempts: int,
    report: SendReport,
    held_as: str = "sending",
) -> None:
    """Requeue or fail ``row``, only while it is still in the state this process left it in
    (``held_as``): a row another process has since sent is never put back."""
    attempts = row.attempts + 1
    final = not temporary or attempts >= max_attempts
    Outbox.update(
        state="failed" if final else "queued",
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + backoff(attempts),
    ).where((Outbox.id == row.id) & (Outbox.state == held_as)).execute()
    if error not in report.errors:
        report.errors.append(error)
    if final:
        report.failed += 1
    else:
        report.deferred += 1


def _defer_all(
    rows: list[Outbox],
    error: str,
    now: datetime,
    max_attempts: int,
    report: SendReport,
    count_attempt: bool = True,
) -> None:
    for row in rows:
        if count_attempt:
            _record_failure(row, error, True, now, max_attempts, report, held_as="queued")
        else:
            Outbox.update(state="queued", next_attempt_at=now + backoff(row.attempts + 1)).where(
                (Outbox.id == row.id) & (Outbox.state == "queued")
            ).execute()
            report.deferred += 1


def retry(outbox_ids: list[int]) -> int:
    return (
        Outbox.update(state="queued", next_attempt_at=utcnow(), last_error="")
        .where(Outbox.id.in_(outbox_ids) & Outbox.state.in_(["failed", "queued"]))
        .execute()
    )


def discard(outbox_ids: list[int]) -> int:
    return (
        Outbox.update(state="discarded")
        .where(Outbox.id.in_(outbox_ids) & (Outbox.state != "sent"))
        .execute()
    )
