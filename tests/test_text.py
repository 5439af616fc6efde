"""safe_text: text from mail reaches the terminal without anything a terminal would act on."""

from __future__ import annotations

import pytest

from tuidesk.core.text import safe_line, safe_text

CASES = [
    # (id, mail text, what may be shown)
    ("plain text is unchanged", "Printer offline", "Printer offline"),
    ("unicode letters are kept", "Büro Hamburg – Größe 😀", "Büro Hamburg – Größe 😀"),
    ("newlines and tabs are kept", "line 1\n\tline 2", "line 1\n\tline 2"),
    ("carriage returns are dropped", "line 1\r\nline 2\rover", "line 1\nline 2over"),
    ("rich markup is not touched", "[bold]urgent[/bold]", "[bold]urgent[/bold]"),
    ("CSI colour sequences are removed", "\x1b[31mred\x1b[0m text", "red text"),
    ("CSI with parameters is removed", "a\x1b[38;2;255;0;0mb\x1b[?25lc", "abc"),
    ("cursor movement is removed", "safe\x1b[2J\x1b[Hwipe", "safewipe"),
    ("OSC with BEL is removed", "x\x1b]0;evil title\x07y", "xy"),
    ("OSC 8 hyperlink with ST is removed", "\x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("OSC 52 clipboard write is removed", "\x1b]52;c;cm0gLXJmIH4=\x07ok", "ok"),
    ("DCS is removed", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    ("APC, PM and SOS are removed", "a\x1b_apc\x1b\\b\x1b^pm\x1b\\c\x1bXsos\x1b\\d", "abcd"),
    ("an unterminated OSC runs to the end", "before\x1b]0;never ends", "before"),
    ("short ESC sequences are removed", "a\x1bcb\x1b(Bc\x1b7d", "abcd"),
    ("a lone ESC is removed", "end\x1b", "end"),
    ("8-bit CSI is removed", "a\x9b31mb", "ab"),
    ("8-bit OSC is removed", "a\x9d0;title\x9cb", "ab"),
    ("C0 controls are removed", "a\x00b\x07c\x08d\x0be\x0cf\x1fg", "abcdefg"),
    ("DEL is removed", "a\x7fb", "ab"),
    ("C1 controls are removed", "a\x80b\x85c\x8ed", "abcd"),
    ("an 8-bit APC swallows up to its end", "a\x9fhidden", "a"),
    ("bidi overrides are removed", "abc\u202eexe.pdf\u202c", "abcexe.pdf"),
    ("bidi embeddings are removed", "\u202aa\u202bb\u202dc", "abc"),
    ("bidi isolates are removed", "\u2066a\u2067b\u2068c\u2069", "abc"),
    ("empty stays empty", "", ""),
]


@pytest.mark.parametrize(("mail", "shown"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_safe_text(mail: str, shown: str) -> None:
    assert safe_text(mail) == shown


@pytest.mark.parametrize(
    ("mail", "shown"),
    [
        ("Re: \x1b[1mhello\x1b[0m\r\n  world", "Re: hello world"),
        ("  spaced\t\tout  ", "spaced out"),
        ("one\n\ntwo", "one two"),
    ],
    ids=["escapes and line breaks", "runs of blanks", "blank lines"],
)
def test_safe_line_folds_text_onto_one_line(mail: str, shown: str) -> None:
    assert safe_line(mail) == shown


def test_safe_text_leaves_no_escape_or_control_character() -> None:
    hostile = "".join(chr(code) for code in range(0x00, 0xA0)) + "\u202a\u202e\u2066\u2069"
    cleaned = safe_text(hostile)
    assert not any(ord(ch) < 0x20 and ch not in "\n\t" for ch in cleaned)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    assert not set(cleaned) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
