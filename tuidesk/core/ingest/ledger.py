"""The inbound ledger: raw mail committed before anything else happens (DESIGN.md, step 1).

A record is keyed by (mailbox, source key), so a mail fetched twice — after a crash, or from a
mailbox that keeps its mail — is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from tuidesk.core.clock import utcnow
from tuidesk.core.mail.source import FetchedMail
from tuidesk.core.store import sql
from tuidesk.core.store.models import FolderState, InboundMail, Mailbox
from tuidesk.core.tickets import store_blob

_CHUNK = 500
_headers = BytesHeaderParser(policy=compat32)


def known_keys(mailbox_id: int, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        query = InboundMail.select(InboundMail.source_key).where(
            (InboundMail.mailbox == mailbox_id) & InboundMail.source_key.in_(chunk)
        )
        found.update(row.source_key for row in query)
    return found


def _header_end(raw: bytes) -> int:
    """Where the header block ends, for CRLF mail (from servers) and LF mail (from a local
    Maildir or a pipe) alike; the whole message when there is no body."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    return min(ends) if ends else len(raw)


def header_summary(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, subject, from address) read cheaply from the header block."""
    from tuidesk.core.ingest.parse import decode_words, message_ids  # when there is mail

    try:
        head = _headers.parsebytes(raw[: _header_end(raw)])
    except Exception:
        return "", "", ""
    ids = message_ids(str(head.get("message-id", "") or ""))
    subject = " ".join(decode_words(str(head.get("subject", "") or "")).split())[:998]
    sender = " ".join(decode_words(str(head.get("from", "") or "")).split())[:320]
    return (ids[0] if ids else ""), subject, sender


@dataclass(frozen=True)
class StoredMail:
    """A ledger record as processing needs it, with its raw bytes still in memory."""

    id: int
    source_key: str
    raw: bytes
    size: int = 0
    headers_only: bool = False
    detail: str = ""

    @classmethod
    def of(cls, record: InboundMail) -> StoredMail:
        raw = sql.value('SELECT "data" FROM "blob" WHERE "sha256" = ?', record.raw_id)
        return cls(
            id=record.id,
            source_key=record.source_key,
            raw=bytes(raw or b""),
            size=record.size,
            headers_only=record.headers_only,
            detail=record.detail,
        )


_INSERT = (
    'INSERT INTO "inbound_mail" ("mailbox_id", "source_key", "folder", "uidvalidity", "uid", '
    '"uidl", "message_id", "sha256", "size", "raw_id", "headers_only", "subject", "from_addr", '
    '"state", "reason", "detail", "attempts", "on_server", "disposition_done", '
    '"disposition_error", "fetched_at") VALUES '
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', '', ?, 0, ?, ?, '', ?) "
    'ON CONFLICT ("mailbox_id", "source_key") DO NOTHING RETURNING "id"'
)


def store_fetched(
    mailbox: Mailbox,
    fetched: Sequence[FetchedMail],
    big_files_dir: str = "",
) -> list[StoredMail]:
    """Insert one record per fetched mail (caller holds the transaction); skip known keys."""
    stored: list[StoredMail] = []
    now = utcnow()
    for item in fetched:
        whole = item.full if item.full is not None else item.raw
        digest = hashlib.sha256(whole).hexdigest()
        message_id, subject, sender = header_summary(item.raw)
        detail = ""
        if item.headers_only and item.full is not None and big_files_dir:
            saved = save_big_file(big_files_dir, mailbox.name, digest, item.full)
            detail = f"saved whole to {saved}"
        remote = item.remote
        record_id = sql.insert(
            _INSERT,
            mailbox.id,
            remote.key,
            remote.folder,
            remote.uidvalidity,
            remote.uid,
            remote.uidl,
            message_id[:998],
            digest,
            remote.size or len(item.raw),
            store_blob(item.raw),
            item.headers_only,
            subject,
            sender,
            detail,
            True,
            False,
            now,
        )
        if record_id is None:  # stored before (a crash between commit and disposition)
            continue
        stored.append(
            StoredMail(
                record_id,
                remote.key,
                item.raw,
                remote.size or len(item.raw),
                item.headers_only,
                detail,
            )
        )
    return stored


def save_big_file(directory: str, mailbox: str, digest: str, data: bytes) -> Path:
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mailbox)
    path = folder / f"{safe}-{digest[:16]}.eml"
    if not path.exists():
        path.write_bytes(data)
    return path


def advance_watermark(mailbox: Mailbox, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Move the folder's watermark up to ``last_uid`` (or reset it on a new UIDVALIDITY).

    Two statements that each hold by themselves, so pollers on several hosts can race here:
    the row is created at most once (ON CONFLICT), and it only ever moves forward.
    """
    now = utcnow()
    sql.run(
        'INSERT INTO "folder_state" ("mailbox_id", "folder", "uidvalidity", "last_uid", '
        '"updated_at") VALUES (?, ?, ?, ?, ?) ON CONFLICT ("mailbox_id", "folder") DO NOTHING',
        mailbox.id,
        folder,
        uidvalidity,
        last_uid,
        now,
    )
    sql.run(
        'UPDATE "folder_state" SET "uidvalidity" = ?, "last_uid" = ?, "updated_at" = ? '
        'WHERE "mailbox_id" = ? AND "folder" = ? AND ("uidvalidity" <> ? OR "last_uid" < ?)',
        uidvalidity,
        last_uid,
        now,
        mailbox.id,
        folder,
        uidvalidity,
        last_uid,
    )


def watermark(mailbox: Mailbox, folder: str) -> tuple[int, int] | None:
    state = FolderState.get_or_none(
        (FolderState.mailbox == mailbox) & (FolderState.folder == folder)
    )
    return (state.uidvalidity, state.last_uid) if state else None
