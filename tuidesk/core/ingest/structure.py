"""How deep and how many: the shape of a mail's MIME tree, read before it is parsed.

Python's email parser (and mail-parser on top of it) recurses once per nested multipart or
attached mail and builds an object per part: a mail nested hundreds deep makes both fail with
a RecursionError after seconds of work, and one with a hundred thousand tiny parts costs
gigabytes. :func:`survey` says why a mail should not be given to them, in one linear pass
with constant stack, so the mail is refused with that reason instead (issue 10's mail bombs).

Most mail names a handful of multiparts: counting the words ``multipart/`` and ``message/``
is enough to know it is fine. Only mail with many is scanned line by line, the way the standard
library's feedparser would read it (a boundary line of an enclosing multipart ends every part
inside it; a part of a multipart/digest is an attached mail unless it says otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 100
"""Multiparts and attached mails nested in one another. Real mail rarely exceeds 20 (a chain of
forwards as attachments); the parsers fail somewhere past 200."""
MAX_PARTS = 10_000
"""MIME parts in one mail (a mailing-list digest has hundreds)."""

_LINE_END = re.compile(rb"\r\n|\r|\n")
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
_BOUNDARY = re.compile(r"""(?i)(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))""")


@dataclass(frozen=True)
class Survey:
    too_complex: str  # why the mail is nested too deeply or has too many parts; "" if it is not
    attached_mails: int  # at least as many as the mails attached in it (digest parts aside)


def survey(raw: bytes) -> Survey:
    """What must be known of ``raw`` before it is parsed (a few C-speed passes over it)."""
    lowered = raw.lower()
    reports = lowered.count(b"message/delivery-status")
    mails = lowered.count(b"message/") - reports
    containers = lowered.count(b"multipart/") + mails + reports  # every declaration names one
    del lowered
    blocks = _blank_lines(raw) if reports else 0  # a delivery status is a part per block
    if containers <= MAX_DEPTH // 2 and _delimiters(raw) + blocks < MAX_PARTS:
        return Survey("", mails)  # cannot nest deeper (a digest level counts twice) nor part more
    depth, parts = shape(raw)
    if depth > MAX_DEPTH:
        why = f"its MIME parts are nested {depth:,} deep, more than the limit of {MAX_DEPTH}"
    elif parts > MAX_PARTS:
        why = f"it has {parts:,} MIME parts, more than the limit of {MAX_PARTS:,}"
    else:
        why = ""
    return Survey(why, mails)


def _blank_lines(raw: bytes) -> int:
    """At least as many as the empty lines in ``raw``."""
    return raw.count(b"\n\n") + raw.count(b"\r\r") + raw.count(b"\n\r\n")


def _delimiters(raw: bytes) -> int:
    """At least as many as the boundary lines in ``raw`` (each starts a line with --)."""
    return raw.count(b"\n--") + raw.count(b"\r--") + 1


def shape(raw: bytes) -> tuple[int, int]:
    """(the deepest nesting of containers, the number of parts) of ``raw``."""
    stack = _Stack()
    depth = parts = 0
    headers: list[bytes] | None = []  # the header block being read, None in a body
    report = False  # in the body of a message/delivery-status
    for line in _lines(raw):
        if headers is not None:
            if line and _HEADER_LINE.match(line):
                headers.append(line)
                continue
            parts += 1
            kind, boundary = _content_type(headers, digest=stack.in_digest())
            headers = None
            if kind.startswith("multipart/") and boundary is not None:
                stack.push(b"--" + boundary, kind == "multipart/digest")
            elif kind == "message/delivery-status":
                # the standard library makes a part of each block of fields in it
                report = True
                parts += 1
                depth = max(depth, len(stack.entries) + 1)
            elif kind.startswith("message/"):
                stack.push(None, False)
                headers = []  # the attached mail's own header block follows
            depth = max(depth, len(stack.entries))
            if not line or headers is not None:
                continue
        if report and not line:
            parts += 1  # at most one block per empty line
        if line.startswith(b"--") and stack.delimit(line.rstrip(b" \t")):
            headers = []
            report = False
    if headers is not None:  # the mail ends in a header block: the parser still makes a part
        parts += 1
        kind, _boundary = (
            _content_type(headers, digest=stack.in_digest()) if headers else ("", None)
        )
        if kind.startswith("message/"):  # ... and an empty attached mail (or status block)
            parts += 1
            depth = max(depth, len(stack.entries) + 1)
    return depth, parts


class _Stack:
    """The containers open at a line: multiparts (by delimiter) and attached mails (None)."""

    def __init__(self) -> None:
        self.entries: list[tuple[bytes | None, bool]] = []  # (delimiter, is a digest)
        self.lowest: dict[bytes, int] = {}  # delimiter -> its outermost index

    def push(self, delimiter: bytes | None, digest: bool) -> None:
        if delimiter is not None:
            self.lowest.setdefault(delimiter, len(self.entries))
        self.entries.append((delimiter, digest))

    def in_digest(self) -> bool:
        return bool(self.entries) and self.entries[-1][1]

    def delimit(self, line: bytes) -> bool:
        """Apply a boundary line: it ends every part inside the multipart it belongs to; the
        outermost multipart whose boundary it is wins (feedparser checks the enclosing ones
        first). True when it opens a new part, False when it closes one or is no boundary."""
        opening = self.lowest.get(line, -1)
        closing = self.lowest.get(line[:-2], -1) if line.endswith(b"--") else -1
        if opening < 0 and closing < 0:
            return False
        if closing < 0 or 0 <= opening < closing:
            self._truncate(opening + 1)
            return True
        self._truncate(closing)
        return False

    def _truncate(self, size: int) -> None:
        while len(self.entries) > size:
            delimiter, _digest = self.entries.pop()
            if delimiter is not None and self.lowest.get(delimiter) == len(self.entries):
                del self.lowest[delimiter]


def _lines(raw: bytes) -> Iterator[bytes]:
    start = 0
    for end in _LINE_END.finditer(raw):
        yield raw[start : end.start()]
        start = end.end()
    if start < len(raw):
        yield raw[start:]


def _content_type(headers: list[bytes], digest: bool) -> tuple[str, bytes | None]:
    """(the lower-case content type, the boundary) of a part's header block; the boundary is
    None when none is declared (an empty one is a boundary: its lines are a bare ``--``)."""
    value = None
    for line in headers:
        if value is not None:
            if line[:1] in (b" ", b"\t"):
                value += line
                continue
            break
        if line[:13].lower() == b"content-type:":
            value = line[13:]
    if value is None:
        return ("message/rfc822" if digest else "text/plain"), None
    text = value.decode("latin-1")
    kind = text.split(";", 1)[0].strip().lower()
    if kind.count("/") != 1:
        kind = "text/plain"
    found = _BOUNDARY.search(text)
    if found is None:
        return kind, None
    boundary = (found.group(1) or found.group(2) or "").rstrip().encode("latin-1")
    if not boundary.isascii():
        return kind, None  # the standard library reads it as U+FFFD and never splits on it
    return kind, boundary
