"""Input quoted in Issue texts and Rejected reasons, bounded.

A field can be megabytes long; an Issue that quoted it whole (or once per repair inside it)
would make the report grow with the input, even quadratically. A long quote keeps its start, an
ellipsis and the full length: enough to find the field, bounded whatever was sent.
"""

from __future__ import annotations

__all__ = ["LONGEST_QUOTE", "defect", "listed", "quoted", "shortened"]

# Characters of input an Issue quotes at most (short quotes are exactly ``repr(text)``).
LONGEST_QUOTE = 80


def shortened(text: str, longest: int = LONGEST_QUOTE) -> str:
    """``text``, or when longer than ``longest`` characters its start, ``…`` and its length:
    ``abcd… (10,000 characters)``."""
    if len(text) <= longest:
        return text
    return f"{text[:longest]}… ({len(text):,} characters)"


def listed(shown: list[str], total: int) -> str:
    """``shown`` (the first few of ``total`` items, quoted) joined by commas, and how many more
    there are: ``'Q5', 'Q6', 'Q7' and 49,992 more``."""
    more = total - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def quoted(value: object, longest: int = LONGEST_QUOTE) -> str:
    """``repr(value)``; a string longer than ``longest`` characters as the ``repr`` of its start,
    ``…`` and its length: ``'10^3/uL^10^3…' (10,000 characters)``. Anything else (a JSON value
    that should have been a string) as its ``repr``, shortened alike."""
    if isinstance(value, str):
        if len(value) <= longest:
            return repr(value)
        return f"{value[:longest]!r}… ({len(value):,} characters)"
    return shortened(repr(value), longest)


def defect(doing: str, exc: BaseException) -> str:
    """The reason of a rejection for a defect of leukoflag's own (``doing``: ``read this
    message``), naming the exception; its text bounded, as it may quote the input."""
    return (
        f"leukoflag could not {doing} ({type(exc).__name__}: {shortened(str(exc), 200)}); "
        "please report it"
    )
