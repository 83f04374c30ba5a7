"""Every row of the unit table, read again from first principles by this test alone.

Neither the data file's factor nor leukoflag's pint translation is trusted here: each row's
spelling is read by a small hand-written reader of how labs write counts (magnitude word or power
of ten over a volume), and each row's UCUM code by a small hand-written UCUM evaluator with exact
fractions. Both must agree, and ``count_per_ul`` must give exactly value × that factor (or refuse
with the reason the units docs give). A row mapped to the wrong UCUM code (``cells/uL`` to
``10*3/uL``) or a UCUM entry with a wrong factor fails here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest

import leukoflag
from leukoflag.units import unit_table
from leukoflag.units._table import SpellingRow

TABLE = unit_table()

# --------------------------------------------------------------------------------- UCUM codes

# volume of one unit, in µL (1 L = 10^6 µL, 1 m3 = 10^9 µL, so 1 mm3 = 1 µL)
_UCUM_VOLUME_UL = {
    "L": Fraction(10**6),
    "l": Fraction(10**6),
    "dL": Fraction(10**5),
    "mL": Fraction(10**3),
    "uL": Fraction(1),
    "nL": Fraction(1, 10**3),
    "mm3": Fraction(1),
}
_UCUM_POWER = re.compile(r"10\*(\d+)")


def ucum_meaning(code: str) -> tuple[str, Fraction | None]:
    """(kind, factor to cells/µL or to the unity) of a UCUM code of the table, by hand."""
    if code == "%":
        return "percent", Fraction(1, 100)
    if code in ("1", "{ratio}"):
        return "fraction", Fraction(1)
    if code in ("/[HPF]", "/[LPF]"):
        return "per-field", None
    numerator, _, denominator = code.partition("/")
    if numerator in ("g", "mg"):
        return "mass", None
    if code in ("fL", "pg", "mm/h", "mmol/L"):
        return "other", None
    number = Fraction(1)
    if match := _UCUM_POWER.fullmatch(numerator):
        number = Fraction(10) ** int(match.group(1))
    else:
        assert numerator in ("", "{cells}"), code
    factor = number / _UCUM_VOLUME_UL[denominator]
    # 10^6 or more per µL is a red-cell count, never a white-cell count (reference units.md)
    return ("red-cell" if factor >= 10**6 else "count"), factor


# --------------------------------------------------------------------------------- lab spellings

_MICRO = "(?:u|µ|μ|mc|micro)"
# a volume as labs write it, in µL
_VOLUMES = [
    (rf"{_MICRO}[lL]", Fraction(1)),
    (r"(?:c|cu ?)?mm3?|cmm|cumm", Fraction(1)),
    (r"n[lL]|nanoliter", Fraction(1, 10**3)),
    (r"m[lL]", Fraction(10**3)),
    (r"[lL]|liter|l-1", Fraction(10**6)),
]
# a magnitude as labs write it: words, and powers of ten in every written form
_WORDS = {
    "": 1,
    "k": 10**3,
    "thou": 10**3,
    "th": 10**3,
    "thousand": 10**3,
    "tsd": 10**3,
    "1000": 10**3,
    "m": 10**6,
    "mil": 10**6,
    "million": 10**6,
    "bill": 10**9,
    "billion": 10**9,
    "giga": 10**9,
    "gpt": 10**9,  # giga-particles (Gpt/l, German and French labs)
}
# 10*3, 10^9, 10E3, 10e3, 10(3); 10³; and 103 or 10 3, a catalogue's superscript lost in print
_POWER = re.compile(r"10\s*(?:[*^eE]\s*(\d+)|\(\s*(\d+)\s*\)|([³⁶⁹])|(\d))")
_SUPERSCRIPT = {"³": 3, "⁶": 6, "⁹": 9}


def spelling_meaning(spelling: str) -> tuple[str, Fraction | None]:
    """(kind, factor) of a lab spelling, read without the data file."""
    text = spelling.strip()
    if text == "%":
        return "percent", Fraction(1, 100)
    if text in ("1", "{ratio}"):
        return "fraction", Fraction(1)
    if re.search(r"\[?[HhLl][Pp][Ff]\]?$", text):
        return "per-field", None
    if re.fullmatch(r"(?:g|gm|mg)/d?[lL]", text):
        return "mass", None
    if re.fullmatch(r"fL|pg|mm/hr?|mmol/L", text):
        return "other", None
    numerator, _, denominator = re.split(r"(/| per |\.)", text, maxsplit=1)
    # G (giga) only as a capital: g/L is grams (handled above)
    magnitude: int | None = 10**9 if numerator.strip() == "G" else None
    words = re.sub(r"^\s*[xX×]\s*|\{cells\}|cells|Zellen|#|WBC", "", numerator).strip()
    if magnitude is None and (match := _POWER.fullmatch(words)):
        digits = match.group(1) or match.group(2) or match.group(4)
        magnitude = 10 ** (int(digits) if digits else _SUPERSCRIPT[match.group(3)])
    if magnitude is None:
        magnitude = _WORDS[words.casefold()]
    volume = next(
        v for pattern, v in _VOLUMES if re.fullmatch(pattern, denominator.strip().lstrip("/ "))
    )
    factor = Fraction(magnitude) / volume
    return ("red-cell" if factor >= 10**6 else "count"), factor


# --------------------------------------------------------------------------------- the tests

_REASON = {
    "percent": "percent",
    "fraction": "fraction",
    "red-cell": "wrong-analyte",
    "per-field": "wrong-analyte",
    "mass": "wrong-analyte",
    "other": "wrong-dimension",
}
VALUES = ["0", "0.45", "3.7", "12.30", "250"]


def _as_decimal(fraction: Fraction) -> Decimal:
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


@pytest.mark.parametrize("row", TABLE.rows, ids=lambda row: row.spelling)
def test_spelling_means_what_its_ucum_code_means(row: SpellingRow) -> None:
    assert spelling_meaning(row.spelling) == ucum_meaning(row.ucum)


@pytest.mark.parametrize("code", sorted(TABLE.ucum), ids=str)
def test_documented_factor_is_the_ucum_codes_own(code: str) -> None:
    kind, factor = ucum_meaning(code)
    entry = TABLE.ucum[code]
    if kind in ("count", "red-cell", "percent", "fraction"):
        assert entry.factor is not None
        assert entry.factor == _as_decimal(factor)  # type: ignore[arg-type]
    assert entry.kind.value == kind


def _variants(row: SpellingRow) -> list[str]:
    """The row as sent, with each micro character, and in upper and lower case where the row
    allows case folding."""
    micro = re.compile(r"(?<![A-Za-z])(?:u|µ|μ|mc)(?=[lL])")
    variants = [row.spelling]
    variants += [micro.sub(m, row.spelling) for m in ("u", "\u00b5", "\u03bc", "mc")]
    if row.fold:
        variants += [v.upper() for v in variants] + [v.lower() for v in variants]
    return list(dict.fromkeys(variants))


COUNT_CASES = [
    (row, variant)
    for row in TABLE.rows
    if spelling_meaning(row.spelling)[0] == "count"
    for variant in _variants(row)
]
REFUSED_CASES = [
    (row, variant)
    for row in TABLE.rows
    if spelling_meaning(row.spelling)[0] != "count"
    for variant in _variants(row)
]


@pytest.mark.parametrize(("row", "spelling"), COUNT_CASES, ids=lambda c: getattr(c, "ucum", c))
@pytest.mark.parametrize("analyte", ["wbc", "anc"])
def test_count_is_exactly_value_times_the_factor(
    row: SpellingRow, spelling: str, analyte: str
) -> None:
    _kind, factor = spelling_meaning(row.spelling)
    assert factor is not None
    for value in VALUES:
        result = leukoflag.count_per_ul(value, spelling, analyte)
        assert isinstance(result, Decimal)
        assert result == Decimal(value) * _as_decimal(factor), (value, spelling)


@pytest.mark.parametrize(("row", "spelling"), REFUSED_CASES, ids=lambda c: getattr(c, "ucum", c))
@pytest.mark.parametrize("analyte", ["wbc", "anc"])
def test_other_units_are_refused_with_the_documented_reason(
    row: SpellingRow, spelling: str, analyte: str
) -> None:
    kind, _factor = spelling_meaning(row.spelling)
    expected = _REASON[kind]
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("4.5", spelling, analyte)
    assert (caught.value.reason, caught.value.spelling) == (expected, spelling)


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("g/L", "wrong-analyte"),  # grams, never giga
        ("g/l", "wrong-analyte"),
        ("g/DL", "unknown-unit"),  # neither grams nor giga as written: not guessed
        ("G/DL", "unknown-unit"),
        ("PG", "unknown-unit"),  # peta-grams in UCUM
        ("MMOL/L", "unknown-unit"),  # mega-mol in UCUM
        ("10*3/L", "unknown-unit"),  # thousands per litre: no row, never read as per µL
        ("x10E3/L", "unknown-unit"),
        ("x10^9/uL", "unknown-unit"),
        ("cells/L", "refused-unit"),  # a 10^9 lost: refused on purpose, not merely unknown
        ("/mL", "unknown-unit"),
    ],
)
def test_case_and_volume_traps_are_never_counted(spelling: str, reason: str) -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("4.5", spelling, "wbc")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("/MM3", "4.5"),  # cubic millimetres in an all-capitals feed, not megametres
        ("10*3/MM3", "4500"),
        ("K/CUMM", "4500"),
        ("/NL", "4500"),
        ("G/l", "4500"),
    ],
)
def test_capital_m_and_n_of_all_capitals_feeds_stay_milli_and_nano(
    spelling: str, expected: str
) -> None:
    assert leukoflag.count_per_ul("4.5", spelling, "anc") == Decimal(expected)
