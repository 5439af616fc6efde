"""A Footer that rebuilds its keys only when the keys it would show have changed.

Textual's Footer recomposes every time the screen says its bindings changed; opening a screen
says so several times in a row (mount, focus, children that can take focus) with the same keys,
and each rebuild restyles every key. This one compares what it would show with what it shows.

It leaves the command palette's key out by default: the footer must fit a screen's keys and
the mode keys in 80 columns, and ctrl+p is listed in the help panel (?) with every other key.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: Hashable = None

    def __init__(self, *, show_command_palette: bool = False, **kwargs: Any) -> None:
        super().__init__(show_command_palette=show_command_palette, **kwargs)

    def _keys(self, screen: Screen) -> Hashable:
        return tuple(
            (key, binding.action, binding.description, enabled, binding.group)
            for key, (_node, binding, enabled, _tooltip) in screen.active_bindings.items()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        keys = self._keys(screen)
        if keys == self._shown and self._bindings_ready:
            return
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        if self.is_attached:
            self._shown = self._keys(self.screen)
        await super().recompose()
