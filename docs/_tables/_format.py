"""Helpers shared by the flagging tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal


def cells(value: Decimal | None) -> str:
    """A cells/µL limit as written in the docs: ``4,000``; ``—`` when there is none."""
    return "—" if value is None else f"{int(value):,}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_escape(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")
