"""Process stored records: parse -> classify -> facts -> decide -> apply (DESIGN.md, step 2).

Each record is processed inside a savepoint of the batch's transaction: a mail that fails ends
in the state ``error`` with the reason, and the others of the batch are unaffected.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from peewee import Database

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.apply import apply_decision
from tuidesk.core.ingest.classify import classify
from tuidesk.core.ingest.decide import Decision
from tuidesk.core.ingest.facts import gather_facts
from tuidesk.core.ingest.parse import parse_mail
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Blob, InboundMail, Mailbox
from tuidesk.core.trace import Tracer


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
    record: InboundMail, mailbox: Mailbox, policy: MailboxPolicy, trace: Tracer
) -> Outcome:
    """Decide and apply one record in the caller's transaction; raises on store errors."""
    label = f"record {record.id} ({record.source_key})"
    if record.headers_only:
        detail = f"the mail is {record.size:,} bytes, over the limit of {mailbox.max_email_size:,}"
        if record.detail:
            detail += f"; {record.detail}"
        trace("warn", f"{label}: rejected, too large: {detail}")
        return _finish(record, Outcome(record.id, "rejected", "too_large", detail))
    raw = Blob.get_by_id(record.raw_id).data if record.raw_id else b""
    mail = parse_mail(bytes(raw))
    for defect in mail.defects:
        trace("debug", f"{label}: parse defect: {defect}")
    kind = classify(mail, policy)
    facts = gather_facts(mail, policy)
    decision = _decide(mail, policy, facts, kind)
    trace(
        "info",
        f"{label} from {mail.from_addr or '?'}: {decision.action} ({decision.reason}): "
        f"{decision.detail}",
    )
    applied = apply_decision(decision, mail, record, mailbox, policy)
    outcome = Outcome(
        record.id,
        applied.state,
        decision.reason,
        decision.detail,
        applied.ticket_id,
        applied.created,
        decision,
    )
    return _finish(record, outcome)


def _decide(mail, policy, facts, kind) -> Decision:
    from tuidesk.core.ingest.decide import decide

    return decide(mail, policy, facts, kind)


def _finish(record: InboundMail, outcome: Outcome) -> Outcome:
    InboundMail.update(
        state=outcome.state,
        reason=outcome.reason,
        detail=outcome.detail[:2000],
        ticket=outcome.ticket_id,
        attempts=InboundMail.attempts + 1,
        processed_at=utcnow(),
    ).where(InboundMail.id == record.id).execute()
    return outcome


def process_batch(
    db: Database,
    records: Sequence[InboundMail],
    mailbox: Mailbox,
    policy: MailboxPolicy,
    trace: Tracer,
) -> list[Outcome]:
    """Process ``records`` in one transaction, one savepoint each."""
    outcomes: list[Outcome] = []
    with db.atomic():
        for record in records:
            try:
                with db.atomic():
                    outcomes.append(process_record(record, mailbox, policy, trace))
            except Exception as exc:
                outcomes.append(_record_error(record, exc, trace))
        trace.flush()
    return outcomes


def _record_error(record: InboundMail, exc: Exception, trace: Tracer) -> Outcome:
    detail = redact(f"{type(exc).__name__}: {exc}")
    trace("error", f"record {record.id} ({record.source_key}) failed: {detail}")
    trace("debug", redact("".join(traceback.format_exception(exc))))
    return _finish(record, Outcome(record.id, "error", "processing_failed", detail))
