"""One poll of one mailbox, and the schedule that decides which mailboxes are due.

A poll: take the lease; connect; owe nothing from last time (records stored but not processed,
dispositions not applied); then, batch by batch, fetch -> commit raw -> process -> disposition.
A failure is one sentence on the mailbox and its poll-run record; it never stops other
mailboxes. Used by ``--poll-once``, ``--poll`` and the TUI's worker alike.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from peewee import Database, PeeweeException

from tuidesk.core import lease
from tuidesk.core.clock import utcnow
from tuidesk.core.errors import StoreError, TuideskError
from tuidesk.core.ingest import ledger
from tuidesk.core.ingest.disposition import apply_dispositions, pending_dispositions
from tuidesk.core.ingest.ledger import StoredMail
from tuidesk.core.ingest.policy import MailboxPolicy, in_windows
from tuidesk.core.mail.factory import build_source
from tuidesk.core.redact import redact
from tuidesk.core.store.db import ensure_connected
from tuidesk.core.store.models import InboundMail, Mailbox, PollRun
from tuidesk.core.store.postgres import is_connection_error
from tuidesk.core.trace import Tracer

if TYPE_CHECKING:  # the pipeline and parser are imported when there is mail to process: an
    # idle --poll-once from cron never needs them (nor mail-parser, nor the rules' patterns)
    from tuidesk.core.ingest.pipeline import Outcome

FETCHING_ENABLED = "fetching_enabled"


@dataclass
class PollResult:
    mailbox: str
    ok: bool = True
    skipped: str = ""
    error: str = ""
    fetched: int = 0
    created: int = 0
    replied: int = 0
    held: int = 0
    rejected: int = 0
    errors: int = 0
    duration_ms: int = 0
    new_ticket_ids: list[int] = field(default_factory=list)
    replied_ticket_ids: list[int] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        if outcome.state == "ticket_created":
            self.created += 1
            if outcome.ticket_id:
                self.new_ticket_ids.append(outcome.ticket_id)
        elif outcome.state == "reply_added":
            self.replied += 1
            if outcome.ticket_id and outcome.ticket_id not in self.replied_ticket_ids:
                self.replied_ticket_ids.append(outcome.ticket_id)
        elif outcome.state == "held_for_review":
            self.held += 1
        elif outcome.state == "rejected":
            self.rejected += 1
        elif outcome.state == "error":
            self.errors += 1

    def line(self) -> str:
        if self.skipped:
            return f"{self.mailbox}: skipped ({self.skipped})"
        if not self.ok:
            return f"{self.mailbox}: FAILED: {self.error}"
        return (
            f"{self.mailbox}: {self.fetched} fetched, {self.created} new tickets, "
            f"{self.replied} replies, {self.held} held, {self.rejected} rejected, "
            f"{self.errors} errors in {self.duration_ms / 1000:.2f} s"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def fetching_enabled() -> bool:
    from tuidesk.core import global_settings

    return global_settings.get_bool(FETCHING_ENABLED)


def why_not_due(mailbox: Mailbox, now: datetime, local_now: datetime | None = None) -> str:
    """Empty when ``mailbox`` should be polled now; otherwise the reason it is not."""
    if mailbox.status != "active":
        return f"status {mailbox.status}"
    if mailbox.protocol == "pipe":
        return "receives mail by pipe"
    if mailbox.cool_off_until and mailbox.cool_off_until > now:
        return f"cooling off until {mailbox.cool_off_until:%H:%M:%S} UTC"
    if mailbox.next_poll_at and mailbox.next_poll_at > now:
        return "not due yet"
    try:
        windows = MailboxPolicy.from_mailbox(mailbox).skip_windows
    except TuideskError:
        return ""  # a bad setting is reported by the poll itself
    local = (local_now or datetime.now()).time()
    if in_windows(local, windows):
        return "inside a skip-time window"
    return ""


def due_mailboxes(now: datetime | None = None) -> list[Mailbox]:
    now = now or utcnow()
    return [m for m in Mailbox.select().order_by(Mailbox.name) if not why_not_due(m, now)]


class Poller:
    """Polls mailboxes for one process; owns its lease identity and the stop flag."""

    def __init__(
        self,
        db: Database,
        *,
        echo: bool = False,
        listeners: Iterable[Callable[[str, str, str], None]] = (),
        stop: threading.Event | None = None,
    ) -> None:
        self.db = db
        self.owner = lease.new_owner()
        self.echo = echo
        self.listeners = list(listeners)
        self.stop = stop or threading.Event()

    def poll(self, mailbox: Mailbox) -> PollResult:
        started = time.monotonic()
        result = PollResult(mailbox=mailbox.name)
        lease_seconds = lease.seconds_for(mailbox)
        try:
            ensure_connected(self.db)
            if not lease.acquire(mailbox.id, self.owner, lease_seconds):
                result.skipped = f"another poller holds it ({lease.holder(mailbox.id)})"
                return result
            run = PollRun.create(mailbox=mailbox, host=self.owner)
        except PeeweeException as exc:
            result.ok, result.error = False, describe_store_failure(exc)
            result.duration_ms = int((time.monotonic() - started) * 1000)
            return result
        trace = Tracer(
            mailbox.id,
            mailbox.name,
            keep=mailbox.debug_trace,
            echo=self.echo,
            listeners=self.listeners,
        )
        try:
            self._poll_locked(mailbox, result, trace, lease_seconds)
        except TuideskError as exc:
            result.ok, result.error = False, redact(exc.sentence)
        except PeeweeException as exc:
            result.ok, result.error = False, describe_store_failure(exc)
        except Exception as exc:  # never let one mailbox stop the others
            result.ok = False
            result.error = redact(f"unexpected {type(exc).__name__} while polling: {exc}")
        finally:
            result.duration_ms = int((time.monotonic() - started) * 1000)
            if not result.ok:
                trace("error", result.error)
            self._finish(mailbox, run, result, trace)
        return result

    def _poll_locked(
        self, mailbox: Mailbox, result: PollResult, trace: Tracer, lease_seconds: int
    ) -> None:
        policy = MailboxPolicy.from_mailbox(mailbox)
        folder = mailbox.folder or "INBOX"
        mark = ledger.watermark(mailbox, folder) if mailbox.protocol == "imap" else None
        source = build_source(mailbox, trace, watermark=mark)
        source.connect()
        try:
            self._owed(source, mailbox, policy, trace, result)
            if getattr(source, "uidvalidity_changed", False):
                _resync(source, mailbox, trace)
            remotes = source.pending(lambda keys: ledger.known_keys(mailbox.id, keys))
            trace("info", f"{len(remotes)} new message(s) on the server")
            self._ingest(source, mailbox, policy, trace, result, remotes, lease_seconds)
        finally:
            source.close()

    def _ingest(self, source, mailbox, policy, trace, result, remotes, lease_seconds) -> None:
        """Fetch and store batch k while batch k-1 is parsed (on the other core) and applied."""
        if not remotes:
            return
        from tuidesk.core.ingest.parse_pool import Parser

        size = max(1, mailbox.emails_per_fetch)
        parser = Parser(expected=len(remotes))
        previous = None
        try:
            for start in range(0, len(remotes), size):
                if self.stop.is_set():
                    trace("info", "stopping: the rest is fetched by the next poll")
                    break
                stored = self._fetch_and_store(source, mailbox, remotes[start : start + size])
                result.fetched += len(stored)
                future = parser.submit([s.raw for s in stored])
                if previous is not None:
                    self._process(source, mailbox, policy, trace, result, parser, *previous)
                previous = (stored, future)
                if not lease.renew(mailbox.id, self.owner, lease_seconds):
                    trace(
                        "warn",
                        "the lease was taken over by another poller (this one was stalled "
                        "longer than the lease): stopping after this batch",
                    )
                    break
            if previous is not None:
                self._process(source, mailbox, policy, trace, result, parser, *previous)
        finally:
            parser.close()

    def _fetch_and_store(self, source, mailbox, batch) -> list[StoredMail]:
        """Step 1 of the contract: the raw mail and the watermark, committed together."""
        fetched = source.fetch(batch, mailbox.max_email_size, keep_big=bool(mailbox.big_files_dir))
        with self.db.atomic():
            stored = ledger.store_fetched(mailbox, fetched, mailbox.big_files_dir)
            uids = [f.remote.uid for f in fetched if f.remote.uid is not None]
            if uids and mailbox.protocol == "imap":
                ledger.advance_watermark(mailbox, source.folder, source.uidvalidity, max(uids))
        return stored

    def _process(self, source, mailbox, policy, trace, result, parser, stored, future) -> None:
        """Steps 2 and 3: decide and apply in one transaction, then act on the server."""
        from tuidesk.core.ingest.pipeline import process_batch

        parsed = parser.result(future, [s.raw for s in stored])
        outcomes = process_batch(self.db, stored, mailbox, policy, trace, parsed)
        for outcome in outcomes:
            result.count(outcome)
        records = list(
            InboundMail.select().where(InboundMail.id.in_([o.record_id for o in outcomes]))
        )
        with self.db.atomic():
            apply_dispositions(source, mailbox, records, trace)

    def _owed(self, source, mailbox, policy, trace, result) -> None:
        """Finish what an earlier poll left: unprocessed records, dispositions not applied."""
        leftovers = list(
            InboundMail.select()
            .where((InboundMail.mailbox == mailbox) & (InboundMail.state == "new"))
            .order_by(InboundMail.id)
        )
        if leftovers:
            from tuidesk.core.ingest.pipeline import process_batch

            trace("info", f"processing {len(leftovers)} stored record(s) left by an earlier poll")
            stored = [StoredMail.of(record) for record in leftovers]
            for outcome in process_batch(self.db, stored, mailbox, policy, trace):
                result.count(outcome)
        owed = pending_dispositions(mailbox)
        if owed:
            trace("info", f"applying {len(owed)} owed server action(s)")
            with self.db.atomic():
                apply_dispositions(source, mailbox, owed, trace)

    def _finish(self, mailbox: Mailbox, run: PollRun, result: PollResult, trace: Tracer) -> None:
        """Record the poll on the mailbox and its poll-run record, then release the lease.

        After a lost database connection the first statement here reconnects; if the database
        is still away, the result alone says why (the lease then expires by itself).
        """
        try:
            self._record(mailbox, run, result, trace)
        except PeeweeException:
            pass  # the store itself is failing; the result still says why
        finally:
            with contextlib.suppress(PeeweeException):
                lease.release(mailbox.id, self.owner)

    def _record(self, mailbox: Mailbox, run: PollRun, result: PollResult, trace: Tracer) -> None:
        now = utcnow()
        fresh = Mailbox.get_by_id(mailbox.id)
        changes: dict = {
            Mailbox.last_fetch_at: now,
            Mailbox.next_poll_at: now + timedelta(minutes=max(fresh.fetch_frequency_minutes, 0)),
        }
        if result.ok:
            changes.update(
                {
                    Mailbox.last_success_at: now,
                    Mailbox.last_error: "",
                    Mailbox.consecutive_failures: 0,
                    Mailbox.failing: False,
                    Mailbox.cool_off_until: None,
                }
            )
        else:
            failures = fresh.consecutive_failures + 1
            cool_off = now + timedelta(minutes=max(fresh.cool_off_minutes, 0))
            changes.update(
                {
                    Mailbox.last_error: result.error,
                    Mailbox.consecutive_failures: failures,
                    Mailbox.failing: failures >= max(fresh.max_tries, 1),
                    Mailbox.cool_off_until: cool_off,
                    Mailbox.next_poll_at: max(cool_off, changes[Mailbox.next_poll_at]),
                }
            )
        with self.db.atomic():
            Mailbox.update(changes).where(Mailbox.id == mailbox.id).execute()
            PollRun.update(
                finished_at=now,
                duration_ms=result.duration_ms,
                fetched=result.fetched,
                created=result.created,
                replied=result.replied,
                held=result.held,
                rejected=result.rejected,
                errors=result.errors,
                ok=result.ok,
                error=result.error,
            ).where(PollRun.id == run.id).execute()
            trace.flush()


def _resync(source, mailbox: Mailbox, trace: Tracer) -> None:
    """UIDVALIDITY changed: re-key the records we have by Message-ID, so nothing is fetched
    twice; mail without a Message-ID we know is fetched again and stored as new."""
    trace("warn", f"UIDVALIDITY of '{source.folder}' changed to {source.uidvalidity}: resyncing")
    uids = sorted(source.client.search(["ALL"]))
    ids = source.message_ids(uids) if uids else {}
    by_id: dict[str, InboundMail] = {}
    for record in InboundMail.select().where(
        (InboundMail.mailbox == mailbox) & (InboundMail.message_id != "")
    ):
        by_id.setdefault(record.message_id, record)
    rekeyed = 0
    for uid, message_id in ids.items():
        record = by_id.get(message_id)
        if record is None:
            continue
        InboundMail.update(
            source_key=source.key(uid), uid=uid, uidvalidity=source.uidvalidity
        ).where(InboundMail.id == record.id).execute()
        rekeyed += 1
    ledger.advance_watermark(mailbox, source.folder, source.uidvalidity, 0)
    trace("info", f"resync: {rekeyed} known mail(s) re-keyed, the rest is fetched as new")


def describe_store_failure(exc: Exception, during: str = "the poll") -> str:
    """One sentence for a database failure ``during`` some work: what happened and what the
    operator does about it (usually nothing: the mail stays on the server)."""
    if is_connection_error(exc):
        return (
            f"the connection to the database was lost during {during} (the database restarted, "
            "the network broke, or this poller stalled for longer than its lease): what was "
            "stored is kept, the rest stays on the server and the next poll reconnects"
        )
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return (
            "the database is locked by another process: the mail stays on the server "
            "and the next poll retries"
        )
    if "disk" in text or "full" in text:
        return "the disk holding the database is full: free space; the mail stays on the server"
    return redact(f"the database failed ({exc}): the mail stays on the server")


def poll_mailboxes(
    db: Database,
    mailboxes: Iterable[Mailbox],
    *,
    echo: bool = False,
    stop: threading.Event | None = None,
) -> list[PollResult]:
    poller = Poller(db, echo=echo, stop=stop)
    results = []
    for mailbox in mailboxes:
        if poller.stop.is_set():
            break
        results.append(poller.poll(mailbox))
    return results


__all__ = ["PollResult", "Poller", "StoreError", "due_mailboxes", "poll_mailboxes"]
