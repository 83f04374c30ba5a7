"""Unit normalization of white-cell and neutrophil counts to cells/µL.

Contract (keep these signatures; the units work replaces this placeholder):

* ``count_per_ul(value: Decimal | str | int, unit: str | Unit | None, analyte: str = "wbc")
  -> Decimal`` raises :class:`leukoflag.UnitError`.
"""

from __future__ import annotations

from decimal import Decimal

from leukoflag.model import Unit

__all__ = ["count_per_ul"]


def count_per_ul(
    value: Decimal | str | int, unit: str | Unit | None, analyte: str = "wbc"
) -> Decimal:
    raise NotImplementedError  # placeholder until leukoflag.units lands
