"""The messages that workers post back to screens (one place, as dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tuidesk.core.queue import QueueRow


@dataclass
class QueuePageLoaded(Message):
    """A page of the queue arrived from the database.

    ``generation`` tells a page of the current filter from a late one of a previous filter;
    ``counts`` (per status filter) comes with the first page of a filter only.
    """

    generation: int
    offset: int
    rows: list[QueueRow]
    counts: dict[str, int] | None


@dataclass
class QueueLoadFailed(Message):
    """Reading the queue failed; ``error`` is a sentence for the operator."""

    generation: int
    error: str
