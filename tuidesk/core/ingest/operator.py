"""Decisions taken by an operator on a stored record, applied exactly as the pipeline would."""

from __future__ import annotations

from peewee import Database

from tuidesk.core.ingest.apply import apply_decision
from tuidesk.core.ingest.classify import classify
from tuidesk.core.ingest.decide import Decision
from tuidesk.core.ingest.disposition import reopen_for_disposition
from tuidesk.core.ingest.facts import Directory
from tuidesk.core.ingest.ledger import StoredMail
from tuidesk.core.ingest.parse import ParsedMail, parse_mail
from tuidesk.core.ingest.pipeline import Outcome, finish
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.notify.ingest_events import after_ingest
from tuidesk.core.store.models import InboundMail, Mailbox
from tuidesk.core.trace import Tracer


def parsed_record(record: InboundMail) -> ParsedMail:
    return parse_mail(StoredMail.of(record).raw)


def apply_operator_decision(
    db: Database, record: InboundMail, decision: Decision, actor_name: str
) -> Outcome:
    """Apply ``decision`` to ``record`` in one transaction; the record then owes its
    mailbox's disposition on the server (and loses its held/error flag there)."""
    mailbox = Mailbox.get_by_id(record.mailbox_id)
    policy = MailboxPolicy.from_mailbox(mailbox)
    trace = Tracer(mailbox.id, mailbox.name, keep=mailbox.debug_trace)
    with db.atomic():
        mail = parsed_record(record)
        applied = apply_decision(decision, mail, record.id, mailbox, policy, Directory.load())
        for note in applied.notes:
            trace("info", f"record {record.id}: {note}")
        kind = classify(mail, policy)
        after_ingest(
            state=applied.state,
            reason=decision.reason,
            detail=decision.detail,
            ticket_id=applied.ticket_id,
            autorespond=decision.action == "create" and not kind.no_autoresponse,
            automatic=decision.automatic,
            mail=mail,
            mailbox=mailbox,
            record_id=record.id,
            trace=trace,
        )
        trace(
            "info", f"record {record.id}: {actor_name} chose {decision.action} ({decision.detail})"
        )
        outcome = finish(
            Outcome(
                record.id,
                applied.state,
                decision.reason,
                decision.detail,
                applied.ticket_id,
                applied.created,
                decision,
            )
        )
        reopen_for_disposition([record.id])
        trace.flush()
    return outcome
