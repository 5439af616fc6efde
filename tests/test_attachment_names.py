"""Attachment names are chosen by strangers: whatever a mail calls its files, the name tuidesk
stores is a plain file name (no path, no control or bidi characters, no reserved device name,
not hidden, at most 200 bytes), and saving to a folder never leaves that folder and never
replaces a file that is already there (nor one saved a moment before, nor one whose name
differs only in case on a case-insensitive file system).

The names go through the real pipeline (RFC 2231 parameters can carry any byte), then through
``save_attachment``, the function the thread view's "save" calls.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from hostile import assert_each_ends_once, corpus_mailbox, ingest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidesk.core import attachments_export
from tuidesk.core.attachments_export import MAX_NAME_BYTES, export_bytes, save_attachment
from tuidesk.core.ingest.attachments import sanitize_filename
from tuidesk.core.store.models import Attachment, Message

HOSTILE_NAMES = {
    "parent traversal": "../../x",
    "deep traversal": "../../../../../../etc/cron.d/evil",
    "Windows traversal": "..\\..\\..\\Windows\\win.ini",
    "absolute path": "/etc/passwd",
    "Windows absolute path": "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "UNC path": "\\\\server\\share\\x.txt",
    "NUL inside": "report\x00.exe.pdf",
    "NUL only": "\x00",
    "control characters": "a\x01b\x1b[31mc\x7f\x9b.txt",
    "newline": "first\nsecond.txt",
    "very long": "x" * 5000 + ".pdf",
    "very long multibyte": "é" * 3000 + ".docx",
    "very long extension": "a." + "x" * 300,
    "reserved CON": "CON",
    "reserved nul.txt": "nul.txt",
    "reserved com1 with two extensions": "com1.tar.gz",
    "reserved LPT9": "LPT9.log",
    "reserved with a space": "AUX .txt",
    "reserved with a trailing dot": "prn.",
    "reserved superscript": "COM¹.txt",
    "reserved console": "CONOUT$",
    "dot": ".",
    "dot dot": "..",
    "hidden": ".bashrc",
    "dots only": "....",
    "empty": "",
    "spaces only": "   ",
    "trailing dots and spaces": "notes.txt. . .",
    "right-to-left override": "invoice\u202efdp.exe",
    "bidi isolate": "photo\u2067gpj.scr\u2069",
    "right-to-left mark": "a\u200fb.txt",
    "zero-width joiner": "ev\u200dil.txt",
    "Windows forbidden characters": 'a<b>c:d"e|f?g*h.txt',
    "alternate data stream": "file.txt:Zone.Identifier",
    "leading dash": "-rf",
    "OSC hyperlink": "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07.txt",
}
CASE_TWINS = ["Report.pdf", "report.pdf", "REPORT.PDF", "rEpOrT.pdf"]


def assert_plain_name(name: str) -> None:
    assert name, "an empty name"
    assert "/" not in name and "\\" not in name, name
    assert not any(unicodedata.category(ch).startswith("C") for ch in name), repr(name)
    assert not name.startswith("."), name
    assert name == name.strip(" ."), repr(name)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES, len(name.encode())
    stem = name.split(".")[0].strip().upper()
    assert stem not in RESERVED, name


RESERVED = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$"} | {
    f"{device}{n}" for device in ("COM", "LPT") for n in ("0123456789¹²³")
}


def mail_with_attachments(names: list[str]) -> bytes:
    """One mail, one attachment per name, each name as an RFC 2231 parameter (any byte)."""
    parts = [b"--B\r\nContent-Type: text/plain\r\n\r\nThe files.\r\n"]
    for index, name in enumerate(names):
        encoded = quote(name.encode("utf-8"), safe="").encode()
        parts.append(
            b"--B\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename*=utf-8''" + encoded + b"\r\n\r\n"
            b"file number %d\r\n" % index
        )
    return (
        b"From: Alice <alice@customer.example>\r\nTo: support@example.com\r\n"
        b"Subject: hostile names\r\nMessage-ID: <names@customer.example>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + b"".join(parts)
        + b"--B--\r\n"
    )


@pytest.fixture
def stored(db) -> dict[str, Attachment]:
    """The hostile names, each attached to a mail that went through the pipeline."""
    names = list(HOSTILE_NAMES.values()) + CASE_TWINS
    mailbox = corpus_mailbox("names", attach_original=False, dangerous_extensions="none")
    outcomes = ingest(db, mailbox, [mail_with_attachments(names)])
    assert_each_ends_once(outcomes, 1, "hostile names")
    assert outcomes[0].state == "ticket_created", outcomes[0]
    rows = list(Attachment.select().join(Message).where(Message.ticket == outcomes[0].ticket_id))
    by_content = {bytes(row.blob.data).decode(): row for row in rows}
    return {name: by_content[f"file number {i}"] for i, name in enumerate(names)}


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize("what", list(HOSTILE_NAMES))
def test_the_stored_name_is_a_plain_file_name(stored, what: str) -> None:
    assert_plain_name(stored[HOSTILE_NAMES[what]].filename)


def test_a_long_name_keeps_its_extension(stored) -> None:
    assert stored[HOSTILE_NAMES["very long"]].filename.endswith(".pdf")
    assert stored[HOSTILE_NAMES["very long multibyte"]].filename.endswith(".docx")


def test_names_that_differ_only_in_case_are_kept_apart(stored) -> None:
    assert [stored[name].filename for name in CASE_TWINS] == CASE_TWINS


def test_saving_every_hostile_name_stays_in_the_folder(stored, tmp_path: Path) -> None:
    folder = tmp_path / "outer" / "chosen"
    saved = [save_attachment(row.id, folder) for row in stored.values()]
    for path in saved:
        assert path.parent == folder.resolve(), path
        assert path.is_file() and not path.is_symlink()
        assert_plain_name(path.name)
    assert files_under(tmp_path / "outer") == {folder, *saved}
    assert len(set(saved)) == len(stored)


def test_saving_twice_overwrites_nothing(stored, tmp_path: Path) -> None:
    first = {name: save_attachment(row.id, tmp_path) for name, row in stored.items()}
    second = {name: save_attachment(row.id, tmp_path) for name, row in stored.items()}
    assert len(set(first.values()) | set(second.values())) == 2 * len(stored)
    for index, name in enumerate(list(HOSTILE_NAMES.values()) + CASE_TWINS):
        expected = f"file number {index}".encode()
        assert first[name].read_bytes() == second[name].read_bytes() == expected


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"mine")
    (tmp_path / "x (1)").write_bytes(b"mine too")
    saved = export_bytes(b"theirs", "x", tmp_path)
    assert saved.name == "x (2)"
    assert (tmp_path / "x").read_bytes() == b"mine"
    assert (tmp_path / "x (1)").read_bytes() == b"mine too"


def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"untouched")
    folder = tmp_path / "chosen"
    folder.mkdir()
    (folder / "evil.txt").symlink_to(outside)
    (folder / "dangling.txt").symlink_to(tmp_path / "would-be-created.txt")
    assert export_bytes(b"payload", "evil.txt", folder).name == "evil (1).txt"
    assert export_bytes(b"payload", "dangling.txt", folder).name == "dangling (1).txt"
    assert outside.read_bytes() == b"untouched"
    assert not (tmp_path / "would-be-created.txt").exists()


def test_case_twins_do_not_overwrite_on_a_case_insensitive_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on macOS or Windows: creating "report.pdf" opens "Report.pdf" if it exists. O_EXCL
    refuses that, and the save picks the next free name."""
    real_open = os.open

    def case_insensitive_open(path, flags, mode=0o777, **kwargs):
        path = Path(path)
        taken = {p.name.casefold() for p in path.parent.iterdir()}
        if flags & os.O_EXCL and path.name.casefold() in taken:
            raise FileExistsError(17, "File exists", str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(attachments_export.os, "open", case_insensitive_open)
    saved = [export_bytes(name.encode(), name, tmp_path) for name in CASE_TWINS]
    assert [p.name for p in saved] == [
        "Report.pdf",
        "report (1).pdf",
        "REPORT (2).PDF",
        "rEpOrT (3).pdf",
    ]
    assert [p.read_bytes() for p in saved] == [n.encode() for n in CASE_TWINS]


def test_the_saved_file_is_private(tmp_path: Path) -> None:
    saved = export_bytes(b"secret invoice", "invoice.pdf", tmp_path)
    assert saved.stat().st_mode & 0o077 == 0


names = st.lists(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(["/", "\\", ".", "..", ":", "\x00", "\u202e", "\u2066", " ", "-"])
    | st.sampled_from(["CON", "nul", "COM1", "lpt²", ".txt", "x" * 150, "é" * 80]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(name=names)
def test_any_name_is_stored_as_a_plain_file_name(name: str) -> None:
    assert_plain_name(sanitize_filename(name))


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(name=names, taken=st.lists(names, max_size=3))
def test_any_name_is_saved_inside_the_folder_without_replacing_anything(
    tmp_path_factory: pytest.TempPathFactory, name: str, taken: list[str]
) -> None:
    root = tmp_path_factory.mktemp("save")
    folder = root / "chosen"
    before = {export_bytes(b"existing", other, folder) for other in taken}
    saved = export_bytes(b"new", name, folder)
    assert saved.parent == folder.resolve()
    assert saved not in before
    assert saved.read_bytes() == b"new"
    assert all(path.read_bytes() == b"existing" for path in before)
    assert files_under(root) == {folder, saved, *before}
