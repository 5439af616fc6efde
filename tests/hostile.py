"""Hostile mail for the reliability tests, and the one property every mail must keep.

The builders make the bombs (deep nesting, thousands of parts, huge headers) that the fuzz and
mail-bomb tests feed to tuidesk; ``ingest`` runs raw mail through the real pipeline (ledger,
then parse -> classify -> decide -> apply) on the test's SQLite store, and
``assert_each_ends_once`` checks the ingest contract on what came out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tuidesk.core.ingest.ledger import store_fetched
from tuidesk.core.ingest.pipeline import Outcome, process_batch
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.mail.source import FetchedMail, RemoteMail
from tuidesk.core.store.models import FINAL_INBOUND_STATES, InboundMail, Mailbox
from tuidesk.core.trace import Tracer

_keys = itertools.count(1)
CRLF = b"\r\n"


def header_block(
    level: int = 0, sender: str = "mallory@attacker.example", extra: bytes = b""
) -> bytes:
    return (
        f"From: Mallory <{sender}>\r\nTo: support@example.com\r\n"
        f"Subject: level {level}\r\nMessage-ID: <bomb.{level}.{next(_keys)}@attacker.example>\r\n"
        "MIME-Version: 1.0\r\n"
    ).encode() + extra


def nested_messages(depth: int, filler: bytes = b"the bottom\r\n") -> bytes:
    """A mail that attaches a mail that attaches a mail... ``depth`` times."""
    levels = [
        header_block(level)
        + b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
        for level in range(depth)
    ]
    return b"".join(levels) + header_block(depth) + b"Content-Type: text/plain\r\n\r\n" + filler


def nested_multiparts(depth: int, same_boundary: bool = False) -> bytes:
    """multipart/mixed inside multipart/mixed... ``depth`` times, a text at the bottom."""
    marks = [b"b" if same_boundary else b"b%d" % level for level in range(depth)]
    opening = [
        b'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n' % (m, m) for m in marks
    ]
    closing = [b"\r\n--%s--\r\n" % m for m in reversed(marks)]
    bottom = b"Content-Type: text/plain\r\n\r\nthe bottom\r\n"
    return header_block(0) + b"".join(opening) + bottom + b"".join(closing)


def delivery_status_blocks(count: int) -> bytes:
    """A bounce whose delivery status has ``count`` blocks of fields (a message object each in
    the standard library's parser)."""
    blocks = b"".join(
        b"Final-Recipient: rfc822; user%d@x.example\r\nAction: failed\r\n\r\n" % i
        for i in range(count)
    )
    return (
        header_block(0)
        + b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        + b"--R\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        + b"--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        + blocks
        + b"--R--\r\n"
    )


def many_attachments(count: int, size: int = 64) -> bytes:
    """A mail with ``count`` small attachments, each with different bytes."""
    parts = [b"--XX\r\nContent-Type: text/plain\r\n\r\nSee the attached files.\r\n"]
    for i in range(count):
        data = (b"%06d" % i) * (size // 6 + 1)
        parts.append(
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="file%05d.bin"\r\n\r\n'
            % i
            + data[:size]
            + CRLF
        )
    return (
        header_block(0)
        + b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        + b"".join(parts)
        + b"--XX--\r\n"
    )


def corpus_mailbox(name: str = "fuzz", **settings) -> Mailbox:
    values = dict(
        name=name,
        address="support@example.com",
        status="active",
        unknown_sender="create",
        attach_original=True,
    )
    values.update(settings)
    return Mailbox.create(**values)


def ingest(db, mailbox: Mailbox, raws: Sequence[bytes], label: str = "fuzz") -> list[Outcome]:
    """Store ``raws`` in the ledger, then process them: the poller's steps 1 and 2."""
    fetched = [
        FetchedMail(RemoteMail(key=f"{label}-{next(_keys)}", size=len(raw)), raw) for raw in raws
    ]
    with db.atomic():
        stored = store_fetched(mailbox, fetched)
    trace = Tracer(mailbox.id, mailbox.name)
    return process_batch(db, stored, mailbox, MailboxPolicy.from_mailbox(mailbox), trace)


def assert_each_ends_once(outcomes: Sequence[Outcome], count: int, what: str = "") -> None:
    """Every mail stored once, processed once, in exactly one final state, none crashed."""
    assert len(outcomes) == count, f"{what}: {count} mails in, {len(outcomes)} outcomes"
    crashed = [f"{o.detail}" for o in outcomes if o.reason == "processing_failed"]
    assert crashed == [], f"{what}: the pipeline failed: {crashed}"
    ids = [o.record_id for o in outcomes]
    records = list(InboundMail.select().where(InboundMail.id.in_(ids)))
    assert len(records) == count == len(set(ids)), f"{what}: a record was dropped or doubled"
    for record in records:
        assert record.state in FINAL_INBOUND_STATES, f"{what}: record left in {record.state}"
        assert record.attempts == 1, f"{what}: processed {record.attempts} times"
