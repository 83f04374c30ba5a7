"""Duffy-null ranges: an explicit opt-in per patient, never inferred; adults only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag import flagging
from leukoflag._range_text import read_range_text
from leukoflag.model import Identifier, Unit
from leukoflag.settings import Settings

from .build import ANC, adult, born, code_of, issue_codes, lab_range, one, patient, range_of, result


def test_without_opt_in_a_low_anc_is_neutropenia() -> None:
    evaluation = one(result("1300", code=ANC), context=adult())
    assert code_of(evaluation) == "L"
    assert evaluation.finding is not None
    assert evaluation.finding.rule == "anc-neutropenia"
    assert range_of(evaluation).source == "default"


@pytest.mark.parametrize(
    ("value", "code", "rule"),
    [
        ("1209", "L", "anc-neutropenia-duffy-null"),
        ("1210", "N", "anc-within-range"),
        ("1300", "N", "anc-within-range"),
        ("5390", "N", "anc-within-range"),
        ("5391", "H", "anc-above-range"),
    ],
)
def test_duffy_null_anc_range(value: str, code: str, rule: str) -> None:
    evaluation = one(result(value, code=ANC), context=adult(duffy=True))
    assert evaluation.finding is not None
    assert (evaluation.finding.code, evaluation.finding.rule) == (code, rule)
    reference = range_of(evaluation)
    assert (reference.low, reference.high, reference.source) == (
        Decimal(1210),
        Decimal(5390),
        "duffy-null",
    )
    assert "Duffy" in reference.citation


@pytest.mark.parametrize(
    ("value", "code"), [("2999", "LU"), ("3000", "N"), ("9660", "N"), ("9661", "H")]
)
def test_duffy_null_wbc_range(value: str, code: str) -> None:
    evaluation = one(result(value), context=adult(duffy=True))
    assert code_of(evaluation) == code


def test_duffy_null_replaces_the_lab_population_range() -> None:
    evaluation = one(
        result("1400", code=ANC, reference=lab_range("1.8-7.7", "1800", "7700")),
        context=adult(duffy=True),
    )
    assert code_of(evaluation) == "N"
    assert range_of(evaluation).source == "duffy-null"


def test_duffy_null_does_not_change_ctcae_grading() -> None:
    settings = Settings(ctcae_version="6.0")
    plain = one(result("1300", code=ANC), context=adult(), settings=settings)
    duffy = one(result("1300", code=ANC), context=adult(duffy=True), settings=settings)
    assert plain.finding is not None
    assert duffy.finding is not None
    assert plain.finding.ctcae_grade == duffy.finding.ctcae_grade == 1


def test_duffy_null_is_not_applied_to_children() -> None:
    context = born("2020-01-01")
    context = type(context)(birth_date=context.birth_date, sex="male", duffy_null=True)
    evaluation = one(result("1600", code=ANC, day="2026-03-10"), context=context)
    assert range_of(evaluation).source == "age-band"
    assert "flag.duffy-null-not-applied" in issue_codes(evaluation)


def test_opt_in_matches_bare_identifier() -> None:
    settings = Settings(duffy_null=frozenset({"MRN-4471"}))
    context = flagging.patient_context(patient(Identifier("MRN-4471", "urn:oid:1.2.3")), settings)
    assert context.duffy_null


def test_opt_in_matches_system_and_value() -> None:
    settings = Settings(duffy_null=frozenset({"urn:oid:1.2.3|MRN-4471"}))
    context = flagging.patient_context(patient(Identifier("MRN-4471", "urn:oid:1.2.3")), settings)
    assert context.duffy_null


def test_opt_in_for_another_patient_is_not_applied() -> None:
    settings = Settings(duffy_null=frozenset({"urn:oid:1.2.3|MRN-9999"}))
    context = flagging.patient_context(patient(Identifier("MRN-4471", "urn:oid:1.2.3")), settings)
    assert not context.duffy_null


def test_same_value_in_another_namespace_is_not_applied() -> None:
    settings = Settings(duffy_null=frozenset({"urn:oid:9.9.9|MRN-4471"}))
    context = flagging.patient_context(patient(Identifier("MRN-4471", "urn:oid:1.2.3")), settings)
    assert not context.duffy_null


def test_star_applies_to_every_patient_of_the_conversion() -> None:
    settings = Settings(duffy_null=frozenset({"*"}))
    assert flagging.patient_context(patient(), settings).duffy_null
    assert flagging.patient_context(None, settings).duffy_null


def test_never_inferred_without_settings() -> None:
    # Nothing in a patient record turns the Duffy-null ranges on by itself.
    context = flagging.patient_context(patient(Identifier("MRN-4471")), Settings())
    assert not context.duffy_null


@pytest.mark.parametrize("sex", ["unknown", "other"])
def test_duffy_null_adult_of_unknown_sex_is_not_told_the_labs_ranges_per_sex_judged(
    sex: str,
) -> None:
    # the union Issue said "judged with their union, 4,000–11,000" while 3,500 was judged N
    # against the Duffy-null 3,000-9,660 (below the union it would have been L)
    reference = read_range_text("M: 4.0-10.0 F: 4.5-11.0")[0]
    evaluation = one(
        result("3.5", unit=Unit("10*3/uL", "10*3/uL"), reference=reference),
        context=adult(sex, duffy=True),
    )
    assert code_of(evaluation) == "N"
    assert range_of(evaluation).source == "duffy-null"
    assert "flag.lab-range-sex-union" not in issue_codes(evaluation)
    # without the opt-in the union judges, and says so
    plain = one(
        result("3.5", unit=Unit("10*3/uL", "10*3/uL"), reference=reference),
        context=adult(sex),
    )
    assert code_of(plain) == "L"
    assert (range_of(plain).source, range_of(plain).low) == ("lab", Decimal(4000))
    assert "flag.lab-range-sex-union" in issue_codes(plain)
