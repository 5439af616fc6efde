"""The per-mailbox debug trace (003) and the lines ``--verbose`` streams to stderr.

Every line is redacted before it is kept or shown. Lines are kept in the database when the
mailbox's debug trace is on (warnings and errors always), capped at 256 KB per mailbox with the
oldest dropped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from peewee import fn

from tuidesk.core.clock import utcnow
from tuidesk.core.redact import redact
from tuidesk.core.store.models import TraceLine

TRACE_CAP_BYTES = 256 * 1024
LEVELS = ("debug", "info", "warn", "error")
ALWAYS_KEPT = {"warn", "error"}


@dataclass
class Tracer:
    mailbox_id: int | None
    mailbox_name: str
    keep: bool = False  # the mailbox's debug trace setting
    echo: bool = False  # --verbose
    listeners: list[Callable[[str, str, str], None]] = field(default_factory=list)
    _pending: list[dict] = field(default_factory=list)

    def __call__(self, level: str, text: str) -> None:
        text = redact(text)
        if self.echo:
            print(f"[{self.mailbox_name}] {level}: {text}", file=sys.stderr, flush=True)
        for listener in self.listeners:
            listener(self.mailbox_name, level, text)
        if self.mailbox_id is not None and (self.keep or level in ALWAYS_KEPT):
            self._pending.append(
                {"mailbox": self.mailbox_id, "at": utcnow(), "level": level, "text": text}
            )

    def flush(self) -> None:
        """Write the pending lines (in the caller's transaction) and enforce the cap."""
        if not self._pending or self.mailbox_id is None:
            return
        rows, self._pending = self._pending, []
        for start in range(0, len(rows), 200):
            TraceLine.insert_many(rows[start : start + 200]).execute()
        cap_trace(self.mailbox_id)


def cap_trace(mailbox_id: int, cap: int = TRACE_CAP_BYTES) -> None:
    total = (
        TraceLine.select(fn.COALESCE(fn.SUM(fn.LENGTH(TraceLine.text)), 0))
        .where(TraceLine.mailbox == mailbox_id)
        .scalar()
    )
    if total <= cap:
        return
    excess = total - cap
    dropped, cutoff = 0, None
    query = (
        TraceLine.select(TraceLine.id, fn.LENGTH(TraceLine.text).coerce(False))
        .where(TraceLine.mailbox == mailbox_id)
        .order_by(TraceLine.id)
        .tuples()
    )
    for line_id, length in query.iterator():
        dropped += length or 0
        cutoff = line_id
        if dropped >= excess:
            break
    if cutoff is not None:
        TraceLine.delete().where(
            (TraceLine.mailbox == mailbox_id) & (TraceLine.id <= cutoff)
        ).execute()
