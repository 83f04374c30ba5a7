"""The contract api.py relies on, and patient_context."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leukoflag import flagging
from leukoflag.flagging import _evaluate
from leukoflag.model import Analyte, Evaluation, Identifier, Patient, Timestamp, Unit
from leukoflag.settings import Settings

from .build import K_PER_UL, NEUT_PCT, evaluate, patient, result


def test_one_evaluation_per_result_in_order_then_derived() -> None:
    hemoglobin = result("13.2", code="718-7", unit=Unit("g/dL", "g/dL"), n=1)
    wbc = result("4.0", unit=K_PER_UL, n=2)
    neut = result("30", code=NEUT_PCT, unit=Unit("%", "%"), n=3)
    platelets = result("250", code="777-3", unit=K_PER_UL, n=4)
    evaluations = evaluate(hemoglobin, wbc, neut, platelets)
    assert [e.location for e in evaluations] == [
        "MSG[1]/OBX[1]",
        "MSG[1]/OBX[2]",
        "MSG[1]/OBX[3]",
        "MSG[1]/OBX[4]",
        "MSG[1]/OBR[1]/ANC[derived]",
    ]
    assert [e.analyte for e in evaluations] == [None, Analyte.WBC, None, None, Analyte.ANC]


def test_out_of_scope_results_get_a_bare_evaluation() -> None:
    evaluation = evaluate(result("13.2", code="718-7", unit=Unit("g/dL", "g/dL")))[0]
    assert evaluation == type(evaluation)("MSG[1]/OBX[1]")


def test_bare_evaluations_kept_by_location_stay_bounded() -> None:
    kept = _evaluate._BARE
    for n in range(1, _evaluate._BARE_KEPT + 500):
        location = f"MSG[2]/OBR[1]/OBX[{n}]"
        assert _evaluate._bare(location) == Evaluation(location)
        assert len(kept) <= _evaluate._BARE_KEPT
    long_location = "ITEM[1]/Bundle.entry[1].resource" + ".component[1]" * 10
    assert _evaluate._bare(long_location) == Evaluation(long_location)
    assert long_location not in kept
    second = evaluate(result("13.2", code="718-7", unit=Unit("g/dL", "g/dL")))[0]
    assert second == Evaluation("MSG[1]/OBX[1]")


def test_in_scope_evaluation_fills_every_field() -> None:
    evaluation = evaluate(result("3.2", unit=K_PER_UL))[0]
    assert evaluation.analyte is Analyte.WBC
    assert evaluation.quantity is not None
    assert evaluation.reference_range is not None
    finding = evaluation.finding
    assert finding is not None
    assert finding.location == evaluation.location
    assert finding.analyte is Analyte.WBC
    assert finding.value_per_ul == 3200
    assert finding.threshold == 4000
    assert "Cleveland Clinic" in finding.threshold_source
    assert finding.range == evaluation.reference_range
    assert finding.condition is not None
    assert (finding.condition.code, finding.condition.display) == ("84828003", "Leukopenia")
    assert finding.condition.system == "http://snomed.info/sct"
    assert not finding.derived


def test_evaluating_twice_gives_equal_results() -> None:
    first = evaluate(result("3.2", unit=K_PER_UL))
    second = evaluate(result("3.2", unit=K_PER_UL))
    assert first == second


def test_patient_context_without_patient() -> None:
    context = flagging.patient_context(None, Settings())
    assert (context.birth_date, context.sex, context.duffy_null) == (None, "unknown", False)


def test_patient_context_reads_birth_date_and_sex() -> None:
    context = flagging.patient_context(patient(birth="2019-07-04", sex="male"), Settings())
    assert (context.birth_date, context.birth_date_latest) == (dt.date(2019, 7, 4), None)
    assert context.sex == "male"


@pytest.mark.parametrize(
    ("sent", "earliest", "latest"),
    [
        ("2019", dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
        ("2019-02", dt.date(2019, 2, 1), dt.date(2019, 2, 28)),
        ("2020-02", dt.date(2020, 2, 1), dt.date(2020, 2, 29)),
        ("2019-12", dt.date(2019, 12, 1), dt.date(2019, 12, 31)),
    ],
)
def test_patient_context_keeps_the_span_of_an_imprecise_birth_date(
    sent: str, earliest: dt.date, latest: dt.date
) -> None:
    context = flagging.patient_context(patient(birth=sent), Settings())
    assert (context.birth_date, context.birth_date_latest) == (earliest, latest)


@pytest.mark.parametrize(("sent", "sex"), [("F", "unknown"), ("Female", "female"), ("", "unknown")])
def test_patient_context_accepts_only_administrative_gender(sent: str, sex: str) -> None:
    context = flagging.patient_context(patient(sex=sent), Settings())
    assert context.sex == sex


def test_birth_date_with_time_of_day_is_a_day() -> None:
    born = Patient(
        location="MSG[1]/PID[1]",
        birth_date=Timestamp("201907040830", "2019-07-04T08:30:00-05:00", dt.date(2019, 7, 4)),
    )
    context = flagging.patient_context(born, Settings())
    assert (context.birth_date, context.birth_date_latest) == (dt.date(2019, 7, 4), None)


def test_duffy_opt_in_through_assigning_authority() -> None:
    settings = Settings(duffy_null=frozenset({"GENHOSP|000381"}))
    with_assigner = patient(Identifier("000381", assigner="GENHOSP"))
    assert flagging.patient_context(with_assigner, settings).duffy_null


def test_numbers_stay_decimal() -> None:
    wbc = result("4.25", unit=K_PER_UL, n=1)
    neut = result("33.3", code=NEUT_PCT, unit=Unit("%", "%"), n=2)
    evaluations = evaluate(wbc, neut)
    values = [e.finding.value_per_ul for e in evaluations if e.finding is not None]
    assert len(values) == 2
    assert all(isinstance(value, Decimal) for value in values)
    assert all(isinstance(e.finding.threshold, Decimal | None) for e in evaluations if e.finding)
