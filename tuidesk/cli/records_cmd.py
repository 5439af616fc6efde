"""``tuidesk ingest`` (pipe mode), ``retry``, ``reset`` and ``records``."""

from __future__ import annotations

import argparse
import sys

from tuidesk.cli.output import table
from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError, StoreError, TuideskError
from tuidesk.core.ingest.records import intake, reset, retry
from tuidesk.core.redact import redact
from tuidesk.core.store.models import InboundMail, Mailbox

EX_DATAERR, EX_TEMPFAIL = 65, 75


def run_records_command(context: AppContext, args: argparse.Namespace) -> int:
    if args.command == "ingest":
        return _ingest(context, args)
    db = context.connect()
    if args.command == "records":
        return _list(args)
    ids = list(args.ids)
    if args.command == "retry" and args.mailbox:
        mailbox = Mailbox.get_or_none(Mailbox.name == args.mailbox)
        if mailbox is None:
            raise ConfigError(f"there is no mailbox '{args.mailbox}'")
        ids += [
            r.id
            for r in InboundMail.select(InboundMail.id).where(
                (InboundMail.mailbox == mailbox) & (InboundMail.state == "error")
            )
        ]
    if not ids:
        raise ConfigError("no record to act on", hint="give record numbers (see `tuidesk records`)")
    if args.command == "reset":
        for record in reset(db, ids):
            print(f"record {record.id} is new again; the next poll processes it")
        return 0
    outcomes = retry(db, ids)
    for outcome in outcomes:
        print(f"record {outcome.record_id}: {outcome.state} ({outcome.reason}) {outcome.detail}")
    return 1 if any(o.state == "error" for o in outcomes) else 0


def _ingest(context: AppContext, args: argparse.Namespace) -> int:
    """Exit 0 only when the message is stored; 75 when it could not be, so the MTA retries."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        print("tuidesk: error: standard input held no message", file=sys.stderr)
        return EX_DATAERR
    try:
        db = context.connect()
        mailbox = Mailbox.get_or_none(Mailbox.name == args.mailbox)
        if mailbox is None:
            print(
                f"tuidesk: error: there is no mailbox '{args.mailbox}': the MTA will retry; "
                f"add it with `tuidesk mailbox add {args.mailbox} --protocol pipe --address …`",
                file=sys.stderr,
            )
            return EX_TEMPFAIL
        record = intake(db, mailbox, raw)
    except (StoreError, TuideskError) as exc:
        print(f"tuidesk: error: {redact(exc.sentence)}: the MTA will retry", file=sys.stderr)
        return EX_TEMPFAIL
    except Exception as exc:  # the store failed in a way we did not foresee: not stored
        print(
            f"tuidesk: error: the message was not stored ({redact(str(exc))}): the MTA will retry",
            file=sys.stderr,
        )
        return EX_TEMPFAIL
    if record.state == "new":
        try:
            retry_outcome = _process(db, record)
            print(f"stored as record {record.id}: {retry_outcome}")
        except Exception as exc:  # stored; processing is retried by the next poll
            print(
                f"stored as record {record.id}; processing failed: {redact(str(exc))}",
                file=sys.stderr,
            )
    else:
        print(f"already stored as record {record.id} ({record.state})")
    return 0


def _process(db, record: InboundMail) -> str:
    from tuidesk.core.ingest.ledger import StoredMail
    from tuidesk.core.ingest.pipeline import process_batch
    from tuidesk.core.ingest.policy import MailboxPolicy
    from tuidesk.core.trace import Tracer

    mailbox = Mailbox.get_by_id(record.mailbox_id)
    trace = Tracer(mailbox.id, mailbox.name, keep=mailbox.debug_trace)
    stored = [StoredMail.of(record)]
    outcome = process_batch(db, stored, mailbox, MailboxPolicy.from_mailbox(mailbox), trace)[0]
    return f"{outcome.state} ({outcome.reason})"


def _list(args: argparse.Namespace) -> int:
    query = InboundMail.select(InboundMail, Mailbox.name).join(Mailbox)
    if args.mailbox:
        query = query.where(Mailbox.name == args.mailbox)
    if args.state:
        query = query.where(InboundMail.state == args.state)
    rows = [
        [
            str(r.id),
            r.mailbox.name,
            r.state,
            r.reason,
            r.from_addr,
            r.subject,
            f"{r.fetched_at:%Y-%m-%d %H:%M}",
        ]
        for r in query.order_by(InboundMail.id.desc()).limit(args.limit)
    ]
    print(table(["record", "mailbox", "state", "reason", "from", "subject", "fetched"], rows))
    return 0
