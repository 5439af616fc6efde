"""Plain-text tables for the headless commands (mail text is sanitised before printing)."""

from __future__ import annotations

from tuidesk.core.text import safe_text


def table(headers: list[str], rows: list[list[str]], max_width: int = 60) -> str:
    cells = [[safe_text(str(c)).replace("\n", " ")[:max_width] for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    if not rows:
        lines.append("(none)")
    return "\n".join(lines)
