"""Bounces: is this mail a delivery failure, which of our mails came back, who failed.

Two halves. ``read_report`` runs while parsing (on the parse worker) and reads from the MIME
tree what only it can see: the multipart/report type, the delivery-status fields (who failed,
with which action), and the Message-IDs of the returned mail (a ``message/rfc822`` part,
``text/rfc822-headers``, or "Message-ID:" lines of a mail returned inline as text).
``bounce_reason`` then decides on the parsed mail alone.

What counts as a bounce, strongest evidence first:

1. a delivery-status part (RFC 3464), or a multipart/report other than a read receipt
   (ARF abuse reports about our mail count: they are about delivery too);
2. an ``X-Failed-Recipients`` header (Exim, Gmail);
3. a mailer-daemon sender (no person writes from that address, RFC 5321 4.5.5);
4. a postmaster sender (a role a person may write from, RFC 2142), an empty
   ``Return-Path: <>`` or no sender at all, each only together with a returned message or a
   subject that says delivery failed.

A read receipt (``report-type=disposition-notification``) is an auto-reply, not a bounce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuidesk.core.ingest.parse import ParsedMail

# The part before the @ excludes it, and addresses are found by splitting, not searching:
# searching "a@a@a@…" or a long run without an @ would backtrack quadratically (issue 10).
_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
_INLINE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s@]+@[^<>\s]+>)", re.I | re.M)
_OUR_ID = re.compile(r"<tuidesk\.[^<>\s@]+@[^<>\s]+>")
_NOT_ADDRESS = re.compile(r"[\s<>;,\"']+")
_DAEMON = re.compile(r"^(mailer-daemon|mail-daemon|mailerdaemon|mail\.delivery\.system)$", re.I)
_POSTMASTER = re.compile(r"^(postmaster|poostmaster)$", re.I)
FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status )?notification|delivery (has )?failed|"
    r"delivery failure|returned mail|returning message|mail delivery|failure notice|"
    r"non[- ]?delivery|could not be delivered|not delivered|delivery problem|"
    r"unzustellbar|nicht zugestellt|non remis|non distribuable|no entregado|"
    r"non recapitabile|onbestelbaar|não entregue|mail system error|message you sent blocked",
    re.I,
)
_RETURNED_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})


@dataclass(frozen=True)
class DeliveryReport:
    """What a mail's MIME structure says about delivery; empty for ordinary mail."""

    report_type: str = ""  # report-type of a multipart/report
    has_status: bool = False  # a delivery-status part
    has_returned: bool = False  # a returned message (or its headers)
    returned_ids: tuple[str, ...] = ()  # Message-IDs of the returned mail
    failed: tuple[str, ...] = ()  # recipients whose delivery failed (or was not reported)
    delayed_only: bool = False  # every recipient's action says delayed: not a failure yet


EMPTY = DeliveryReport()


Parts = list[tuple[Message, str]]  # every part of a mail with its content type, in walk order


def read_report(
    message: Message, parts: Parts, text: str, sender: str, return_path: str
) -> DeliveryReport:
    """Read the delivery report of ``message`` (a compat32 tree); never raises."""
    try:
        return _read(message, parts, text, sender, return_path)
    except Exception:
        return EMPTY


def _read(
    message: Message, parts: Parts, text: str, sender: str, return_path: str
) -> DeliveryReport:
    report_type = ""
    if parts[0][1] == "multipart/report":
        report_type = (message.get_param("report-type") or "").strip().lower()
    has_status = has_returned = False
    ids: dict[str, None] = {}
    failed: dict[str, None] = {}
    actions: list[str] = []
    for part, kind in parts:
        if kind in _STATUS_TYPES:
            has_status = True
            _status_fields(part, failed, actions)
        elif kind in _RETURNED_TYPES:
            has_returned = True
            for found in _returned_ids(part):
                ids.setdefault(found, None)
    for name in message.get_all("x-failed-recipients") or []:
        for address in addresses_in(str(name)):
            failed.setdefault(address.lower(), None)
    local = sender.partition("@")[0]
    bounce_like = (
        has_status
        or bool(report_type)
        or bool(failed)
        or bool(_DAEMON.match(local) or _POSTMASTER.match(local))
        or return_path.strip() == "<>"
    )
    if bounce_like and text:
        for found in _INLINE_ID.findall(text):
            ids.setdefault(found, None)
        if "tuidesk." in text:
            for found in _OUR_ID.findall(text):
                ids.setdefault(found, None)
    delayed_only = bool(actions) and all(a in ("delayed", "relayed", "delivered") for a in actions)
    return DeliveryReport(
        report_type=report_type,
        has_status=has_status,
        has_returned=has_returned,
        returned_ids=tuple(ids)[:20],
        failed=tuple(failed)[:50],
        delayed_only=delayed_only,
    )


def _status_fields(part: Message, failed: dict[str, None], actions: list[str]) -> None:
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses delivery-status into header blocks
        blocks = [dict((k.lower(), str(v)) for k, v in block.items()) for block in payload]
    else:
        raw = payload if isinstance(payload, str) else ""
        blocks = [_fields(chunk) for chunk in re.split(r"\n\s*\n", raw.replace("\r\n", "\n"))]
    for block in blocks:
        recipient = block.get("final-recipient") or block.get("original-recipient") or ""
        if not recipient:
            continue
        action = block.get("action", "").strip().lower()
        actions.append(action or "failed")
        if action in ("", "failed"):
            for field in ("original-recipient", "final-recipient"):
                for address in addresses_in(block.get(field, "").partition(";")[2]):
                    failed.setdefault(address.lower(), None)


def addresses_in(text: str) -> list[str]:
    """Every word of ``text`` that has an @ with something on each side, in order."""
    return [word for word in _NOT_ADDRESS.split(text) if "@" in word[1:-1]]


def _fields(chunk: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in chunk.splitlines():
        name, sep, value = line.partition(":")
        if sep and name and not name[0].isspace():
            found.setdefault(name.strip().lower(), value.strip())
    return found


def _returned_ids(part: Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = payload[0].get("message-id")
        return _MSGID.findall(str(value)) if value else []
    if isinstance(payload, str):
        headers = HeaderParser().parsestr(payload, headersonly=True)
        value = headers.get("message-id")
        return _MSGID.findall(str(value)) if value else []
    return []


def _local_part(address: str) -> str:
    return address.partition("@")[0]


def bounce_reason(mail: ParsedMail) -> str:
    """Why ``mail`` is a bounce, or "" when it is not (see the module docstring)."""
    report = mail.report
    if report.has_status:
        return "a delivery-status report"
    if report.report_type and report.report_type != "disposition-notification":
        return f"a {report.report_type} report"
    if mail.header("x-failed-recipients"):
        return "X-Failed-Recipients"
    sender = mail.from_addr
    local = _local_part(sender)
    if _DAEMON.match(local) or (not sender and "mailer-daemon" in mail.header("from").lower()):
        return f"sent by {sender or 'MAILER-DAEMON'}"
    postmaster = bool(_POSTMASTER.match(local))
    empty_return_path = mail.header("return-path").strip() == "<>"
    if not (postmaster or empty_return_path or not sender):
        return ""  # the common case: no need to read the subject
    failure = bool(FAILURE_SUBJECT.search(mail.subject))
    evidence = failure or report.has_returned
    if postmaster and evidence:
        return f"sent by {sender} about a failed delivery"
    if empty_return_path and evidence:
        return "empty Return-Path and a failed delivery"
    if not sender and failure:
        return "no sender and a delivery-failure subject"
    return ""


def is_read_receipt(mail: ParsedMail) -> bool:
    return mail.report.report_type == "disposition-notification"
