"""The command palette's tuidesk commands (ctrl+p): themes, and the queue's filters and sorts."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tuidesk.ui.screens.queue import STATUS_LABELS, QueueScreen
from tuidesk.ui.widgets.ticket_table import COLUMNS, SORT_LABELS

if TYPE_CHECKING:
    from tuidesk.ui.app import TuideskApp

Command = tuple[str, Callable[[], object], str]  # (name, callback, help)


class TuideskCommands(Provider):
    """Commands that depend on what is on screen: queue commands only on the queue."""

    def commands(self) -> list[Command]:
        app: TuideskApp = self.app  # type: ignore[assignment]
        found: list[Command] = [
            (
                f"Switch theme: {name}",
                partial(app.switch_theme, name),
                "use this theme from now on (saved in the settings)",
            )
            for name in sorted(app.available_themes)
        ]
        screen = self.screen
        if isinstance(screen, QueueScreen):
            found += self._queue_commands(screen)
        return found

    def _queue_commands(self, screen: QueueScreen) -> list[Command]:
        found: list[Command] = [
            (
                f"Queue: {label.lower()} tickets",
                partial(screen.action_status, status),
                f"show the {label.lower()} tickets",
            )
            for status, label in STATUS_LABELS.items()
        ]
        found += [
            (
                f"Queue: sort by {SORT_LABELS[key]}",
                partial(screen.sort_by, key),
                "order the queue by this column",
            )
            for key, _header, _width in COLUMNS
        ]
        found += [
            ("Queue: reverse the order", screen.action_reverse_sort, "flip the sort direction"),
            ("Queue: search", screen.action_focus_search, "find by subject, number or contact"),
            ("Queue: clear the search", screen.action_clear_search, "show every ticket again"),
            ("Queue: only my tickets (toggle)", screen.action_toggle_mine, "assigned to you"),
            ("Queue: refresh", screen.action_refresh, "read the queue again"),
        ]
        return found

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
