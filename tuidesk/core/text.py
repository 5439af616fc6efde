"""Make text that came from mail safe to show in a terminal.

Subjects, names and bodies are written by strangers. Before any of it reaches a widget it goes
through :func:`safe_text`, which removes whatever a terminal would act on instead of print:
escape sequences (CSI, OSC, DCS, SOS, PM, APC and the short ESC forms, in their 7-bit and 8-bit
spellings), C0 controls except newline and tab, DEL, C1 controls, and the bidi overrides and
isolates that can make text read differently from what it is (CVE-2021-42574, "Trojan Source").
Pure functions, no I/O.
"""

from __future__ import annotations

import re

_ESCAPE_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?         # CSI … final byte
    | (?:\x1b\]|\x9d) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?          # OSC … BEL or ST
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) [^\x1b\x9c]* (?:\x1b\\|\x9c)? # DCS, SOS, PM, APC … ST
    | \x1b [\x20-\x2f]* [\x30-\x7e]?                                  # other ESC sequences
    """,
    re.VERBOSE,
)
"""Terminal escape sequences; an unterminated string sequence runs to the end of the text, as
it would in a terminal that swallows everything until the terminator."""

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 (but \\t and \\n), DEL, C1, and the bidi embeddings, overrides and isolates."""

_WHITESPACE_RUN = re.compile(r"\s+")


def safe_text(s: str) -> str:
    """``s`` without terminal escape sequences, control characters or bidi overrides.

    Newlines and tabs are kept; a carriage return is dropped, so ``\\r\\n`` becomes ``\\n``.
    """
    if not s:
        return ""
    return _CONTROLS.sub("", _ESCAPE_SEQUENCES.sub("", s))


def safe_line(s: str) -> str:
    """:func:`safe_text` folded onto one line (newlines and runs of spaces become one space),
    for table cells and titles."""
    return _WHITESPACE_RUN.sub(" ", safe_text(s)).strip()
