"""A reference range's text is read in time linear in its length: an OBX-7 or a FHIR
referenceRange.text of tens of thousands of characters (a comment pasted into the range field)
is read as fast as the same length of any other field, not scanned once per word or space."""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal
from types import FrameType
from typing import Any

import pytest

from leukoflag._range_text import read_range_text, why_no_limits

# A range typed with a comment after it, padded out, or repeated by a broken template: all
# about 20,000 characters.
_LONG_TEXTS = {
    "comment": "4.0-11.0 10*9/L " + "see comment on the report " * 800,
    "padding": "4.0-11.0" + " " * 20_000 + "adult",
    "unclosed notes": "4.0-11.0 " + " (see note" * 2_000,
    "padded labels": "M" + " " * 20_000 + "4,0-10,0 V 4,5-11,0",
    "ages": "4.0-11.0 " + "1 y " * 5_000,
}
# Characters string methods may go through per character of the text: a few passes
_PASSES = 60


# Methods given where to start and stop: how much of the string they go through is not known
_BOUNDED = frozenset(("find", "rfind", "index", "rindex", "startswith", "endswith"))


def _characters_scanned(read: Callable[[], object]) -> int:
    """The characters of the strings whose methods ``read`` calls, each call counted whole (but
    for those given a start)."""
    read()  # the data files (labels of sexes, age words) are loaded once, not counted
    scanned = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal scanned
        owner = getattr(arg, "__self__", None)
        if event == "c_call" and isinstance(owner, str) and arg.__name__ not in _BOUNDED:
            scanned += len(owner)

    sys.setprofile(count)
    try:
        read()
    finally:
        sys.setprofile(None)
    return scanned


@pytest.mark.parametrize("text", _LONG_TEXTS.values(), ids=_LONG_TEXTS.keys())
def test_a_long_range_text_is_read_in_a_few_passes(text: str) -> None:
    assert _characters_scanned(lambda: (read_range_text(text), why_no_limits(text))) <= (
        _PASSES * len(text)
    )


def test_a_long_range_text_still_reads_its_limits_and_label() -> None:
    read = read_range_text(_LONG_TEXTS["padding"])[0]
    assert (read.low, read.high, read.adults) == (Decimal("4.0"), Decimal("11.0"), True)
    read = read_range_text(_LONG_TEXTS["comment"])[0]
    assert (read.low, read.high, read.adults) == (Decimal("4.0"), Decimal("11.0"), False)
    assert why_no_limits(_LONG_TEXTS["padded labels"]) == (
        "it gives limits under 'M' and 'V', but the letters 'M' and 'V' name men and women either "
        "way round ('M' women in Spanish but 'M' men in Dutch): which range is whose is not known"
    )
