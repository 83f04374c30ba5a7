"""Builders and checks for the FHIR tests: model objects written for the project (as the HL7 v2
reader would give them for a Riverside hospital lab feed) and assertions on written JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from leukoflag import Conversion, fhir, flagging
from leukoflag.model import (
    Analyte,
    Coding,
    Concept,
    Evaluation,
    Finding,
    Identifier,
    Issue,
    LabResult,
    Message,
    NormalizedQuantity,
    NormalizedRange,
    Number,
    Order,
    Patient,
    PatientResult,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Specimen,
    Timestamp,
    Unit,
    Value,
    Visit,
)
from leukoflag.settings import Settings

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"
SENDER = "http://leukoflag.org/fhir/StructureDefinition/sender-interpretation"
RANGE_SOURCE = "http://leukoflag.org/fhir/StructureDefinition/reference-range-source"
PQ = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
ORIGINAL_TEXT = "http://hl7.org/fhir/StructureDefinition/originalText"
MSG = "MSG[1]"
K_PER_UL = Unit("K/uL", "10*3/uL", UCUM)
PER_UL = Unit("cells/uL", "/uL", UCUM)
LEUKOPENIA = Coding("84828003", "Leukopenia", SNOMED)
NEUTROPENIA = Coding("165517008", "Neutropenia", SNOMED)
WBC_TERM = Coding("C143948", "White blood cell decreased", NCIT)
ANC_TERM = Coding("C143704", "Neutrophil count decreased", NCIT)


def finding_and_range(conversion: Conversion) -> tuple[Finding, NormalizedRange]:
    """The conversion's one finding and the range it was judged with, which there must be."""
    (finding,) = conversion.findings
    assert finding.range is not None
    return finding, finding.range


def ts(text: str) -> Timestamp:
    """A timestamp as the HL7 v2 reader renders it (``2026-11-24T08:30:00-05:00``)."""
    return Timestamp(
        text=text.replace("-", "").replace(":", "").replace("T", ""),
        fhir=text,
        day=dt.date.fromisoformat(text[:10]),
    )


def day(text: str) -> Timestamp:
    return Timestamp(text=text.replace("-", ""), fhir=text, day=dt.date.fromisoformat(text))


def loinc(code: str, display: str = "") -> Concept:
    return Concept((Coding(code, display, LOINC, "LN"),))


def local(code: str, display: str) -> Concept:
    return Concept((Coding(code, display, "", "99RVS"),), text=display)


WBC = loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count")
ANC = loinc("751-8", "Neutrophils [#/volume] in Blood by Automated count")
NEUT_PCT = loinc("770-8", "Neutrophils/100 leukocytes in Blood by Automated count")
HGB = loinc("718-7", "Hemoglobin [Mass/volume] in Blood")
CBC = loinc("58410-2", "CBC panel - Blood by Automated count")


def obx(
    n: int,
    value: str | Value,
    *,
    code: Concept = WBC,
    unit: Unit | None = K_PER_UL,
    status: ResultStatus = ResultStatus.FINAL,
    reference: ReferenceRange | None = None,
    flags: tuple[str, ...] = (),
    specimen: str = "",
    order: int = 1,
    **fields: Any,
) -> LabResult:
    """The n-th OBX of message 1, as the HL7 v2 reader gives it."""
    if isinstance(value, str):
        comparator = (
            value[:2] if value[:2] in ("<=", ">=") else value[:1] if value[:1] in "<>" else ""
        )
        value = Number(Decimal(value[len(comparator) :]), value, comparator)
    return LabResult(
        location=f"{MSG}/OBX[{n}]",
        code=code,
        value=value,
        status=status,
        unit=unit,
        reference_range=reference,
        status_text={"final": "F", "corrected": "C", "cancelled": "X"}.get(status.value, ""),
        sender_flags=tuple(Coding(f, system_name="HL70078") for f in flags),
        value_type="NM" if isinstance(value, Number) else "ST",
        set_id=str(n),
        specimen=specimen,
        order=f"{MSG}/OBR[{order}]",
        **fields,
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


def spm(n: int, code: str = "BLD", display: str = "Whole blood", **fields: Any) -> Specimen:
    return Specimen(
        location=f"{MSG}/SPM[{n}]",
        identifier=Identifier(f"S26-{n:04d}", "urn:oid:2.16.840.1.113883.19.3.1"),
        type=Concept((Coding(code, display, V2_0487, "HL70487"),)),
        **fields,
    )


def obr(*results: LabResult, n: int = 1, **fields: Any) -> Order:
    base: dict[str, Any] = {
        "location": f"{MSG}/OBR[{n}]",
        "code": CBC,
        "status": ReportStatus.FINAL,
        "status_text": "F",
        "placer_id": Identifier(f"ORD-7731-{n}", "urn:oid:2.16.840.1.113883.19.4.1"),
        "filler_id": Identifier(f"RVL-26-{n:05d}", assigner="RIVERSIDE LAB"),
        "order_control": "RE",
        "effective": ts("2026-11-24T07:50:00-05:00"),
        "issued": ts("2026-11-24T09:02:41-05:00"),
        "ordering_provider": "4411 Okafor, Ngozi",
    }
    base.update(fields)
    return Order(results=results, **base)


ADULT = Patient(
    location=f"{MSG}/PID[1]",
    identifiers=(Identifier("RVS-008812", "urn:oid:2.16.840.1.113883.19.5", "MR"),),
    family="Lindqvist",
    given=("Maren", "J"),
    birth_date=day("1979-04-02"),
    sex="female",
    sex_text="F",
)
VISIT = Visit(
    location=f"{MSG}/PV1[1]",
    patient_class="O",
    assigned_location="ONC CLINIC^RM 4^1",
    visit_number=Identifier("V-55120", "urn:oid:2.16.840.1.113883.19.6"),
    attending="7702 Haddad, Samir",
)


def message(
    *orders: Order,
    patient: Patient | None = ADULT,
    visit: Visit | None = VISIT,
    control_id: str = "RVL20261124090241-0042",
    index: int = 1,
    **fields: Any,
) -> Message:
    base: dict[str, Any] = {
        "sending_application": "RIVERSIDE_LIS",
        "sending_facility": "RVS_HOSP",
        "receiving_application": "EHR",
        "receiving_facility": "RVS",
        "timestamp": ts("2026-11-24T09:02:41-05:00"),
        "message_type": "ORU^R01^ORU_R01",
        "processing_id": "P",
        "version": "2.5.1",
    }
    base.update(fields)
    return Message(
        index=index,
        source="<test>",
        control_id=control_id,
        groups=(PatientResult(patient, visit, orders),),
        **base,
    )


def finding(
    location: str,
    code: str,
    value: str,
    *,
    analyte: Analyte = Analyte.WBC,
    rule: str = "wbc-leukopenia",
    threshold: str | None = "4000",
    low: bool = True,
    grade: int | None = None,
    severity: str = "",
    lab_range: NormalizedRange | None = None,
    comparator: str = "",
    derived: bool = False,
) -> Finding:
    wbc = analyte is Analyte.WBC
    return Finding(
        location=location,
        analyte=analyte,
        value_per_ul=Decimal(value),
        code=code,
        rule=rule,
        threshold=Decimal(threshold) if threshold is not None else None,
        threshold_source="Cleveland Clinic, Leukopenia (reviewed 2022-10-27)",
        range=lab_range,
        comparator=comparator,
        condition=(LEUKOPENIA if wbc else NEUTROPENIA) if low else None,
        severity=severity,
        ctcae_grade=grade,
        ctcae_version="5.0" if grade is not None else "",
        ctcae_term=(WBC_TERM if wbc else ANC_TERM) if grade is not None else None,
        derived=derived,
    )


def judged(
    location: str,
    value: str,
    code: str,
    *,
    reference: NormalizedRange | None = None,
    loinc_added: Coding | None = None,
    **finding_fields: Any,
) -> Evaluation:
    """An evaluation of an in-scope count that flagging judged ``code``; ``finding_fields`` go
    to :func:`finding` (analyte, comparator, rule, grade …)."""
    chosen = reference or NormalizedRange(
        Decimal("4000"),
        Decimal("11000"),
        "default",
        citation="Cleveland Clinic (default adult range)",
    )
    found = finding(location, code, value, lab_range=chosen, **finding_fields)
    return Evaluation(
        location=location,
        analyte=found.analyte,
        loinc=loinc_added,
        quantity=NormalizedQuantity(found.value_per_ul, found.comparator),
        reference_range=chosen,
        finding=found,
    )


def write(
    msg: Message,
    evaluations: Mapping[str, Evaluation] | tuple[Evaluation, ...] = (),
    **settings: Any,
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    if isinstance(evaluations, tuple):
        evaluations = {e.location: e for e in evaluations}
    return fhir.write_bundle(msg, evaluations, Settings(**settings))


def flagged(msg: Message, **settings: Any) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """Write ``msg`` with the evaluations leukoflag.flagging gives it."""
    chosen = Settings(**settings)
    evaluations: dict[str, Evaluation] = {}
    for group in msg.groups:
        context = flagging.patient_context(group.patient, chosen)
        for order in group.orders:
            for evaluation in flagging.evaluate_order(order, context, chosen):
                evaluations[evaluation.location] = evaluation
    return fhir.write_bundle(msg, evaluations, chosen)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(bundle, kind)
    assert len(found) == 1, f"{len(found)} {kind} resources"
    return found[0]


def target(bundle: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The entry resource a ``{"reference": …}`` points to (it must resolve in the Bundle)."""
    matches: list[dict[str, Any]] = [
        e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference["reference"]
    ]
    assert len(matches) == 1, f"{reference} does not resolve inside the Bundle"
    return matches[0]


def extension(node: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in node.get("extension", ()) if e["url"] == url]


def part(complex_extension: dict[str, Any], name: str) -> Any:
    """The value of sub-extension ``name`` of a complex extension (None when absent)."""
    for sub in complex_extension["extension"]:
        if sub["url"] == name:
            return next(v for k, v in sub.items() if k.startswith("value"))
    return None


def references(node: Any) -> Iterator[str]:
    """Every ``reference`` string in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def assert_valid(bundle: dict[str, Any], version: str = "R4") -> None:
    """fhir.resources (every entry with its own model), required bindings, and references that
    resolve inside the Bundle."""
    assert fhir.validate(bundle, version) == []
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])
    unresolved = [r for r in references(bundle) if r not in urls]
    assert unresolved == []
