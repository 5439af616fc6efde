"""Saving an attachment from the thread view: the name a stranger chose is made safe, the file
never lands outside the chosen folder and never replaces another file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuidesk.core.attachments_export import (
    MAX_NAME_BYTES,
    ExportError,
    export_bytes,
    safe_filename,
    save_attachment,
)
from tuidesk.core.store.models import Attachment

pytest_plugins = ["ui_fixtures"]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("..\\..\\boot.ini", "_.._boot.ini"),
        ("/etc/shadow", "_etc_shadow"),
        (".bashrc", "bashrc"),
        ("..", "attachment"),
        ("", "attachment"),
        ("a\x00b\x1b[31mc\x07.txt", "abc.txt"),
        ("inv\u202egpj.exe", "invgpj.exe"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ('what?*<>|:".doc', "what_______.doc"),
        ("  spaced   out .txt ", "spaced out.txt"),
    ],
)
def test_a_file_name_from_mail_is_made_safe(given: str, safe: str) -> None:
    assert safe_filename(given) == safe


def test_a_long_name_is_cut_but_keeps_its_extension() -> None:
    name = safe_filename("é" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    name.encode("utf-8").decode("utf-8")  # never cut inside a character


def test_saving_never_overwrites_a_file(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("already here")
    first = export_bytes(b"one", "log.txt", tmp_path)
    second = export_bytes(b"two", "log.txt", tmp_path)
    assert [first.name, second.name] == ["log (1).txt", "log (2).txt"]
    assert (tmp_path / "log.txt").read_text() == "already here"
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")


def test_saving_stays_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "inside"
    saved = export_bytes(b"x", "../../outside.txt", folder)
    assert saved.parent == folder.resolve()
    assert sorted(p.name for p in root.iterdir()) == ["inside"]


def test_a_symlink_with_the_same_name_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("do not touch")
    folder = tmp_path / "saved"
    folder.mkdir()
    os.symlink(target, folder / "evil.txt")
    saved = export_bytes(b"payload", "evil.txt", folder)
    assert saved.name == "evil (1).txt"
    assert target.read_text() == "do not touch"


def test_the_folder_is_created_when_missing(tmp_path: Path) -> None:
    saved = export_bytes(b"x", "a.txt", tmp_path / "new" / "folder")
    assert saved == (tmp_path / "new" / "folder" / "a.txt").resolve()


def test_a_folder_that_is_a_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match=r"cannot be used|not a folder"):
        export_bytes(b"x", "a.txt", tmp_path / "file")


def test_a_stored_attachment_is_saved_with_its_bytes(demo_database: Path, tmp_path: Path) -> None:
    attachment = Attachment.get(Attachment.filename == "screenshot.png")
    saved = save_attachment(attachment.id, tmp_path)
    assert saved.name == "screenshot.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert saved.stat().st_size == attachment.size
