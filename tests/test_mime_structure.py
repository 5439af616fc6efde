"""The linear survey of a mail's MIME structure (core/ingest/structure.py) reads a mail the way
the standard library's parser does, without its recursion: the same number of parts, the same
depth or one more (a multipart that turns out empty, or that reuses its parent's boundary, still
counts as a level: a safe overestimate), and a reason to refuse exactly the mails nested too
deeply or split into too many parts."""

from __future__ import annotations

import email
import email.policy
import faulthandler
import os
from email.message import Message

import pytest
from hostile import many_attachments, nested_messages, nested_multiparts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz import line_ends, whole_mail

from tuidesk.core.ingest.structure import MAX_DEPTH, MAX_PARTS, shape, survey


def stdlib_shape(raw: bytes) -> tuple[int, int]:
    """(depth, parts) as the standard library's parser sees ``raw``."""

    def depth(part: Message) -> int:
        if not part.is_multipart():
            return 0
        children = part.get_payload()
        return 1 + max((depth(child) for child in children), default=0)

    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return depth(message), sum(1 for _ in message.walk())


def test_a_plain_mail_is_fine_and_attaches_no_mail() -> None:
    raw = b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n"
    assert survey(raw).too_complex == ""
    assert survey(raw).attached_mails == 0
    assert shape(raw) == (0, 1)


def test_attached_mails_are_counted_but_a_delivery_status_is_not() -> None:
    raw = nested_messages(3) + b"\r\nContent-Type: message/delivery-status\r\n"
    assert survey(raw).attached_mails == 3


@pytest.mark.parametrize("depth", [1, 5, 30])
def test_nested_attached_mails_have_the_depth_the_standard_library_sees(depth: int) -> None:
    raw = nested_messages(depth)
    assert shape(raw) == stdlib_shape(raw) == (depth, depth + 1)


def test_nested_multiparts_have_the_depth_the_standard_library_sees() -> None:
    raw = nested_multiparts(30)
    assert shape(raw) == stdlib_shape(raw) == (30, 31)


def test_multiparts_reusing_their_parents_boundary_count_one_level_more() -> None:
    """The standard library ends the inner multipart at its first line (its parent's
    boundary) and keeps it as text; the survey counts it as a level, then closes it."""
    raw = nested_multiparts(30, same_boundary=True)
    assert stdlib_shape(raw) == (1, 31)
    assert shape(raw) == (2, 31)


def test_a_boundary_that_is_not_ascii_splits_nothing_as_in_the_standard_library() -> None:
    boundary = "é".encode()
    raw = (
        b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
        b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--" + boundary + b"--\r\n"
    )
    assert shape(raw) == stdlib_shape(raw) == (0, 1)


def test_a_mail_nested_deeper_than_the_limit_is_refused_with_its_depth() -> None:
    assert survey(nested_messages(MAX_DEPTH)).too_complex == ""
    why = survey(nested_messages(MAX_DEPTH + 1)).too_complex
    assert why == f"its MIME parts are nested {MAX_DEPTH + 1} deep, more than the limit of 100"


def test_a_mail_of_too_many_parts_is_refused_with_its_count() -> None:
    assert survey(many_attachments(MAX_PARTS - 2, size=8)).too_complex == ""
    why = survey(many_attachments(MAX_PARTS + 5, size=8)).too_complex
    assert why.startswith("it has 10,00") and why.endswith("more than the limit of 10,000")


def test_a_delivery_status_of_many_blocks_counts_a_part_per_block() -> None:
    """The standard library builds a message per block of fields in a delivery status: 200,000
    blocks in 3 MB cost it 300 MB. They count as parts, so such a report is refused."""
    blocks = b"".join(b"Final-Recipient: rfc822; u%d@x.example\r\n\r\n" % i for i in range(3))
    raw = b"From: a@b.example\r\nContent-Type: message/delivery-status\r\n\r\n" + blocks
    assert stdlib_shape(raw)[1] <= shape(raw)[1] <= stdlib_shape(raw)[1] + 1
    bomb = raw + b"X: y\r\n\r\n" * (MAX_PARTS + 1)
    assert survey(bomb).too_complex.endswith("more than the limit of 10,000")


def test_fifty_thousand_levels_are_surveyed_with_a_constant_stack() -> None:
    """Where the standard library dies of recursion (or takes minutes), the survey finishes:
    the guard below only stops a hang, it does not time the work."""
    raw = nested_multiparts(50_000)
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        assert survey(raw).too_complex.startswith("its MIME parts are nested 50,000 deep")
    finally:
        faulthandler.cancel_dump_traceback_later()


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",  # as test_fuzz: CI depends on the code
    suppress_health_check=list(HealthCheck),
)
@given(raw=whole_mail(), style=st.sampled_from([0, 1, 2]))
def test_generated_trees_have_the_shape_the_standard_library_sees(raw: bytes, style: int) -> None:
    """Wrong, missing, reused and unclosed boundaries, digests, attached mails, any line ends."""
    raw = line_ends(raw, style)
    depth, parts = stdlib_shape(raw)
    surveyed_depth, surveyed_parts = shape(raw)
    if b"delivery-status" in raw.lower():
        assert surveyed_parts >= parts  # a part per empty line: at least one per block
    else:
        assert surveyed_parts == parts
    assert depth <= surveyed_depth <= depth + 1
    beyond = surveyed_depth > MAX_DEPTH or surveyed_parts > MAX_PARTS
    assert bool(survey(raw).too_complex) == beyond
