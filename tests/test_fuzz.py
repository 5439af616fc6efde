"""Fuzzing the ingest pipeline: whatever bytes arrive, the mail is stored once, processed once,
and ends in exactly one final state, with nothing dropped, no crash and bounded memory.

Three sources of hostile mail, all fed through the real ledger and pipeline on SQLite:

- hypothesis builds MIME trees: nested multiparts with wrong, missing, reused or unclosed
  boundaries, wrong charsets and transfer encodings, attached mails nested hundreds deep,
  thousands of parts, huge and duplicated headers, NUL bytes, raw 8-bit bytes, hostile HTML;
- every file of ../shared/corpus/ is mutated (bit flips, truncation, duplicated headers,
  corrupted boundaries, NUL bytes, exploded headers, changed line ends), seeded per file;
- hypothesis stacks those mutations on corpus files, so a failure shrinks to a small example.

The biggest cases (10,000 parts, nesting far past the parsers' limits, megabyte headers, HTML
amplifiers) run once each under tracemalloc, with a bound on peak memory and time.

Counts: a few hundred cases by default (deterministic: ``derandomize``), at least 10,000 with
``--slow``; the total is printed at the end of the module. ``FUZZ_RANDOM=1`` explores new
examples instead of the derandomized ones.
"""

from __future__ import annotations

import base64
import contextlib
import faulthandler
import os
import quopri
import random
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import (
    assert_each_ends_once,
    corpus_mailbox,
    header_block,
    ingest,
    many_attachments,
    nested_messages,
    nested_multiparts,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuidesk.core.ingest.structure import MAX_DEPTH, MAX_PARTS

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
NOT_MAIL = {"LICENSE", "README.md", "expected.json"}
CASES: Counter[str] = Counter()
PEAKS: list[tuple[int, int]] = []  # (memory taken at the peak, bytes of mail) per batch
SECONDS_PER_MAIL = 30  # linear work on at most a few MB; a quadratic path takes minutes
MB = 2**20


def slow(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--slow"))


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,  # per-mail time is asserted below, with room for a slow CI machine
        database=None,  # no example database: a CI run depends on nothing but the code
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def report_count(request: pytest.FixtureRequest):
    yield
    total = sum(CASES.values())
    peak, size = max(PEAKS, default=(0, 0))
    line = (
        f"fuzz: {total:,} mails through the pipeline ({dict(CASES)}), none lost or crashed; "
        f"largest memory peak {peak / MB:.0f} MB (for {size / MB:.1f} MB of mail)"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{line}")


def memory_budget(raws: list[bytes]) -> int:
    """What processing may allocate at its peak: a constant, and 30 times the mail."""
    return 64 * MB + 30 * sum(map(len, raws))


def rss_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in kB, (0, 0) where /proc does not tell."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0, 0
    found = dict(line.split(":", 1) for line in status.splitlines() if line.startswith("Vm"))
    return int(found["VmRSS"].split()[0]), int(found["VmHWM"].split()[0])


def reset_high_water_mark() -> bool:
    """Make VmHWM the current RSS (Linux 4.0+), so it then says what one mail added; False
    where that cannot be done (VmHWM would then be the peak of the whole run)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def survive(db, mailbox, raws: list[bytes], kind: str, what: Callable[[int], str]):
    """Feed ``raws`` through the pipeline and assert the contract, the time it took and the
    memory it took at its peak: allocated, under tracemalloc (the biggest cases); otherwise
    how far the process's RSS rose above where it was (cheap; hypothesis keeps its examples,
    so the RSS itself says nothing about one mail). Returns the outcomes and that peak."""
    tracing = tracemalloc.is_tracing()
    measured = tracing or reset_high_water_mark()
    if tracing:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = rss_kb()[0] * 1024
    started = time.monotonic()
    # where a hang hangs, written past pytest's capture
    faulthandler.dump_traceback_later(SECONDS_PER_MAIL * len(raws), file=sys.__stderr__)
    try:
        outcomes = ingest(db, mailbox, raws, kind)
    finally:
        faulthandler.cancel_dump_traceback_later()
        after = tracemalloc.get_traced_memory()[1] if tracing else rss_kb()[1] * 1024
    peak = max(after - before, 0) if measured else 0
    elapsed = time.monotonic() - started
    CASES[kind] += len(raws)
    PEAKS.append((peak, sum(map(len, raws))))
    assert_each_ends_once(outcomes, len(raws), what(0))
    for index, outcome in enumerate(outcomes):
        assert outcome.reason != "processing_failed", f"{what(index)}: {outcome.detail}"
    assert elapsed < SECONDS_PER_MAIL * len(raws), f"{what(0)}: {elapsed:.1f} s"
    assert peak < memory_budget(raws), f"{what(0)}: {peak / MB:.0f} MB allocated at the peak"
    return outcomes, peak


def assert_silent(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing reached the terminal: a library writing a stranger's header to stderr would
    draw over the TUI (and carry its escape sequences)."""
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", ""), captured


def test_an_undecodable_header_writes_nothing_to_the_terminal(db, capsys) -> None:
    raw = mail_with_header(b"X-Bad: \x1b]2;pwned\x07 =?UTF-8?B?a?=")  # not base64
    [outcome], _peak = survive(db, corpus_mailbox(), [raw], "silence", lambda _i: "bad header")
    assert outcome.state == "ticket_created"
    assert_silent(capsys)


# --- MIME trees ----------------------------------------------------------------------------

CHARSETS = [
    *[
        "utf-8",
        "us-ascii",
        "iso-8859-1",
        "windows-1252",
        "iso-2022-jp",
        "shift_jis",
        "gb2312",
        "big5",
        "koi8-r",
    ],
    *["utf-16", "utf-7", "unknown-8bit", "x-no-such-charset"],
    *["utf-8\x00", "", '"'],
]
ENCODINGS = ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus", ""]
LEAF_TYPES = [
    *[
        "text/plain",
        "text/html",
        "text/enriched",
        "text/rfc822-headers",
        "application/octet-stream",
    ],
    *[
        "application/pdf",
        "application/ms-tnef",
        "image/png",
        "image/gif",
        "message/delivery-status",
    ],
    *["message/disposition-notification", "bogus", "text/"],
]
HTML_TAGS = [
    *[
        "blockquote",
        "ul",
        "ol",
        "li",
        "p",
        "div",
        "table",
        "tr",
        "td",
        "pre",
        "script",
        "style",
        "br",
        "b",
        "title",
    ],
    *["a href='http://x.example/'", "img alt=x"],
]
HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
    "MIME-Version",
    "Received",
    "Return-Path",
    "Sender",
    "Auto-Submitted",
    "Precedence",
    "X-Failed-Recipients",
    "List-Id",
    "Importance",
    "X-Priority",
    "X-Autoreply",
]

hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(
    [
        "\x00",
        "\x1b]8;;http://evil\x07",
        "\u202e",
        "=?utf-8?B?////?=",
        "=?x-bogus?Q?=FF?=",
        "=?utf-8?Q?a=00b?=",
        "../../etc/passwd",
        "C:\\Windows\\x",
        "con.txt",
        "<@>",
        "@",
        '"',
        "\r\n\r\n",
        ";;;==",
    ]
)


@st.composite
def huge(draw, piece=hostile_text) -> str:
    """Mostly short text; sometimes a piece repeated into a header of up to a megabyte."""
    text = draw(piece)
    if draw(st.integers(0, 29)) == 0:
        text = (text or "a") * draw(st.integers(100, 1_000_000 // max(len(text), 1)))
    return text


def header_value(draw) -> bytes:
    form = draw(st.integers(0, 4))
    if form == 0:
        return draw(st.binary(max_size=60))  # raw 8-bit bytes, NUL, CR, LF
    if form == 1:
        addresses = draw(st.lists(hostile_text, max_size=5))
        return ", ".join(f'"{a}" <{a}@example.com>' for a in addresses).encode("utf-8", "replace")
    return draw(huge()).encode("utf-8", "surrogatepass")


@st.composite
def headers(draw, extra: list[bytes] = ()) -> bytes:
    lines = list(extra)
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(HEADER_NAMES) | st.text(min_size=0, max_size=10))
        lines.append(name.encode("utf-8", "replace") + b": " + header_value(draw))
    repeat = draw(st.integers(0, 20))
    if repeat == 20 and lines and len(lines[-1]) < 1000:  # one header thousands of times
        lines += [lines[-1]] * draw(st.integers(100, 5000))
    draw(st.randoms()).shuffle(lines)
    return b"\r\n".join(lines) + b"\r\n"


@st.composite
def leaf(draw) -> bytes:
    kind = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    if kind == "text/html" and draw(st.booleans()):
        body = html_bomb(draw).encode()
    elif draw(st.booleans()):
        text = draw(huge())
        body = text.encode(charset if _known(charset) else "utf-8", "replace")
    else:
        body = draw(st.binary(max_size=300))
    if encoding == "base64" and draw(st.booleans()):
        body = base64.encodebytes(body)
    elif encoding == "quoted-printable" and draw(st.booleans()):
        body = quopri.encodestring(body)
    lines = [b"Content-Type: " + kind.encode() + b"; charset=" + charset.encode()]
    if encoding:
        lines.append(b"Content-Transfer-Encoding: " + encoding.encode())
    if draw(st.booleans()):
        name = draw(hostile_text).encode("utf-8", "replace")
        lines.append(b'Content-Disposition: attachment; filename="' + name + b'"')
    if draw(st.integers(0, 3)) == 0:
        lines.append(b"Content-ID: <" + draw(hostile_text).encode("utf-8", "replace") + b">")
    return draw(headers(lines)) + b"\r\n" + body


def _known(charset: str) -> bool:
    try:
        "".encode(charset)
    except (LookupError, ValueError):
        return False
    return True


def html_bomb(draw) -> str:
    """Unclosed tags nested deeply, then many lines: what made the renderer multiply text."""
    tag = draw(st.sampled_from(HTML_TAGS))
    depth = draw(st.integers(0, 3000))
    lines = draw(st.integers(0, 3000))
    return f"<html><body>{f'<{tag}>' * depth}{'x<br>' * lines}</body></html>"


BOUNDARIES = ["b", "=_Part_0", "", " ", '"', "--", "a b", "x" * 80, "same"]


@st.composite
def multipart(draw, depth: int) -> bytes:
    boundary = draw(st.sampled_from(BOUNDARIES) | st.text(max_size=12))
    used = draw(st.sampled_from([boundary, boundary, boundary, "other", ""]))  # wrong one
    subtype = draw(st.sampled_from(["mixed", "alternative", "related", "digest", "report"]))
    declared = f'multipart/{subtype}; boundary="{boundary}"'
    if draw(st.integers(0, 9)) == 0:
        declared = f"multipart/{subtype}"  # no boundary at all
    children = draw(st.lists(node(depth + 1), max_size=4))
    many = draw(st.integers(0, 30))
    if many == 30 and 0 < sum(map(len, children)) < 2000:  # thousands of parts
        children *= draw(st.integers(100, 3000)) // len(children)
    delimiter = b"--" + used.encode("utf-8", "replace")
    body = b"preamble\r\n" if draw(st.booleans()) else b""
    for child in children:
        body += delimiter + b"\r\n" + child + b"\r\n"
    if draw(st.integers(0, 4)):
        body += delimiter + b"--\r\n"  # sometimes never closed
    if draw(st.booleans()):
        body += b"epilogue " + delimiter + b"\r\n"
    head = draw(headers([b"Content-Type: " + declared.encode("utf-8", "replace")]))
    return head + b"\r\n" + body


@st.composite
def attached_mail(draw, depth: int) -> bytes:
    inner = draw(whole_mail(depth + 1))
    disposition = draw(st.sampled_from([b"attachment", b"inline", b""]))
    encoding = draw(st.sampled_from([b"", b"7bit", b"base64"]))
    if encoding == b"base64":
        inner = base64.encodebytes(inner)
    lines = [b"Content-Type: message/rfc822"]
    if disposition:
        lines.append(b"Content-Disposition: " + disposition)
    if encoding:
        lines.append(b"Content-Transfer-Encoding: " + encoding)
    return b"\r\n".join(lines) + b"\r\n\r\n" + inner


def node(depth: int) -> st.SearchStrategy[bytes]:
    if depth >= 4:
        return leaf()
    return st.one_of(leaf(), leaf(), multipart(depth), attached_mail(depth))


@st.composite
def nest(draw, inner: bytes) -> bytes:
    """``inner`` wrapped in up to 300 levels of attached mails or multiparts."""
    levels = draw(st.integers(1, 300))
    as_mail = draw(st.booleans())
    for level in range(levels):
        if as_mail:
            inner = header_block(level) + b"Content-Type: message/rfc822\r\n\r\n" + inner
        else:
            mark = b"n%d" % level
            inner = (
                b'Content-Type: multipart/mixed; boundary="'
                + mark
                + b'"\r\n\r\n--'
                + mark
                + b"\r\n"
                + inner
                + b"\r\n--"
                + mark
                + b"--\r\n"
            )
    return inner


@st.composite
def whole_mail(draw, depth: int = 0) -> bytes:
    required = [
        b"From: " + draw(st.sampled_from([b"Alice <alice@customer.example>", b"bob@x.example"])),
        b"Message-ID: <" + draw(hostile_text).encode("utf-8", "replace") + b"@fuzz>",
    ]
    if draw(st.integers(0, 5)) == 0:
        required = []  # no sender, no Message-ID
    head = draw(headers(required))
    body = draw(node(depth))
    if depth == 0 and draw(st.integers(0, 7)) == 0:
        body = draw(nest(body))
    return head + body


def line_ends(raw: bytes, style: int) -> bytes:
    if style == 1:
        return raw.replace(b"\r\n", b"\n")
    if style == 2:
        return raw.replace(b"\r\n", b"\r")
    return raw


MAX_TREE_BYTES = 6_000_000


@st.composite
def fuzzed_mail(draw) -> bytes:
    raw = line_ends(draw(whole_mail()), draw(st.sampled_from([0, 0, 0, 1, 2])))
    raw = raw[:MAX_TREE_BYTES]  # the rare tree of huge parts inside huge parts
    if draw(st.integers(0, 5)) == 0:  # NUL bytes anywhere
        rng = draw(st.randoms())
        for _ in range(rng.randrange(1, 20)):
            at = rng.randrange(len(raw) + 1)
            raw = raw[:at] + b"\x00" + raw[at:]
    return raw


def test_generated_mime_trees_each_end_in_one_final_state(request, db, capsys) -> None:
    mailbox = corpus_mailbox("trees")

    @fuzz_settings(3_000 if slow(request) else 150)
    @given(raw=fuzzed_mail())
    def check(raw: bytes) -> None:
        survive(db, mailbox, [raw], "mime-tree", lambda _i: f"a {len(raw):,}-byte tree")

    check()
    assert_silent(capsys)


# --- mutations of the corpus ---------------------------------------------------------------


def corpus_files() -> list[Path]:
    if not CORPUS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus is missing at {CORPUS} (required when CI=true)")
        pytest.skip(f"no corpus at {CORPUS}")
    return [
        path
        for path in sorted(CORPUS.rglob("*"))
        if path.is_file()
        and path.name not in NOT_MAIL
        and not path.name.startswith(".")
        and "reply-parser" not in path.relative_to(CORPUS).parts
    ]


def flip_bits(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randrange(1, 50)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate(raw: bytes, rng: random.Random) -> bytes:
    return raw[: rng.randrange(len(raw) + 1)]


def header_lines(raw: bytes) -> tuple[list[bytes], bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    return head.splitlines(keepends=True), sep + body


def duplicate_header(raw: bytes, rng: random.Random) -> bytes:
    lines, rest = header_lines(raw)
    if not lines:
        return raw
    chosen = [ln for ln in lines if ln[:1] not in b" \t"] or lines
    line = rng.choice(chosen)
    copies = rng.choice([1, 1, 2, 500 if len(line) < 1000 else 2])
    at = rng.randrange(len(lines) + 1)
    variant = line.replace(b"@", b"@evil.", 1) if rng.random() < 0.3 else line
    return b"".join(lines[:at] + [variant] * copies + lines[at:]) + rest


def corrupt_boundaries(raw: bytes, rng: random.Random) -> bytes:
    lines = raw.splitlines(keepends=True)
    delimiters = [i for i, ln in enumerate(lines) if ln.startswith(b"--")]
    declared = [i for i, ln in enumerate(lines) if b"boundary=" in ln.lower()]
    if not delimiters and not declared:
        return flip_bits(raw, rng)
    choice = rng.randrange(5)
    if choice == 0 and delimiters:  # a delimiter line lost
        del lines[rng.choice(delimiters)]
    elif choice == 1 and delimiters:  # a delimiter line changed
        i = rng.choice(delimiters)
        line = bytearray(lines[i])
        line[rng.randrange(len(line))] = rng.randrange(256)
        lines[i] = bytes(line)
    elif choice == 2 and delimiters:  # a delimiter repeated elsewhere
        lines.insert(rng.randrange(len(lines) + 1), lines[rng.choice(delimiters)])
    elif choice == 3 and declared:  # the declared boundary changed or removed
        i = rng.choice(declared)
        lines[i] = rng.choice([b"", b"x"]).join(lines[i].split(b"boundary=", 1))
    elif delimiters:  # every close delimiter gone
        lines = [ln for ln in lines if not ln.rstrip().endswith(b"--") or not ln.startswith(b"--")]
    return b"".join(lines)


def insert_nuls(raw: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randrange(1, 30)):
        at = rng.randrange(len(raw) + 1)
        raw = raw[:at] + b"\x00" * rng.choice([1, 1, 100]) + raw[at:]
    return raw


def explode_header(raw: bytes, rng: random.Random) -> bytes:
    lines, rest = header_lines(raw)
    name = rng.choice([b"Subject", b"From", b"To", b"References", b"Received", b"Content-Type"])
    value = rng.choice([b"a", b" ", b"<x@y> ", b"=?utf-8?q?=C3=A9?= ", b"x@y, ", b"a@a@"])
    huge_line = name + b": " + value * rng.randrange(1_000, 50_000) + b"\r\n"
    return huge_line + b"".join(lines) + rest


def change_line_ends(raw: bytes, rng: random.Random) -> bytes:
    return line_ends(raw, rng.choice([1, 2]))


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "bit flips": flip_bits,
    "truncation": truncate,
    "duplicated header": duplicate_header,
    "corrupted boundaries": corrupt_boundaries,
    "NUL bytes": insert_nuls,
    "exploded header": explode_header,
    "line ends": change_line_ends,
}


def mutate(raw: bytes, seed: str) -> tuple[bytes, list[str]]:
    rng = random.Random(seed)
    names = rng.sample(sorted(MUTATIONS), rng.choice([1, 1, 2, 3]))
    for name in names:
        raw = MUTATIONS[name](raw, rng)
    return raw, names


def test_every_corpus_file_survives_seeded_mutations(request, db, capsys) -> None:
    files = corpus_files()
    assert len(files) > 200
    per_file = 20 if slow(request) else 1
    mailbox = corpus_mailbox("mutations")
    for path in files:
        name = str(path.relative_to(CORPUS))
        original = path.read_bytes()
        seeds = [f"{name}:{n}" for n in range(per_file)]
        mutated = [mutate(original, seed) for seed in seeds]
        survive(
            db,
            mailbox,
            [raw for raw, _ in mutated],
            "corpus-mutation",
            lambda i, mutated=mutated, seeds=seeds: (
                f"{seeds[i]} ({', '.join(mutated[i][1])}; reproduce with mutate(raw, seed))"
            ),
        )
    assert_silent(capsys)


def test_stacked_mutations_of_corpus_files_survive(request, db, capsys) -> None:
    files = corpus_files()
    mailbox = corpus_mailbox("stacked")

    @fuzz_settings(2_500 if slow(request) else 100)
    @given(
        index=st.integers(0, len(files) - 1),
        steps=st.lists(
            st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32)),
            min_size=1,
            max_size=4,
        ),
    )
    def check(index: int, steps: list[tuple[str, int]]) -> None:
        raw = files[index].read_bytes()
        for name, seed in steps:
            raw = MUTATIONS[name](raw, random.Random(seed))
        survive(db, mailbox, [raw], "stacked-mutation", lambda _i: f"{files[index]} {steps}")

    check()
    assert_silent(capsys)


# --- the biggest cases, under tracemalloc ----------------------------------------------------


def mail_with_header(line: bytes, sender: bytes = b"alice@customer.example") -> bytes:
    return (
        b"From: "
        + sender
        + b"\r\nTo: support@example.com\r\nSubject: big header\r\n"
        + line
        + b"\r\n\r\nbody\r\n"
    )


def html_mail(markup: str) -> bytes:
    return header_block(0) + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + markup.encode()


BIG_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    # name: (builder, the expected reason, "" for "becomes a ticket")
    f"{MAX_PARTS - 10:,} attachments": (lambda: many_attachments(MAX_PARTS - 10), ""),
    f"{MAX_PARTS:,} attachments": (lambda: many_attachments(MAX_PARTS), "too_complex"),
    f"attached mails {MAX_DEPTH} deep": (lambda: nested_messages(MAX_DEPTH), ""),
    "attached mails 1,000 deep": (lambda: nested_messages(1000), "too_complex"),
    f"multiparts {MAX_DEPTH} deep": (lambda: nested_multiparts(MAX_DEPTH), ""),
    "multiparts 5,000 deep": (lambda: nested_multiparts(5000), "too_complex"),
    "multiparts 5,000 deep, one boundary": (lambda: nested_multiparts(5000, True), ""),
    "1 MB subject": (lambda: mail_with_header(b"Subject: " + b"spam " * 200_000), ""),
    "300 KB of spaces in From": (
        lambda: mail_with_header(b"", b"Alice" + b" " * 300_000 + b"<alice@customer.example>"),
        "",
    ),
    "attached mails 60 deep around 2 MB": (
        lambda: nested_messages(60, filler=(b"x" * 76 + b"\r\n") * 26_000),
        "",
    ),
    "5,000 recipients": (
        lambda: mail_with_header(b"To: " + b", ".join(b"u%d@x.example" % i for i in range(5_000))),
        "",
    ),
    "200,000 references": (
        lambda: mail_with_header(b"References: " + b"<a@b> " * 200_000),
        "",
    ),
    "10,000 Received headers": (
        lambda: mail_with_header(b"\r\n".join([b"Received: from x by y; 1 Jan 2026"] * 10_000)),
        "",
    ),
    "1 MB X-Failed-Recipients from a daemon": (
        lambda: mail_with_header(
            b"X-Failed-Recipients: " + b"a" * 1_000_000, b"MAILER-DAEMON@mx.example"
        ),
        "bounce",
    ),
    "a@a@a@... Message-ID in a bounce": (
        lambda: (
            mail_with_header(b"", b"mailer-daemon@mx.example")
            + b"Message-ID: <tuidesk."
            + b"a@" * 300_000
            + b"\r\n"
        ),
        "bounce",
    ),
    "1 MB of NUL in a header": (lambda: mail_with_header(b"X-Nul: " + b"\x00" * 1_000_000), ""),
    "5 MB body on one line": (
        lambda: header_block(0) + b"Content-Type: text/plain\r\n\r\n" + b"x" * 5_000_000,
        "",
    ),
    "blockquotes 10,000 deep": (lambda: html_mail("<blockquote>" * 10_000 + "x<br>" * 10_000), ""),
    "lists 10,000 deep": (lambda: html_mail("<ul><li>" * 10_000 + "x<br>" * 10_000), ""),
    "links 10,000 deep": (lambda: html_mail("<a href='http://x'>" * 10_000 + "x<b>" * 10_000), ""),
}


@pytest.mark.parametrize("name", list(BIG_CASES))
def test_the_biggest_cases_stay_within_memory_and_time(db, name: str) -> None:
    build, expected = BIG_CASES[name]
    raw = build()
    mailbox = corpus_mailbox("big")
    started = time.monotonic()
    tracemalloc.start()
    try:
        [outcome], peak = survive(db, mailbox, [raw], "biggest", lambda _i: name)
    finally:
        tracemalloc.stop()
    print(
        f"{name}: {len(raw):,} bytes, {outcome.state}/{outcome.reason}, "
        f"peak {peak / MB:.0f} MB allocated, {time.monotonic() - started:.1f} s"
    )
    if expected == "too_complex":
        assert (outcome.state, outcome.reason) == ("rejected", "too_complex")
        assert "more than the limit" in outcome.detail
    elif expected:
        assert outcome.reason == expected, outcome
    else:
        assert outcome.state == "ticket_created", outcome
