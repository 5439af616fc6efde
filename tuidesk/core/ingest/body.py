"""The text a ticket shows for a mail: the preferred body part as text, and its new part.

003's ``body_parts_order`` (default ``text/html,text/plain``) picks the part: HTML first, as
003 recommends so inline images stay in place, rendered as readable text (links kept, quotes
as ``>``); the first part in the order that has text wins, any part when none does. The HTML
itself is stored unchanged next to it.

Most mailboxes keep the default order and patterns, so ``parse_mail`` computes that body
already on the parse worker (``ParsedMail.default_body``); ``body_text`` only does the work
again for a mailbox with settings of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuidesk.core.ingest.html_text import html_to_text
from tuidesk.core.ingest.reply_text import DEFAULT_PATTERNS, ReplyPatterns, new_part
from tuidesk.core.ingest.reply_text import normalise_newlines as _newlines

if TYPE_CHECKING:
    from tuidesk.core.ingest.parse import ParsedMail
    from tuidesk.core.ingest.policy import MailboxPolicy

__all__ = ["DEFAULT_ORDER", "BodyText", "body_of", "body_text", "html_to_text", "preferred_text"]

DEFAULT_ORDER = ("text/html", "text/plain")


@dataclass(frozen=True)
class BodyText:
    full_text: str  # the whole preferred part, as text
    new_part: str  # what the sender wrote, without quoted mail and signature


def _first(order: tuple[str, ...], parts: dict[str, Callable[[], str]]) -> str:
    for kind in (*order, *DEFAULT_ORDER):
        text = parts[kind]()
        if text.strip():
            return _newlines(text).strip("\n").rstrip()
    return ""


def body_of(
    text: str,
    html_text: str,
    order: tuple[str, ...] = DEFAULT_ORDER,
    patterns: ReplyPatterns = DEFAULT_PATTERNS,
) -> BodyText:
    """The body of a mail with these text and rendered HTML parts."""
    full = _first(order, {"text/plain": lambda: text, "text/html": lambda: html_text})
    return BodyText(full_text=full, new_part=new_part(full, patterns))


def preferred_text(mail: ParsedMail, order: tuple[str, ...] = DEFAULT_ORDER) -> str:
    """The first body part in ``order`` that has text, as text."""
    return _first(order, {"text/plain": lambda: mail.text, "text/html": lambda: _html(mail)})


def _html(mail: ParsedMail) -> str:
    if mail.html_text or not mail.html:
        return mail.html_text
    return html_to_text(mail.html)  # a ParsedMail built by hand, without the rendering


def body_text(mail: ParsedMail, policy: MailboxPolicy | None = None) -> BodyText:
    order = policy.body_parts_order if policy is not None else DEFAULT_ORDER
    patterns = policy.reply_patterns if policy is not None else None
    if mail.default_body is not None and order == DEFAULT_ORDER and patterns is None:
        return mail.default_body
    full = preferred_text(mail, order)
    return BodyText(full_text=full, new_part=new_part(full, patterns or DEFAULT_PATTERNS))
