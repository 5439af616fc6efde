"""Attachments are kept or skipped by the mailbox's rules, each skip with its reason, under
names that are safe to save anywhere."""

from __future__ import annotations

import base64
import struct

import pytest

from tuidesk.core.ingest.attachments import (
    AttachmentRules,
    image_size,
    parse_dimensions,
    sanitize_filename,
    screen,
)
from tuidesk.core.ingest.parse import ParsedAttachment
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.store.models import Mailbox


def png(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", width, height) + b"\0" * 20


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\0" * 20


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
    sof = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, height, width) + b"\0" * 10
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def bmp(width: int, height: int) -> bytes:
    return b"BM" + b"\0" * 16 + struct.pack("<ii", width, -height) + b"\0" * 30


PE = b"MZ" + b"\0" * 58 + struct.pack("<I", 64) + b"PE\0\0" + b"\0" * 100


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (png(640, 480), (640, 480)),
        (gif(16, 16), (16, 16)),
        (jpeg(1024, 768), (1024, 768)),
        (bmp(99, 19), (99, 19)),
        (b"not an image", None),
        (b"\xff\xd8\xff", None),
    ],
    ids=["png", "gif", "jpeg", "bmp", "text", "truncated jpeg"],
)
def test_image_dimensions_are_read_from_the_header(data: bytes, size) -> None:
    assert image_size(data) == size


def test_a_real_png_is_read() -> None:
    one = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    assert image_size(one) == (1, 1)


NAMES = [
    ("plain", "report.pdf", "report.pdf"),
    ("a Unix path", "../../etc/passwd", "passwd"),
    ("a Windows path", "C:\\Users\\x\\evil.txt", "evil.txt"),
    ("control characters and NUL", "a\x00b\x07c.txt", "abc.txt"),
    ("a right-to-left override", "invoice\u202efdp.exe", "invoicefdp.exe"),
    ("leading dots", "..hidden", "hidden"),
    ("characters Windows refuses", 'a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
    ("trailing dots and spaces", "notes.txt. . ", "notes.txt"),
    ("a reserved device name", "CON.txt", "_CON.txt"),
    ("a reserved device name alone", "lpt1", "_lpt1"),
    ("nothing left", "../..", "attachment"),
    ("tabs and runs of spaces", "my   file\t.doc", "my file.doc"),
]


@pytest.mark.parametrize(("name", "given", "safe"), NAMES, ids=[n for n, _, _ in NAMES])
def test_file_names_are_sanitised(name: str, given: str, safe: str) -> None:
    assert sanitize_filename(given) == safe


def test_long_names_are_capped_keeping_the_extension() -> None:
    safe = sanitize_filename("é" * 300 + ".pdf")
    assert safe.endswith(".pdf") and len(safe.encode()) <= 200


def attachment(name: str, data: bytes = b"data", kind: str = "application/octet-stream", **kw):
    return ParsedAttachment(filename=name, content_type=kind, data=data, **kw)


RULES = AttachmentRules(excluded_types=("application/x-zip", "video/*"), max_size=1000)

SKIPPED = [
    (
        "an excluded type",
        attachment("a.zip", kind="application/x-zip"),
        "its type application/x-zip is excluded",
    ),
    (
        "an excluded wildcard type",
        attachment("a.mp4", kind="video/mp4"),
        "its type video/mp4 is excluded",
    ),
    ("a dangerous extension", attachment("setup.exe"), "'.exe' files are dangerous"),
    ("a script", attachment("run.PS1"), "'.ps1' files are dangerous"),
    ("a double extension", attachment("invoice.pdf.js"), "'.js' files are dangerous"),
    (
        "an executable type",
        attachment("x.bin", kind="application/x-msdownload"),
        "the type application/x-msdownload is an executable",
    ),
    (
        "an executable in disguise",
        attachment("photo.jpg", data=PE, kind="image/jpeg"),
        "it is an executable program",
    ),
    (
        "too large",
        attachment("big.pdf", data=b"x" * 1001),
        "it is 1,001 bytes, over the limit of 1,000",
    ),
    (
        "a signature logo",
        attachment("logo.png", data=png(90, 30), kind="image/png"),
        "the image is 90x30, smaller than 100x20 (a signature or spacer)",
    ),
    (
        "a spacer",
        attachment("line.gif", data=gif(600, 2), kind="image/gif"),
        "the image is 600x2, smaller than 100x20 (a signature or spacer)",
    ),
]


@pytest.mark.parametrize(("name", "item", "reason"), SKIPPED, ids=[n for n, _, _ in SKIPPED])
def test_attachments_are_skipped_with_a_reason(name: str, item, reason: str) -> None:
    kept, notes = screen([item], RULES)
    assert kept == []
    [note] = notes
    assert note.endswith(f"not imported: {reason}")


def test_kept_attachments_carry_a_safe_name_and_their_digest() -> None:
    photo = attachment(
        "../photo.png", data=png(800, 600), kind="image/png", content_id="p1", inline=True
    )
    [kept], notes = screen([photo], RULES)
    assert notes == []
    assert kept.filename == "photo.png"
    assert kept.attachment.inline and kept.attachment.content_id == "p1"
    assert len(kept.sha256) == 64


def test_the_same_file_twice_in_one_mail_is_kept_once() -> None:
    kept, notes = screen([attachment("a.pdf"), attachment("a.pdf")], RULES)
    assert len(kept) == 1
    assert notes == [
        "attachment 'a.pdf' (application/octet-stream, 4 bytes) not imported: "
        "the same file is attached twice"
    ]


def test_a_nameless_attachment_gets_a_name_from_its_type() -> None:
    [kept], _ = screen([attachment("", kind="application/pdf")], RULES)
    assert kept.filename == "attachment.pdf"


def rules_of(**settings) -> AttachmentRules:
    mailbox = Mailbox(name="support", address="support@example.com", **settings)
    return MailboxPolicy.from_mailbox(mailbox).attachment_rules


def test_the_rules_come_from_the_mailbox_settings() -> None:
    rules = rules_of(
        exclude_attachment_types="image/*\napplication/zip",
        dangerous_extensions="exe, .docm",
        max_attachment_size=0,
        image_min_size="0x0",
    )
    assert rules.excluded_types == ("image/*", "application/zip")
    assert rules.dangerous_extensions == frozenset({"exe", "docm"})
    assert (rules.max_size, rules.image_min) == (0, (0, 0))
    kept, _ = screen([attachment("huge.bin", data=b"x" * 10**6)], rules)
    assert kept


def test_empty_settings_mean_the_shipped_defaults_and_none_means_nothing_is_dangerous() -> None:
    defaults = rules_of()
    assert {"exe", "js", "vbs", "bat", "ps1", "lnk", "msi", "sh"} <= defaults.dangerous_extensions
    assert defaults.image_min == (100, 20)
    open_rules = rules_of(dangerous_extensions="none")
    assert screen([attachment("tool.exe", data=PE)], open_rules)[0]


@pytest.mark.parametrize(
    ("text", "size"), [("100x20", (100, 20)), (" 64 X 64 ", (64, 64)), ("", (0, 0))]
)
def test_image_minimum_sizes_are_read(text: str, size) -> None:
    assert parse_dimensions(text) == size


def test_a_bad_image_minimum_size_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_dimensions("large")
