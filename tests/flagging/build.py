"""Builders for the flagging tests: results, orders and patients written for the project."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from leukoflag import flagging
from leukoflag.model import (
    Coding,
    Concept,
    Evaluation,
    Identifier,
    LabResult,
    NormalizedRange,
    Number,
    Order,
    Patient,
    PatientContext,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Specimen,
    Timestamp,
    Unit,
    Value,
)
from leukoflag.settings import Settings

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
SNOMED = "http://snomed.info/sct"
ORDER = "MSG[1]/OBR[1]"
WBC = "6690-2"
ANC = "751-8"
NEUT_PCT = "770-8"
PER_UL = Unit("cells/uL", "/uL", UCUM)
K_PER_UL = Unit("10*3/uL", "10*3/uL", UCUM)
ADULT_BIRTH = dt.date(1980, 6, 15)
DAY = "2026-03-10"


def stamp(day: str) -> Timestamp:
    return Timestamp(text=day.replace("-", ""), fhir=day, day=dt.date.fromisoformat(day))


def loinc(code: str, display: str = "") -> Concept:
    return Concept((Coding(code, display, LOINC, "LN"),))


def local(code: str, display: str = "", *, text: str = "") -> Concept:
    return Concept((Coding(code, display, "", "99LAB"),), text=text)


def result(
    value: str | Value,
    *,
    code: str | Concept = WBC,
    unit: Unit | None = PER_UL,
    n: int = 1,
    status: ResultStatus = ResultStatus.FINAL,
    reference: ReferenceRange | None = None,
    flags: tuple[str, ...] = (),
    day: str | None = DAY,
    specimen: str = "",
    comparator: str = "",
    data_absent_reason: str = "",
) -> LabResult:
    concept = loinc(code) if isinstance(code, str) else code
    if isinstance(value, str):
        value = Number(Decimal(value), f"{comparator}{value}", comparator)
    return LabResult(
        location=f"MSG[1]/OBX[{n}]",
        code=concept,
        value=value,
        status=status,
        unit=unit,
        reference_range=reference,
        sender_flags=tuple(Coding(code=f) for f in flags),
        value_type="NM",
        set_id=str(n),
        effective=stamp(day) if day else None,
        specimen=specimen,
        order=ORDER,
        data_absent_reason=data_absent_reason,
    )


def lab_range(
    text: str, low: str | None, high: str | None, unit: Unit | None = None
) -> ReferenceRange:
    return ReferenceRange(
        text,
        Decimal(low) if low is not None else None,
        Decimal(high) if high is not None else None,
        unit,
    )


def order(
    *results: LabResult,
    specimens: tuple[Specimen, ...] = (),
    status: ReportStatus = ReportStatus.FINAL,
    code: Concept | None = None,
    specimen_source: Concept | None = None,
) -> Order:
    return Order(
        location=ORDER,
        code=code or loinc("58410-2", "CBC panel - Blood by Automated count"),
        status=status,
        specimen_source=specimen_source,
        results=results,
        specimens=specimens,
    )


def specimen(
    code: str,
    display: str = "",
    *,
    n: int = 1,
    system: str = V2_0487,
    control: bool = False,
    collected: str | None = None,
) -> Specimen:
    return Specimen(
        location=f"MSG[1]/SPM[{n}]",
        type=Concept((Coding(code, display, system),)),
        collected=stamp(collected) if collected else None,
        is_control=control,
    )


def adult(sex: str = "female", *, duffy: bool = False) -> PatientContext:
    return PatientContext(birth_date=ADULT_BIRTH, sex=sex, duffy_null=duffy)


def born(day: str, sex: str = "female") -> PatientContext:
    return PatientContext(birth_date=dt.date.fromisoformat(day), sex=sex)


def evaluate(
    *results: LabResult,
    context: PatientContext | None = None,
    settings: Settings | None = None,
    fallback_day: dt.date | None = None,
    **order_fields: object,
) -> tuple[Evaluation, ...]:
    built = order(*results, **order_fields)  # type: ignore[arg-type]
    return flagging.evaluate_order(
        built, context or adult(), settings or Settings(), fallback_day=fallback_day
    )


def one(*results: LabResult, **kwargs: object) -> Evaluation:
    """The evaluation of the first result."""
    return evaluate(*results, **kwargs)[0]  # type: ignore[arg-type]


def code_of(evaluation: Evaluation) -> str | None:
    return evaluation.finding.code if evaluation.finding else None


def issue_codes(evaluation: Evaluation) -> list[str]:
    return [issue.code for issue in evaluation.issues]


def patient(*identifiers: Identifier, birth: str = "1980-06-15", sex: str = "female") -> Patient:
    return Patient(
        location="MSG[1]/PID[1]",
        identifiers=identifiers,
        birth_date=stamp(birth) if len(birth) == 10 else Timestamp(birth, birth, _first(birth)),
        sex=sex,
    )


def _first(text: str) -> dt.date:
    parts = [int(p) for p in text.split("-")]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, 1)


def range_of(evaluation: Evaluation) -> NormalizedRange:
    assert evaluation.reference_range is not None
    return evaluation.reference_range
