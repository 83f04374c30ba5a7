"""FHIR rendering of the builder descriptions: Observations and Bundles as exact-decimal JSON."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from leukoflag.fhir import dumps
from leukoflag.testing._specs import (
    CBC_LOINC,
    DEFAULT_COLLECTED,
    DEFAULT_PATIENT,
    RECEIVED_AFTER,
    REPORTED_AFTER,
    SENT_AFTER,
    V2_TO_FHIR_REPORT_STATUS,
    V2_TS,
    Code,
    PatientSpec,
    ResultSpec,
    SpecimenLike,
    TimeLike,
    after,
    default_results,
    moment,
    order,
    range_limits,
    resolve_specimen,
    results_as_read,
    sn_parts,
    v2_time,
    wbc,
)

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "http://leukoflag.org/testing")

V3_INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LEGACY_INTERPRETATION: Final = "http://hl7.org/fhir/v2/0078"
_INTERPRETATION_DISPLAY: Final = {
    "L": "Low",
    "LU": "Significantly low",
    "LL": "Critical low",
    "H": "High",
    "HU": "Significantly high",
    "HH": "Critical high",
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
}

_DATA_ABSENT_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

# --------------------------------------------------------------------------- FHIR


class FhirResource(dict[str, Any]):
    """A FHIR resource as a JSON dict whose numbers are exact ``Decimal`` values.

    Index and change it like any dict; :meth:`json` writes decimals exactly as given
    (``8.20`` stays ``8.20``) with leukoflag's own serializer, which ``json.dumps`` cannot do.
    """

    def json(self) -> str:
        """The resource as compact JSON text, decimals exact."""
        return self.encode().decode("utf-8")

    def encode(self) -> bytes:
        """The JSON text, UTF-8 encoded."""
        return dumps(self)


def ndjson(*resources: Mapping[str, Any]) -> str:
    """``resources`` as NDJSON: one JSON document per line."""
    return b"".join(dumps(dict(resource), newline=True) for resource in resources).decode("utf-8")


def observation(
    result: ResultSpec | None = None,
    *,
    patient: PatientSpec | None = DEFAULT_PATIENT,
    specimen: SpecimenLike = "blood",
    collected: TimeLike = DEFAULT_COLLECTED,
    interpretation_system: str = V3_INTERPRETATION,
    contained_patient: bool = True,
) -> FhirResource:
    """One FHIR Observation for ``result`` (default: a normal WBC), with a deterministic id.

    The patient is a contained Patient (``contained_patient=False``: a reference
    ``Patient/<id>`` only, as servers hand them out); ``patient=None`` leaves out the subject.
    The specimen is a contained Specimen with its type (``specimen=None``: none).
    The sender's flags go in ``interpretation`` with ``interpretation_system`` (pass
    ``LEGACY_INTERPRETATION`` for the pre-R4 ``http://hl7.org/fhir/v2/0078``).
    """
    spec = result if result is not None else wbc()
    contained, subject, specimen_ref = _standalone_context(
        patient, specimen, collected, contained_patient=contained_patient
    )
    resource = _fhir_observation(
        spec, subject, specimen_ref, collected, interpretation_system=interpretation_system
    )
    return _standalone(resource, contained)


def panel_observation(
    results: Sequence[ResultSpec] | None = None,
    *,
    code: Code = CBC_LOINC,
    patient: PatientSpec | None = DEFAULT_PATIENT,
    specimen: SpecimenLike = "blood",
    collected: TimeLike = DEFAULT_COLLECTED,
    interpretation_system: str = V3_INTERPRETATION,
    contained_patient: bool = True,
) -> FhirResource:
    """One panel Observation (``code``, a CBC by default) with each result as a ``component``
    (default WBC 7.2 and ANC 4.1), as some FHIR interfaces send a CBC; options as for
    :func:`observation`. The panel's status is the first result's, its time ``collected``: a
    result with notes, observed at another moment, or of another status (but for a result
    without value whose data-absent reason says it, cancelled, not asked or deleted) is a
    ``ValueError`` (a component has no note, time or status of its own). A preliminary result
    that a U without value after it makes final is one final component, as for
    :func:`fhir_bundle`."""
    given = results if results is not None else default_results()
    specs = list(results_as_read(given, collected))
    if not specs:
        raise ValueError("panel_observation: at least one result")
    for number, spec in enumerate(specs, start=1):
        _check_component(number, spec, collected, specs[0].fhir_status)
    contained, subject, specimen_ref = _standalone_context(
        patient, specimen, collected, contained_patient=contained_patient
    )
    panel = ResultSpec((code,), "", "", None, "", (), specs[0].status)
    resource = _fhir_observation(
        panel, subject, specimen_ref, collected, interpretation_system=interpretation_system
    )
    resource.pop("dataAbsentReason", None)  # the panel's values are its components
    resource["component"] = [
        {
            key: value
            for key, value in _fhir_observation(
                spec, None, None, collected, interpretation_system=interpretation_system
            ).items()
            if key in _COMPONENT_ELEMENTS or key.startswith("value")
        }
        for spec in specs
    ]
    return _standalone(resource, contained)


def _check_component(number: int, spec: ResultSpec, collected: TimeLike, status: str) -> None:
    """Refuse what ``Observation.component`` cannot carry (it has no note, effective[x] or
    status: ``status`` is the panel's), which would be dropped without a word."""
    name = next((c.code or c.display for c in spec.codes if c.code or c.display), "")
    what = f"panel_observation: result {number} ({name})"
    if spec.notes:
        raise ValueError(
            f"{what} has notes, which an Observation.component cannot carry: send it with "
            "observation() or fhir_bundle()"
        )
    if spec.observed is not None and moment(spec.observed, None) != moment(collected, None):
        raise ValueError(
            f"{what} was observed at {v2_time(spec.observed)}, the panel at "
            f"{v2_time(collected)}: an Observation.component has no time of its own; send it "
            "with observation() or fhir_bundle(), or collect the panel then"
        )
    carried = not spec.value and spec.coded_value is None and spec.status in _ABSENCE_SAYS_STATUS
    if spec.fhir_status != status and not carried:
        raise ValueError(
            f"{what} is {spec.fhir_status}, the panel {status} (the first result's): an "
            "Observation.component has no status of its own; send it with observation() or "
            "fhir_bundle()"
        )


# the statuses whose dataAbsentReason (not-performed, not-asked, error) says them in a component
_ABSENCE_SAYS_STATUS: Final = frozenset({"X", "N", "D", "W"})


_COMPONENT_ELEMENTS: Final = frozenset(
    {"code", "dataAbsentReason", "interpretation", "referenceRange"}
)


def _standalone_context(
    patient: PatientSpec | None,
    specimen: SpecimenLike,
    collected: TimeLike,
    *,
    contained_patient: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None]:
    """The contained resources, subject and specimen references of a standalone Observation."""
    contained: list[dict[str, Any]] = []
    subject: dict[str, Any] | None = None
    if patient is not None:
        patient_resource = _fhir_patient(patient)
        if contained_patient:
            patient_resource["id"] = "patient"
            contained.append(patient_resource)
            subject = {"reference": "#patient"}
        else:
            subject = {"reference": f"Patient/{patient_resource['id']}"}
    specimen_ref: dict[str, Any] | None = None
    specimen_code = resolve_specimen(specimen)
    if specimen_code is not None:
        specimen_resource = _fhir_specimen(specimen_code, collected, None)
        specimen_resource["id"] = "specimen"
        contained.append(_ordered(specimen_resource))
        specimen_ref = {"reference": "#specimen"}
    return contained, subject, specimen_ref


def _standalone(resource: dict[str, Any], contained: list[dict[str, Any]]) -> FhirResource:
    if contained:
        resource = {"resourceType": "Observation", "contained": contained, **resource}
    resource["id"] = _resource_id(resource)
    return FhirResource(_ordered(resource))


def fhir_bundle(
    results: Sequence[ResultSpec] | None = None,
    *,
    patient: PatientSpec | None = DEFAULT_PATIENT,
    specimen: SpecimenLike = "blood",
    collected: TimeLike = DEFAULT_COLLECTED,
    bundle_type: str = "collection",
    report: bool = True,
    interpretation_system: str = V3_INTERPRETATION,
) -> FhirResource:
    """A FHIR Bundle as a lab's FHIR interface sends one: Patient, Specimen, a CBC
    DiagnosticReport (``report=False``: none) and one Observation per result (default WBC 7.2
    and ANC 4.1), linked by ``urn:uuid`` full URLs. ``bundle_type`` is ``collection``,
    ``transaction`` (each entry with a POST request) or ``batch``. ``timestamp`` is left out
    when ``collected`` has no time of day with an offset (an instant needs both)."""
    if bundle_type not in ("collection", "transaction", "batch"):
        raise ValueError("bundle_type: collection, transaction or batch")
    # FHIR has no status U: a preliminary result a U makes final is sent final, the U not
    specs = list(results_as_read(results if results is not None else default_results(), collected))
    entries: list[dict[str, Any]] = []
    subject: dict[str, Any] | None = None
    if patient is not None:
        patient_resource = _fhir_patient(patient)
        subject = {"reference": f"urn:uuid:{patient_resource['id']}"}
        entries.append(patient_resource)
    specimen_ref: dict[str, Any] | None = None
    specimen_code = resolve_specimen(specimen)
    if specimen_code is not None:
        specimen_resource = _fhir_specimen(specimen_code, collected, subject)
        specimen_resource["id"] = _resource_id(specimen_resource)
        specimen_ref = {"reference": f"urn:uuid:{specimen_resource['id']}"}
        entries.append(specimen_resource)
    observations = []
    for position, spec in enumerate(specs, start=1):
        resource = _fhir_observation(
            spec, subject, specimen_ref, collected, interpretation_system=interpretation_system
        )
        resource["id"] = _resource_id({"position": position, **resource})
        observations.append(resource)
    if report:
        entries.append(_fhir_report(specs, observations, subject, specimen_ref, collected))
    entries.extend(observations)
    bundle_entries = []
    for resource in entries:
        entry: dict[str, Any] = {
            "fullUrl": f"urn:uuid:{resource['id']}",
            "resource": _ordered(resource),
        }
        if bundle_type != "collection":
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        bundle_entries.append(entry)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": bundle_type}
    sent = _fhir_time(after(collected, SENT_AFTER))
    if "T" in sent:  # Bundle.timestamp is an instant: a date alone is invalid FHIR, so none
        bundle["timestamp"] = sent
    bundle["entry"] = bundle_entries
    bundle = {"resourceType": "Bundle", "id": _resource_id(bundle), **bundle}
    return FhirResource(bundle)


def _fhir_patient(spec: PatientSpec) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient"}
    if spec.mrn:
        mr = {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
        resource["identifier"] = [
            {"type": {"coding": [mr]}, "system": spec.identifier_system, "value": spec.mrn}
        ]
    # FHIR has no empty strings or lists: a part the patient has not is left out, as PID-5 does
    name: dict[str, Any] = {"family": spec.family} if spec.family else {}
    if given := [part for part in spec.given if part]:
        name["given"] = given
    if name:
        resource["name"] = [name]
    resource["gender"] = spec.gender
    if spec.birth_date:
        resource["birthDate"] = _fhir_time(spec.birth_date)
    resource["id"] = _resource_id(resource)
    return _ordered(resource)


def _fhir_specimen(
    code: Code, collected: TimeLike, subject: dict[str, Any] | None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Specimen",
        "type": {"coding": [code.fhir_coding()], "text": code.display or code.code},
    }
    if subject is not None:
        resource["subject"] = dict(subject)  # its own: a test may edit one resource's
    resource["receivedTime"] = _fhir_time(after(collected, RECEIVED_AFTER))
    resource["collection"] = {"collectedDateTime": _fhir_time(collected)}
    return resource


def _fhir_observation(
    spec: ResultSpec,
    subject: dict[str, Any] | None,
    specimen: dict[str, Any] | None,
    collected: TimeLike,
    *,
    interpretation_system: str,
) -> dict[str, Any]:
    observed = spec.observed if spec.observed is not None else collected
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": spec.fhir_status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                        "display": "Laboratory",
                    }
                ]
            }
        ],
        "code": _concept(spec.codes),
    }
    if subject is not None:
        resource["subject"] = dict(subject)  # its own: a test may edit one resource's
    resource["effectiveDateTime"] = _fhir_time(observed)
    if isinstance(observed, dt.datetime) and observed.utcoffset() is not None:
        resource["issued"] = _fhir_time(after(observed, REPORTED_AFTER))
    resource.update(_fhir_value(spec))
    if spec.flags:
        resource["interpretation"] = [
            {"coding": [_interpretation_coding(flag, interpretation_system)]} for flag in spec.flags
        ]
    if spec.notes:
        resource["note"] = [{"text": note} for note in spec.notes]
    if specimen is not None:
        resource["specimen"] = dict(specimen)  # its own, as the subject
    if spec.reference_range:
        resource["referenceRange"] = [_fhir_range(spec.reference_range, spec.quantity_unit)]
    return resource


def _concept(codes: Sequence[Code]) -> dict[str, Any]:
    """A CodeableConcept of OBX-3's codings; one sent as text alone is ``text`` only (FHIR has
    no empty code)."""
    concept: dict[str, Any] = {}
    if codings := [c.fhir_coding() for c in codes if c.code]:
        concept["coding"] = codings
    text = next((c.display or c.code for c in codes if c.display or c.code), "")
    if text:
        concept["text"] = text
    return concept


def _interpretation_coding(flag: str, system: str) -> dict[str, Any]:
    coding = {"system": system, "code": flag}
    if flag in _INTERPRETATION_DISPLAY:
        coding["display"] = _INTERPRETATION_DISPLAY[flag]
    return coding


def _quantity(value: str, unit: Code | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": Decimal(value)}
    if unit is not None and (unit.display or unit.code):  # an empty unit is no unit
        quantity["unit"] = unit.display or unit.code
        if unit.system:
            quantity["system"] = unit.fhir_system
            quantity["code"] = unit.code
    return quantity


def _fhir_value(spec: ResultSpec) -> dict[str, Any]:
    coded = spec.coded_value
    if coded is not None:
        concept: dict[str, Any] = {"coding": [coded.fhir_coding()]}
        if coded.display:
            concept["text"] = coded.display
        return {"valueCodeableConcept": concept}
    text = spec.value
    if not text:
        reason = {"X": "not-performed", "N": "not-asked", "D": "error", "W": "error"}.get(
            spec.status, "unknown"
        )
        return {"dataAbsentReason": {"coding": [{"system": _DATA_ABSENT_SYSTEM, "code": reason}]}}
    if spec.value_type == "NM":
        return {"valueQuantity": _quantity(text, spec.quantity_unit)}
    parts = sn_parts(text) if spec.value_type == "SN" else None
    if parts is None:
        return {"valueString": text}
    comparator, first, separator, second = parts
    if separator == "-":
        return {
            "valueRange": {
                "low": _quantity(first, spec.quantity_unit),
                "high": _quantity(second, spec.quantity_unit),
            }
        }
    if separator in (":", "/"):
        return {
            "valueRatio": {
                "numerator": {"value": Decimal(first)},
                "denominator": {"value": Decimal(second)},
            }
        }
    if comparator in ("", "="):
        return {"valueQuantity": _quantity(first, spec.quantity_unit)}
    if comparator == "<>":
        return {"valueString": text}
    return {"valueQuantity": {"comparator": comparator, **_quantity(first, spec.quantity_unit)}}


def _fhir_range(text: str, unit: Code | None) -> dict[str, Any]:
    reference: dict[str, Any] = {}
    limits = range_limits(text)
    if limits is not None:
        low, high = limits
        if low is not None:
            reference["low"] = _quantity(format(low, "f"), unit)
        if high is not None:
            reference["high"] = _quantity(format(high, "f"), unit)
    reference["text"] = text
    return reference


def _fhir_report(
    specs: Sequence[ResultSpec],
    observations: Sequence[dict[str, Any]],
    subject: dict[str, Any] | None,
    specimen: dict[str, Any] | None,
    collected: TimeLike,
) -> dict[str, Any]:
    status = order(specs).report_status_at(collected)
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": V2_TO_FHIR_REPORT_STATUS[status],
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                        "code": "HM",
                        "display": "Hematology",
                    }
                ]
            }
        ],
        "code": {"coding": [CBC_LOINC.fhir_coding()], "text": CBC_LOINC.display},
    }
    if subject is not None:
        resource["subject"] = dict(subject)  # its own: a test may edit one resource's
    resource["effectiveDateTime"] = _fhir_time(collected)
    if isinstance(collected, dt.datetime) and collected.utcoffset() is not None:
        resource["issued"] = _fhir_time(after(collected, REPORTED_AFTER))
    if specimen is not None:
        resource["specimen"] = [dict(specimen)]  # its own, as the subject
    if observations:  # FHIR JSON has no empty arrays: a report without results has no result
        resource["result"] = [{"reference": f"urn:uuid:{o['id']}"} for o in observations]
    resource["id"] = _resource_id(resource)
    return resource


def _fhir_time(value: TimeLike) -> str:
    """A FHIR date/dateTime from any builder time; a time of day without offset keeps its date
    only (FHIR requires the offset), as a reader would."""
    match = V2_TS.match(v2_time(value))
    if match is None:  # v2_time validated it; kept for the type checker
        raise ValueError(f"not an HL7 v2 time: {value!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    date = "-".join(part for part in (year, month, day) if part)
    if hour is None or offset is None or day is None:
        return date
    clock = f"{hour}:{minute or '00'}:{second or '00'}{fraction or ''}"
    return f"{date}T{clock}{offset[:3]}:{offset[3:]}"


def _resource_id(resource: Mapping[str, Any]) -> str:
    content = {k: v for k, v in resource.items() if k != "id"}
    return str(uuid.uuid5(_ID_NAMESPACE, dumps(content).decode("utf-8")))


def _ordered(resource: dict[str, Any]) -> dict[str, Any]:
    """``resourceType`` and ``id`` first, as FHIR JSON is usually read."""
    head: dict[str, Any] = {k: resource[k] for k in ("resourceType", "id") if k in resource}
    return {**head, **{k: v for k, v in resource.items() if k not in head}}
