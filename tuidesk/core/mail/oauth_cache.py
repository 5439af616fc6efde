"""The token cache file: msal's ``SerializableTokenCache`` in a 0600 file (``Paths.token_cache``)
and tuidesk's sidecar next to it (other providers' tokens, which Microsoft account signed in for
which mailbox), locked while used and written only when changed; one ``TokenStore`` per path.

msal is imported only when the msal cache is first used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuidesk.core.paths import Paths, write_private_file
from tuidesk.core.redact import register_secret


class TokenStore:
    """msal's cache file and tuidesk's sidecar; ``locked()`` reloads what another process
    wrote, and saves on exit only what changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sidecar = path.with_name(path.stem + "-tuidesk.json")
        self.lock_path = path.with_name(path.name + ".lock")
        self._lock = threading.RLock()
        self._depth = 0
        self._cache: Any = None
        self._stamp: tuple[int, int] | None = None
        self._state: dict[str, dict[str, Any]] = {}
        self._state_stamp: tuple[int, int] | None = None
        self._state_changed = False

    @contextlib.contextmanager
    def locked(self) -> Iterator[TokenStore]:
        """Hold the file lock (other processes) and the thread lock; re-entrant."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
            self._depth = 1
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._reload()
                try:
                    yield self
                finally:
                    self._save()
            finally:
                self._depth = 0
                os.close(fd)  # closing releases the lock

    @property
    def cache(self):
        if self._cache is None:
            import msal

            self._cache = msal.SerializableTokenCache()
            self._reload()
        return self._cache

    def _reload(self) -> None:
        """Read what changed on disk; a damaged file counts as empty (sign in again)."""
        stamp = _stamp(self.path)
        if self._cache is not None and stamp != self._stamp:
            data = _read_json(self.path) if stamp else {}
            self._cache.deserialize(json.dumps(data))
            self._stamp = stamp
            for kind in ("AccessToken", "RefreshToken"):
                for entry in (data.get(kind) or {}).values():
                    register_secret(entry.get("secret"))
        stamp = _stamp(self.sidecar)
        if stamp != self._state_stamp:
            self._state = _read_json(self.sidecar) if stamp else {}
            self._state_stamp = stamp
            for entry in self._state.get("tokens", {}).values():
                register_secret(entry.get("access_token"))
                register_secret(entry.get("refresh_token"))

    def _save(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            write_private_file(self.path, self._cache.serialize().encode())
            self._stamp = _stamp(self.path)
        if self._state_changed:
            write_private_file(self.sidecar, json.dumps(self._state, indent=1).encode())
            self._state_stamp = _stamp(self.sidecar)
            self._state_changed = False

    def get(self, section: str, key: str) -> dict[str, Any] | None:
        return self._state.get(section, {}).get(key)

    def put(self, section: str, key: str, value: dict[str, Any] | None) -> None:
        entries = self._state.setdefault(section, {})
        if value is None:
            if entries.pop(key, None) is not None:
                self._state_changed = True
        elif entries.get(key) != value:
            entries[key] = value
            self._state_changed = True

    def merge(self, serialized: str) -> None:
        """Add the entries of another msal cache (a sign-in made outside the lock)."""
        mine = json.loads(self.cache.serialize())
        for kind, entries in json.loads(serialized).items():
            mine.setdefault(kind, {}).update(entries)
        self.cache.deserialize(json.dumps(mine))
        self.cache.has_state_changed = True


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size)


_stores: dict[Path, TokenStore] = {}
_registry_lock = threading.Lock()  # guards _stores, and the msal apps of oauth_microsoft


def token_store(path: Path | None = None) -> TokenStore:
    path = Path(path or Paths.resolve().token_cache)
    with _registry_lock:
        return _stores.setdefault(path, TokenStore(path))
