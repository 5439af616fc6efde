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
    networked = mailbox.protocol in {"imap", "pop3"} and bool(mailbox.host)
    order = _ORDER if networked else _ORDER[1:]  # no host name to resolve
    try:
        if networked:
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
            or next((s for s in order if s not in done), "connect")
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
    sender: str = ""  # the From address stored in the ledger ("" when not fetched yet)


def _state(record: InboundMail | None, flags: frozenset[str]) -> str:
    """The ledger state of a message on the server; the ledger wins over the server's flags
    (a held mail reset to new keeps its flag until the next poll)."""
    if record is None:
        if HELD_KEYWORD in flags:
            return "held"
        return "error" if ERROR_KEYWORD in flags else "new"
    if record.reason == "too_large":
        return "too large"
    if record.state == "held_for_review":
        return "held"
    if record.state == "error":
        return "error"
    if record.state == "new":
        return "new"
    return f"processed ({record.state})"


CONTENT_PAGE_SIZE = 200
"""Rows of the mailbox content read and shown at a time."""


@dataclass(frozen=True)
class ContentPage:
    """Rows ``offset`` … ``offset + len(rows) - 1`` of the ``total`` messages on the server."""

    rows: list[ContentRow]
    offset: int
    total: int


def content_rows(mailbox: Mailbox) -> list[ContentRow]:
    """Every message on the server with its ledger state (the CLI's listing)."""
    return content_page(mailbox, 0, None).rows


def content_page(
    mailbox: Mailbox, offset: int = 0, limit: int | None = CONTENT_PAGE_SIZE
) -> ContentPage:
    """One page of the server's messages with their ledger state (``limit`` None: all).

    The server's listing is read whole (keys, sizes, dates and flags: no bodies), the ledger only
    for the page's keys, and only the page becomes rows, so a mailbox of thousands of messages
    opens as fast as one of a page. An ``offset`` past the end (messages deleted meanwhile) shows
    the last page."""
    trace = Tracer(None, mailbox.name)
    folder = mailbox.folder or "INBOX"
    source = build_source(mailbox, trace, watermark=ledger.watermark(mailbox, folder))
    source.connect()
    try:
        remotes = source.list_all()
    finally:
        source.close()
    total = len(remotes)
    if limit is None:
        offset, page = 0, remotes
    else:
        last_page_start = (total - 1) // limit * limit if total else 0
        offset = min(max(offset, 0), last_page_start)
        page = remotes[offset : offset + limit]
    keys = [r.key for r in page]
    records: dict[str, InboundMail] = {}
    for start in range(0, len(keys), 500):
        for record in InboundMail.select().where(
            (InboundMail.mailbox == mailbox) & InboundMail.source_key.in_(keys[start : start + 500])
        ):
            records[record.source_key] = record
    rows = []
    for remote in page:
        record = records.get(remote.key)
        rows.append(
            ContentRow(
                key=remote.key,
                size=remote.size,
                date=remote.internal_date,
                state=_state(record, remote.flags),
                record_id=record.id if record else None,
                subject=record.subject if record else "",
                flags=remote.flags,
                sender=record.from_addr if record else "",
            )
        )
    return ContentPage(rows, offset, total)


def _on_server(mailbox: Mailbox, keys: set[str], act: Callable[[object, list], object]) -> object:
    """Connect, find the messages of ``keys`` on the server and call ``act(source, found)``."""
    trace = Tracer(None, mailbox.name)
    folder = mailbox.folder or "INBOX"
    source = build_source(mailbox, trace, watermark=ledger.watermark(mailbox, folder))
    source.connect()
    try:
        found = [remote for remote in source.list_all() if remote.key in keys]
        if len(found) != len(keys):
            raise TuideskError(
                "the message is no longer on the server", hint="read the mailbox content again"
            )
        return act(source, found)
    finally:
        source.close()


def delete_from_server(mailbox: Mailbox, keys: list[str]) -> int:
    """Delete the messages of ``keys`` on the server (their ledger records stay); how many."""
    _on_server(mailbox, set(keys), lambda source, found: source.apply("delete", found))
    return len(keys)


def raw_message(mailbox: Mailbox, key: str) -> bytes:
    """The bytes of one message as the server has it (for "View raw")."""
    record = InboundMail.get_or_none(
        (InboundMail.mailbox == mailbox) & (InboundMail.source_key == key)
    )
    if record is not None and record.raw_id and not record.headers_only:
        return bytes(record.raw.data)
    return _on_server(mailbox, {key}, lambda source, found: source.fetch_one(found[0]))  # type: ignore[return-value]
