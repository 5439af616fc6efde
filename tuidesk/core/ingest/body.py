"""The text a ticket shows for a mail: the preferred body part as text, and its new part."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

from tuidesk.core.ingest.parse import ParsedMail

_BLOCK = re.compile(r"(?is)<(br|/p|/div|/tr|/h[1-6]|/li|/blockquote)\b[^>]*>")
_DROP = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_TAG = re.compile(r"(?s)<[^>]+>")


@dataclass(frozen=True)
class BodyText:
    full_text: str
    new_part: str


def html_to_text(markup: str) -> str:
    text = _DROP.sub("", markup)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html_lib.unescape(text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_text(mail: ParsedMail) -> BodyText:
    full = mail.text.strip() if mail.text.strip() else html_to_text(mail.html)
    return BodyText(full_text=full, new_part=full)
