"""HTML mail as readable plain text: paragraphs, lists, quotes and links kept (003's 2.6.12).

A ticket shows text in a terminal, and the "new part" of a reply is found in text, so HTML is
rendered the way a mail client's plain-text view would show it:

- block elements end lines, paragraphs are separated by a blank line;
- ``<blockquote>`` content is prefixed with ``> `` per level, so a quoted HTML reply is cut
  by the same rules as a quoted plain-text one;
- links keep their target: ``label (https://…)`` (the target alone when there is no label,
  nothing added when the label already is the target);
- list items become ``- item`` or ``1. item``; table cells are separated by `` | ``;
- ``<pre>`` keeps its whitespace; scripts, styles and comments are dropped;
- images show their alt text as ``[image: alt]``; images without alt text (spacers, tracking
  pixels, signature logos) show nothing.

Built on the standard library's tolerant ``HTMLParser``: broken markup never raises. The text
stays about as long as the markup, whatever the nesting: quote prefixes and list indents stop
growing after ``MAX_NESTING`` levels, and a link opened inside a link closes the first one (as
browsers do), so thousands of unclosed tags cannot multiply the output or the memory.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_WHITESPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "dl", "figure", "address"}
)
_LINE = frozenset(
    {
        "div",
        "tr",
        "dt",
        "dd",
        "section",
        "article",
        "header",
        "footer",
        "center",
        "form",
        "fieldset",
        "main",
        "nav",
        "aside",
        "figcaption",
        "caption",
        "tbody",
        "thead",
        "tfoot",
    }
)
_LINK_SCHEMES = ("http://", "https://", "ftp://", "mailto:")
MAX_NESTING = 20  # quote and list levels shown; deeper ones are shown at this level


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.depth = 0  # blockquote nesting
        self.blank_owed = False  # a paragraph break before the next text
        self.blank_depth = 0  # the quote level that break belongs to
        self.skipping = 0
        self.pre = 0
        self.lists: list[list] = []  # [kind, counter]
        self.links: list[tuple[str, list[str]]] = []
        self.cells = 0  # cells seen in the current table row

    # --- line assembly ---------------------------------------------------------------------

    def _end_line(self) -> None:
        if self.buf:
            text = "".join(self.buf).rstrip()
            self.buf = []
            if self.blank_owed and self.lines and self.lines[-1].strip("> "):
                level = min(self.blank_depth, self.depth, MAX_NESTING)
                self.lines.append(("> " * level).rstrip())
            self.blank_owed = False
            self.lines.append(self._prefix() + text)

    def _paragraph(self) -> None:
        self._end_line()
        self.blank_depth = min(self.blank_depth, self.depth) if self.blank_owed else self.depth
        self.blank_owed = True

    def _prefix(self) -> str:
        return "> " * min(self.depth, MAX_NESTING)

    def _write(self, text: str) -> None:
        if not text:
            return
        for links in self.links:
            links[1].append(text)
        self.buf.append(text)

    # --- parser callbacks --------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag == "br":
            if self.buf:
                self._end_line()
            else:
                self.lines.append(self._prefix().rstrip())
        elif tag == "blockquote":
            self._paragraph()
            self.depth += 1
        elif tag in ("ul", "ol"):
            if not self.lists:
                self._paragraph()
            else:
                self._end_line()
            self.lists.append([tag, 0])
        elif tag == "li":
            self._end_line()
            indent = "  " * min(max(len(self.lists) - 1, 0), MAX_NESTING)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self._write(f"{indent}{self.lists[-1][1]}. ")
            else:
                self._write(f"{indent}- ")
        elif tag == "pre":
            self._paragraph()
            self.pre += 1
        elif tag == "hr":
            self._paragraph()
            self._write("----------")
            self._paragraph()
        elif tag in ("td", "th"):
            if self.cells:
                self._write(" | ")
            self.cells += 1
        elif tag == "a":
            if self.links:  # <a> cannot nest: the open link ends here
                self._close_link()
            href = (dict(attrs).get("href") or "").strip()
            self.links.append((href, []))
        elif tag == "img":
            alt = _WHITESPACE.sub(" ", dict(attrs).get("alt") or "").strip()
            if alt:
                self._write(f"[image: {alt}]")
        elif tag in _PARAGRAPH:
            self._paragraph()
        elif tag in _LINE:
            self._end_line()
        if tag == "tr":
            self.cells = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping:
            return
        if tag == "blockquote":
            self._paragraph()
            self.depth = max(self.depth - 1, 0)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            if self.lists:
                self._end_line()
            else:
                self._paragraph()
        elif tag == "li":
            self._end_line()
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self._paragraph()
        elif tag == "a" and self.links:
            self._close_link()
        elif tag in _PARAGRAPH:
            self._paragraph()
        elif tag in _LINE:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            pieces = data.replace("\r\n", "\n").split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    self._end_line_keep_empty()
                self._write(piece)
            return
        text = _WHITESPACE.sub(" ", data)
        if not self.buf or self.buf[-1].endswith(" "):
            text = text.lstrip(" ")
        self._write(text)

    def _close_link(self) -> None:
        href, label_parts = self.links.pop()
        self._write(_link_suffix(href, "".join(label_parts)))

    def _end_line_keep_empty(self) -> None:
        if self.buf:
            self._end_line()
        else:
            self.lines.append(self._prefix().rstrip())

    def text(self) -> str:
        self._end_line()
        joined = "\n".join(line.rstrip() for line in self.lines)
        return _BLANK_RUNS.sub("\n\n", joined).strip("\n")


def _link_suffix(href: str, label: str) -> str:
    """What follows a link's label: its target, unless that says nothing new."""
    if not href.lower().startswith(_LINK_SCHEMES):
        return ""  # anchors, javascript:, cid: and relative links say nothing to a reader
    label = label.strip()
    target = href[7:] if href.lower().startswith("mailto:") else href
    bare = re.sub(r"^[a-z]+://", "", target, flags=re.I).rstrip("/")
    if label.rstrip("/") in (target.rstrip("/"), bare) or not target:
        return ""
    return f" ({target})" if label else target


def html_to_text(markup: str) -> str:
    """``markup`` rendered as plain text; never raises."""
    if not markup:
        return ""
    renderer = _Renderer()
    try:
        renderer.feed(markup)
        renderer.close()
    except Exception:  # HTMLParser is tolerant; this guards against the unforeseen
        return _WHITESPACE.sub(" ", re.sub(r"(?s)<[^>]*>", " ", markup)).strip()
    return renderer.text()
