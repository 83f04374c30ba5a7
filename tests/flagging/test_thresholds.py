"""Every threshold at its boundary: one below, on, one above (values in cells/µL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag.settings import Settings

from .build import ANC, adult, code_of, lab_range, one, result

LEUKOPENIA = "84828003"
NEUTROPENIA = "165517008"
# A lab range wide enough that only the rule under test can lower the code: no low limit (a
# count a range's low limit holds is not critical, test_critical_within_range.py).
WIDE_WBC = lab_range("<50.0", None, "50000")
WIDE_ANC = lab_range("<50000", None, "50000")


def finding_code(
    value: str, settings: Settings | None = None, **kwargs: object
) -> tuple[str | None, str | None, str | None]:
    evaluation = one(result(value, **kwargs), settings=settings)  # type: ignore[arg-type]
    finding = evaluation.finding
    assert finding is not None
    condition = finding.condition.code if finding.condition else None
    return finding.code, finding.rule, condition


@pytest.mark.parametrize(
    ("value", "code", "rule", "condition"),
    [
        ("3999", "L", "wbc-leukopenia-adult", LEUKOPENIA),
        ("4000", "N", "wbc-within-range", None),
        ("4001", "N", "wbc-within-range", None),
    ],
)
def test_adult_leukopenia_is_below_4000(
    value: str, code: str, rule: str, condition: str | None
) -> None:
    assert finding_code(value, reference=WIDE_WBC) == (code, rule, condition)


def test_leukopenia_is_low_even_inside_a_wider_lab_range() -> None:
    # The lab says 3.5-10.5; 3,999 is inside it but below the sourced leukopenia threshold.
    evaluation = one(result("3999", reference=lab_range("3.5-10.5", "3500", "10500")))
    assert code_of(evaluation) == "L"
    assert evaluation.finding is not None
    assert evaluation.finding.rule == "wbc-leukopenia-adult"


@pytest.mark.parametrize(
    ("value", "code", "rule"),
    [
        ("2999", "LU", "wbc-significantly-low"),
        ("3000", "L", "wbc-leukopenia-adult"),
        ("3001", "L", "wbc-leukopenia-adult"),
    ],
)
def test_wbc_significantly_low_is_below_3000(value: str, code: str, rule: str) -> None:
    assert finding_code(value, reference=WIDE_WBC)[:2] == (code, rule)


@pytest.mark.parametrize(("value", "code"), [("1999", "LL"), ("2000", "LU"), ("2001", "LU")])
def test_wbc_critical_low_is_below_2000_by_default(value: str, code: str) -> None:
    assert finding_code(value, reference=WIDE_WBC)[0] == code


@pytest.mark.parametrize(("value", "code"), [("2499", "LL"), ("2500", "LU"), ("2501", "LU")])
def test_wbc_critical_low_follows_settings(value: str, code: str) -> None:
    settings = Settings(critical_low={"wbc": 2500})
    assert finding_code(value, reference=WIDE_WBC, settings=settings)[0] == code


def test_critical_low_rule_names_its_threshold_and_source() -> None:
    evaluation = one(result("1500"), settings=Settings(critical_low={"wbc": 1800}))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.threshold) == (
        "LL",
        "wbc-critical-low",
        Decimal(1800),
    )
    assert "critical-value" in finding.threshold_source


def test_a_critical_low_set_by_the_lab_is_not_attributed_to_the_default_lists() -> None:
    # the default's citation reads "WBC < 2,000/µL": beside a threshold of 1,800 it misstates it
    evaluation = one(result("1500"), settings=Settings(critical_low={"wbc": 1800}))
    finding = evaluation.finding
    assert finding is not None
    assert finding.threshold == 1800
    assert finding.threshold_source == (
        "the lab's critical-value policy: Settings.critical_low WBC < 1,800/µL (leukoflag's "
        "default is 2,000/µL, from typical hospital laboratory critical-value lists)"
    )


def test_equal_critical_lows_name_the_same_limit_in_one_form() -> None:
    # 1,750.5, 1,750.50 and 1.7505E+3 are one limit: Settings that compare equal (an engine
    # caching by them) gave "1,750.50" for the one and "1,750.5" for the other
    sources = []
    for limit in ("1750.5", "1750.50", "1.7505E+3", "1750.5"):
        evaluation = one(result("1500"), settings=Settings(critical_low={"wbc": limit}))
        assert evaluation.finding is not None
        assert str(evaluation.finding.threshold) == "1750.5"
        sources.append(evaluation.finding.threshold_source.split(" (")[0])
    named = "the lab's critical-value policy: Settings.critical_low WBC < 1,750.5/µL"
    assert sources == 4 * [named]


@pytest.mark.parametrize("settings", [Settings(), Settings(critical_low={"anc": "500.0"})])
def test_the_default_critical_low_keeps_its_citation(settings: Settings) -> None:
    evaluation = one(result("450", code=ANC), settings=settings)
    finding = evaluation.finding
    assert finding is not None
    assert finding.threshold_source.startswith("Typical hospital laboratory critical-value lists")


@pytest.mark.parametrize(
    ("value", "code", "severity"),
    [
        ("1499", "L", "mild"),
        ("1500", "N", ""),
        ("1501", "N", ""),
        ("999", "LU", "moderate"),
        ("1000", "L", "mild"),
        ("1001", "L", "mild"),
        ("499", "LL", "severe"),
        ("500", "LU", "moderate"),
        ("501", "LU", "moderate"),
        ("99", "LL", "profound"),
        ("100", "LL", "severe"),
        ("101", "LL", "severe"),
    ],
)
def test_adult_neutropenia_codes_and_severity(value: str, code: str, severity: str) -> None:
    evaluation = one(result(value, code=ANC, reference=WIDE_ANC))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.severity) == (code, severity)
    assert (finding.condition is not None) == (Decimal(value) < 1500)


@pytest.mark.parametrize(("value", "code"), [("299", "LL"), ("300", "LU"), ("301", "LU")])
def test_anc_critical_low_follows_settings(value: str, code: str) -> None:
    settings = Settings(critical_low={"anc": 300})
    evaluation = one(result(value, code=ANC), settings=settings)
    assert code_of(evaluation) == code


@pytest.mark.parametrize(
    ("sex", "value", "code"),
    [
        ("male", "4999", "L"),
        ("male", "5000", "N"),
        ("male", "5001", "N"),
        ("male", "9999", "N"),
        ("male", "10000", "N"),
        ("male", "10001", "H"),
        ("female", "4499", "L"),
        ("female", "4500", "N"),
        ("female", "4501", "N"),
        ("female", "10999", "N"),
        ("female", "11000", "N"),
        ("female", "11001", "H"),
        ("unknown", "4499", "L"),
        ("unknown", "4500", "N"),
        ("unknown", "10001", "N"),
        ("unknown", "11000", "N"),
        ("unknown", "11001", "H"),
        ("other", "4499", "L"),
        ("other", "4500", "N"),
        ("other", "11001", "H"),
    ],
)
def test_default_adult_wbc_range_by_sex(sex: str, value: str, code: str) -> None:
    evaluation = one(result(value), context=adult(sex))
    assert code_of(evaluation) == code
    assert evaluation.reference_range is not None
    assert evaluation.reference_range.source == "default"
    assert "Cleveland Clinic" in evaluation.reference_range.citation


@pytest.mark.parametrize("sex", ["unknown", "other"])
def test_the_union_range_of_an_unknown_sex_says_it_is_the_union(sex: str) -> None:
    # 4,500-11,000 is the women's range too: cited as the women's range alone, a WBC of 4,200
    # judged L for a patient of unknown sex read as if the patient were a woman
    evaluation = one(result("4200"), context=adult(sex))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.threshold) == (
        "L",
        "wbc-below-range",
        Decimal(4500),
    )
    citation = evaluation.reference_range.citation if evaluation.reference_range else ""
    assert "sex is unknown or other, so judged with their union, 4,500-11,000/µL" in citation
    assert "men 5,000-10,000/µL and women 4,500-11,000/µL" in citation
    assert finding.threshold_source == citation  # the explanation's thresholdSource says so too


@pytest.mark.parametrize("sex", ["male", "female"])
def test_a_known_sex_keeps_the_plain_range_citation(sex: str) -> None:
    evaluation = one(result("7000"), context=adult(sex))
    assert evaluation.reference_range is not None
    assert "union" not in evaluation.reference_range.citation


def test_below_range_without_leukopenia_gives_no_finding() -> None:
    evaluation = one(result("4200"), context=adult("male"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.threshold) == (
        "L",
        "wbc-below-range",
        Decimal(5000),
    )
    assert finding.condition is None


def test_adult_anc_without_lab_range_is_never_high() -> None:
    evaluation = one(result("25000", code=ANC))
    assert code_of(evaluation) == "N"
    assert evaluation.reference_range is not None
    assert (evaluation.reference_range.low, evaluation.reference_range.high) == (
        Decimal(1500),
        None,
    )


@pytest.mark.parametrize(("value", "code"), [("7999", "N"), ("8000", "N"), ("8001", "H")])
def test_lab_high_limit_gives_h(value: str, code: str) -> None:
    evaluation = one(result(value, code=ANC, reference=lab_range("1.8-8.0", "1800", "8000")))
    assert code_of(evaluation) == code


def test_no_hu_or_hh_is_ever_emitted() -> None:
    evaluation = one(result("900000"))
    assert code_of(evaluation) == "H"


@pytest.mark.parametrize(("value", "code"), [("1799", "L"), ("1800", "N"), ("1801", "N")])
def test_lab_low_limit_above_the_disease_threshold_gives_l_without_finding(
    value: str, code: str
) -> None:
    evaluation = one(result(value, code=ANC, reference=lab_range("1.8-8.0", "1800", "8000")))
    assert code_of(evaluation) == code
    assert evaluation.finding is not None
    assert evaluation.finding.condition is None
