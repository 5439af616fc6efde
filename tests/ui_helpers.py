"""Plain helpers for the UI tests (not fixtures: importing them needs no pytest plugin)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

FIXED_NOW = datetime(2025, 3, 14, 9, 30)
"""'Now' for the demo data and the app's clock, so ages and snapshots never drift."""


async def wait_until(
    pilot: Pilot[Any],
    condition: Callable[[], bool],
    timeout: float = 15,
    explain: Callable[[], str] = lambda: "",
) -> None:
    """Let the app run until ``condition()`` holds (without pressing anything); fail after
    ``timeout`` seconds, saying ``explain()`` (a guard against a hang, not a measure of speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the condition did not become true in time {explain()}")
        await pilot.pause(0.05)


def shown(widget: Static) -> str:
    """The plain text a Static shows."""
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)
