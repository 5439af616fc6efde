"""Keep secrets out of every line tuidesk writes.

Every password, client secret and token tuidesk reads is registered here the moment it is
read; ``redact()`` replaces each of them in any text before it goes to a trace line, a log
line, an exception message shown to a person, or a screen.
"""

from __future__ import annotations

import base64
import threading

MASK = "••••••"
_MIN_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> str | None:
    """Remember ``value`` (and its common encodings) as a secret; return it unchanged."""
    if not value or len(value) < _MIN_LENGTH:
        return value
    forms = {value, base64.b64encode(value.encode()).decode()}
    with _lock:
        _secrets.update(forms)
    return value


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by a mask."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask(value: str | None) -> str:
    """What a screen shows in place of a stored secret."""
    return MASK if value else ""
