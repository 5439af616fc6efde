"""Parse raw mail into plain data the rules can decide on.

mail-parser first; the standard library where mail-parser is known to be wrong or gives up
(FIELD-NOTES.md): 7bit iso-2022-jp bodies are decoded with ``get_content()``; attachments are
read from the same MIME tree with ``get_payload(decode=True)`` (mail-parser hands binary
payloads back base64-encoded, names nameless parts at random and ignores Content-Location);
raw 8-bit headers (RFC 6532) are read as UTF-8, then Windows-1252. Parsing never raises: what
cannot be read becomes a defect, written to the trace. A mail nested too deeply or with too many
parts for the parsers (``structure``) is not parsed: only its header block is read, and
``ParsedMail.too_complex`` says why, so the pipeline refuses it with that reason.

This runs on the parse worker (``parse_pool``), so work that needs no mailbox settings is done
here rather than on the busier main process: the HTML body rendered as text, the body and its
new part for the default settings, and the delivery report of a bounce.
"""

from __future__ import annotations

import base64
import logging
import quopri
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.header import Header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import mailparser

from tuidesk.core.clock import as_naive_utc
from tuidesk.core.ingest import linear_headers
from tuidesk.core.ingest.body import BodyText, body_of
from tuidesk.core.ingest.bounce import EMPTY, DeliveryReport, read_report
from tuidesk.core.ingest.html_text import html_to_text
from tuidesk.core.ingest.linear_headers import decode_header
from tuidesk.core.ingest.mime_tree import (
    MAIL_TYPES,
    is_attachment,
    message_from_bytes,
    payload_bytes,
    walk,
)
from tuidesk.core.ingest.structure import survey

_MSGID = re.compile(r"<[^<>\s]+>")
_SURROGATE = re.compile("[\udc80-\udcff]")  # raw bytes the parser kept as surrogate escapes
_BODY_TYPES = ("text/plain", "text/html")
MAX_DEFECTS = 20  # a mangled mail can have hundreds: the trace needs the first ones
MAILPARSER_BUDGET = 64 * 2**20
"""mail-parser keeps a copy of every attached mail, each with the mails attached inside it:
mail where that adds up to more (attached mails times size) is read with the standard
library alone, which copies nothing."""
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_NAMED = re.compile(r'\s*(?:"([^"\\]*)"|([^"<>,;:@\\()]*?))\s*<([^<>\s@,;"()]+@[^<>\s@,;"()]+)>\s*')
_BARE = re.compile(r'\s*<?([^<>\s@,;"()]+@[^<>\s@,;"()]+)>?\s*')

# mail-parser logs every part it does not show as a body (delivery-status, images) as a
# warning, and a header it cannot decode as an error, quoting the stranger's bytes (escape
# sequences included); with no handler configured, Python writes both to stderr, which on a
# terminal draws over the TUI. Defects reach the trace instead: mail-parser logs nothing.
logging.getLogger("mailparser").setLevel(logging.CRITICAL + 1)
# Every header and MIME parameter is read through these two: linear, not quadratic.
linear_headers.install()


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # decoded (RFC 2231, RFC 2047), not yet sanitised
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
    html_text: str = ""  # ``html`` rendered as readable text
    report: DeliveryReport = EMPTY  # what a bounce says about the delivery
    default_body: BodyText | None = None  # the body for the default order and patterns
    too_complex: str = ""  # why the MIME structure was not read (only the headers were)

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


def bytes_text(data: bytes, charset: str | None = None) -> str:
    """Decode header or name bytes: the declared charset, else UTF-8, else Windows-1252."""
    declared = (charset or "").lower()
    if declared and declared not in ("unknown-8bit", "us-ascii", "none"):
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _raw_text(value) -> str:
    """A header value as text, with raw 8-bit bytes (a compat32 ``Header``) decoded."""
    if value is None:
        return ""
    if isinstance(value, Header):
        try:
            return "".join(
                bytes_text(chunk, charset) if isinstance(chunk, bytes) else chunk
                for chunk, charset in decode_header(value)
            )
        except Exception:
            return str(value)
    text = str(value)
    if _SURROGATE.search(text):
        return bytes_text(text.encode("utf-8", "surrogateescape"))
    return text


def decode_words(value) -> str:
    """A header value with its RFC 2047 encoded words decoded; never raises."""
    text = _raw_text(value)
    if "=?" not in text:
        return text
    try:
        return "".join(
            bytes_text(chunk, charset) if isinstance(chunk, bytes) else chunk
            for chunk, charset in decode_header(text)
        )
    except Exception:
        return text


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw``; never raises."""
    shape = survey(raw)
    if shape.too_complex:
        return _headers_only(raw, shape.too_complex)
    copies = shape.attached_mails
    if copies * len(raw) > MAILPARSER_BUDGET:
        mail = _with_stdlib(raw)
        note = f"read without mail-parser: {copies} attached mails in {len(raw):,} bytes"
        return replace(mail, defects=(*mail.defects, note))
    try:
        return _with_mailparser(raw)
    except RecursionError:  # structure.py let through a shape it did not foresee
        return _headers_only(raw, "its MIME structure is nested too deeply to read")
    except Exception as exc:  # mail-parser gave up: read what the standard library can
        fallback = _with_stdlib(raw)
        note = f"mail-parser failed: {type(exc).__name__}: {exc}"
        return replace(fallback, defects=(*fallback.defects, note))


def _headers_only(raw: bytes, why: str) -> ParsedMail:
    """The top header block of a mail whose body is not to be parsed, and why not."""
    end = min((at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0), default=-1)
    head = raw if end < 0 else raw[: end + 2]
    try:
        message = message_from_bytes(head)
        mail = _assemble(message, "", "", [], parts=[])
    except Exception as exc:
        mail = ParsedMail(defects=(f"unreadable headers: {exc}",))
    return replace(mail, too_complex=why, defects=(*mail.defects, f"not parsed: {why}"))


def _with_mailparser(raw: bytes) -> ParsedMail:
    parsed = mailparser.MailParser(message_from_bytes(raw))
    message = parsed.message
    defects = _defects(parsed)
    text = "\n".join(parsed.text_plain)
    html = "\n".join(parsed.text_html)
    if _needs_stdlib_body(message, text):
        text, html = _stdlib_bodies(message, defects)
    return _assemble(message, text, html, defects)


def _defects(parsed) -> list[str]:
    """mail-parser's defects as "where: what" lines for the trace (at most MAX_DEFECTS)."""
    lines: list[str] = []
    for entry in parsed.defects or []:
        for where, found in entry.items() if isinstance(entry, dict) else [("", entry)]:
            for defect in found if isinstance(found, list) else [found]:
                lines.append(f"{where}: {defect}" if where else str(defect))
    if not lines:
        lines = [str(d) for d in sorted(parsed.defects_categories or [])]
    return lines[:MAX_DEFECTS]


def _with_stdlib(raw: bytes) -> ParsedMail:
    defects: list[str] = []
    try:
        message = message_from_bytes(raw)
    except Exception as exc:
        return ParsedMail(text=raw.decode("utf-8", "replace"), defects=(f"unparseable: {exc}",))
    try:
        text, html = _stdlib_bodies(message, defects)
    except Exception as exc:
        text, html = "", ""
        defects.append(f"unreadable body: {type(exc).__name__}: {exc}")
    try:
        return _assemble(message, text, html, defects)
    except Exception as exc:
        return ParsedMail(text=text, html=html, defects=(*defects, f"unreadable headers: {exc}"))


def _assemble(
    message: Message,
    text: str,
    html: str,
    defects: list[str],
    parts: list[tuple[Message, str, bool]] | None = None,
) -> ParsedMail:
    headers: dict[str, str] = {}
    for name, value in message.items():
        if name.lower() not in headers:  # the first of each name: decoding them all costs
            headers[name.lower()] = " ".join(decode_words(value).split())
    name, addr = _first_address(message.get_all("from") or [])
    if parts is None:
        parts = list(walk(message))
    attachments = tuple(_attachments(parts, defects))
    report = read_report(
        message,
        [(p, k) for p, k, _ in parts] or [(message, message.get_content_type())],
        text,
        addr,
        headers.get("return-path", ""),
    )
    html_text = html_to_text(html) if html else ""
    return ParsedMail(
        message_id=(message_ids(_raw_text(message.get("message-id"))) or ("",))[0],
        in_reply_to=message_ids(_raw_text(message.get("in-reply-to"))),
        references=message_ids(_raw_text(message.get("references"))),
        subject=" ".join(decode_words(message.get("subject", "") or "").split()),
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
        html_text=html_text,
        report=report,
        default_body=body_of(text, html_text),
    )


def _first_address(values: list) -> tuple[str, str]:
    pairs = _addresses(values)
    return pairs[0] if pairs else ("", "")


def _addresses(values: list) -> tuple[tuple[str, str], ...]:
    """(name, lower-case address) pairs; names decoded after splitting, so an encoded
    "Doe, John" stays one name."""
    texts = [_raw_text(v) for v in values]
    pairs = _simple_addresses(texts)
    if pairs is None:
        try:
            pairs = getaddresses(texts)
        except Exception:
            pairs = [parseaddr(t) for t in texts]
    out = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>")
        if any(ch.isspace() for ch in addr):  # "Big Bug bb@bug.com": no angle brackets
            words = addr.split()
            found = [w for w in words if "@" in w]
            addr = found[-1].strip("<>") if found else ""
            name = name or " ".join(w for w in words if "@" not in w)
        if _ADDRESS.fullmatch(addr):
            out.append((" ".join(decode_words(name).split()), addr.lower()))
    return tuple(out)


def _simple_addresses(texts: list[str]) -> list[tuple[str, str]] | None:
    """The common single ``Name <a@b>`` or ``a@b`` header without the general parser (the
    standard library's costs more than the rest of a header block); None otherwise."""
    if len(texts) != 1:
        return None
    text = " ".join(texts[0].split())  # runs of spaces would make _NAMED backtrack for long
    found = _NAMED.fullmatch(text)
    if found:
        return [(found.group(1) or found.group(2) or "", found.group(3))]
    found = _BARE.fullmatch(text)
    return [("", found.group(1))] if found else None


def _date(value) -> datetime | None:
    if not value:
        return None
    try:
        return as_naive_utc(parsedate_to_datetime(_raw_text(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _needs_stdlib_body(message: Message, text: str) -> bool:
    """mail-parser leaves 7bit iso-2022-jp bodies undecoded (escape sequences remain)."""
    if "\x1b$" in text:
        return True
    return any("iso-2022" in str(part.get("content-type") or "").lower() for part in message.walk())


def _stdlib_bodies(message: Message, defects: list[str]) -> tuple[str, str]:
    """The text and HTML bodies, decoded as ``get_content()`` does (the declared charset, with
    replacement characters; UTF-8 when the charset is unknown), but from the compat32 tree:
    ``policy.default`` parses headers into token trees, gigabytes for a megabyte header."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    for part, kind, _inside in walk(message):
        if kind not in _BODY_TYPES or part.is_multipart() or is_attachment(part):
            continue
        try:
            data = payload_bytes(part) or b""
            charset = part.get_content_charset("ascii")
            try:
                content = data.decode(charset, "replace")
            except LookupError:
                content = data.decode("utf-8", "replace")
        except Exception as exc:
            defects.append(f"undecodable {kind} part: {exc}")
            continue
        (text_parts if kind == "text/plain" else html_parts).append(content)
    return "\n".join(text_parts), "\n".join(html_parts)


def _attachments(parts: list[tuple[Message, str, bool]], defects: list[str]):
    """The attachment parts, as mail-parser chooses them: a part with a file name, a part
    with a Content-ID that is not a text body (an inline image), an RTF part, a part marked
    as an attachment, and an attached mail (as an .eml file). A mail attached inside an
    attached mail is already in that one's .eml: kept once, not once per level (a mail nested
    N deep would otherwise keep N copies of its innermost part)."""
    for part, kind, inside_eml in parts:
        if kind in _BODY_TYPES and _plain_body(part):
            continue
        disposition = (part.get_content_disposition() or "").lower()
        if part.is_multipart():
            if kind in MAIL_TYPES and disposition == "attachment" and not inside_eml:
                data = _attached_mail(part, defects)
                name = _filename(part) or "attached-message.eml"
                yield ParsedAttachment(name, kind, data)
            continue
        name = _filename(part)
        content_id = _raw_text(part.get("content-id")).strip().strip("<>")
        if not (
            name
            or (content_id and kind not in _BODY_TYPES)
            or part.get_content_subtype() == "rtf"
            or disposition == "attachment"
        ):
            continue
        try:
            data = payload_bytes(part)
        except Exception as exc:
            defects.append(f"attachment {name or kind!r} could not be decoded: {exc}")
            continue
        if not isinstance(data, bytes):
            data = b""
        yield ParsedAttachment(
            filename=name or _location_name(part) or content_id,
            content_type=kind,
            data=data,
            content_id=content_id,
            inline=bool(content_id) and disposition != "attachment",
        )


def _plain_body(part: Message) -> bool:
    """A text part with no disposition, Content-ID or name: a body, never an attachment
    (checked without parsing parameters: most parts of most mail are these)."""
    return (
        part.get("content-disposition") is None
        and part.get("content-id") is None
        and "name" not in str(part.get("content-type") or "").lower()
    )


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()  # RFC 2231 parameters are collapsed here
        if name and "\ufffd" in name:  # raw UTF-8 in the header: read it from its text
            name = _reread_filename(part) or name
    except Exception:
        name = None
    return " ".join(decode_words(name).split()) if name else ""


def _reread_filename(part: Message) -> str | None:
    copy = Message()
    for header in ("content-disposition", "content-type"):
        if part.get(header) is not None:
            copy[header] = _raw_text(part.get(header))
    return copy.get_filename()


def _location_name(part: Message) -> str:
    location = _raw_text(part.get("content-location")).strip()
    return location.rstrip("/").rpartition("/")[2] if location else ""


def _attached_mail(part: Message, defects: list[str]) -> bytes:
    inner = part.get_payload()
    encoding = str(part.get("content-transfer-encoding") or "").strip().lower()
    try:
        if isinstance(inner, list) and inner:
            if encoding in ("base64", "quoted-printable"):
                # not allowed by RFC 2046 but sent by some clients: the parser took the
                # encoded text for a header-less mail; decode it instead
                text = str(inner[0].get_payload()).encode("ascii", "replace")
                if encoding == "base64":
                    return base64.b64decode(text)
                return quopri.decodestring(text)
            return inner[0].as_bytes()
    except Exception as exc:
        defects.append(f"attached mail could not be read: {exc}")
    return b""
