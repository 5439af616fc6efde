"""Mailbox operations for people: test the connection step by step, list the server content
with its ledger state (003's "Mailbox Content")."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tuidesk.core.errors import TuideskError
from tuidesk.core.ingest import ledger
from tuidesk.core.mail.factory import build_source
from tuidesk.core.mail.source import ERROR_KEYWORD, HELD_KEYWORD
from tuidesk.core.redact import redact
from tuidesk.core.store.models import InboundMail, Mailbox
from tuidesk.core.trace import Tracer

Step = Callable[[str, str], None]


@dataclass
class TestReport:
    ok: bool = False
    steps: list[tuple[str, str]] = field(default_factory=list)
    failed_step: str = ""
    error: str = ""


_ORDER = ["resolve", "connect", "tls", "login", "select", "capabilities", "folders"]


def test_mailbox(mailbox: Mailbox, on_step: Step | None = None) -> TestReport:
    """Connect, log in, list folders and count messages, reporting each step as it happens."""
    report = TestReport()

    def step(name: str, detail: str) -> None:
        report.steps.append((name, detail))
        if on_step:
            on_step(name, detail)

    trace = Tracer(None, mailbox.name)
    try:
        if mailbox.protocol in {"imap", "pop3"} and mailbox.host:
            try:
                infos = socket.getaddrinfo(mailbox.host, mailbox.port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                report.failed_step = "resolve"
                raise TuideskError(
                    f"the host name '{mailbox.host}' cannot be resolved ({exc.strerror})",
                    hint="check the host setting",
                ) from None
            step("resolve", ", ".join(sorted({i[4][0] for i in infos})))
        source = build_source(mailbox, trace, watermark=None)
        source.facts.listener = step
        source.connect()
        try:
            if hasattr(source, "capabilities"):
                step("capabilities", " ".join(source.capabilities()))
            if hasattr(source, "folders"):
                step("folders", ", ".join(source.folders()))
        finally:
            source.close()
        report.ok = True
    except TuideskError as exc:
        done = {name for name, _ in report.steps}
        report.failed_step = (
            report.failed_step
            or getattr(exc, "step", "")
            or next((s for s in _ORDER if s not in done), "connect")
        )
        report.error = redact(exc.sentence)
    return report


@dataclass(frozen=True)
class ContentRow:
    key: str
    size: int
    date: datetime | None
    state: str  # new, processed (ticket_created…), held, error, too large
    record_id: int | None
    subject: str
    flags: frozenset[str] = frozenset()


def content_rows(mailbox: Mailbox) -> list[ContentRow]:
    trace = Tracer(None, mailbox.name)
    folder = mailbox.folder or "INBOX"
    source = build_source(mailbox, trace, watermark=ledger.watermark(mailbox, folder))
    source.connect()
    try:
        remotes = source.list_all()
    finally:
        source.close()
    keys = [r.key for r in remotes]
    records: dict[str, InboundMail] = {}
    for start in range(0, len(keys), 500):
        for record in InboundMail.select().where(
            (InboundMail.mailbox == mailbox) & InboundMail.source_key.in_(keys[start : start + 500])
        ):
            records[record.source_key] = record
    rows = []
    for remote in remotes:
        record = records.get(remote.key)
        if record is None:
            state = "new"
        elif record.reason == "too_large":
            state = "too large"
        elif record.state == "held_for_review" or HELD_KEYWORD in remote.flags:
            state = "held"
        elif record.state == "error" or ERROR_KEYWORD in remote.flags:
            state = "error"
        elif record.state == "new":
            state = "stored"
        else:
            state = f"processed ({record.state})"
        rows.append(
            ContentRow(
                key=remote.key,
                size=remote.size,
                date=remote.internal_date,
                state=state,
                record_id=record.id if record else None,
                subject=record.subject if record else "",
                flags=remote.flags,
            )
        )
    return rows
