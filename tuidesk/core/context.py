"""What every entry point (CLI command, TUI, poller) is given: settings, paths, the database."""

from __future__ import annotations

from dataclasses import dataclass

from tuidesk.core.paths import Paths
from tuidesk.core.settings import Settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    paths: Paths
    database: str  # a file path or a URL, already resolved from --db, TUIDESK_DB and settings
    debug: bool = False
    demo: bool = False

    def connect(self):  # -> peewee.Database
        from tuidesk.core.store.db import connect

        return connect(self.database, busy_timeout_ms=self.settings.busy_timeout_ms)
