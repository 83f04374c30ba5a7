"""A result value written as text: its leading number and the unit written after it.

One reading for both readers, so that a count sent as text (HL7 v2 ST ``0.4 x10^9/L``, a FHIR
``valueString`` of the same words) reads the same whichever way it came.
"""

from __future__ import annotations

import re
from decimal import Decimal

from leukoflag._range_text import parse_decimal, read_decimal_comma
from leukoflag.errors import UnitError
from leukoflag.model import Number

__all__ = ["COMPARATORS", "leading_number", "names_unit", "read_number", "split_comparator"]

COMPARATORS = ("<=", ">=", "<>", "<", ">", "=")
_DIGITS = frozenset("0123456789")
# A number with a unit written against it (``3.1K/uL``): read only when the rest is a unit
_GLUED = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(\D\S*)")


def split_comparator(text: str) -> tuple[str, str]:
    """(comparator, rest) for a text that may start with ``<``, ``<=``, ``>``, ``>=``, ``=``."""
    for sign in COMPARATORS:
        if text.startswith(sign):
            return sign, text[len(sign) :].lstrip()
    return "", text


def read_number(text: str) -> tuple[Decimal | None, bool]:
    """A number, plain or (tried only when not plain) with a decimal comma (``4,2``, read as
    the range texts are), and whether it was the comma."""
    value = parse_decimal(text)
    if value is not None:
        return value, False
    value, _ = read_decimal_comma(text)
    return value, value is not None


def leading_number(text: str) -> tuple[Number | None, bool]:
    """A text that is a number (with comparator and a trailing comment holding no digit, or one
    that is a unit: ``0.4 x10^9/L``), and whether it was written with a decimal comma."""
    sign, rest = split_comparator(text.strip())
    if sign == "<>":
        return None, False
    if "\u00a0" in rest:  # a no-break space before the unit ('0.4\u00a0x10^9/L') is a space
        rest = rest.replace("\u00a0", " ")
    head, _, comment = rest.partition(" ")
    value, comma = read_number(head)
    if value is None and not comment:
        # '3.1K/uL': the unit written against the number, read when the rest is a unit
        glued = _GLUED.fullmatch(head)
        if glued is None or not names_unit(glued[2]):
            return None, False
        value, comment = Decimal(glued[1]), glued[2]
    if comment.endswith(".") and names_unit(comment[:-1]):
        comment = comment[:-1]  # '0.4 x10^9/L.': a full stop after the unit ends the sentence
    if value is None or (any(c in _DIGITS for c in comment) and not names_unit(comment)):
        return None, False
    return Number(value, text, "" if sign == "=" else sign, comment.strip()), comma


def names_unit(comment: str) -> bool:
    """Whether a comment holding digits after a text value's number is a unit the units table
    reads (``x10^9/L``, ``10*3/uL``, ``10³/µL``), as a comment without digits may be
    (``450 cells/uL``); otherwise the digits say more than a note (``3.1 2.9``, ``3.1 1``: a
    second number, not UCUM's unity)."""
    from leukoflag.units import resolve_unit  # noqa: PLC0415  (a comment with digits only)

    text = comment.strip()
    if parse_decimal(text) is not None:
        return False
    try:
        resolve_unit(text)
    except UnitError as exc:
        return exc.reason == "refused-unit"
    return True
