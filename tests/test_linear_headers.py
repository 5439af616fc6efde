"""The linear replacements of ``email.header.decode_header`` and ``email.message._parseparam``
give the standard library's results, and stay linear on the megabyte headers that kept the
originals busy for minutes (found by tests/test_fuzz.py)."""

from __future__ import annotations

import email.message
import faulthandler

import mailparser.utils
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidesk.core.ingest import parse  # noqa: F401  (installs the linear versions)
from tuidesk.core.ingest.linear_headers import STDLIB, decode_header, parseparam

pieces = st.sampled_from(
    [
        "=?utf-8?q?=C3=A9?=",
        "=?UTF-8?B?w6k=?=",
        "=?utf-8?b?a?=",
        "=?x-bad?q?x?=",
        "=?utf-8?q??=",
        " ",
        "  ",
        "\t",
        "\r\n ",
        "\n",
        "a",
        "Re:",
        ";",
        "=",
        '"',
        '\\"',
        "\\",
        "name",
        "x=y",
        "é",
    ]
)
headers = st.lists(pieces, max_size=30).map("".join)


def outcome(function, value):
    try:
        return function(value)
    except Exception as exc:
        return type(exc)


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(value=headers)
def test_decode_header_agrees_with_the_standard_library(value: str) -> None:
    assert outcome(decode_header, value) == outcome(STDLIB["decode_header"], value)


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(value=headers)
def test_parseparam_agrees_with_the_standard_library(value: str) -> None:
    assert parseparam(value) == STDLIB["parseparam"](value)


def test_mail_parser_and_email_message_use_the_linear_versions() -> None:
    assert mailparser.utils.decode_header is decode_header
    assert email.message._parseparam is parseparam


def test_a_megabyte_header_is_decoded_in_linear_time() -> None:
    """The standard library's versions are quadratic: 20 minutes for the first header, 10 for
    the second. The guard only stops a hang (a second is typical here); it times nothing."""
    words = "=?utf-8?q?=C3=A9?= " * 50_000
    params = 'text/plain; name="' + ";" * 1_000_000  # an open quote
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        assert decode_header(words)[0][0].decode() == "é" * 50_000
        assert len(parseparam(params)) == 2
    finally:
        faulthandler.cancel_dump_traceback_later()
