"""The "new part" of a reply (003): what the sender wrote, without the mail they quoted.

The full text is always stored next to it, so when these rules cut too much or too little
nothing is lost; the new part is what a ticket's thread shows first.

In order:

1. The earliest match of a delimiter pattern (Outlook's header block, "Original Message",
   a line of underscores) ends the new part; so does the earliest introductory line
   ("On … wrote:") before it.
2. When the introductory line is followed by quoted lines with the sender's own text between
   them (an answer written inline), that text is kept: quoted lines are dropped, answers kept.
3. A trailing block of ``>`` quoted lines is dropped, with the attribution line just above it
   (a line ending in ":" that names a date or an address) when no pattern knew it.
4. The signature goes: from an RFC 3676 "-- " line, from a mobile client's "Sent from my …"
   line (and its translations), and a last short paragraph opened by "-Name".

Every step is linear in the length of the text (``pathological.txt`` in the reply corpus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tuidesk.core.ingest.reply_patterns import (
    DEFAULT_DELIMITER_PATTERNS,
    DEFAULT_INTRO_PATTERNS,
    MOBILE_SIGNATURE,
    SIGN_OFF,
    SIGNATURE_SEPARATOR,
    compile_reply_pattern,
)

_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_ATTRIBUTION_HINT = re.compile(r"[@\d]")


@dataclass(frozen=True)
class ReplyPatterns:
    """Compiled introductory and delimiter patterns of one mailbox."""

    intro: tuple[re.Pattern[str], ...]
    delimiters: tuple[re.Pattern[str], ...]

    @classmethod
    def compile(cls, intro: tuple[str, ...], delimiters: tuple[str, ...]) -> ReplyPatterns:
        return cls(
            tuple(compile_reply_pattern(p, line_start=True) for p in intro),
            tuple(compile_reply_pattern(p) for p in delimiters),
        )


DEFAULT_PATTERNS = ReplyPatterns.compile(DEFAULT_INTRO_PATTERNS, DEFAULT_DELIMITER_PATTERNS)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def new_part(text: str, patterns: ReplyPatterns = DEFAULT_PATTERNS) -> str:
    """What the sender wrote in ``text``, without quoted mail and signature."""
    text = normalise_newlines(text)
    if not text.strip():
        return ""
    # A leading newline lets a delimiter match on the first line and gives "^" a line to start.
    padded = "\n" + text
    delimiter_at = len(padded)
    for pattern in patterns.delimiters:
        found = pattern.search(padded)
        if found and found.start() < delimiter_at:
            delimiter_at = found.start()
    intro_at = intro_end = delimiter_at
    for pattern in patterns.intro:
        found = pattern.search(padded, 0, intro_at)
        if found and found.start() < intro_at:
            intro_at, intro_end = found.start(), found.end()
    head = padded[1:intro_at] if intro_at > 0 else ""
    if intro_at < delimiter_at:
        answers = _inline_answers(padded[intro_end:delimiter_at])
        if answers:
            head = f"{head}\n\n{answers}" if head.strip() else answers
    head = _drop_trailing_quote(head)
    head = strip_signature(head)
    return tidy(head)


def _is_quoted(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _inline_answers(rest: str) -> str:
    """The sender's own lines between quoted lines, when they answered inline."""
    lines = rest.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not _is_quoted(first):
        return ""
    own = "\n".join(line for line in lines if not _is_quoted(line))
    return strip_signature(own).strip("\n") if own.strip() else ""


def _drop_trailing_quote(text: str) -> str:
    lines = text.split("\n")
    end = len(lines)
    quoted = 0
    while end and (not lines[end - 1].strip() or _is_quoted(lines[end - 1])):
        quoted += _is_quoted(lines[end - 1])
        end -= 1
    if quoted and end:
        last = lines[end - 1].rstrip()
        if last.endswith(":") and len(last) <= 300 and _ATTRIBUTION_HINT.search(last):
            end -= 1
    return "\n".join(lines[:end])


def strip_signature(text: str) -> str:
    """``text`` without its signature (see the module docstring for what counts as one)."""
    padded = "\n" + text
    cut = len(padded)
    for pattern in (SIGNATURE_SEPARATOR, MOBILE_SIGNATURE):
        for found in pattern.finditer(padded, 0, cut):
            if padded[: found.start()].strip():  # a signature follows some text
                cut = found.start()
                break
    text = padded[1:cut]
    body = text.rstrip()
    paragraphs = _PARAGRAPH_BREAK.split(body)
    last = paragraphs[-1].strip("\n")
    if (
        len(paragraphs) > 1
        and last.count("\n") < 4
        and SIGN_OFF.match(last.split("\n", 1)[0].strip())
        and any(p.strip() for p in paragraphs[:-1])
    ):
        return body[: len(body) - len(paragraphs[-1])].rstrip()
    return text


def tidy(text: str) -> str:
    """Trailing spaces and runs of blank lines gone; leading indentation kept (lists)."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")
