"""A Footer that rebuilds its keys only when the keys it would show have changed.

Textual's Footer recomposes every time the screen says its bindings changed; opening a screen
says so several times in a row (mount, focus, children that can take focus) with the same keys,
and each rebuild restyles every key. This one compares what it would show with what it shows.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: Hashable = None

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
