"""Save an attachment to a folder the operator chose, safely.

The file name came from a stranger's mail, so :func:`safe_filename` keeps it from naming
anything but a plain file in that folder: no path separators, no control characters or NUL, no
bidi or other invisible format characters (``txt.exe`` shown as ``exe.txt``), no leading dots
(hidden files, ``..``), no Windows reserved names (``CON``, ``NUL``, ``COM1``, ``COM¹``…),
at most :data:`MAX_NAME_BYTES` bytes with the extension kept. :func:`export_bytes` never
overwrites: a taken name becomes ``name (1).ext``, ``name (2).ext``… and the file is created with
``O_EXCL``, so two saves at once cannot pick the same name either. Headless: no Textual here.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from tuidesk.core.store.models import Attachment, Blob
from tuidesk.core.text import safe_line

MAX_NAME_BYTES = 200
"""Below the 255-byte limit of common file systems, with room for " (NNN)"."""
MAX_EXTENSION_CHARS = 16
MAX_COPIES = 10_000
FALLBACK_NAME = "attachment"

_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CLOCK$",
    "CONIN$",
    "CONOUT$",
    *(f"COM{i}" for i in (*range(10), "¹", "²", "³")),
    *(f"LPT{i}" for i in (*range(10), "¹", "²", "³")),
}
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f]')
_SPACES = re.compile(r"\s+")


class ExportError(OSError):
    """The attachment could not be saved; the message says why and where."""


def safe_filename(name: str, fallback: str = FALLBACK_NAME) -> str:
    """``name`` made safe to create inside a folder (never a path, never hidden or reserved)."""
    text = unicodedata.normalize("NFC", safe_line(name or ""))
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = _UNSAFE.sub("_", text)
    text = _SPACES.sub(" ", text).strip().strip(".").strip()
    text = text.lstrip(".-_ ") if text.startswith((".", "-")) else text
    stem, extension = _split_extension(text)
    if stem.split(".")[0].upper().rstrip() in _RESERVED:
        stem = f"_{stem}"
    if not stem:
        stem = fallback
    return _cap(stem, extension)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or not extension or len(extension) > MAX_EXTENSION_CHARS:
        return name, ""
    return stem.rstrip(" ."), f".{extension}"


def _cap(stem: str, extension: str, limit: int = MAX_NAME_BYTES) -> str:
    """``stem + extension`` in at most ``limit`` UTF-8 bytes, cutting the stem only."""
    room = limit - len(extension.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", errors="ignore").rstrip(" .") or FALLBACK_NAME
    return stem + extension


def _candidates(name: str) -> Iterator[str]:
    """``name``, then ``name (1)``, ``name (2)``… each within the length cap."""
    yield name
    stem, extension = _split_extension(name)
    for copy in range(1, MAX_COPIES):
        yield _numbered(stem, extension, copy)


def _numbered(stem: str, extension: str, copy: int) -> str:
    suffix = f" ({copy})"
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8")) - len(extension.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", errors="ignore").rstrip(" .") or FALLBACK_NAME
    return f"{stem}{suffix}{extension}"


def export_bytes(data: bytes, filename: str, directory: str | os.PathLike[str]) -> Path:
    """Write ``data`` as a new file named after ``filename`` inside ``directory``; return it.

    The folder is created when missing. An existing file is never replaced: the name gets
    " (1)", " (2)"… instead. Raise :class:`ExportError` with a sentence when it cannot be done.
    """
    folder = Path(directory).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder = folder.resolve(strict=True)
    except OSError as exc:
        raise ExportError(f"the folder {folder} cannot be used ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    for candidate in _candidates(safe_filename(filename)):
        target = folder / candidate
        if target.parent != folder:  # cannot happen after safe_filename; never trust it blindly
            raise ExportError(f"the name {candidate!r} would leave {folder}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ExportError(f"{target} cannot be written ({exc.strerror or exc})") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise ExportError(f"{target} cannot be written ({exc.strerror or exc})") from None
        return target
    raise ExportError(f"{folder} already holds {MAX_COPIES} copies of {filename!r}")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def save_attachment(attachment_id: int, directory: str | os.PathLike[str]) -> Path:
    """Save the stored attachment ``attachment_id`` into ``directory``; return the new file."""
    row = (
        Attachment.select(Attachment.filename, Blob.data)
        .join(Blob, on=Attachment.blob == Blob.sha256)
        .where(Attachment.id == attachment_id)
        .tuples()
        .first()
    )
    if row is None:
        raise ExportError(f"attachment {attachment_id} no longer exists")
    filename, data = row
    return export_bytes(bytes(data), filename, directory)


__all__ = ["ExportError", "export_bytes", "safe_filename", "save_attachment"]
