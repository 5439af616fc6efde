"""Which attachments of a mail a ticket keeps, under which name (003, 002, 004).

Every attachment that is not imported gets a one-line reason for the trace, so an operator can
see why a file is missing. The rules, per mailbox:

- excluded MIME types (``image/*`` wildcards allowed);
- dangerous files: an extension from the mailbox's list (default: executables, scripts,
  installers, shortcuts and disk images that carry them), a known executable MIME type, or
  bytes that are a Windows (PE) or ELF executable whatever the name says (a mailbox whose
  list is ``none`` accepts them all);
- a size cap per attachment (0: none);
- images smaller than the minimum dimensions (default 100x20: signature logos, spacers),
  read from the PNG, GIF, JPEG or BMP header without an imaging library;
- the same file twice in one mail is kept once.

File names are sanitised for every place they may be saved to: no path, no control or
bidirectional-override characters (which disguise ``txt.exe`` as ``exe.txt``), no characters
Windows refuses, no leading dots, no reserved Windows device names, at most 200 UTF-8 bytes
with the extension kept.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuidesk.core.ingest.parse import ParsedAttachment

DEFAULT_DANGEROUS_EXTENSIONS: tuple[str, ...] = (
    # Windows executables, libraries and installers
    "exe", "com", "scr", "pif", "cpl", "dll", "sys", "drv", "ocx", "msi", "msp", "mst",
    "msix", "msixbundle", "appx", "appxbundle", "appref-ms", "application", "gadget", "msc",
    # scripts
    "bat", "cmd", "vb", "vbs", "vbe", "js", "jse", "ws", "wsf", "wsc", "wsh", "ps1", "ps1xml",
    "ps2", "ps2xml", "psc1", "psc2", "psm1", "psd1", "hta", "sct", "reg", "inf", "scf",
    "sh", "bash", "csh", "ksh", "zsh", "command", "run", "py", "pyw", "pl", "rb", "php", "jar",
    # shortcuts and links that run things
    "lnk", "url", "website", "settingcontent-ms", "library-ms", "searchconnector-ms",
    # macOS and Linux packages, disk images that smuggle executables past filters
    "app", "pkg", "dmg", "deb", "rpm", "apk", "appimage", "iso", "img", "vhd", "vhdx",
)  # fmt: skip

DANGEROUS_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-dosexec",
        "application/x-executable",
        "application/vnd.microsoft.portable-executable",
        "application/x-sh",
        "application/x-csh",
        "application/x-bat",
        "application/hta",
        "application/x-ms-shortcut",
    }
)

_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "clock$", "conin$", "conout$"}
    | {f"com{i}" for i in (*range(10), "¹", "²", "³")}
    | {f"lpt{i}" for i in (*range(10), "¹", "²", "³")}
)
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class AttachmentRules:
    """A mailbox's attachment settings, parsed once per poll."""

    excluded_types: tuple[str, ...] = ()  # lower-case; "image/*" allowed
    dangerous_extensions: frozenset[str] = frozenset(DEFAULT_DANGEROUS_EXTENSIONS)
    max_size: int = 25 * 1024 * 1024  # 0: no cap
    image_min: tuple[int, int] = (100, 20)  # (0, 0): every image is kept


def parse_dimensions(text: str) -> tuple[int, int]:
    """'100x20' -> (100, 20); empty -> (0, 0). Raises ValueError for anything else."""
    text = (text or "").strip().lower()
    if not text:
        return 0, 0
    match = re.fullmatch(r"(\d{1,5})\s*[x×*]\s*(\d{1,5})", text)
    if not match:
        raise ValueError(f"'{text}' is not a size like 100x20")
    return int(match.group(1)), int(match.group(2))


def sanitize_filename(name: str, fallback: str = "attachment") -> str:
    """A file name safe to show and to save on any system (see the module docstring)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # a path's last component only
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _UNSAFE_CHARS.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        name = fallback
    if name.split(".")[0].strip().lower() in _RESERVED:
        name = f"_{name}"
    return _cap(name, MAX_NAME_BYTES)


def _cap(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 20:
        stem, ext = name, ""
    tail = f".{ext}" if ext else ""
    room = limit - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .")
    return (cut or "attachment") + tail


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, JPEG or BMP header; None when unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"BM" and len(data) >= 26:
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)
        return abs(width), abs(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at, end = 2, len(data)
    while at + 4 <= end:
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF and at + 9 <= end:
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height
        if length < 2:
            return None
        at += 2 + length
    return None


def is_executable(data: bytes) -> bool:
    """A Windows PE or an ELF binary, whatever its name and declared type."""
    if data[:4] == b"\x7fELF":
        return True
    if data[:2] != b"MZ" or len(data) < 64:
        return False
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return data[offset : offset + 4] == b"PE\0\0"


def why_skipped(attachment: ParsedAttachment, name: str, rules: AttachmentRules) -> str:
    """Why ``attachment`` (saved as ``name``) is not imported; "" when it is."""
    kind = attachment.content_type.lower()
    for excluded in rules.excluded_types:
        if kind == excluded or (excluded.endswith("/*") and kind.startswith(excluded[:-1])):
            return f"its type {kind} is excluded"
    ext = extension(name)
    if ext in rules.dangerous_extensions:
        return f"'.{ext}' files are dangerous"
    if rules.dangerous_extensions and kind in DANGEROUS_TYPES:
        return f"the type {kind} is an executable"
    if rules.dangerous_extensions and is_executable(attachment.data):
        return "it is an executable program"
    if rules.max_size and len(attachment.data) > rules.max_size:
        return f"it is {len(attachment.data):,} bytes, over the limit of {rules.max_size:,}"
    min_width, min_height = rules.image_min
    if (min_width or min_height) and (kind.startswith("image/") or not kind):
        size = image_size(attachment.data)
        if size is not None and (size[0] < min_width or size[1] < min_height):
            return (
                f"the image is {size[0]}x{size[1]}, smaller than {min_width}x{min_height} "
                "(a signature or spacer)"
            )
    return ""


@dataclass(frozen=True)
class KeptAttachment:
    attachment: ParsedAttachment
    filename: str  # sanitised

    @property
    def sha256(self) -> str:
        """The key the store keeps the bytes under (computed only when asked: hashing
        every attachment twice would cost the hot path)."""
        return hashlib.sha256(self.attachment.data).hexdigest()


def screen(
    attachments: Iterable[ParsedAttachment], rules: AttachmentRules
) -> tuple[list[KeptAttachment], list[str]]:
    """The attachments to import, and one note per attachment that is not."""
    kept: list[KeptAttachment] = []
    notes: list[str] = []
    seen: set[tuple[str, bytes]] = set()
    for attachment in attachments:
        name = sanitize_filename(attachment.filename, _fallback_name(attachment))
        reason = why_skipped(attachment, name, rules)
        if not reason and (name, attachment.data) in seen:
            reason = "the same file is attached twice"
        if reason:
            notes.append(
                f"attachment '{name}' ({attachment.content_type}, {len(attachment.data):,} "
                f"bytes) not imported: {reason}"
            )
            continue
        seen.add((name, attachment.data))
        kept.append(KeptAttachment(attachment, name))
    return kept, notes


def _fallback_name(attachment: ParsedAttachment) -> str:
    subtype = attachment.content_type.partition("/")[2].split("+")[0].split(";")[0]
    ext = re.sub(r"[^a-z0-9]", "", subtype.lower())[:10] or "bin"
    return f"attachment.{ext}"
