"""The names the flagging step imports from leukoflag.units exist with the agreed shape."""

from __future__ import annotations

from decimal import Decimal

import leukoflag
from leukoflag.units import Match, NormalizedCount, UnitKind, normalize, resolve_unit


def test_count_per_ul_is_the_public_entry_point() -> None:
    assert leukoflag.count_per_ul("8.2", "giga.l-1") == Decimal(8200)


def test_normalize_reports_how_the_unit_was_found() -> None:
    count = normalize("6.8", "K/mcL", "wbc")
    assert isinstance(count, NormalizedCount)
    assert (count.value_per_ul, count.ucum, count.factor) == (
        Decimal(6800),
        "10*3/uL",
        Decimal(1000),
    )
    assert (count.spelling, count.inferred, count.matched_tolerantly) == ("K/mcL", False, False)


def test_resolve_unit_tells_a_percent_from_a_count() -> None:
    assert resolve_unit("%", "anc").kind is UnitKind.PERCENT
    assert resolve_unit("10*9/L", "anc").kind is UnitKind.COUNT
    assert resolve_unit("10*9/L", "anc").match is Match.EXACT
