"""The data file: every row resolves, pint agrees with every documented factor, a malformed
file is a DataFileError; and the property that conversion is value × documented factor."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag.units import UnitKind, checked_magnitude, normalize, resolve_unit, unit_table
from leukoflag.units._table import (
    DataKind,
    SpellingRow,
    UcumEntry,
    canonical,
    cited,
    load_table,
)

TABLE = unit_table()
COUNT_ROWS = [row for row in TABLE.rows if TABLE.ucum[row.ucum].kind is DataKind.COUNT]
MINIMAL = """
[sources]
test = "the test itself"
t = "the test itself"
[plausible]
low = "0"
high = "1000000"
source = "test"
[missing_unit]
readings = [{ ucum = "/uL", whole_numbers_only = true }]
source = "test"
[ucum."/uL"]
kind = "count"
factor = "1"
meaning = "per microlitre"
source = "test"
[ucum."10*3/uL"]
kind = "count"
factor = "1000"
meaning = "thousands per microlitre"
source = "test"
[spellings]
rows = [
"""


def table_with(*rows: str) -> str:
    return MINIMAL + "\n".join(rows) + "\n]\n"


@pytest.mark.parametrize("row", TABLE.rows, ids=lambda row: row.spelling)
def test_every_row_resolves_exactly_to_its_ucum_code(row: SpellingRow) -> None:
    spec = resolve_unit(row.spelling)
    assert (spec.ucum, spec.spelling, spec.matched_tolerantly) == (row.ucum, row.spelling, False)
    assert spec.source == row.seen


@pytest.mark.parametrize("entry", TABLE.ucum.values(), ids=lambda entry: entry.code)
def test_pint_agrees_with_every_documented_kind_and_factor(entry: UcumEntry) -> None:
    magnitude = checked_magnitude(entry)
    if entry.kind in (DataKind.COUNT, DataKind.RED_CELL):
        assert magnitude.dimension == "1 / [length] ** 3"
        assert magnitude.factor == entry.factor
    if entry.kind is DataKind.PERCENT:
        assert magnitude.factor == Decimal("0.01")


def test_every_row_cites_where_it_was_seen() -> None:
    assert all(row.seen.strip() for row in TABLE.rows)
    assert all(entry.source.strip() for entry in TABLE.ucum.values())


def test_reference_table_count_units_are_all_present() -> None:
    spellings = {row.spelling for row in TABLE.rows}
    assert {"K/uL", "G/L", "giga.l-1", "cells/µL", "cells/μL", "/cu mm", "10*6/L"} <= spellings


def test_documented_factor_that_disagrees_with_pint_is_a_data_file_error() -> None:
    wrong = UcumEntry("10*3/uL", DataKind.COUNT, Decimal(100), "typo", "test")
    with pytest.raises(leukoflag.DataFileError, match="factor 100 but pint computes 1E\\+3"):
        checked_magnitude(wrong)


def test_kind_that_disagrees_with_pint_dimension_is_a_data_file_error() -> None:
    mass_as_count = UcumEntry("g/L", DataKind.COUNT, Decimal(1), "typo", "test")
    with pytest.raises(leukoflag.DataFileError, match="mass"):
        checked_magnitude(mass_as_count)


def test_ucum_outside_the_translated_subset_is_a_data_file_error() -> None:
    kelvin = UcumEntry("K/uL", DataKind.COUNT, Decimal(1000), "the trap", "test")
    with pytest.raises(leukoflag.DataFileError, match="'K'"):
        checked_magnitude(kelvin)


def test_minimal_table_loads() -> None:
    table = load_table(
        table_with('{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "t" },')
    )
    assert table.lookup("k/ul") is not None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (['{ spelling = "K/uL", ucum = "10*9/L", fold = true, seen = "t" },'], "unknown UCUM"),
        (
            [
                '{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "t" },',
                '{ spelling = "K / uL", ucum = "/uL", fold = true, seen = "t" },',
            ],
            "same form",
        ),
        (
            [
                '{ spelling = "G/L", ucum = "10*3/uL", fold = false, seen = "t" },',
                '{ spelling = "g/l", ucum = "/uL", fold = true, seen = "t" },',
            ],
            "case folding would merge",
        ),
        (['{ spelling = "K/uL", ucum = "10*3/uL", fold = "yes", seen = "t" },'], "fold"),
        (['{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "" },'], "seen"),
        (['{ spelling = "K/uL", ucum = "10*3/uL", fold = true },'], "seen"),
    ],
)
def test_malformed_table_is_a_data_file_error(rows: list[str], message: str) -> None:
    with pytest.raises(leukoflag.DataFileError, match=message):
        load_table(table_with(*rows))


def test_citation_of_an_unknown_source_is_a_data_file_error() -> None:
    rows = ['{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "t; Nowhere Lab" },']
    with pytest.raises(leukoflag.DataFileError, match="cites 'Nowhere'"):
        load_table(table_with(*rows))


@pytest.mark.parametrize(
    ("citation", "names"),
    [
        ("ref", ["ref"]),
        ("ref (UCUM code); USCore; LOINC", ["ref", "USCore", "LOINC"]),
        ("UCUM: 10*3 is 1000", ["UCUM"]),
        ("Yakima; healthm (superscript 9 lost)", ["Yakima", "healthm"]),
    ],
)
def test_citations_name_their_sources(citation: str, names: list[str]) -> None:
    assert cited(citation) == names


def test_every_cited_source_is_described() -> None:
    cited_names = {name for row in TABLE.rows for name in cited(row.seen)}
    assert cited_names <= set(TABLE.sources)
    assert all(TABLE.sources[name].strip() for name in cited_names)


def test_table_that_is_not_toml_is_a_data_file_error() -> None:
    with pytest.raises(leukoflag.DataFileError, match="not valid TOML"):
        load_table("[spellings\nrows = ")


def test_same_spelling_twice_with_two_meanings_is_a_data_file_error() -> None:
    rows = [
        '{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "t" },',
        '{ spelling = "K/uL", ucum = "/uL", fold = true, seen = "t" },',
    ]
    with pytest.raises(leukoflag.DataFileError, match="same spelling"):
        load_table(table_with(*rows))


@pytest.mark.parametrize(
    ("spelling", "form"),
    [
        ("x10\\S\\3/uL", "10^3/uL"),
        ("X 10 (9) / l", "10^9/l"),
        ("×10⁹/L", "10^9/L"),
        ("K/mcL", "K/uL"),
        ("/mm³", "/mm3"),
        ("thou/cu mm", "thou/mm3"),
        ("x10E3/cumm", "10^3/mm3"),
        ("/cmmol", "/cmmol"),
        ("G/L", "G/L"),
        ("1000/uL", "1000/uL"),
        ("109/L", "109/L"),
    ],
)
def test_canonical_form(spelling: str, form: str) -> None:
    assert canonical(spelling) == form


# --------------------------------------------------------------------------------- property


@st.composite
def value_and_row(draw: st.DrawFn) -> tuple[Decimal, SpellingRow]:
    row = draw(st.sampled_from(COUNT_ROWS))
    factor = TABLE.ucum[row.ucum].factor
    assert factor is not None
    places = draw(st.integers(min_value=0, max_value=6))
    value = draw(
        st.decimals(
            min_value=0,
            max_value=TABLE.plausible_high / factor,
            places=places,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    return value, row


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(value_and_row(), st.sampled_from(["wbc", "anc"]), st.booleans())
def test_conversion_is_value_times_documented_factor(
    case: tuple[Decimal, SpellingRow], analyte: str, as_text: bool
) -> None:
    value, row = case
    factor = TABLE.ucum[row.ucum].factor
    assert factor is not None
    sent: Decimal | str = f"{value}" if as_text else value
    result = leukoflag.count_per_ul(sent, row.spelling, analyte)
    assert result == value * factor
    # significant figures as written: the digits are the value's digits
    assert result.as_tuple().digits == value.as_tuple().digits


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(value_and_row())
def test_normalize_agrees_with_count_per_ul(case: tuple[Decimal, SpellingRow]) -> None:
    value, row = case
    count = normalize(value, row.spelling, "wbc")
    assert count.value_per_ul == leukoflag.count_per_ul(value, row.spelling)
    assert count.unit.kind is UnitKind.COUNT
    assert count.factor == TABLE.ucum[count.ucum].factor


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(st.sampled_from(COUNT_ROWS), st.decimals(min_value=1, max_value=10**9, places=0))
def test_above_plausible_is_always_refused(row: SpellingRow, excess: Decimal) -> None:
    factor = TABLE.ucum[row.ucum].factor
    assert factor is not None
    value = (TABLE.plausible_high + excess) / factor
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul(value, row.spelling)
    assert caught.value.reason == "implausible"


# --------------------------------------------------------------------------------- laziness


def test_importing_leukoflag_does_not_import_pint_or_read_the_table() -> None:
    code = (
        "import sys, leukoflag, leukoflag.units as u\n"
        "assert 'pint' not in sys.modules\n"
        "assert u._table.default_table.cache_info().currsize == 0\n"
        "assert not u._pint.registry_created()\n"
        "leukoflag.count_per_ul('1', 'K/uL')\n"
        "assert 'pint' in sys.modules and u._pint.registry_created()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


REFUSED = """
[refused]
rows = [
    { spelling = "/L", why = "a count per litre without its power of ten", seen = "t" },
]
"""


def test_refused_spellings_are_refused_in_any_case_and_form_with_their_reason() -> None:
    table = load_table(
        table_with('{ spelling = "K/uL", ucum = "10*3/uL", fold = true, seen = "t" },') + REFUSED
    )
    found = table.refusal("/ l")
    assert found is not None
    assert (found.spelling, found.why) == ("/L", "a count per litre without its power of ten")
    assert table.refusal("/mL") is None
    assert table.lookup("/L") is None


@pytest.mark.parametrize("spelling", ["/L", "/l", "/ L"])
def test_a_spelling_both_read_and_refused_is_a_data_file_error(spelling: str) -> None:
    # a row for /L added after a lab sent it would read the very error [refused] exists to stop
    row = f'{{ spelling = "{spelling}", ucum = "/uL", fold = true, seen = "t" }},'
    with pytest.raises(leukoflag.DataFileError, match="is a \\[spellings\\] row and refused"):
        load_table(table_with(row) + REFUSED)


def test_a_refused_row_citing_an_unknown_source_is_a_data_file_error() -> None:
    with pytest.raises(leukoflag.DataFileError, match="cites 'Nowhere'"):
        load_table(table_with() + REFUSED.replace('seen = "t"', 'seen = "Nowhere Lab"'))


def test_every_refused_row_of_the_packaged_table_is_refused_as_such() -> None:
    assert {row.spelling for row in TABLE.refused.values()} >= {"/L", "cells/L"}
    for form, row in TABLE.refused.items():
        with pytest.raises(leukoflag.UnitError) as caught:
            leukoflag.count_per_ul("3.2", row.spelling, "wbc")
        assert (caught.value.reason, caught.value.spelling) == ("refused-unit", row.spelling)
        assert row.why in str(caught.value), form


@pytest.mark.parametrize(
    ("other_analytes", "wbc", "anc"),
    [(["platelet"], ["wbc"], ["Platelets"]), ([], ["neutrophil"], ["Neutrophils"])],
)
def test_an_annotation_word_naming_two_analytes_is_a_data_file_error(
    other_analytes: list[str], wbc: list[str], anc: list[str]
) -> None:
    # {Neutrophils} refused for a WBC and read for an ANC cannot also be read for the WBC
    annotations = (
        f"[annotations]\nother_analytes = {other_analytes}\nwbc = {wbc}\nanc = {anc}\n"
        'source = "test"\n'
    )
    with pytest.raises(leukoflag.DataFileError, match="names two analytes"):
        load_table(table_with() + annotations)
