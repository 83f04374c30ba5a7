"""CTCAE grades, v5.0 and v6.0, with the NCIt term; grade 1 only with the lab's LLN."""

from __future__ import annotations

from typing import Literal

import pytest

from leukoflag import flagging
from leukoflag.settings import Settings

from .build import ANC, lab_range, one, result

WBC_LAB = lab_range("4.5-11.0", "4500", "11000")
ANC_LAB = lab_range("2.0-7.5", "2000", "7500")
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


def grade(value: str, version: str, **kwargs: object) -> int | None:
    evaluation = one(result(value, **kwargs), settings=Settings(ctcae_version=version))  # type: ignore[arg-type]
    assert evaluation.finding is not None
    return evaluation.finding.ctcae_grade


@pytest.mark.parametrize("version", ["5.0", "6.0"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4500", None),
        ("4499", 1),
        ("3000", 1),
        ("2999", 2),
        ("2000", 2),
        ("1999", 3),
        ("1000", 3),
        ("999", 4),
    ],
)
def test_wbc_grades_are_the_same_in_both_versions(
    version: str, value: str, expected: int | None
) -> None:
    assert grade(value, version, reference=WBC_LAB) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000", None),
        ("1999", 1),
        ("1500", 1),
        ("1499", 2),
        ("1000", 2),
        ("999", 3),
        ("500", 3),
        ("499", 4),
    ],
)
def test_anc_grades_v5(value: str, expected: int | None) -> None:
    assert grade(value, "5.0", code=ANC, reference=ANC_LAB) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1999", None),
        ("1500", None),
        ("1499", 1),
        ("1000", 1),
        ("999", 2),
        ("500", 2),
        ("499", 3),
        ("100", 3),
        ("99", 4),
    ],
)
def test_anc_grades_v6_need_no_lln(value: str, expected: int | None) -> None:
    assert grade(value, "6.0", code=ANC) == expected


def test_grade_1_is_not_given_without_a_lab_lln() -> None:
    # 3,500 is below every adult default low limit, but CTCAE grade 1 needs the lab's LLN.
    assert grade("3500", "5.0") is None
    assert grade("1800", "5.0", code=ANC) is None


def test_grade_1_is_not_given_when_the_policy_ignores_the_lab_range() -> None:
    settings = Settings(range_policy="default")
    evaluation = one(result("4000", reference=WBC_LAB), settings=settings)
    assert evaluation.finding is not None
    assert evaluation.finding.ctcae_grade is None


def test_grades_2_to_4_need_no_lln() -> None:
    assert grade("2500", "5.0") == 2


@pytest.mark.parametrize(
    ("version", "code", "term"),
    [
        ("5.0", "6690-2", "C143948"),
        ("6.0", "6690-2", "C143948"),
        ("5.0", ANC, "C143704"),
        ("6.0", ANC, "C143704"),
    ],
)
def test_finding_carries_version_and_ncit_term(
    version: Literal["5.0", "6.0"], code: str, term: str
) -> None:
    evaluation = one(result("90", code=code), settings=Settings(ctcae_version=version))
    finding = evaluation.finding
    assert finding is not None
    assert finding.ctcae_grade == 4
    assert finding.ctcae_version == version
    assert finding.ctcae_term is not None
    assert (finding.ctcae_term.code, finding.ctcae_term.system) == (term, NCIT)


def test_ungraded_finding_carries_no_version() -> None:
    evaluation = one(result("7000"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.ctcae_grade, finding.ctcae_version, finding.ctcae_term) == (None, "", None)


def test_wbc_estimate_is_flagged_but_not_graded() -> None:
    evaluation = one(result("1500", code="49498-9"))
    finding = evaluation.finding
    assert finding is not None
    assert finding.code == "LL"
    assert finding.ctcae_grade is None


@pytest.mark.parametrize(
    ("grade_number", "code"),
    [(1, "C41338"), (2, "C41339"), (3, "C41340"), (4, "C41337"), (5, "C48275")],
)
def test_grade_codings_for_the_fhir_writer(grade_number: int, code: str) -> None:
    coding = flagging.ctcae_grade_coding(grade_number)
    assert (coding.code, coding.system) == (code, NCIT)


def test_unknown_grade_has_no_coding() -> None:
    with pytest.raises(KeyError):
        flagging.ctcae_grade_coding(6)
