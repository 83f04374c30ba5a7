"""Markdown helpers shared by the HL7 v2 tables (docs/hl7v2.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; ``|`` in cells escaped, empty cells shown as a dash."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def code(text: str) -> str:
    """Inline code, or a dash for an empty value."""
    return f"`{text}`" if text else "—"


def _cell(text: str) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")
