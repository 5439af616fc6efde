"""What the poller needs from any mail source, whatever its protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

HELD_KEYWORD = "$TuideskHeld"
ERROR_KEYWORD = "$TuideskError"
TOO_LARGE_KEYWORD = "$TuideskTooLarge"


@dataclass(frozen=True)
class RemoteMail:
    """One message on the server, identified as the ledger keys it."""

    key: str
    size: int = 0
    folder: str = ""
    uidvalidity: int | None = None
    uid: int | None = None
    uidl: str = ""
    internal_date: datetime | None = None
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FetchedMail:
    remote: RemoteMail
    raw: bytes  # the whole message, or only its header when headers_only
    headers_only: bool = False
    full: bytes | None = None  # the whole too-large message, when it was saved aside


@dataclass
class SourceFacts:
    """What ``mailbox test`` reports: each step as it happened."""

    steps: list[tuple[str, str]] = field(default_factory=list)
    listener: Callable[[str, str], None] | None = None

    def add(self, step: str, detail: str) -> None:
        self.steps.append((step, detail))
        if self.listener is not None:
            self.listener(step, detail)


# Disposition actions a source understands; a source that cannot do one says so in the trace.
ACTIONS = ("move", "delete", "mark_seen", "flag", "unflag")

Trace = Callable[[str, str], None]  # (level, text)


class MailSource(Protocol):
    """A connected mailbox. Every method may raise MailError with a clear sentence."""

    def connect(self) -> None: ...

    def close(self) -> None: ...

    def pending(self, is_known: Callable[[Sequence[str]], set[str]]) -> list[RemoteMail]:
        """Messages not yet in the ledger, oldest first (``is_known`` filters keys)."""
        ...

    def fetch(
        self, batch: Sequence[RemoteMail], max_size: int, keep_big: bool
    ) -> list[FetchedMail]:
        """Download ``batch``; mail over ``max_size`` comes back as headers only."""
        ...

    def apply(self, action: str, mails: Sequence[RemoteMail], argument: str = "") -> None:
        """Run a disposition on the server for ``mails`` (argument: folder or keyword)."""
        ...

    def list_all(self) -> list[RemoteMail]:
        """Every message in the source, for `mailbox content`."""
        ...

    def fetch_one(self, remote: RemoteMail) -> bytes: ...
