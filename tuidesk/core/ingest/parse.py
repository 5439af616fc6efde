"""Parse raw mail into plain data the rules can decide on.

mail-parser first; the standard library where mail-parser is known to be wrong or gives up.
Parsing never raises: what cannot be read becomes a defect, written to the trace.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import mailparser

from tuidesk.core.clock import as_naive_utc

_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False


@dataclass(frozen=True)
class ParsedMail:
    message_id: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    to: tuple[tuple[str, str], ...] = ()
    cc: tuple[tuple[str, str], ...] = ()
    reply_to: tuple[tuple[str, str], ...] = ()
    date: datetime | None = None
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> first value
    content_type: str = "text/plain"
    attachments: tuple[ParsedAttachment, ...] = ()
    defects: tuple[str, ...] = ()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def message_ids(value: str | list | None) -> tuple[str, ...]:
    """Every <id> in a Message-ID, In-Reply-To or References value, in order, once each."""
    if not value:
        return ()
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    seen: dict[str, None] = {}
    for found in _MSGID.findall(str(value)):
        seen.setdefault(found, None)
    return tuple(seen)


def decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw``; never raises."""
    try:
        return _with_mailparser(raw)
    except Exception as exc:  # mail-parser gave up: read what the standard library can
        fallback = _with_stdlib(raw)
        return _replace_defects(fallback, (f"mail-parser failed: {type(exc).__name__}: {exc}",))


def _replace_defects(mail: ParsedMail, extra: tuple[str, ...]) -> ParsedMail:
    from dataclasses import replace

    return replace(mail, defects=mail.defects + extra)


def _with_mailparser(raw: bytes) -> ParsedMail:
    parsed = mailparser.parse_from_bytes(raw)
    message = parsed.message
    headers = {k.lower(): _header_text(v) for k, v in message.items()}
    defects = [str(d) for d in (parsed.defects_categories or [])]
    text = "\n".join(parsed.text_plain)
    html = "\n".join(parsed.text_html)
    if _needs_stdlib_body(message, text):
        text, html = _stdlib_bodies(raw, defects)
    attachments = tuple(_attachments(parsed.attachments, defects))
    name, addr = _first_address(message.get_all("from") or [])
    return ParsedMail(
        message_id=(message_ids(message.get("message-id")) or ("",))[0],
        in_reply_to=message_ids(message.get("in-reply-to")),
        references=message_ids(message.get("references")),
        subject=_clean_subject(decode_words(message.get("subject", "") or "")),
        from_name=name,
        from_addr=addr,
        to=_addresses(message.get_all("to") or []),
        cc=_addresses(message.get_all("cc") or []),
        reply_to=_addresses(message.get_all("reply-to") or []),
        date=_date(message.get("date")),
        text=text,
        html=html,
        headers=headers,
        content_type=message.get_content_type(),
        attachments=attachments,
        defects=tuple(defects),
    )


def _header_text(value) -> str:
    text = decode_words(str(value)) if value is not None else ""
    return " ".join(text.split())


def _clean_subject(value: str) -> str:
    return " ".join(value.split())


def _first_address(values: list) -> tuple[str, str]:
    pairs = _addresses(values)
    return pairs[0] if pairs else ("", "")


def _addresses(values: list) -> tuple[tuple[str, str], ...]:
    out = []
    try:
        pairs = getaddresses([decode_words(str(v)) for v in values])
    except Exception:
        pairs = [parseaddr(str(v)) for v in values]
    for name, addr in pairs:
        addr = addr.strip().strip("<>")
        if "@" in addr:
            out.append((name.strip(), addr.lower()))
    return tuple(out)


def _date(value) -> datetime | None:
    if not value:
        return None
    try:
        return as_naive_utc(parsedate_to_datetime(str(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _needs_stdlib_body(message, text: str) -> bool:
    """mail-parser leaves 7bit iso-2022-jp bodies undecoded (escape sequences remain)."""
    charsets = {c for c in message.get_charsets() if c}
    return any(c.lower().startswith("iso-2022") for c in charsets) or "\x1b$" in text


def _stdlib_bodies(raw: bytes, defects: list[str]) -> tuple[str, str]:
    text_parts: list[str] = []
    html_parts: list[str] = []
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            content = part.get_content()
        except Exception as exc:
            defects.append(f"undecodable {kind} part: {exc}")
            payload = part.get_payload(decode=True) or b""
            content = payload.decode("utf-8", "replace")
        (text_parts if kind == "text/plain" else html_parts).append(content)
    return "\n".join(text_parts), "\n".join(html_parts)


def _attachments(items: list[dict], defects: list[str]):
    for item in items:
        payload = item.get("payload", "")
        try:
            if item.get("binary"):
                data = base64.b64decode(payload)
            elif isinstance(payload, bytes):
                data = payload
            else:
                data = str(payload).encode(item.get("charset") or "utf-8", "replace")
        except Exception as exc:
            defects.append(f"attachment {item.get('filename')!r} could not be decoded: {exc}")
            continue
        content_id = (item.get("content-id") or "").strip().strip("<>")
        disposition = (item.get("content-disposition") or "").lower()
        filename = decode_words(item.get("filename") or "") or content_id or "attachment"
        yield ParsedAttachment(
            filename=filename,
            content_type=(item.get("mail_content_type") or "application/octet-stream").lower(),
            data=data,
            content_id=content_id,
            inline=bool(content_id) and not disposition.startswith("attachment"),
        )


def _with_stdlib(raw: bytes) -> ParsedMail:
    defects: list[str] = []
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:
        return ParsedMail(text=raw.decode("utf-8", "replace"), defects=(f"unparseable: {exc}",))
    headers = {k.lower(): _header_text(v) for k, v in message.items()}
    text, html = _stdlib_bodies(raw, defects)
    name, addr = _first_address(message.get_all("from") or [])
    return ParsedMail(
        message_id=(message_ids(message.get("message-id")) or ("",))[0],
        in_reply_to=message_ids(message.get("in-reply-to")),
        references=message_ids(message.get("references")),
        subject=_clean_subject(decode_words(str(message.get("subject", "") or ""))),
        from_name=name,
        from_addr=addr,
        to=_addresses(message.get_all("to") or []),
        cc=_addresses(message.get_all("cc") or []),
        date=_date(message.get("date")),
        text=text,
        html=html,
        headers=headers,
        content_type=message.get_content_type(),
        defects=tuple(defects),
    )
