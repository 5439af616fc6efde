"""Process stored records: parse -> classify -> facts -> decide -> apply (DESIGN.md, step 2).

Each record is processed inside a savepoint of the batch's transaction: a mail that fails ends
in the state ``error`` with the reason, and the others of the batch are unaffected.
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import peewee
from peewee import Database

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.apply import apply_decision
from tuidesk.core.ingest.classify import classify
from tuidesk.core.ingest.decide import Decision, decide
from tuidesk.core.ingest.facts import Directory, gather_facts
from tuidesk.core.ingest.ledger import StoredMail
from tuidesk.core.ingest.parse import ParsedMail, parse_mail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.notify.events import Routing
from tuidesk.core.notify.ingest_events import after_ingest
from tuidesk.core.redact import redact
from tuidesk.core.store import sql
from tuidesk.core.store.models import Mailbox
from tuidesk.core.trace import Tracer

# A locked, full or vanished database is no fault of the mail being processed.
STORE_FAILURES = (peewee.OperationalError, peewee.InterfaceError, sqlite3.OperationalError)


@dataclass(frozen=True)
class Outcome:
    record_id: int
    state: str
    reason: str
    detail: str
    ticket_id: int | None = None
    created: bool = False
    decision: Decision | None = None


def process_record(
    stored: StoredMail,
    mailbox: Mailbox,
    policy: MailboxPolicy,
    directory: Directory,
    trace: Tracer,
    parsed: ParsedMail | None = None,
    routing: Routing | None = None,
) -> Outcome:
    """Decide and apply one record in the caller's transaction; raises on store errors."""
    label = f"record {stored.id} ({stored.source_key})"
    if stored.headers_only:
        detail = f"the mail is {stored.size:,} bytes, over the limit of {mailbox.max_email_size:,}"
        if stored.detail:
            detail += f"; {stored.detail}"
        trace("warn", f"{label}: rejected, too large: {detail}")
        return finish(Outcome(stored.id, "rejected", "too_large", detail))
    mail = parsed if parsed is not None else parse_mail(stored.raw)
    for defect in mail.defects:
        trace("debug", f"{label}: parse defect: {defect}")
    if mail.too_complex:
        detail = f"the mail was not read: {mail.too_complex}"
        trace("warn", f"{label} from {mail.from_addr or '?'}: rejected, too complex: {detail}")
        return finish(Outcome(stored.id, "rejected", "too_complex", detail))
    kind = classify(mail, policy)
    facts = gather_facts(mail, policy, directory)
    decision = decide(mail, policy, facts, kind)
    trace(
        "info",
        f"{label} from {mail.from_addr or '?'}: {decision.action} ({decision.reason}): "
        f"{decision.detail}",
    )
    applied = apply_decision(decision, mail, stored.id, mailbox, policy, directory)
    for note in applied.notes:
        trace("info", f"{label}: {note}")
    after_ingest(
        state=applied.state,
        reason=decision.reason,
        detail=decision.detail,
        ticket_id=applied.ticket_id,
        autorespond=decision.autorespond,
        automatic=decision.automatic,
        mail=mail,
        mailbox=mailbox,
        record_id=stored.id,
        trace=trace,
        routing=routing,
    )
    outcome = Outcome(
        stored.id,
        applied.state,
        decision.reason,
        decision.detail,
        applied.ticket_id,
        applied.created,
        decision,
    )
    return finish(outcome)


def finish(outcome: Outcome) -> Outcome:
    sql.later(
        'UPDATE "inbound_mail" SET "state" = ?, "reason" = ?, "detail" = ?, "ticket_id" = ?, '
        '"attempts" = "attempts" + 1, "processed_at" = ? WHERE "id" = ?',
        outcome.state,
        outcome.reason,
        outcome.detail[:2000],
        outcome.ticket_id,
        utcnow(),
        outcome.record_id,
    )
    return outcome


CLAIM_CHUNK = 500


def claim_new(record_ids: Iterable[int]) -> set[int]:
    """Lock the records still ``new`` for this transaction and return their ids.

    The first statement of the batch's transaction: on PostgreSQL the rows stay locked until
    commit, and a second poller claiming the same rows waits, then finds them processed and
    skips them; on SQLite the write lock does the same. So a record is processed once even
    when a poller that lost its lease (stopped, slow) wakes up with a batch in hand.
    """
    ids = list(record_ids)
    mine: set[int] = set()
    for start in range(0, len(ids), CLAIM_CHUNK):
        chunk = ids[start : start + CLAIM_CHUNK]
        mine.update(
            found
            for (found,) in sql.rows(
                'UPDATE "inbound_mail" SET "state" = ? WHERE "state" = ? '
                f'AND "id" IN ({sql.placeholders(len(chunk))}) RETURNING "id"',
                "new",
                "new",
                *chunk,
            )
        )
    return mine


def process_batch(
    db: Database,
    stored: Sequence[StoredMail],
    mailbox: Mailbox,
    policy: MailboxPolicy,
    trace: Tracer,
    parsed: Sequence[ParsedMail] | None = None,
) -> list[Outcome]:
    """Process ``stored`` in one transaction, one savepoint each."""
    outcomes: list[Outcome] = []
    with db.atomic():
        mine = claim_new(item.id for item in stored)
        directory = Directory.load()
        routing = Routing.load()
        for index, item in enumerate(stored):
            if item.id not in mine:
                continue  # processed meanwhile by another poller that took over the mailbox
            mail = parsed[index] if parsed is not None else None
            try:
                with db.atomic():
                    outcomes.append(
                        process_record(item, mailbox, policy, directory, trace, mail, routing)
                    )
            except STORE_FAILURES:
                raise  # the store, not the mail, failed: the batch stays new for the next poll
            except Exception as exc:
                outcomes.append(_record_error(item, exc, mailbox, trace))
        trace.flush()
    return outcomes


def _record_error(stored: StoredMail, exc: Exception, mailbox: Mailbox, trace: Tracer) -> Outcome:
    detail = redact(f"{type(exc).__name__}: {exc}")
    trace("error", f"record {stored.id} ({stored.source_key}) failed: {detail}")
    trace("debug", redact("".join(traceback.format_exception(exc))))
    outcome = finish(Outcome(stored.id, "error", "processing_failed", detail))
    after_ingest(
        state="error",
        reason="processing_failed",
        detail=detail,
        ticket_id=None,
        autorespond=False,
        automatic=False,
        mail=None,
        mailbox=mailbox,
        record_id=stored.id,
        trace=trace,
    )
    return outcome
