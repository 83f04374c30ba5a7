"""Comparators, value ranges, statuses, text, masked and absent values, units, plausibility."""

from __future__ import annotations

from decimal import Decimal

import pytest

import leukoflag
from leukoflag.model import (
    CodedResult,
    Coding,
    Concept,
    NoValue,
    Number,
    NumberRange,
    Ratio,
    ReportStatus,
    ResultStatus,
    Severity,
    Text,
    Unit,
)
from leukoflag.testing.builders import oru_message, wbc

from .build import (
    ANC,
    K_PER_UL,
    PER_UL,
    adult,
    code_of,
    issue_codes,
    lab_range,
    one,
    range_of,
    result,
)


def test_less_than_1_thousand_proves_critical_low_wbc() -> None:
    evaluation = one(result("1.0", unit=K_PER_UL, comparator="<"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.comparator, finding.value_per_ul) == ("LL", "<", Decimal(1000))
    assert finding.condition is not None
    assert finding.ctcae_grade == 4  # every value below 1,000 is grade 4
    assert evaluation.quantity is not None
    assert (evaluation.quantity.value, evaluation.quantity.comparator) == (Decimal(1000), "<")
    assert "flag.bound-interpreted" in issue_codes(evaluation)


def test_less_than_5_thousand_proves_nothing() -> None:
    evaluation = one(result("5.0", unit=K_PER_UL, comparator="<"))
    assert evaluation.finding is None
    assert evaluation.quantity is not None  # normalized, just not judged
    issue = next(i for i in evaluation.issues if i.code == "flag.bound-inconclusive")
    assert issue.location == "MSG[1]/OBX[1]-5"
    assert "<5,000" in issue.text


def test_less_than_a_bound_between_codes_gives_the_least_severe_proven_low() -> None:
    # ANC < 0.8: every possible value is below 1,000 (LU) and some are below 500 (LL).
    evaluation = one(result("0.8", code=ANC, unit=K_PER_UL, comparator="<"))
    finding = evaluation.finding
    assert finding is not None
    assert finding.code == "LU"
    assert finding.severity == ""  # moderate, severe or profound: not known
    assert finding.ctcae_grade is None
    issue = next(i for i in evaluation.issues if i.code == "flag.bound-interpreted")
    assert "LL" in issue.text


def test_a_bound_proving_only_the_least_severe_low_does_not_say_every_value_has_it() -> None:
    # ANC < 0.8 allows 300 cells/µL (LL): "every value it allows is LU" would be untrue
    evaluation = one(result("0.8", code=ANC, unit=K_PER_UL, comparator="<"))
    issue = next(i for i in evaluation.issues if i.code == "flag.bound-interpreted")
    assert issue.text == (
        "the ANC value <800 cells/µL is known only by its limits; every value it allows is LU "
        "or lower (the lowest possible value would be LL)"
    )


def test_a_bound_whose_every_value_has_one_code_says_so() -> None:
    evaluation = one(result("1.0", unit=K_PER_UL, comparator="<"))
    issue = next(i for i in evaluation.issues if i.code == "flag.bound-interpreted")
    assert issue.text.endswith("; every value it allows is LL")


def test_less_or_equal_includes_the_bound() -> None:
    evaluation = one(result("2.0", unit=K_PER_UL, comparator="<="))
    assert code_of(evaluation) == "LU"  # 2,000 itself is not below the critical 2,000


@pytest.mark.parametrize("comparator", [">", ">="])
def test_greater_than_is_never_low(comparator: str) -> None:
    evaluation = one(result("1.0", unit=K_PER_UL, comparator=comparator))
    assert evaluation.finding is None
    assert "flag.bound-inconclusive" in issue_codes(evaluation)


def test_greater_than_the_high_limit_is_high() -> None:
    evaluation = one(result("50", unit=K_PER_UL, comparator=">"), context=adult("male"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.comparator) == ("H", ">")


def test_value_range_is_flagged_when_its_high_end_is_low() -> None:
    value = NumberRange(Decimal("1.0"), Decimal("2.0"), "1.0-2.0")
    evaluation = one(result(value, unit=K_PER_UL))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.value_per_ul, finding.comparator) == ("LU", Decimal(2000), "<=")
    assert evaluation.quantity is None  # a range has no single quantity to write


def test_value_range_straddling_a_limit_is_not_flagged() -> None:
    value = NumberRange(Decimal("3.5"), Decimal("5.0"), "3.5-5.0")
    evaluation = one(result(value, unit=K_PER_UL))
    assert evaluation.finding is None
    assert "flag.bound-inconclusive" in issue_codes(evaluation)


def test_value_range_without_limits_is_reported() -> None:
    evaluation = one(result(NumberRange(None, None, "-"), unit=K_PER_UL))
    assert evaluation.finding is None
    assert "flag.value-not-numeric" in issue_codes(evaluation)


@pytest.mark.parametrize(
    "status",
    [
        ResultStatus.ENTERED_IN_ERROR,
        ResultStatus.CANCELLED,
        ResultStatus.REGISTERED,
        ResultStatus.UNKNOWN,
    ],
)
def test_statuses_that_must_not_be_flagged(status: ResultStatus) -> None:
    evaluation = one(result("1500", status=status))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    assert evaluation.analyte is not None  # still a WBC, just not judged
    issue = next(i for i in evaluation.issues if i.code == "flag.status-not-flaggable")
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert status.value in issue.text


@pytest.mark.parametrize(
    "status",
    [
        ResultStatus.PRELIMINARY,
        ResultStatus.FINAL,
        ResultStatus.CORRECTED,
        ResultStatus.AMENDED,
    ],
)
def test_statuses_that_are_flagged(status: ResultStatus) -> None:
    assert code_of(one(result("1500", status=status))) == "LL"


@pytest.mark.parametrize("status", [ReportStatus.CANCELLED, ReportStatus.ENTERED_IN_ERROR])
def test_withdrawn_order_is_not_flagged(status: ReportStatus) -> None:
    evaluation = one(result("1500"), status=status)
    assert evaluation.finding is None
    assert "flag.status-not-flaggable" in issue_codes(evaluation)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (Text("see comment"), "flag.value-not-numeric"),
        (Text("QNS"), "flag.value-not-numeric"),
        (Text("cancelled"), "flag.value-not-numeric"),
        (CodedResult(Concept((Coding("CLOT", "Clotted specimen"),))), "flag.value-not-numeric"),
        (Ratio(Decimal(1), Decimal(2), "1:2"), "flag.value-not-numeric"),
        (NoValue("masked", "***.**"), "flag.data-absent"),
        (NoValue("empty"), "flag.data-absent"),
    ],
)
def test_values_that_cannot_be_judged(value: object, code: str) -> None:
    evaluation = one(result(value))  # type: ignore[arg-type]
    assert evaluation.finding is None
    assert evaluation.analyte is not None
    issue = next(i for i in evaluation.issues if i.code == code)
    assert issue.location == "MSG[1]/OBX[1]-5"


def test_text_value_naming_another_unit_than_the_unit_field_is_not_flagged() -> None:
    # ST '800 cells/uL' with OBX-6 10*3/uL: read in OBX-6's unit it was an ANC of 800,000 (H).
    sent = Number(Decimal("800"), "800 cells/uL", comment="cells/uL")
    evaluation = one(result(sent, code=ANC, unit=K_PER_UL))
    assert evaluation.finding is None
    issue = next(i for i in evaluation.issues if i.code == "units.unit-conflict")
    assert issue.location == "MSG[1]/OBX[1]-5"
    assert "'cells/uL'" in issue.text
    assert "'10*3/uL'" in issue.text


@pytest.mark.parametrize("comment", ["K/uL", "x10^3/uL", "(repeat)", "verified"])
def test_text_value_naming_the_unit_sent_or_no_unit_is_flagged(comment: str) -> None:
    sent = Number(Decimal("0.8"), f"0.8 {comment}", comment=comment)
    evaluation = one(result(sent, code=ANC, unit=K_PER_UL))
    assert evaluation.finding is not None
    assert (evaluation.finding.code, evaluation.finding.value_per_ul) == ("LU", Decimal(800))
    assert "units.unit-conflict" not in issue_codes(evaluation)


@pytest.mark.parametrize(
    ("unit", "said"),
    [
        (K_PER_UL, "'<0.5' is a number sent as text (a count"),
        (None, "'<0.5' is a number sent as text, without a unit (a count"),
    ],
)
def test_number_sent_as_text_says_without_a_unit_only_when_none_was_sent(
    unit: Unit | None, said: str
) -> None:
    # An HL7 v2 OBX with OBX-2 empty, '<0.5' and OBX-6 10*3/uL: the unit was sent.
    evaluation = one(result(Text("<0.5"), unit=unit))
    issue = next(i for i in evaluation.issues if i.code == "flag.value-not-numeric")
    assert said in issue.text


def test_data_absent_reason_is_not_flagged() -> None:
    evaluation = one(result("0", data_absent_reason="not-performed"))
    assert evaluation.finding is None
    assert "not-performed" in evaluation.issues[0].text


def test_missing_unit_is_not_guessed_when_units_cannot_infer_it() -> None:
    # 150 could be 150 cells/µL or 150,000 cells/µL: both are plausible counts.
    evaluation = one(result("150", unit=None))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity) == ("units.no-unit", Severity.WARNING)
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "10*3/uL or /uL" in issue.text


def test_missing_unit_stays_ambiguous_when_the_lab_range_fits_both_readings() -> None:
    evaluation = one(result("7", unit=None, reference=lab_range("4-11", "4", "11")))
    assert evaluation.quantity is None
    assert issue_codes(evaluation) == ["units.no-unit"]


@pytest.mark.parametrize(
    ("unit", "code", "where"),
    [
        (Unit("10*12/L", "10*12/L"), "units.wrong-analyte", "-6"),  # a red-cell unit
        (Unit("%", "%"), "units.percent", "-6"),
        (Unit("bananas"), "units.unknown-unit", "-6"),
        (Unit("/L"), "units.refused-unit", "-6"),  # per litre, its 10^9 lost: never read
        (Unit("fL", "fL"), "units.wrong-dimension", "-6"),
        (Unit("K/uL", "/uL", "http://unitsofmeasure.org"), "units.unit-conflict", "-6"),
    ],
)
def test_refused_unit_is_reported_by_units_and_not_flagged(
    unit: Unit, code: str, where: str
) -> None:
    evaluation = one(result("4.5", code=ANC, unit=unit))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    assert evaluation.analyte is not None  # still an ANC, just not judged
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity) == (code, Severity.WARNING)
    assert issue.location == "MSG[1]/OBX[1]" + where
    assert unit.text in issue.text


@pytest.mark.parametrize(("value", "unit"), [("-1", "/uL"), ("4500", "10*3/uL")])
def test_implausible_values_are_not_flagged(value: str, unit: str) -> None:
    evaluation = one(result(value, unit=Unit(unit, unit)))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    (issue,) = evaluation.issues
    assert (issue.code, issue.location) == ("units.implausible", "MSG[1]/OBX[1]-5")


def test_unit_inferred_by_units_is_used_with_a_warning() -> None:
    evaluation = one(result("3.2", unit=None, reference=lab_range("4.0-11.0", "4.0", "11.0")))
    assert code_of(evaluation) == "L"
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 3200
    assert (range_of(evaluation).low, range_of(evaluation).high) == (Decimal(4000), Decimal(11000))
    issue = next(i for i in evaluation.issues if i.code == "units.unit-inferred")
    assert issue.severity.value == "warning"
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "10*3/uL (factor 1000 to cells/µL)" in issue.text
    assert not any(i.code.startswith("flag.unit") for i in evaluation.issues)


def test_lab_range_without_unit_decides_an_ambiguous_magnitude() -> None:
    # 7 alone could be 7 or 7,000 cells/µL; read with its range 4.5-11.0 only 7,000 fits.
    evaluation = one(result("7", unit=None, reference=lab_range("4.5-11.0", "4.5", "11.0")))
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 7000
    assert (range_of(evaluation).low, range_of(evaluation).high) == (Decimal(4500), Decimal(11000))
    assert code_of(evaluation) == "N"
    assert "units.unit-inferred" in issue_codes(evaluation)


def test_zero_without_unit_takes_the_magnitude_of_its_range() -> None:
    evaluation = one(result("0", unit=None, reference=lab_range("4000-11000", "4000", "11000")))
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 0
    assert (range_of(evaluation).low, range_of(evaluation).high) == (Decimal(4000), Decimal(11000))
    assert code_of(evaluation) == "LL"


def test_a_range_that_fits_no_reading_does_not_stop_an_unambiguous_value() -> None:
    # 6.8 can only be 6,800 cells/µL; the range's 4000-11000 cannot be in the same unit.
    evaluation = one(result("6.8", unit=None, reference=lab_range("4000-11000", "4000", "11000")))
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 6800
    assert issue_codes(evaluation) == ["units.unit-inferred", "flag.lab-range-unusable"]
    assert range_of(evaluation).source == "default"


def test_a_value_written_in_tenths_is_not_read_as_cells_per_ul_by_its_range() -> None:
    # 6.0 beside 4000-11000, both without unit: read together as /uL it was a critical WBC of
    # 6 cells/µL (grade 4), while 6.8 beside the same range is 6,800; no lab writes tenths of a cell
    evaluation = one(result("6.0", unit=None, reference=lab_range("4000-11000", "4000", "11000")))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    assert issue_codes(evaluation) == ["units.no-unit"]


def test_a_range_written_in_tenths_reads_a_whole_value_in_thousands() -> None:
    # 4.0-11.0 is not 4-11 cells/µL: 7 beside it can only be 7,000
    evaluation = one(result("7", unit=None, reference=lab_range("4.0-11.0", "4.0", "11.0")))
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 7000
    assert code_of(evaluation) == "N"


def test_tolerantly_matched_unit_is_noted_and_judged() -> None:
    evaluation = one(result("3.2", unit=Unit("K/UL")))  # matched K/uL after case folding
    assert code_of(evaluation) == "L"
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity) == ("units.unit-matched-tolerantly", Severity.INFORMATION)
    assert issue.location == "MSG[1]/OBX[1]-6"


def test_range_value_without_unit_is_never_inferred() -> None:
    value = NumberRange(Decimal("1.0"), Decimal("2.0"), "1.0-2.0")
    evaluation = one(result(value, unit=None))
    assert evaluation.finding is None
    (issue,) = evaluation.issues
    assert (issue.code, issue.location) == ("units.no-unit", "MSG[1]/OBX[1]-6")
    assert "1.0-2.0" in issue.text


def test_range_value_in_a_refused_unit_is_reported_by_units() -> None:
    value = NumberRange(Decimal("40"), Decimal("60"), "40-60")
    evaluation = one(result(value, code=ANC, unit=Unit("%", "%")))
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["units.percent"]


def test_negative_value_without_unit_is_implausible() -> None:
    evaluation = one(result("-3.2", unit=None))
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["units.implausible"]


@pytest.mark.parametrize(
    ("value", "comparator", "unit", "said"),
    [
        ("0", "<", PER_UL, "allows no count"),
        ("0.0", "<", K_PER_UL, "allows no count"),
        ("0", "<=", K_PER_UL, "allows only 0"),
        ("1000", ">", K_PER_UL, "at most 1,000,000"),
        ("1000000", ">", PER_UL, "at most 1,000,000"),
        ("1000", ">=", K_PER_UL, "at most 1,000,000"),
    ],
)
def test_a_bound_beyond_the_plausible_counts_is_implausible_not_critical(
    value: str, comparator: str, unit: Unit, said: str
) -> None:
    # '<0' was judged LL with CTCAE grade 4 (every value below 0 is below 2,000), and put
    # leukopenia in the report's conclusion: no count is below zero, the sender erred; '>1000'
    # K/uL was judged H (every value above 1,000,000 is above 11,000), although a plain value
    # that high is refused as a mislabelled unit
    evaluation = one(
        result(
            value, unit=unit, comparator=comparator, reference=lab_range("4.0-11.0", "4.0", "11.0")
        )
    )
    assert evaluation.finding is None
    assert evaluation.quantity is None
    (issue,) = evaluation.issues
    assert (issue.code, issue.location) == ("units.implausible", "MSG[1]/OBX[1]-5")
    assert f"'{comparator}{value}'" in issue.text
    assert said in issue.text


def test_a_bound_just_above_zero_is_still_judged() -> None:
    evaluation = one(result("0.5", unit=K_PER_UL, comparator="<"))
    assert code_of(evaluation) == "LL"


@pytest.mark.parametrize(
    ("value", "comparator", "unit", "allows"),
    [
        ("1000", ">", K_PER_UL, "no plausible count"),
        # 1,000,000 itself is plausible: the bound allows it alone, not "no plausible count"
        ("1000", ">=", K_PER_UL, "only 1,000,000, which is sent as a value, not a bound"),
        ("1000000", ">=", PER_UL, "only 1,000,000, which is sent as a value, not a bound"),
    ],
)
def test_a_bound_at_the_plausible_limit_says_what_it_allows(
    value: str, comparator: str, unit: Unit, allows: str
) -> None:
    evaluation = one(result(value, unit=unit, comparator=comparator))
    (issue,) = evaluation.issues
    assert issue.code == "units.implausible"
    assert f"at most 1,000,000: the bound allows {allows} (a mislabelled unit?" in issue.text


def test_a_bound_just_below_the_plausible_limit_is_still_judged() -> None:
    evaluation = one(result("999", unit=K_PER_UL, comparator=">"))
    assert code_of(evaluation) == "H"


@pytest.mark.parametrize(
    ("sent", "unit", "send"),
    [
        ("1,200", "/uL", "'1200' (no thousands separator) or '1.200' (a decimal point)"),
        ("4,500", "cells/uL", "'4500' (no thousands separator) or '4.500' (a decimal point)"),
        ("1,500", "10*3/uL", "'1500' (no thousands separator) or '1.500' (a decimal point)"),
    ],
)
def test_a_count_with_a_comma_before_three_digits_says_what_the_sender_should_send(
    sent: str, unit: str, send: str
) -> None:
    # 'not read as a number: its comma may separate thousands or be a decimal comma' said why,
    # but not what the sender should correct to: HL7 v2 NM (and FHIR decimals) have neither
    message = oru_message(results=[wbc("7.7", unit, reference_range="")])
    text = message.text.replace(f"|7.7|{unit}|", f"|{sent}|{unit}|")
    conversion = leukoflag.convert(text)
    assert conversion.findings == []
    (issue,) = [i for i in conversion.issues if i.code == "flag.value-not-numeric"]
    assert issue.location == "MSG[1]/OBX[1]-5"
    assert issue.text == (
        f"not flagged: the WBC value '{sent}' is not read as a number: its comma may separate "
        f"thousands or be a decimal comma; the sender should send {send}: a number has neither "
        "in HL7 v2 or FHIR"
    )
