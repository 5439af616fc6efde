"""The inbound ledger: raw mail committed before anything else happens (DESIGN.md, step 1).

A record is keyed by (mailbox, source key), so a mail fetched twice — after a crash, or from a
mailbox that keeps its mail — is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from tuidesk.core.clock import utcnow
from tuidesk.core.ingest.parse import decode_words, message_ids
from tuidesk.core.mail.source import FetchedMail
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


def header_summary(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, subject, from address) read cheaply from the header block."""
    try:
        head = _headers.parsebytes(raw[: raw.find(b"\r\n\r\n") + 4 or len(raw)] or raw)
    except Exception:
        return "", "", ""
    ids = message_ids(str(head.get("message-id", "") or ""))
    subject = " ".join(decode_words(str(head.get("subject", "") or "")).split())[:998]
    sender = " ".join(decode_words(str(head.get("from", "") or "")).split())[:320]
    return (ids[0] if ids else ""), subject, sender


def store_fetched(
    mailbox: Mailbox,
    fetched: Sequence[FetchedMail],
    big_files_dir: str = "",
) -> list[InboundMail]:
    """Insert one record per fetched mail (caller holds the transaction); skip known keys."""
    records: list[InboundMail] = []
    known = known_keys(mailbox.id, [f.remote.key for f in fetched])
    for item in fetched:
        if item.remote.key in known:
            continue
        digest = hashlib.sha256(item.full if item.full is not None else item.raw).hexdigest()
        message_id, subject, sender = header_summary(item.raw)
        detail = ""
        if item.headers_only and item.full is not None and big_files_dir:
            detail = (
                f"saved whole to {save_big_file(big_files_dir, mailbox.name, digest, item.full)}"
            )
        record = InboundMail.create(
            mailbox=mailbox,
            source_key=item.remote.key,
            folder=item.remote.folder,
            uidvalidity=item.remote.uidvalidity,
            uid=item.remote.uid,
            uidl=item.remote.uidl,
            message_id=message_id,
            sha256=digest,
            size=item.remote.size or len(item.raw),
            raw=store_blob(item.raw),
            headers_only=item.headers_only,
            subject=subject,
            from_addr=sender,
            detail=detail,
            fetched_at=utcnow(),
        )
        records.append(record)
        known.add(item.remote.key)
    return records


def save_big_file(directory: str, mailbox: str, digest: str, data: bytes) -> Path:
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in mailbox)
    path = folder / f"{safe}-{digest[:16]}.eml"
    if not path.exists():
        path.write_bytes(data)
    return path


def advance_watermark(mailbox: Mailbox, folder: str, uidvalidity: int, last_uid: int) -> None:
    state = FolderState.get_or_none(
        (FolderState.mailbox == mailbox) & (FolderState.folder == folder)
    )
    if state is None:
        FolderState.create(
            mailbox=mailbox, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid
        )
    elif state.uidvalidity != uidvalidity or last_uid > state.last_uid:
        FolderState.update(uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow()).where(
            FolderState.id == state.id
        ).execute()


def watermark(mailbox: Mailbox, folder: str) -> tuple[int, int] | None:
    state = FolderState.get_or_none(
        (FolderState.mailbox == mailbox) & (FolderState.folder == folder)
    )
    return (state.uidvalidity, state.last_uid) if state else None
