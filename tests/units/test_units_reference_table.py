"""Every spelling of the shared reference table (reference/units.md), with the factor written
there by hand (not read from the data file), and the traps each one is a bug in some converter."""

from __future__ import annotations

from decimal import Decimal

import pytest

import leukoflag
from leukoflag.model import Unit
from leukoflag.units import UnitKind, normalize, resolve_unit

THOUSAND = [
    # UCUM codes
    "10*3/uL",
    "10^3/uL",
    "10*9/L",
    "10*3/mm3",
    "10*6/mL",
    "/nL",
    # lab spellings
    "K/uL",
    "K/mcL",
    "K/mm3",
    "K/cmm",
    "x10E3/uL",
    "10E3/uL",
    "x10^3/uL",
    "x10\\S\\3/uL",  # HL7 escape of ^ left in place by a reader that did not decode it
    "x10(3)/uL",
    "thou/uL",
    "th/cmm",
    "thousand/cmm",
    "x1000/uL",
    "1000/uL",
    "Tsd/µl",
    "x10^9/L",
    "x 10^9/l",
    "10E9/L",
    "x10E9/L",
    "X10(9)/L",
    "BILL/L",
    "billion per liter",
    "G/L",
    "G/l",
    "giga.l-1",
    "/nl",
    "/nanoliter",
]

ONE = [
    "/uL",
    "{cells}/uL",
    "cells/uL",
    "cells/µL",  # micro sign U+00B5
    "cells/μL",  # Greek small letter mu U+03BC
    "/µL",
    "#/uL",
    "/mm3",
    "cells/mm3",
    "/cmm",
    "/cumm",
    "/cu mm",
    "10*6/L",
]

REJECTED = [
    ("%", "percent"),
    ("1", "fraction"),
    ("{ratio}", "fraction"),
    ("g/L", "wrong-analyte"),
    ("g/dL", "wrong-analyte"),
    ("M/uL", "wrong-analyte"),
    ("mil/cmm", "wrong-analyte"),
    ("x10E6/uL", "wrong-analyte"),
    ("10*12/L", "wrong-analyte"),
    ("/[HPF]", "wrong-analyte"),
]


@pytest.mark.parametrize("spelling", THOUSAND)
@pytest.mark.parametrize("analyte", ["wbc", "anc"])
def test_thousands_spellings_multiply_by_1000(spelling: str, analyte: str) -> None:
    assert leukoflag.count_per_ul("4.5", spelling, analyte) == Decimal(4500)


@pytest.mark.parametrize("spelling", ONE)
@pytest.mark.parametrize("analyte", ["wbc", "anc"])
def test_per_microlitre_spellings_keep_the_value(spelling: str, analyte: str) -> None:
    assert leukoflag.count_per_ul("4500", spelling, analyte) == Decimal(4500)


@pytest.mark.parametrize(("spelling", "reason"), REJECTED)
@pytest.mark.parametrize("analyte", ["wbc", "anc"])
def test_other_units_are_refused_with_their_reason(
    spelling: str, reason: str, analyte: str
) -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("4.5", spelling, analyte)
    assert caught.value.reason == reason
    assert caught.value.spelling == spelling
    assert repr(spelling) in str(caught.value)


@pytest.mark.parametrize("spelling", [*THOUSAND, *ONE])
def test_reference_spellings_resolve_to_counts(spelling: str) -> None:
    assert resolve_unit(spelling).kind is UnitKind.COUNT


# --------------------------------------------------------------------------------- traps


def test_k_per_ul_is_thousands_not_kelvin() -> None:
    pint = pytest.importorskip("pint")
    plain = pint.UnitRegistry()
    assert str(plain.parse_units("K/uL")) == "kelvin / microliter"  # the trap exists
    spec = resolve_unit("K/uL")
    assert (spec.ucum, spec.factor, spec.dimension) == (
        "10*3/uL",
        Decimal(1000),
        "1 / [length] ** 3",
    )


def test_giga_per_litre_is_not_gauss_and_not_grams() -> None:
    pint = pytest.importorskip("pint")
    plain = pint.UnitRegistry()
    assert str(plain.parse_units("G/L")) == "gauss / liter"  # the trap exists
    assert leukoflag.count_per_ul("3.1", "G/L") == Decimal(3100)
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.1", "g/L")
    assert caught.value.reason == "wrong-analyte"


def test_ucum_ten_star_three_is_a_thousand_not_thirty() -> None:
    pint = pytest.importorskip("pint")
    plain = pint.UnitRegistry()
    assert plain.Quantity("10*3/uL").magnitude == 30  # the trap exists
    assert leukoflag.count_per_ul("2", "10*3/uL") == Decimal(2000)


def test_thou_is_a_thousand_cells_not_a_thousandth_of_an_inch() -> None:
    pint = pytest.importorskip("pint")
    plain = pint.UnitRegistry()
    assert plain.Quantity(1, "thou").to("inch").magnitude == pytest.approx(0.001)  # the trap
    assert leukoflag.count_per_ul("7.25", "thou/uL") == Decimal(7250)


def test_cells_per_ul_is_one_cell_not_a_thousand() -> None:
    count = normalize("650", "cells/uL", "anc")
    assert count.value_per_ul == Decimal(650)
    assert (count.ucum, count.factor) == ("/uL", Decimal(1))


@pytest.mark.parametrize("mu", ["\u00b5", "\u03bc"])
@pytest.mark.parametrize(
    ("template", "expected"),
    [("cells/{}L", 1), ("K/{}L", 1000), ("x10^3/{}L", 1000), ("/{}l", 1), ("Tsd/{}l", 1000)],
)
def test_both_mu_characters_mean_micro(mu: str, template: str, expected: int) -> None:
    assert leukoflag.count_per_ul("3", template.format(mu)) == 3 * expected


def test_hl7_escaped_caret_arrives_decoded_and_matches() -> None:
    # OBX-6 "x10\S\3/uL" is decoded by the reader to "x10^3/uL"
    count = normalize("5.1", Unit(text="x10^3/uL"), "wbc")
    assert count.value_per_ul == Decimal(5100)
    assert not count.matched_tolerantly


def test_hl7_escape_left_in_place_still_matches_tolerantly() -> None:
    count = normalize("5.1", "x10\\S\\9/L", "wbc")
    assert count.value_per_ul == Decimal(5100)
    assert count.matched_tolerantly
    assert count.ucum == "10*9/L"


def test_split_caret_unit_rejoined_by_the_reader_matches() -> None:
    # OBX-6 "10^3/uL" with an unescaped ^ splits into CWE.1 "10" and CWE.2 "3/uL"; the reader
    # re-joins them into one text
    assert leukoflag.count_per_ul("4.0", Unit(text="10^3/uL")) == Decimal(4000)


@pytest.mark.parametrize(
    ("value", "spelling", "expected", "digits"),
    [
        ("8.20", "K/uL", "8200", 3),
        ("8.2", "giga.l-1", "8200", 2),
        ("0.50", "10*9/L", "500", 2),
        ("12.345", "x10E3/uL", "12345", 5),
        ("6800", "cells/uL", "6800", 4),
        ("7", "/nL", "7000", 1),
    ],
)
def test_significant_figures_are_kept(
    value: str, spelling: str, expected: str, digits: int
) -> None:
    result = leukoflag.count_per_ul(value, spelling)
    assert result == Decimal(expected)
    assert len(result.as_tuple().digits) == digits


def test_result_is_exact_not_a_float_approximation() -> None:
    result = leukoflag.count_per_ul("8.2", "giga.l-1")
    assert result == Decimal("8200")
    assert f"{result:f}" == "8200"
    assert str(float(result)) == "8200.0"
