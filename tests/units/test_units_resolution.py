"""How a unit is found: exact, tolerant, case-insensitive, UCUM code first; and every refusal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import leukoflag
from leukoflag.model import Analyte, Severity, Unit
from leukoflag.testing import builders
from leukoflag.units import (
    Match,
    UnitKind,
    issue_for,
    normalize,
    normalize_range,
    notes_for,
    resolve_unit,
)

UCUM = "http://unitsofmeasure.org"


def reason_of(value: object, unit: object, analyte: str = "wbc") -> str:
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul(value, unit, analyte)  # type: ignore[arg-type]
    return caught.value.reason


# --------------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("spelling", "ucum", "match"),
    [
        ("K/uL", "10*3/uL", Match.EXACT),
        ("K / uL", "10*3/uL", Match.TOLERANT),
        (" x10^9/L ", "10*9/L", Match.TOLERANT),
        ("x10*9/L", "10*9/L", Match.TOLERANT),
        ("×10⁹/L", "10*9/L", Match.TOLERANT),
        ("10**3/uL", "10*3/uL", Match.TOLERANT),
        ("10^(3)/µL", "10*3/uL", Match.TOLERANT),
        ("10e3/uL", "10*3/uL", Match.TOLERANT),
        ("X10E3/uL", "10*3/uL", Match.TOLERANT),
        ("cells/mcL", "/uL", Match.TOLERANT),
        ("/mm³", "/mm3", Match.TOLERANT),
        ("/mm^3", "/mm3", Match.TOLERANT),
        ("K/UL", "10*3/uL", Match.CASE_INSENSITIVE),
        ("K/MCL", "10*3/uL", Match.CASE_INSENSITIVE),
        ("THOU/UL", "10*3/uL", Match.CASE_INSENSITIVE),
        ("X10E3/UL", "10*3/uL", Match.CASE_INSENSITIVE),
        ("CELLS/UL", "/uL", Match.CASE_INSENSITIVE),
        ("/CU MM", "/mm3", Match.CASE_INSENSITIVE),
        ("GIGA.L-1", "10*9/L", Match.CASE_INSENSITIVE),
        ("Bill/L", "10*9/L", Match.CASE_INSENSITIVE),
        ("TSD/µL", "10*3/uL", Match.CASE_INSENSITIVE),
    ],
)
def test_spelling_variants_match_in_order(spelling: str, ucum: str, match: Match) -> None:
    spec = resolve_unit(spelling)
    assert (spec.ucum, spec.match, spec.spelling) == (ucum, match, spelling)
    assert spec.matched_tolerantly is (match is not Match.EXACT)


@pytest.mark.parametrize(
    ("spelling", "kind", "ucum"),
    [
        ("G/L", UnitKind.COUNT, "10*9/L"),
        ("g/L", UnitKind.OTHER_ANALYTE, "g/L"),
        ("G/l", UnitKind.COUNT, "10*9/L"),
        ("g/l", UnitKind.OTHER_ANALYTE, "g/L"),
        ("M/uL", UnitKind.OTHER_ANALYTE, "10*6/uL"),
        ("10*6/mL", UnitKind.COUNT, "10*6/mL"),
        ("10*6/uL", UnitKind.OTHER_ANALYTE, "10*6/uL"),
    ],
)
def test_case_that_changes_meaning_is_kept(spelling: str, kind: UnitKind, ucum: str) -> None:
    spec = resolve_unit(spelling)
    assert (spec.kind, spec.ucum, spec.match) == (kind, ucum, Match.EXACT)


@pytest.mark.parametrize(
    ("spelling", "match"), [("Gpt/l", Match.EXACT), ("Gpt / L", Match.TOLERANT)]
)
def test_giga_particles_per_litre_of_german_and_french_labs_is_10_9_per_litre(
    spelling: str, match: Match
) -> None:
    assert (resolve_unit(spelling).ucum, resolve_unit(spelling).match) == ("10*9/L", match)
    assert leukoflag.count_per_ul("3.2", spelling, "wbc") == Decimal("3200")


@pytest.mark.parametrize("spelling", ["/L", "cells/L", "/l", "CELLS / l", "cells/ L"])
def test_a_count_per_litre_without_its_power_of_ten_is_refused(spelling: str) -> None:
    # 3.2 per litre would be a critical 0.0000032 cells/µL: it is a 10^9 lost, not a count
    assert reason_of("3.2", spelling) == "refused-unit"


@pytest.mark.parametrize(
    "unit", ["/L", Unit("cells/L"), Unit("", "/L", UCUM), Unit("per litre", "/l", "L")]
)
def test_a_refused_spelling_says_why_instead_of_inviting_a_row(unit: str | Unit) -> None:
    # "add a row to units.toml if a lab uses it" invited the thousand-million-fold error itself
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.2", unit, "anc")
    text = str(caught.value)
    assert text.startswith("refused-unit: unit '")
    assert "without its power of ten" in text
    assert "0.0000032 cells/µL, a thousand-million-fold error" in text
    assert "refuses it on purpose (units.toml [refused])" in text
    assert "add a row" not in text
    with pytest.raises(leukoflag.UnitError, match=r"^refused-unit"):
        resolve_unit(unit)


@pytest.mark.parametrize("unit", ["10*3/uL~K/uL", Unit("K/uL~/uL"), Unit("", "/uL~/L", UCUM)])
def test_several_units_of_a_repeated_field_are_refused_as_such(unit: str | Unit) -> None:
    # a FHIR unit copied from a repeated OBX-6: "add a row" would not say which applies
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.1", unit, "wbc")
    assert caught.value.reason == "unknown-unit"
    assert "is several units separated by '~' (a unit field sent with repetitions)" in str(
        caught.value
    )
    assert "add a row" not in str(caught.value)


@pytest.mark.parametrize("spelling", ["g/DL", "G/DL", "gL", "PG", "MMOL/L", "MM/H", "GPT/L"])
def test_no_case_folding_where_case_could_change_meaning(spelling: str) -> None:
    assert reason_of("5", spelling) == "unknown-unit"


@pytest.mark.parametrize(
    ("spelling", "value", "per_ul"),
    [
        ("thou/cumm", "3.1", "3100"),
        ("thou/mm3", "3.1", "3100"),
        ("Thou/cu mm", "3.1", "3100"),
        ("THOU/CMM", "3.1", "3100"),
        ("x10E3/cumm", "3.1", "3100"),
        ("10^3/cmm", "3.1", "3100"),
        ("cells/cumm", "3100", "3100"),
        ("cells/cu mm", "3100", "3100"),
        ("CELLS/CMM", "3100", "3100"),
    ],
)
def test_us_spellings_of_the_cubic_millimetre_are_counts(
    spelling: str, value: str, per_ul: str
) -> None:
    # cumm, cu mm and cmm are the cubic millimetre US labs write: UCUM mm3, one µL
    assert leukoflag.count_per_ul(value, spelling, "wbc") == Decimal(per_ul)
    assert resolve_unit(spelling).kind is UnitKind.COUNT


@pytest.mark.parametrize("spelling", ["mil/cumm", "mil/cu mm"])
def test_red_cell_units_per_cubic_millimetre_stay_refused(spelling: str) -> None:
    assert reason_of("4.5", spelling) == "wrong-analyte"


def test_tolerant_match_does_not_cross_case() -> None:
    # "G / L" keeps its capital G: giga per litre, never grams
    assert resolve_unit("G / L").ucum == "10*9/L"
    assert resolve_unit("g / L").ucum == "g/L"


# --------------------------------------------------------------------------------- Unit values


def test_ucum_code_is_used_first_when_system_is_ucum() -> None:
    spec = resolve_unit(Unit(text="thousand per microliter", code="10*3/uL", system=UCUM))
    assert (spec.ucum, spec.match, spec.spelling) == ("10*3/uL", Match.UCUM_CODE, "10*3/uL")


def test_ucum_system_named_by_the_sender_counts_as_ucum() -> None:
    spec = resolve_unit(Unit(text="", code="10*9/L", system="UCUM"))
    assert spec.match is Match.UCUM_CODE


def test_text_is_used_when_the_code_is_local() -> None:
    spec = resolve_unit(Unit(text="K/uL", code="KUL", system="99LAB"))
    assert (spec.ucum, spec.spelling, spec.match) == ("10*3/uL", "K/uL", Match.EXACT)


def test_code_is_used_as_a_spelling_when_the_text_is_unknown() -> None:
    spec = resolve_unit(Unit(text="per mcl", code="/uL", system="L"))
    assert (spec.ucum, spec.spelling) == ("/uL", "/uL")


def test_non_ucum_code_claimed_as_ucum_falls_back_to_the_text() -> None:
    # K/uL is not a UCUM code (UCUM reads K as kelvin): use the alias table on the text
    spec = resolve_unit(Unit(text="K/uL", code="K/uL", system=UCUM))
    assert (spec.ucum, spec.match) == ("10*3/uL", Match.EXACT)


def test_fhir_quantity_code_and_unit_agreeing_normalize() -> None:
    count = normalize(Decimal("0.8"), Unit(text="x10^9/L", code="10*9/L", system=UCUM), "anc")
    assert count.value_per_ul == Decimal(800)
    assert count.unit.match is Match.UCUM_CODE


def test_code_and_text_disagreeing_are_refused_not_trusted() -> None:
    unit = Unit(text="K/uL", code="/uL", system=UCUM)
    assert reason_of("6.8", unit) == "unit-conflict"
    with pytest.raises(leukoflag.UnitError) as caught:
        resolve_unit(unit)
    assert caught.value.reason == "unit-conflict"
    assert "'K/uL'" in str(caught.value)
    assert "'/uL'" in str(caught.value)


@pytest.mark.parametrize(
    "unit",
    [
        Unit(text="K/uL", code="10*3/mL", system=UCUM),  # 10*3/mL is one per µL, not 1,000
        Unit(text="cells/uL", code="kat/L", system=UCUM),  # catalytic activity: no count
        Unit(text="10*3/uL", code="10*3/mL", system="UCUM"),
        # UCUM's OID, as a FHIR Quantity may name the system: the same UCUM code
        Unit(text="K/uL", code="10*3/mL", system="urn:oid:2.16.840.1.113883.6.8"),
    ],
)
def test_ucum_code_the_table_does_not_know_beside_a_known_text_is_not_passed_over(
    unit: Unit,
) -> None:
    # the code was skipped and the text trusted: K/uL coded 10*3/mL gave 3,100, not 3.1 per µL
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.1", unit, "wbc")
    assert caught.value.reason == "unknown-unit"
    assert f"UCUM code {unit.code!r}" in str(caught.value)
    assert f"{unit.text!r}" in str(caught.value)
    with pytest.raises(leukoflag.UnitError, match=r"^unknown-unit"):
        resolve_unit(unit)


def test_local_code_the_table_does_not_know_beside_a_known_text_uses_the_text() -> None:
    # a local code (KUL of 99LAB) is an identifier, not a unit to check against the text
    assert leukoflag.count_per_ul("3.1", Unit("K/uL", "KUL", "99LAB"), "wbc") == 3100


def test_unknown_text_and_code_name_both_spellings() -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        resolve_unit(Unit(text="kilocells", code="KC", system="99LAB"))
    assert caught.value.reason == "unknown-unit"
    assert caught.value.spelling == "kilocells"
    assert "'kilocells'" in str(caught.value)
    assert "'KC'" in str(caught.value)


def test_empty_unit_value_is_a_missing_unit() -> None:
    assert normalize("6.8", Unit(text=" ", code=""), "wbc").inferred
    with pytest.raises(leukoflag.UnitError) as caught:
        resolve_unit(Unit(text=""))
    assert caught.value.reason == "no-unit"


# --------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("value", "unit", "analyte", "reason"),
    [
        ("5.0", "K/uLL", "wbc", "unknown-unit"),
        ("5.0", "kcells/ul", "anc", "unknown-unit"),
        ("7", None, "wbc", "no-unit"),
        ("450", "", "anc", "no-unit"),
        ("65", "%", "anc", "percent"),
        ("0.65", "{ratio}", "anc", "fraction"),
        ("0.65", "1", "anc", "fraction"),
        ("4.5", "10*12/L", "wbc", "wrong-analyte"),
        ("13.5", "g/dL", "wbc", "wrong-analyte"),
        ("4.5", "M/uL", "wbc", "wrong-analyte"),
        ("3", "/[HPF]", "wbc", "wrong-analyte"),
        ("3", "cells/hpf", "wbc", "wrong-analyte"),
        ("88", "fL", "wbc", "wrong-dimension"),
        ("29", "pg", "anc", "wrong-dimension"),
        ("4500", "K/uL", "wbc", "implausible"),
        ("-1.2", "K/uL", "anc", "implausible"),
        ("2000000", "/uL", "wbc", "implausible"),
        ("5000000", None, "wbc", "implausible"),
        ("6,8", "K/uL", "wbc", "bad-number"),
        ("", "K/uL", "wbc", "bad-number"),
        ("NaN", "K/uL", "wbc", "bad-number"),
        ("Infinity", "K/uL", "wbc", "bad-number"),
        ("1_000", "/uL", "wbc", "bad-number"),
        # digits other than ASCII 0-9, which Decimal reads and the HL7 v2 reader keeps as text
        ("\uff18.\uff12", "K/uL", "wbc", "bad-number"),  # fullwidth 8.2
        ("\u0663.\u0661", "10*9/L", "anc", "bad-number"),  # Arabic-Indic 3.1
        ("\u0663\u0661\u0660\u0660", "/uL", "wbc", "bad-number"),  # Arabic-Indic 3100
        (6.8, "K/uL", "wbc", "bad-number"),
        ("6.8", "K/uL", "platelets", "unknown-analyte"),
    ],
)
def test_every_refusal_has_its_reason(value: object, unit: str, analyte: str, reason: str) -> None:
    assert reason_of(value, unit, analyte) == reason


def test_unit_error_is_a_value_error_naming_spelling_and_reason() -> None:
    with pytest.raises(ValueError, match=r"^unknown-unit: unit 'K/uLL'") as caught:
        leukoflag.count_per_ul("5", "K/uLL")
    # UnitError first: mypy sees no class deriving from ValueError, Error and UnitError in that
    # order (UnitError's MRO puts Error first) and skipped the lines after as unreachable
    assert isinstance(caught.value, leukoflag.UnitError)
    assert isinstance(caught.value, leukoflag.Error)
    assert caught.value.spelling == "K/uLL"


def test_implausible_message_shows_the_converted_value() -> None:
    with pytest.raises(leukoflag.UnitError, match="4500000 cells/µL"):
        leukoflag.count_per_ul("4500", "K/uL")


def test_float_is_refused_with_a_clear_message() -> None:
    with pytest.raises(leukoflag.UnitError, match="float"):
        leukoflag.count_per_ul(8.2, "K/uL")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, None, [8.2], object()])
def test_values_of_other_types_are_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        leukoflag.count_per_ul(value, "K/uL")  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", [5, b"K/uL", ["K/uL"]])
def test_units_of_other_types_are_a_type_error(unit: object) -> None:
    # an int unit raised AttributeError ('int' object has no attribute 'code')
    with pytest.raises(
        TypeError, match=f"a unit must be str, Unit or None, not {type(unit).__name__}"
    ):
        leukoflag.count_per_ul("3.2", unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("6.8"), 6800), ("6.8", 6800), (" 6.8 ", 6800), (7, 7000), ("+7", 7000)],
)
def test_values_may_be_decimal_str_or_int(value: Decimal | str | int, expected: int) -> None:
    assert leukoflag.count_per_ul(value, "K/uL") == expected


def test_negative_zero_is_zero() -> None:
    result = leukoflag.count_per_ul("-0.0", "K/uL")
    assert result == 0
    assert not result.is_signed()


def test_plausibility_limits_are_inclusive() -> None:
    assert leukoflag.count_per_ul("0", "K/uL") == 0
    assert leukoflag.count_per_ul("1000", "K/uL") == 1_000_000
    assert reason_of("1000.001", "K/uL") == "implausible"


def test_analyte_enum_is_accepted() -> None:
    assert leukoflag.count_per_ul("1.5", "K/uL", Analyte.ANC) == 1500


# --------------------------------------------------------------------------------- no unit


@pytest.mark.parametrize(
    ("value", "ucum", "expected"),
    [
        ("6.8", "10*3/uL", Decimal(6800)),  # a fraction of a cell per µL is never written
        ("0.4", "10*3/uL", Decimal(400)),
        ("6.0", "10*3/uL", None),  # whole-valued: 6,000 or 6 cells/µL, ambiguous
        ("6800", "/uL", Decimal(6800)),  # 6,800,000 cells/µL is not plausible
        ("1001", "/uL", Decimal(1001)),
        ("450", "", None),
        ("1000", "", None),
        ("0", "10*3/uL", Decimal(0)),  # every reading gives 0
    ],
)
def test_missing_unit_is_inferred_only_when_unambiguous(
    value: str, ucum: str, expected: Decimal | None
) -> None:
    if expected is None:
        assert reason_of(value, None) == "no-unit"
        return
    count = normalize(value, None, "wbc")
    assert (count.value_per_ul, count.ucum, count.inferred) == (expected, ucum, True)
    assert count.spelling == ""


def test_missing_unit_uses_reference_range_bounds_to_decide() -> None:
    count = normalize("7", None, "wbc", same_unit_values=["4.5", "11.0"])
    assert (count.value_per_ul, count.ucum) == (Decimal(7000), "10*3/uL")
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize("7", None, "wbc", same_unit_values=["4", "11"])
    assert caught.value.reason == "no-unit"
    count = normalize("7", None, "wbc", same_unit_values=["4.0", "11.0"])  # tenths of a cell: no
    assert (count.value_per_ul, count.ucum) == (Decimal(7000), "10*3/uL")


def test_missing_unit_read_with_a_range_is_per_ul_only_when_written_in_whole_cells() -> None:
    # "6.0" reports tenths: beside 4000-11000 it is no count of 6 cells/µL, and 4000 is no
    # count in thousands, so no reading fits (alone, 6.0 stays ambiguous)
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize("6.0", None, "wbc", same_unit_values=["4000", "11000"])
    assert caught.value.reason == "implausible"
    count = normalize("60", None, "anc", same_unit_values=["1500", "7700"])
    assert (count.value_per_ul, count.ucum) == (Decimal(60), "/uL")


def test_missing_unit_inference_is_reported_as_an_issue() -> None:
    count = normalize("6.8", None, "wbc")
    (issue,) = notes_for(count, "MSG[1]/OBX[3]-6")
    assert (issue.code, issue.severity, issue.location) == (
        "units.unit-inferred",
        Severity.WARNING,
        "MSG[1]/OBX[3]-6",
    )
    assert "read as 10*3/uL (factor 1000 to cells/µL)" in issue.text


_RANGE_DECIDED = (
    ": the value alone could be 10*3/uL or /uL; the reference range, sent without a unit too "
    "and read in the same unit, fits only "
)


@pytest.mark.parametrize(
    ("value", "range_limits", "why"),
    [
        ("6.8", (), " because it is the only plausible magnitude"),
        ("6800", (), " because it is the only plausible magnitude"),
        # 7 alone is 7 or 7,000 cells/µL: the range decided, which the Issue must say
        ("7", ("4000", "11000"), _RANGE_DECIDED + "/uL"),
        ("7", ("4.5", "11.0"), _RANGE_DECIDED + "10*3/uL"),
        ("0", (), ": 0 is 0 cells/µL in every reading"),
    ],
)
def test_missing_unit_issue_says_what_decided_the_reading(
    value: str, range_limits: tuple[str, ...], why: str
) -> None:
    count = normalize(value, None, "wbc", same_unit_values=range_limits)
    (issue,) = notes_for(count, "MSG[1]/OBX[1]-6")
    head = f"no unit sent; read as {count.ucum} (factor {count.factor:f} to cells/µL)"
    assert issue.text == head + why


def test_tolerant_match_is_reported_as_information() -> None:
    (issue,) = notes_for(normalize("6.8", "K/MCL", "wbc"), "ITEM[1]/Observation.valueQuantity")
    assert (issue.code, issue.severity) == ("units.unit-matched-tolerantly", Severity.INFORMATION)
    assert notes_for(normalize("6.8", "K/mcL", "wbc"), "x") == ()


@pytest.mark.parametrize(
    ("value", "unit", "exact"),
    [
        ("6.8", "K/uL", True),
        ("6.8", Unit("10*3/uL", "10*3/uL", UCUM), True),
        ("6.8", "K/MCL", False),  # case-insensitive
        ("6.8", None, False),  # inferred
    ],
)
def test_exact_says_whether_notes_for_has_anything_to_report(
    value: str, unit: str | Unit | None, exact: bool
) -> None:
    count = normalize(value, unit, "wbc")
    assert count.exact is exact
    assert (notes_for(count, "x") == ()) is exact


def test_refusal_becomes_an_issue_with_its_reason_code() -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("4.5", "10*12/L")
    issue = issue_for(caught.value, "MSG[1]/OBX[2]-6")
    assert (issue.code, issue.severity) == ("units.wrong-analyte", Severity.WARNING)
    assert "red-cell" in issue.text


# --------------------------------------------------------------------------------- ranges


def test_range_converts_with_the_same_rules() -> None:
    assert normalize_range("4.0", "11.0", "K/uL") == (Decimal(4000), Decimal(11000))
    low, high = normalize_range(Decimal("1.50"), None, "x10^9/L", "anc")
    assert (low, high) == (Decimal(1500), None)
    assert low is not None
    assert len(low.as_tuple().digits) == 3


def test_range_without_unit_takes_the_results_unit() -> None:
    result = normalize("6.8", "K/uL", "wbc")
    assert normalize_range("4", "11", None, result=result) == (Decimal(4000), Decimal(11000))
    inferred = normalize("6.8", None, "wbc")
    assert normalize_range("4", "11", None, result=inferred) == (Decimal(4000), Decimal(11000))


def test_range_without_any_unit_infers_from_its_bounds() -> None:
    assert normalize_range("4.5", "11.0", None) == (Decimal(4500), Decimal(11000))
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize_range("4", "11", None)
    assert caught.value.reason == "no-unit"


def test_range_refuses_like_a_value() -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize_range("40", "70", "%", "anc")
    assert caught.value.reason == "percent"
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize_range("4000", "11000", "K/uL")
    assert caught.value.reason == "implausible"


def test_decimal_range_bounds_keep_their_digits_and_refusals_on_the_warm_path() -> None:
    assert normalize(Decimal("6.8"), "K/uL").value_per_ul == 6800  # the unit is now memoized
    low, high = normalize_range(Decimal("4.0"), Decimal("11.00"), "K/uL")
    assert (str(low), str(high)) == ("4.0E+3", "1.100E+4")
    zero, _ = normalize_range(Decimal("-0.0"), None, "K/uL")
    assert zero == 0
    assert zero is not None
    assert not zero.is_signed()
    for bad in (Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")):
        with pytest.raises(leukoflag.UnitError) as caught:
            normalize_range(Decimal("4.0"), bad, "K/uL")
        assert caught.value.reason == "bad-number"
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize_range(Decimal("4000"), Decimal("11000"), "K/uL")
    assert caught.value.reason == "implausible"
    result = normalize(Decimal("6.8"), Unit("K/uL"))
    low, high = normalize_range(Decimal("4.0"), Decimal("11.0"), None, result=result)
    assert (str(low), str(high)) == ("4.0E+3", "1.10E+4")


def test_empty_range_stays_empty() -> None:
    assert normalize_range(None, None, "K/uL") == (None, None)


# --------------------------------------------------------------------------------- hot path


@pytest.mark.parametrize("value", ["NaN", "sNaN", Decimal("NaN"), Decimal("sNaN"), "-Infinity"])
def test_non_numbers_are_refused_on_the_warm_path(value: object) -> None:
    assert leukoflag.count_per_ul("1.0", "K/uL") == 1000  # the unit is now memoized
    assert reason_of(value, "K/uL") == "bad-number"


def test_memo_limit_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    from leukoflag import units

    memo: dict[object, object] = {}
    plans: dict[object, object] = {}
    monkeypatch.setattr(units, "_RESOLVED", memo)
    monkeypatch.setattr(units, "_PLANS", plans)
    monkeypatch.setattr(units, "_RESOLVED_LIMIT", 1)
    assert leukoflag.count_per_ul("2.5", "K/uL") == 2500
    assert leukoflag.count_per_ul("2500", "cells/uL") == 2500
    assert leukoflag.count_per_ul("2.5", "K/uL") == 2500
    assert list(memo) == ["K/uL"]
    assert reason_of("5", "%") == "percent"
    assert normalize("4.0", Unit("x10^9/L", "10*9/L", UCUM), "anc").value_per_ul == 4000
    assert list(memo) == ["K/uL"]
    assert normalize(Decimal("4.0"), "K/uL", "anc").value_per_ul == 4000
    assert list(plans) == ["K/uL"]


def test_a_range_sent_again_gives_the_same_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from leukoflag import units

    kept: dict[object, object] = {}
    monkeypatch.setattr(units, "_PLANNED_RANGES", kept)
    low, high = Decimal("4.0"), Decimal("11.0")
    normalize_range(low, high, "K/uL")  # the unit is now memoized: the hot path from here on
    first = normalize_range(low, high, "K/uL")
    again = normalize_range(low, high, "K/uL", "anc")
    assert first == again == (Decimal(4000), Decimal(11000))
    assert again[0] is first[0]  # kept by the limits' identity
    assert again[1] is first[1]
    # equal limits sent as other objects are worked out again; another unit's plan is its own
    other = normalize_range(Decimal("4.0"), high, "K/uL")
    assert other == first
    assert other[0] is not first[0]
    normalize_range(low, high, "cells/uL")
    assert normalize_range(low, high, "cells/uL") == (Decimal("4.0"), Decimal("11.0"))
    assert normalize_range(low, None, "K/uL") == (Decimal(4000), None)
    assert len(kept) == 4
    monkeypatch.setattr(units, "_RESOLVED_LIMIT", 2)
    assert normalize_range(high, None, "K/uL") == (Decimal(11000), None)
    assert len(kept) == 1  # emptied at its limit, then this one kept


def test_a_unit_and_the_text_of_its_spelling_are_memoized_apart() -> None:
    # The text alone is fine; with a /uL code the same text is a thousand-fold conflict.
    assert normalize("6.8", "K/uL", "wbc").value_per_ul == 6800
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize("6.8", Unit("K/uL", "/uL", UCUM), "wbc")
    assert caught.value.reason == "unit-conflict"
    assert normalize("6.8", "K/uL", "wbc").value_per_ul == 6800


def test_equal_units_built_apart_resolve_alike() -> None:
    first = normalize(Decimal("6.8"), Unit("x10^9/L", "10*9/L", UCUM), "anc")
    second = normalize(Decimal("6.8"), Unit("x10^9/L", "10*9/L", UCUM), "anc")
    assert first == second
    assert first.unit.match is Match.UCUM_CODE


def test_factor_that_is_not_a_power_of_ten_multiplies_exactly() -> None:
    from leukoflag.units import UnitSpec, _apply

    spec = resolve_unit("K/uL")
    half = UnitSpec(
        spelling="per 2 uL",
        ucum="/2uL",
        kind=UnitKind.COUNT,
        factor=Decimal("0.5"),
        exponent=None,
        match=Match.EXACT,
        meaning="test",
        source="test",
        dimension=spec.dimension,
    )
    assert _apply(Decimal("1301"), half) == Decimal("650.5")
    # 31 significant digits: the default 28-digit context would round, leukoflag does not
    long = Decimal("1234.567890123456789012345678901")
    assert _apply(long, half) == Decimal("617.2839450617283945061728394505")


def test_scaling_never_rounds_even_beyond_28_digits() -> None:
    long = "1.234567890123456789012345678901"
    assert leukoflag.count_per_ul(long, "K/uL") == Decimal("1234.567890123456789012345678901")


@pytest.mark.parametrize(
    "unit",
    [
        Unit(text="10*9/L", code="/L", system=UCUM),  # a code map that lost the 10^9
        Unit(text="/L", code="10*9/L", system=UCUM),
        Unit(text="cells/L", code="10*9/L", system=UCUM),
    ],
)
def test_a_refused_spelling_beside_a_read_one_is_a_conflict_not_skipped(unit: Unit) -> None:
    # the refused half was passed over as unknown and the count normalized by the other half
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.5", unit, "wbc")
    assert caught.value.reason == "unit-conflict"
    text = str(caught.value)
    assert "'10*9/L' is 10*9/L" in text
    assert "without its power of ten" in text
    with pytest.raises(leukoflag.UnitError, match=r"^unit-conflict"):
        resolve_unit(unit)


# --------------------------------------------------------------------------------- charset


@pytest.mark.parametrize(
    ("spelling", "ucum", "value", "per_ul"),
    [
        ("cells/ÂµL", "/uL", "3100", Decimal("3100")),  # µ U+00B5 as UTF-8 read as Latin-1
        ("10^3/ÂµL", "10*3/uL", "3.1", Decimal("3100")),
        ("cells/Î¼L", "/uL", "450", Decimal("450")),  # Greek mu U+03BC
        ("10Â³/ÂµL", "10*3/uL", "3.1", Decimal("3100")),  # superscript 3
        ("Ã\x9710^9/L", "10*9/L", "0.9", Decimal("900")),  # × U+00D7
    ],
)
def test_a_unit_written_in_utf8_and_read_as_latin1_is_read_with_the_charset_named(
    spelling: str, ucum: str, value: str, per_ul: Decimal
) -> None:
    count = normalize(value, spelling)
    assert (count.value_per_ul, count.ucum, count.unit.match) == (per_ul, ucum, Match.CHARSET)
    assert not count.exact
    (issue,) = notes_for(count, "MSG[1]/OBX[1]-6")
    assert (issue.code, issue.severity) == ("units.unit-charset-repaired", Severity.WARNING)
    assert "written in UTF-8 and read as Latin-1" in issue.text
    assert "add a row" not in issue.text


def test_a_red_cell_unit_garbled_by_the_charset_is_still_another_analytes() -> None:
    assert reason_of("4.5", "M/ÂµL") == "wrong-analyte"


def test_an_unknown_unit_garbled_by_the_charset_points_at_the_charset_not_the_table() -> None:
    with pytest.raises(leukoflag.UnitError) as caught:
        leukoflag.count_per_ul("3.1", "Âµmol/L")
    text = str(caught.value)
    assert text.startswith("unknown-unit: unit 'Âµmol/L' looks like 'µmol/L' written in UTF-8")
    assert "correct the sender's charset (MSH-18)" in text


@pytest.mark.parametrize(
    ("value", "range_limits", "said"),
    [
        # a calculated ANC sent without unit: 1,250.5 is inside 0-1,000,000 as cells/µL, but
        # no whole number of cells; as thousands per µL it is 1,250,500
        (
            "1250.5",
            (),
            (
                "as 10*3/uL, 1250.5 is 1250500 cells/µL, above 1000000; "
                "as /uL, 1250.5 is not a whole number of cells"
            ),
        ),
        # beside 4000-11000, 6.0 (tenths written) is no count of cells, and 4000 no count of
        # thousands
        (
            "6.0",
            ("4000", "11000"),
            (
                "as 10*3/uL, 4000 is 4000000 cells/µL, above 1000000; "
                "as /uL, 6.0 is written with decimals, which a count of cells is not"
            ),
        ),
        (
            "5000000",
            (),
            (
                "as 10*3/uL, 5000000 is 5000000000 cells/µL, above 1000000; "
                "as /uL, 5000000 is 5000000 cells/µL, above 1000000"
            ),
        ),
        ("-3", (), "as 10*3/uL, -3 is -3000 cells/µL, below 0; as /uL, -3 is -3 cells/µL, below 0"),
    ],
)
def test_a_value_without_unit_that_fits_no_reading_is_told_why_each_reading_fails(
    value: str, range_limits: tuple[str, ...], said: str
) -> None:
    # the refusal said "1250.5 with no unit is outside 0–1000000 cells/µL in every reading",
    # though 1250.5 cells/µL is inside it: that reading fails as no whole number of cells
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize(value, None, "anc", same_unit_values=range_limits)
    assert caught.value.reason == "implausible"
    shown = ", ".join((value, *range_limits))
    assert str(caught.value) == f"implausible: {shown} with no unit fits no reading: {said}"


def test_a_wbc_in_thousands_per_cumm_is_normalized_and_judged_low() -> None:
    message = builders.oru_message(
        results=[builders.wbc("3.6", "thou/cumm", reference_range="4.0-11.0")]
    )
    conversion = leukoflag.convert(message.text)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3600), "L")
    assert finding.range is not None
    assert (finding.range.low, finding.range.high) == (Decimal(4000), Decimal(11000))
    assert not [i for i in conversion.issues if i.code == "units.unknown-unit"]


# --------------------------------------------------------------------------------- alternate unit


def _wbc_with_units(
    value: str, first: builders.Code, alternate: builders.Code
) -> leukoflag.Conversion:
    message = builders.oru_message(
        results=[builders.wbc(value, (first, alternate), reference_range="")]
    )
    return leukoflag.convert(message.text)


def test_a_unit_and_its_alternate_a_thousandfold_apart_are_a_conflict_not_judged() -> None:
    # OBX-6 '/uL^/uL^UCUM^10*3/uL^10*3/uL^UCUM' with 4: 4 cells/µL (LL) or 4,000 (N)?
    conversion = _wbc_with_units("4", builders.ucum("/uL"), builders.ucum("10*3/uL"))
    assert conversion.findings == []
    (conflict,) = [i for i in conversion.issues if i.code == "units.unit-conflict"]
    assert conflict.location == "MSG[1]/OBX[1]-6"
    assert "'/uL' is /uL" in conflict.text
    assert "the alternate '10*3/uL' is 10*3/uL" in conflict.text


def test_a_refused_alternate_beside_a_known_unit_is_a_conflict() -> None:
    alternate = builders.Code("/L", "/L", "L")
    conversion = _wbc_with_units("3.6", builders.ucum("10*9/L"), alternate)
    assert conversion.findings == []
    (conflict,) = [i for i in conversion.issues if i.code == "units.unit-conflict"]
    assert "the alternate '/L' is refused: a count per litre" in conflict.text


@pytest.mark.parametrize("annotated", ["10*3{Platelets}/uL", "10*3{Monocytes}/uL"])
def test_an_alternate_naming_another_analyte_beside_a_count_unit_is_a_conflict(
    annotated: str,
) -> None:
    # OBX-6 '10*3/uL^^UCUM^10*3{Platelets}/uL^^UCUM' with 150: the alternate coding says the
    # number counts platelets, yet it was judged a WBC of 150,000 cells/µL (H)
    conversion = _wbc_with_units("150", builders.ucum("10*3/uL"), builders.ucum(annotated))
    assert conversion.findings == []
    (conflict,) = [i for i in conversion.issues if i.code == "units.unit-conflict"]
    assert conflict.location == "MSG[1]/OBX[1]-6"
    name = annotated[annotated.index("{") : annotated.index("}") + 1]
    assert f"the alternate '{annotated}' names another analyte in its annotation {name}" in (
        conflict.text
    )
    # kept in the unit-alternate-sent extension: read back, refused again
    again = leukoflag.convert(leukoflag.fhir.dumps(conversion.bundles[0]))
    assert again.findings == []
    assert "units.unit-conflict" in [i.code for i in again.issues]


def test_a_local_unit_not_in_the_table_is_read_from_its_ucum_alternate() -> None:
    first = builders.Code("THOUUL", "thou per microlitre", "99LAB")
    conversion = _wbc_with_units("3.6", first, builders.ucum("10*3/uL"))
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3600), "L")
    (note,) = [i for i in conversion.issues if i.code.startswith("units.")]
    assert (note.code, note.severity, note.location) == (
        "units.unit-alternate",
        Severity.INFORMATION,
        "MSG[1]/OBX[1]-6",
    )
    assert "'thou per microlitre' is not in leukoflag's unit table" in note.text


def test_a_unit_and_an_alternate_that_agree_are_judged_without_a_units_issue() -> None:
    alternate = builders.Code("K/uL", "K/uL", "L")
    conversion = _wbc_with_units("3.6", builders.ucum("10*3/uL"), alternate)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3600), "L")
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == []


def test_an_alternate_unit_the_table_does_not_know_leaves_the_unit_as_sent() -> None:
    alternate = builders.Code("TH/UL", "thousand per uL", "99CORE")
    conversion = _wbc_with_units("3.6", builders.ucum("10*3/uL"), alternate)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3600), "L")


# --------------------------------------------------------------------------------- annotations


@pytest.mark.parametrize(
    ("spelling", "ucum", "value"),
    [
        ("{cells}/mm3", "/mm3", "3200"),
        ("10*3{cells}/uL", "10*3/uL", "3.2"),
        ("10*3/uL{cells}", "10*3/uL", "3.2"),
        ("{WBCs}/uL", "/uL", "3200"),
        ("10*9{cells}/L", "10*9/L", "3.2"),
        ("10*3.{cells}/uL", "10*3/uL", "3.2"),
        ("10^3{cells}/µL", "10*3/uL", "3.2"),
    ],
)
def test_a_ucum_annotation_anywhere_in_a_count_unit_is_read_as_the_unit_without_it(
    spelling: str, ucum: str, value: str
) -> None:
    # UCUM §12 (curly braces): an annotation does not change the unit it is attached to
    spec = resolve_unit(spelling)
    assert (spec.kind, spec.ucum) == (UnitKind.COUNT, ucum)
    assert leukoflag.count_per_ul(value, spelling) == 3200


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("10*6{RBCs}/uL", "wrong-analyte"),  # a red-cell count unit, annotated
        ("{cells}/L", "refused-unit"),  # a count per litre that lost its 10^9, annotated
        ("{cells}/hpf", "wrong-analyte"),
        ("{cells}", "unknown-unit"),  # an annotation alone is no count unit
    ],
)
def test_an_annotated_unit_of_another_meaning_is_refused_as_the_unit_without_it(
    spelling: str, reason: str
) -> None:
    assert reason_of("3.2", spelling) == reason


def test_an_annotated_ucum_code_sent_as_ucum_is_a_ucum_code_not_a_lab_spelling() -> None:
    # FHIR Quantity {"value": 1.2, "system": UCUM, "code": "10*3{cells}/uL"} and its unit text
    unit = Unit(text="10*3{cells}/uL", code="10*3{cells}/uL", system=UCUM)
    count = normalize(Decimal("1.2"), unit, "anc")
    assert count.value_per_ul == Decimal(1200)
    assert (count.unit.match, count.unit.misread_code) == (Match.UCUM_CODE, "")
    assert count.exact
    assert notes_for(count, "ITEM[1]/Observation.valueQuantity") == ()


def test_a_wbc_in_an_annotated_ucum_unit_is_normalized_and_judged_low() -> None:
    # OBX-6 '10*3{cells}/uL^^UCUM': valid UCUM, sent by FHIR servers and LIS alike
    message = builders.oru_message(
        results=[builders.wbc("3.2", builders.ucum("10*3{cells}/uL"), reference_range="4.0-11.0")]
    )
    conversion = leukoflag.convert(message.text)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3200), "L")
    assert [i for i in conversion.issues if i.code.startswith("units.")] == []


@pytest.mark.parametrize(
    "spelling",
    [
        "10*3{Platelets}/uL",  # a platelet count's unit: 150 would be a WBC of 150,000
        "10*3{PLT}/uL",
        "10*3{RBC}/uL",
        "10*3{nRBCs}/uL",  # nucleated red cells, counted beside the WBC in 10*3/uL
        "{reticulocytes}/uL",
        "10*9{thrombocytes}/L",
        "10*3{red blood cells}/uL",
    ],
)
def test_an_annotation_naming_another_analyte_is_not_left_out_to_read_a_white_cell_count(
    spelling: str,
) -> None:
    # the annotation is the sender's word that the number counts platelets or red cells: read
    # without it, a platelet count of 150 sent under a WBC code became a leukocytosis of 150,000
    assert reason_of("150", spelling) == "wrong-analyte"
    assert reason_of("150", Unit(text="", code=spelling, system=UCUM), "anc") == "wrong-analyte"
    with pytest.raises(leukoflag.UnitError, match=r"names another analyte"):
        leukoflag.count_per_ul("150", spelling)


def test_a_platelet_count_sent_under_a_wbc_code_with_an_annotated_unit_is_not_judged() -> None:
    # OBX|1|NM|6690-2^WBC^LN||150|10*3{Platelets}/uL^^UCUM: a LIS mapping the platelet row
    message = builders.oru_message(
        results=[builders.wbc("150", builders.ucum("10*3{Platelets}/uL"))]
    )
    conversion = leukoflag.convert(message.text)
    assert list(conversion.findings) == []
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == [
        "units.wrong-analyte"
    ]


@pytest.mark.parametrize(
    "spelling",
    [
        "10*3{RBC's}/uL",  # the apostrophe plural of a LIS's abbreviation
        "10*3{PLT's}/uL",
        "10*3{Plt.}/uL",  # an abbreviation with its full stop
        "10*3{Platelet count}/uL",  # the analyte named with the word 'count'
        "10*3{RBC count}/uL",
        "10*3{Retic counts}/uL",
    ],
)
def test_an_other_analyte_annotation_with_an_apostrophe_stop_or_count_is_not_left_out(
    spelling: str,
) -> None:
    # read without it, 'OBX|1|NM|6690-2^WBC^LN||150|10*3{PLT's}/uL' was a WBC of 150,000 (H)
    assert reason_of("150", spelling) == "wrong-analyte"


@pytest.mark.parametrize(
    "spelling",
    [
        "10*3{Lymphocytes}/uL",  # LOINC 731-0, the differential's absolute counts in 10*3/uL
        "10*3{Lymphs}/uL",
        "10*3{Monocytes}/uL",  # 742-7
        "10*3{Mono}/uL",
        "10*9{Eos}/L",  # 711-2
        "10*3{Eosinophils}/uL",
        "10*3{Basophils}/uL",  # 704-7
        "10*3{Baso}/uL",
    ],
)
def test_an_annotation_naming_another_white_cell_type_is_refused_for_a_wbc_and_an_anc(
    spelling: str,
) -> None:
    # 'OBX|1|NM|751-8^ANC^LN||0.4|10*3{Monocytes}/uL^^UCUM' (a LIS mapping its monocyte row to
    # the ANC code) was an ANC of 400 cells/µL, LL: a critical neutropenia that is a monocyte count
    assert reason_of("0.4", spelling) == "wrong-analyte"
    assert reason_of("0.4", Unit(text=spelling, code=spelling, system=UCUM), "anc") == (
        "wrong-analyte"
    )


@pytest.mark.parametrize(
    ("spelling", "analyte"),
    [
        ("10*3{Neutrophils}/uL", "wbc"),  # an ANC of 1.2 is no WBC of 1,200 (LL)
        ("10*3{Neuts}/uL", "wbc"),
        ("10*3{ANC}/uL", "wbc"),
        ("10*3{Absolute neutrophils}/uL", "wbc"),
        ("10*3{WBCs}/uL", "anc"),  # a WBC of 3.1 is no ANC of 3,100 (N)
        ("10*3{Leukocytes}/uL", "anc"),
        ("10*9{white blood cells}/L", "anc"),
    ],
)
def test_an_annotation_naming_the_other_count_is_refused_for_this_one(
    spelling: str, analyte: str
) -> None:
    assert reason_of("1.2", spelling, analyte) == "wrong-analyte"
    with pytest.raises(leukoflag.UnitError, match=r"names .* in its annotation"):
        normalize(Decimal("1.2"), Unit(text="", code=spelling, system=UCUM), analyte)
    with pytest.raises(leukoflag.UnitError) as caught:
        normalize_range(Decimal("1.0"), Decimal("4.0"), spelling, analyte)
    assert caught.value.reason == "wrong-analyte"
    # the unit itself is known: the count it names is read in it
    other = "anc" if analyte == "wbc" else "wbc"
    assert leukoflag.count_per_ul("1.2", spelling, other) == Decimal(1200)
    assert resolve_unit(spelling, analyte).kind is UnitKind.COUNT


@pytest.mark.parametrize(
    ("count", "value", "unit"),
    [
        (builders.wbc, "1.0", "10*3{Lymphocytes}/uL"),  # a lymphocyte count: not a WBC of 1,000
        (builders.anc, "0.4", "10*3{Monocytes}/uL"),  # a monocyte count: not an ANC of 400
        (builders.wbc, "1.2", "10*3{Neutrophils}/uL"),  # an ANC: not a WBC of 1,200 (LL)
        (builders.anc, "3.1", "10*3{WBCs}/uL"),  # a WBC: not an ANC of 3,100 (N)
    ],
)
def test_a_count_whose_unit_annotation_names_another_count_is_not_judged(
    count: Any, value: str, unit: str
) -> None:
    message = builders.oru_message(results=[count(value, builders.ucum(unit))])
    conversion = leukoflag.convert(message.text)
    assert list(conversion.findings) == []
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == [
        "units.wrong-analyte"
    ]


@pytest.mark.parametrize(
    ("spelling", "analyte"),
    [("10*3{Neutrophils}/uL", "anc"), ("10*3{WBCs}/uL", "wbc"), ("10*3{Leukocytes}/uL", "wbc")],
)
def test_an_annotation_naming_the_count_itself_is_left_out(spelling: str, analyte: str) -> None:
    assert leukoflag.count_per_ul("1.2", spelling, analyte) == Decimal(1200)
    count = normalize(Decimal("1.2"), Unit(text="", code=spelling, system=UCUM), analyte)
    assert (count.value_per_ul, count.exact) == (Decimal(1200), True)


@pytest.mark.parametrize(
    "spelling",
    ["10*3{WBC count}/uL", "10*3{WBC's}/uL", "10*3{WBC corrected for NRBC}/uL", "10*3{cells}/uL"],
)
def test_a_white_cell_annotation_with_an_apostrophe_or_count_is_still_left_out(
    spelling: str,
) -> None:
    assert leukoflag.count_per_ul("5.2", spelling) == Decimal(5200)


def test_a_german_wbc_in_cells_per_microlitre_is_normalized_judged_and_read_back() -> None:
    # 'Zellen/µl' (German: cells per µl, DocCheck) was refused as unknown-unit: the WBC of
    # 3,100 cells/µL, a leukopenia, was left unjudged
    message = builders.oru_message(
        results=[builders.wbc("3100", "Zellen/µl", reference_range="4000-10000")]
    )
    conversion = leukoflag.convert(message.text)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3100), "L")
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == []
    (bundle,) = conversion.bundles
    again = leukoflag.convert(leukoflag.fhir.dumps(bundle))
    (read_back,) = again.findings
    assert (read_back.value_per_ul, read_back.code) == (Decimal(3100), "L")
