"""Comparators, value ranges, statuses, text, masked and absent values, units, plausibility."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag import units
from leukoflag.errors import UnitError
from leukoflag.model import (
    CodedResult,
    Coding,
    Concept,
    NoValue,
    NumberRange,
    Ratio,
    ReportStatus,
    ResultStatus,
    Text,
    Unit,
)

from .build import ANC, K_PER_UL, adult, code_of, issue_codes, lab_range, one, range_of, result


def test_less_than_1_thousand_proves_critical_low_wbc() -> None:
    evaluation = one(result("1.0", unit=K_PER_UL, comparator="<"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.comparator, finding.value_per_ul) == ("LL", "<", 1000)
    assert finding.condition is not None
    assert finding.ctcae_grade == 4  # every value below 1,000 is grade 4
    assert evaluation.quantity is not None
    assert (evaluation.quantity.value, evaluation.quantity.comparator) == (1000, "<")
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
    assert (finding.code, finding.value_per_ul, finding.comparator) == ("LU", 2000, "<=")
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


def test_data_absent_reason_is_not_flagged() -> None:
    evaluation = one(result("0", data_absent_reason="not-performed"))
    assert evaluation.finding is None
    assert "not-performed" in evaluation.issues[0].text


def test_missing_unit_is_not_guessed_when_units_cannot_infer_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = units.count_per_ul

    def refusing(value: Decimal | str | int, unit: object, analyte: str = "wbc") -> Decimal:
        if unit is None:  # what leukoflag.units does for an ambiguous magnitude
            raise UnitError("150 fits both cells/µL and ×10³/µL", reason="no-unit")
        return real(value, unit, analyte)  # type: ignore[arg-type]

    monkeypatch.setattr(units, "count_per_ul", refusing)
    evaluation = one(result("150", unit=None))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    issue = next(i for i in evaluation.issues if i.code == "flag.unit-missing")
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "fits both" in issue.text


def test_unit_of_another_analyte_is_not_a_count() -> None:
    evaluation = one(result("4.5", unit=Unit("10*12/L", "10*12/L")))
    assert evaluation.finding is None
    assert "flag.unit-unusable" in issue_codes(evaluation)


def test_percent_on_a_count_code_is_not_a_count() -> None:
    evaluation = one(result("55", code=ANC, unit=Unit("%", "%")))
    assert evaluation.finding is None
    assert "flag.unit-unusable" in issue_codes(evaluation)


def test_unknown_unit_is_not_guessed() -> None:
    evaluation = one(result("4.5", unit=Unit("bananas")))
    assert evaluation.finding is None
    assert "flag.unit-unusable" in issue_codes(evaluation)


@pytest.mark.parametrize(("value", "unit"), [("-1", "/uL"), ("4500", "10*3/uL")])
def test_implausible_values_are_not_flagged(value: str, unit: str) -> None:
    evaluation = one(result(value, unit=Unit(unit, unit)))
    assert evaluation.finding is None
    assert evaluation.quantity is None
    assert "flag.value-implausible" in issue_codes(evaluation)


def test_unit_inferred_by_units_is_used_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    real = units.count_per_ul

    def inferring(value: Decimal | str | int, unit: object, analyte: str = "wbc") -> Decimal:
        if unit is None:  # what leukoflag.units does for an unambiguous magnitude
            return Decimal(value).scaleb(3)
        return real(value, unit, analyte)  # type: ignore[arg-type]

    monkeypatch.setattr(units, "count_per_ul", inferring)
    evaluation = one(result("3.2", unit=None, reference=lab_range("4.0-11.0", "4.0", "11.0")))
    assert code_of(evaluation) == "L"
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == 3200
    assert (range_of(evaluation).low, range_of(evaluation).high) == (4000, 11000)
    issue = next(i for i in evaluation.issues if i.code == "flag.unit-inferred")
    assert issue.severity.value == "warning"
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "×1,000 cells/µL" in issue.text


def test_range_value_without_unit_is_never_inferred() -> None:
    value = NumberRange(Decimal("1.0"), Decimal("2.0"), "1.0-2.0")
    evaluation = one(result(value, unit=None))
    assert evaluation.finding is None
    assert "flag.unit-missing" in issue_codes(evaluation)


def test_negative_value_without_unit_is_implausible() -> None:
    evaluation = one(result("-3.2", unit=None))
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["flag.value-implausible"]
