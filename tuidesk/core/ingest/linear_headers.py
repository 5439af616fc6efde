"""Two header helpers of the standard library, redone in linear time (issue 10).

Python 3.11's ``email.header.decode_header`` takes time quadratic in the number of encoded
words (``=?utf-8?q?…?=``) on a line: it pops its list from the front, deletes the spaces
between words one by one and grows the decoded bytes by concatenation. ``email.message``'s
``_parseparam``, behind every ``get_param``, ``get_filename`` and ``get_boundary``, re-counts
the quotes from the start of the header for each ``;`` and copies the rest of the header for
each parameter. A header of a megabyte keeps either busy for hours, and the feedparser itself
asks for the boundary of every multipart while it parses.

:func:`decode_header` and :func:`parseparam` return the same results in linear time.
:func:`install` puts them where mail-parser and ``email.message`` look them up; ``parse``
calls it once, when it is imported.
"""

from __future__ import annotations

import binascii
import email.base64mime
import email.message
import email.quoprimime
from email.errors import HeaderParseError
from email.header import decode_header as _stdlib_decode_header
from email.header import ecre

__all__ = ["decode_header", "install", "parseparam"]

STDLIB = {"decode_header": _stdlib_decode_header, "parseparam": email.message._parseparam}
"""The originals, as they were before :func:`install` (the tests compare against them)."""


def install() -> None:
    """Use the linear versions in mail-parser and in ``email.message`` (same results)."""
    import mailparser.utils

    mailparser.utils.decode_header = decode_header
    email.message._parseparam = parseparam


def decode_header(header):
    """What ``email.header.decode_header`` returns for ``header``, in linear time."""
    if hasattr(header, "_chunks"):  # a Header object holds its decoded chunks already
        return _stdlib_decode_header(header)
    if not ecre.search(header):
        return [(header, None)]
    words = _words(header)
    return _collapse([(_decoded(text, encoding), charset) for text, encoding, charset in words])


def _words(header: str) -> list[tuple[str, str | None, str | None]]:
    """(text, encoding, charset) triples, the whitespace between encoded words left out."""
    words: list[tuple[str, str | None, str | None]] = []
    for line in header.splitlines():
        parts = ecre.split(line)  # unencoded, charset, encoding, encoded, unencoded, ...
        for at in range(0, len(parts), 4):
            unencoded = parts[at].lstrip() if at == 0 else parts[at]
            if unencoded:
                words.append((unencoded, None, None))
            if at + 3 < len(parts):
                words.append((parts[at + 3], parts[at + 2].lower(), parts[at + 1].lower()))
    between = {
        n - 1
        for n, word in enumerate(words)
        if n > 1 and word[1] and words[n - 2][1] and words[n - 1][0].isspace()
    }
    return [word for n, word in enumerate(words) if n not in between]


def _decoded(text: str, encoding: str | None) -> str | bytes:
    if encoding is None:
        return text
    if encoding == "q":
        return email.quoprimime.header_decode(text)
    if encoding == "b":
        missing = len(text) % 4  # Postel's law: add the missing padding
        if missing:
            text += "==="[: 4 - missing]
        try:
            return email.base64mime.decode(text)
        except binascii.Error:
            raise HeaderParseError("Base64 decoding error") from None
    raise AssertionError("Unexpected encoding: " + encoding)


def _collapse(decoded: list[tuple[str | bytes, str | None]]) -> list[tuple[bytes, str | None]]:
    """Consecutive words of one charset joined (unencoded ones with a space), as bytes."""
    collapsed: list[tuple[bytes, str | None]] = []
    run: list[bytes] = []
    run_charset: str | None = None
    for word, charset in decoded:
        data = bytes(word, "raw-unicode-escape") if isinstance(word, str) else word
        if run and charset != run_charset:
            collapsed.append(_joined(run, run_charset))
            run = []
        run_charset = charset
        run.append(data)
    collapsed.append(_joined(run, run_charset))
    return collapsed


def _joined(run: list[bytes], charset: str | None) -> tuple[bytes, str | None]:
    return (b" " if charset is None else b"").join(run), charset


def parseparam(value) -> list[str]:
    """What ``email.message._parseparam`` returns for ``value``: the ``;``-separated parts of a
    header (a ``;`` inside quotes does not separate), ``name=value`` normalised, in linear time."""
    text = ";" + str(value)
    found: list[str] = []
    start = 0
    while text[start : start + 1] == ";":
        start += 1
        end = text.find(";", start)
        quotes, counted = 0, start
        while end > start:  # a ";" inside an open quote does not end the parameter
            quotes += text.count('"', counted, end) - text.count('\\"', counted, end)
            counted = end  # text[end] is ";": no escaped quote spans the two ranges
            if quotes % 2 == 0:
                break
            end = text.find(";", end + 1)
        if end < 0:
            end = len(text)
        part = text[start:end]
        if "=" in part:
            at = part.index("=")
            part = part[:at].strip().lower() + "=" + part[at + 1 :].strip()
        found.append(part.strip())
        start = end
    return found
