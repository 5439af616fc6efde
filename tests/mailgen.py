"""Build realistic test mail: plain, HTML, with attachments, and replies that thread.

Used by the tests and by bench/ingest.py, so the benchmark measures the same kind of mail the
tests prove correct.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

WORDS = [
    "printer",
    "jams",
    "invoice",
    "login",
    "password",
    "reset",
    "outage",
    "slow",
    "server",
    "backup",
    "vpn",
    "laptop",
    "screen",
    "email",
    "calendar",
    "license",
    "renewal",
    "error",
    "crash",
    "update",
    "install",
    "network",
    "wifi",
    "phone",
    "account",
    "access",
    "folder",
    "share",
    "report",
    "quote",
    "contract",
    "delivery",
    "refund",
    "order",
]


def mail(
    *,
    sender: str = "alice@customer.example",
    sender_name: str = "Alice Customer",
    to: str = "support@example.com",
    subject: str = "Printer on floor 3 is broken",
    body: str = "Hello,\n\nthe printer jams every morning.\n\nRegards\nAlice\n",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    """One message as bytes (CRLF line ends, as a server stores it)."""
    msg = EmailMessage()
    msg["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or "test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def realistic_batch(count: int, seed: int = 1, domain: str = "customer.example") -> list[bytes]:
    """``count`` varied messages: new requests (plain, HTML, attachments) and replies to them."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    sent: list[str] = []
    out: list[bytes] = []
    for i in range(count):
        sender = f"user{rng.randrange(200)}@{domain}"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 160)))
        when = start + timedelta(minutes=i)
        kind = rng.random()
        message_id = f"<bench.{seed}.{i}@{domain}>"
        if sent and kind < 0.25:
            parent = rng.choice(sent)
            out.append(
                mail(
                    sender=sender,
                    sender_name=f"User {i}",
                    subject=f"Re: Request {i}",
                    body=f"Thanks, more details:\n\n{words}\n\n> earlier text\n> quoted\n",
                    message_id=message_id,
                    in_reply_to=parent,
                    date=when,
                )
            )
        elif kind < 0.6:
            out.append(
                mail(
                    sender=sender,
                    sender_name=f"User {i}",
                    subject=f"Request {i}: {words[:40]}",
                    body=f"Hello,\n\n{words}\n",
                    html=f"<html><body><p>Hello,</p><p>{words}</p></body></html>",
                    message_id=message_id,
                    date=when,
                )
            )
        elif kind < 0.8:
            attachment = ("log.txt", "text/plain", (words * 20).encode())
            out.append(
                mail(
                    sender=sender,
                    sender_name=f"User {i}",
                    subject=f"Request {i} with log",
                    body=f"See the attached log.\n\n{words}\n",
                    message_id=message_id,
                    date=when,
                    attachments=[attachment],
                )
            )
        else:
            out.append(
                mail(
                    sender=sender,
                    sender_name=f"User {i}",
                    subject=f"Request {i}",
                    body=f"Hi,\n\n{words}\n",
                    message_id=message_id,
                    date=when,
                )
            )
        sent.append(message_id)
    return out
