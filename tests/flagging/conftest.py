"""Flagging tests run against leukoflag.units.

While ``leukoflag.units.count_per_ul`` is still the placeholder (units branch not merged), a
minimal stand-in covering the spellings these tests use replaces it. The fixture is inert once the
real implementation is there (it only checks that the placeholder raises NotImplementedError);
delete this file after the units merge.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag import units
from leukoflag.errors import UnitError
from leukoflag.model import Unit

_FACTORS = {"/uL": 0, "cells/uL": 0, "10*3/uL": 3, "K/uL": 3, "10*9/L": 3, "x10E3/uL": 3}


def _stand_in(value: Decimal | str | int, unit: str | Unit | None, analyte: str = "wbc") -> Decimal:
    spelling = unit.code or unit.text if isinstance(unit, Unit) else (unit or "")
    if not spelling:
        raise UnitError("no unit", spelling="", reason="no-unit")
    if spelling == "%":
        raise UnitError("a percent is not a count", spelling=spelling, reason="percent")
    if spelling == "10*12/L":
        raise UnitError("10*12/L is a red-cell unit", spelling=spelling, reason="wrong-analyte")
    if spelling not in _FACTORS:
        raise UnitError(f"unknown unit {spelling!r}", spelling=spelling, reason="unknown-unit")
    converted = Decimal(value).scaleb(_FACTORS[spelling])
    if converted < 0 or converted > 1_000_000:
        raise UnitError(
            f"{converted} cells/µL is implausible", spelling=spelling, reason="implausible"
        )
    return converted


@pytest.fixture(autouse=True)
def _units_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        units.count_per_ul("1", "/uL")
    except NotImplementedError:
        monkeypatch.setattr(units, "count_per_ul", _stand_in)
