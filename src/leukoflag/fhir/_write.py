"""One HL7 v2 message (as :class:`leukoflag.model.Message`) → one FHIR Bundle, as plain dicts.

Entries, in order: per PATIENT_RESULT group Patient and Encounter; per order ServiceRequest,
Specimens, DiagnosticReport, Observations (OBX under the OBR, then OBX after each SPM, then
derived ANCs); finally one Provenance. Every reference is ``urn:uuid:<id>`` of an entry of the
same Bundle; ids are UUIDv5 (:mod:`._ids`). Mapping: V2-to-FHIR IG, deviations documented in
``docs/output.md``.

Every dict and list of a Bundle is made for that Bundle and used once in it: the writer keeps
URLs (strings), not reference dicts, and what it caches between messages are templates it copies
(:mod:`._shared`), so a user may change any part of a Bundle in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from leukoflag import units
from leukoflag._quote import quoted
from leukoflag._version import __version__
from leukoflag.errors import UnitError
from leukoflag.fhir import _elements as el
from leukoflag.fhir._elements import died_before_birth as _died_before_birth
from leukoflag.fhir._elements import ends_before as _ends_before
from leukoflag.fhir._ids import hd, id_maker, message_key
from leukoflag.fhir._shared import (
    by_identity,
    fresh_concept,
    fresh_identifier,
    fresh_range,
    too_long,
)
from leukoflag.fhir._terms import tables
from leukoflag.model import (
    Address,
    Analyte,
    CodedResult,
    Concept,
    Evaluation,
    Finding,
    Identifier,
    Issue,
    LabResult,
    Message,
    NoValue,
    Number,
    NumberRange,
    Order,
    Patient,
    PatientResult,
    PersonName,
    Ratio,
    ReportStatus,
    ResultStatus,
    Severity,
    Specimen,
    Text,
    Timestamp,
    Unit,
    Visit,
)
from leukoflag.settings import Settings

__all__ = ["write_bundle"]

_ANALYSIS_TIME = "http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time"
_V2_SUBID = "http://hl7.org/fhir/StructureDefinition/observation-v2-subid"
# R4 has no DiagnosticReport.note and no Specimen.role: the R5 elements as cross-version extensions.
_R4_REPORT_NOTE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.note"
_R4_SPECIMEN_ROLE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Specimen.role"
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
_GENDERS = frozenset(("male", "female", "other", "unknown"))
_LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_ASSEMBLED_BY = f"leukoflag {__version__}"
# DiagnosticReport (OBR-25) status → ServiceRequest.status: the order is done once reported.
_REQUEST_STATUS = {
    ReportStatus.REGISTERED: "active",
    ReportStatus.PARTIAL: "active",
    ReportStatus.PRELIMINARY: "active",
    ReportStatus.FINAL: "completed",
    ReportStatus.AMENDED: "completed",
    ReportStatus.CORRECTED: "completed",
    ReportStatus.APPENDED: "completed",
    ReportStatus.CANCELLED: "revoked",
    ReportStatus.ENTERED_IN_ERROR: "entered-in-error",
    ReportStatus.UNKNOWN: "unknown",
}
_REPORTED = frozenset((ResultStatus.FINAL, ResultStatus.AMENDED, ResultStatus.CORRECTED))
_STATUS = {status: status.value for status in ResultStatus}  # plain str, without enum lookups


# Renderings of the objects readers share between results and messages: templates, each
# caller gets its own copy (see _shared.py).
def _concept(code: Concept | None, _: None) -> dict[str, Any] | None:
    return el.concept(code)


_CONCEPT = by_identity(_concept, fresh_concept)  # OBR-4, SPM-4, OBX-17 … as the reader shares them


def _respaced_codes(code: Concept | None, _: None) -> tuple[str, ...]:
    return el.respaced_codes(code)


def _same(codes: tuple[str, ...]) -> tuple[str, ...]:
    return codes


# The codes of those concepts written respaced (see el.fhir_code): looked for only once a code
# was (el.RESPACED_SEEN), so a feed without any pays one test per concept written.
_RESPACED = by_identity(_respaced_codes, _same)
_RESPACED_SEEN = el.RESPACED_SEEN


def _keep_conflicting_code(
    resource: dict[str, Any], result: LabResult, evaluation: Evaluation
) -> None:
    """A count left unjudged because its unit code and text disagree (``/uL^K/uL``), the code
    not written for want of a system: kept in an extension, so read back it is refused again
    rather than judged by the text alone."""
    unit = result.unit
    if unit is None or not any(i.code == "units.unit-conflict" for i in evaluation.issues):
        return
    quantity = resource["valueQuantity"]
    kept: list[dict[str, Any]] = []
    if unit.code and "code" not in quantity:
        kept.append({"url": el.UNIT_CODE_SENT, "valueString": unit.code})
    alternate = unit.alternate
    if alternate is not None:  # OBX-6.4-6, which it may disagree with (no place in a Quantity)
        system = alternate.system
        coding = {
            **({"system": system} if "://" in system or system.startswith("urn:") else {}),
            **({"code": alternate.code} if alternate.code else {}),
            "display": alternate.text,
        }
        kept.append({"url": el.UNIT_ALTERNATE_SENT, "valueCoding": coding})
    if unit.original:  # OBX-6.9, which it may disagree with in scale
        kept.append({"url": el.UNIT_ORIGINAL_TEXT_SENT, "valueString": unit.original})
    if kept:
        resource["valueQuantity"] = {"extension": kept, **quantity}


def _keep_unit_in_text(
    resource: dict[str, Any], comment: str, evaluation: Evaluation | None
) -> Unit | None:
    """A value sent as text naming its unit (ST ``1200 K/uL``, OBX-6 empty) and not judged: a
    count left unjudged for it (implausible, a percent) or another test's result (``150
    10*3/uL`` of a platelet count, ``13.5 g/dL``). The unit it names, as the units table reads
    it, written as the Quantity's (so a count read back is refused again rather than judged in
    a unit inferred from the number); that unit, else None (``3.4 (verified)``: no unit)."""
    analyte = evaluation.analyte if evaluation is not None else None
    # another test's unit is read as a WBC's is: each spelling as written, none folded
    if not _unit_named(comment, Analyte.WBC if analyte is None else analyte):
        return None
    resource["valueQuantity"] = {**resource["valueQuantity"], "unit": comment}
    return Unit(comment)


def _unit_named(comment: str, analyte: Analyte) -> bool:
    """Whether the comment after a text value's number, the unit field empty, is a unit the
    units table reads, as flagging reads it for a count (``K/uL`` of ST ``0.4 K/uL``); not a
    comment that is no unit (``3.4 (verified)``: a count's unit was inferred)."""
    try:
        units.resolve_unit(comment, analyte.value)
    except UnitError as exc:
        return exc.reason == "refused-unit"
    return True


@dataclass(frozen=True, slots=True)
class _Sent:
    """An OBX's code, unit, reference range and flags as an Observation shows them when they are
    written as sent: templates (see _shared.py), made once per combination of the reader's
    objects by :func:`_sent`; each Observation gets its own copies."""

    code: dict[str, Any] | None  # OBX-3 as a CodeableConcept
    unit: dict[str, str]  # OBX-6 as Quantity unit/system/code: spread into each Quantity
    flags: tuple[dict[str, Any], ...]  # OBX-8: the coding of each flag
    unknown_flag: bool  # a flag in neither table (its Issue is told for each result)
    respaced: tuple[str, ...]  # OBX-3 codes a FHIR code holds otherwise (told for each result)
    told: bool  # either: an Issue to tell for each result (rarely), one test on a plain OBX
    reference_range: dict[str, Any] | None  # OBX-7, in its unit or else OBX-6
    # The common shapes, found once here so that fresh() copies them without looking:
    one_coding: dict[str, Any] | None  # the coding of a code that is one coding and no text
    low_high: bool  # the range has both limits (each a flat Quantity)
    misread_unit: bool  # OBX-6 sends a lab spelling as a UCUM code (K/uL^^UCUM): rare
    # {"value": None, **unit}: a number written as sent is a copy with its value set (keeps
    # "value" first; a copy of a dict costs less than building one and merging the unit in)
    quantity: dict[str, Any]

    def fresh(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]], dict[str, Any] | None]:
        """Copies for one Observation: the code, the flags (one CodeableConcept each), the
        reference range. Once per OBX of every message: one call, the common shapes inline."""
        one_coding = self.one_coding
        if one_coding is not None:  # the common OBX-3
            code: dict[str, Any] | None = {"coding": [one_coding.copy()]}
        else:
            code = self.code
            if code is not None:
                code = fresh_concept(code)
        flags = self.flags
        if len(flags) == 1:  # the common OBX-8: one flag
            interpretations = [{"coding": [flags[0].copy()]}]
        elif not flags:
            interpretations = []
        else:
            interpretations = [{"coding": [coding.copy()]} for coding in flags]
        reference_range = self.reference_range
        if reference_range is not None:
            if self.low_high:  # the common OBX-7: both limits (and its text, a str)
                copied = reference_range.copy()
                copied["low"] = reference_range["low"].copy()
                copied["high"] = reference_range["high"].copy()
                reference_range = copied
            else:
                reference_range = fresh_range(reference_range)
        return code, interpretations, reference_range


def _render_sent(result: LabResult) -> _Sent:
    written, issues = el.sent_interpretations(result.sender_flags, "")
    unit, sent_range = result.unit, result.reference_range
    reference_range = el.sent_range(sent_range, unit) if sent_range is not None else None
    code = el.concept(result.code)
    codings = code.get("coding") if code is not None and len(code) == 1 else None
    one_coding = codings[0] if codings is not None and len(codings) == 1 else None
    respaced = el.respaced_codes(result.code)
    return _Sent(
        code=code,
        unit=el.unit_fields(unit),
        flags=tuple(concept["coding"][0] for concept in written),  # one coding each
        unknown_flag=bool(issues),
        respaced=respaced,
        told=bool(issues or respaced),
        reference_range=reference_range or None,  # None: nothing to write
        one_coding=one_coding,
        low_high=reference_range is not None
        and "low" in reference_range
        and "high" in reference_range,
        misread_unit=el.misread_ucum(unit),
        quantity={"value": None, **el.unit_fields(unit)},
    )


# The renderings of the combinations a feed repeats, by the identity of the reader's objects
# (held in the entry, so that their ids stay theirs); emptied when it reaches its limit.
_SENT_LIMIT = 4096
_SENT: dict[tuple[int, int, int, int], tuple[tuple[object, ...], _Sent]] = {}


def _sent(result: LabResult) -> _Sent:
    """The :class:`_Sent` templates of ``result``'s OBX-3, OBX-6, OBX-7 and OBX-8 objects."""
    key = (id(result.code), id(result.unit), id(result.reference_range), id(result.sender_flags))
    entry = _SENT.get(key)
    if entry is None:
        rendered = _render_sent(result)
        if too_long(rendered):  # fields of megabytes: not kept (see _shared.too_long)
            return rendered
        if len(_SENT) >= _SENT_LIMIT:
            _SENT.clear()
        objects = (result.code, result.unit, result.reference_range, result.sender_flags)
        entry = _SENT[key] = (objects, rendered)
    return entry[1]


@dataclass(slots=True)
class _Context:
    """The Patient and Encounter URLs of one PATIENT_RESULT group, and its orders."""

    subject: str | None = None
    encounter: str | None = None
    orders: Sequence[Order] = ()
    patient: Patient | None = None  # the group's PID, for OBR-29 under a PID sent again


@dataclass(slots=True)
class _LastChecked:
    """The last Timestamp checked as a FHIR dateTime, and the dateTime (None: unusable). The
    reader hands an order's results one shared object per time, so most results reuse it by an
    identity test (a checked_date_time cache hit an OBX costs about 650 instructions more)."""

    seen: Timestamp | None = None
    checked: str | None = None

    def of(self, stamp: Timestamp) -> str | None:
        """``stamp`` as a checked dateTime, reused while the same object comes again."""
        if stamp is not self.seen:
            self.checked = el.checked_date_time(stamp.fhir)
            self.seen = stamp
        return self.checked


@dataclass(slots=True)
class _OrderParts:
    """What the resources of one order share while they are written."""

    order: Order
    context: _Context
    request: str | None  # the ServiceRequest's URL
    specimens: dict[str, str]  # Specimen URLs by SPM location
    effective: dict[str, Any] = field(default_factory=dict)  # OBR-7/8, for results without OBX-14
    issued: str | None = None  # OBR-22 as an instant
    effective_unusable: bool = False  # OBR-7 or OBR-8 sent and no dateTime
    only_specimen: str | None = None  # the order's one specimen, for every result
    identifiers: list[dict[str, Any]] = field(default_factory=list)  # of the DiagnosticReport
    observations: list[str] = field(default_factory=list)  # URLs
    conclusions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # OBX-14 and OBX-19 as checked dateTimes, the last of each kept (see _LastChecked)
    effective_time: _LastChecked = field(default_factory=_LastChecked)
    analysis_time: _LastChecked = field(default_factory=_LastChecked)

    def put_effective(self, resource: dict[str, Any]) -> None:
        """OBR-7/8 as ``effectiveDateTime`` / ``effectivePeriod`` (a copy of its own)."""
        for name, value in self.effective.items():
            resource[name] = value.copy() if isinstance(value, dict) else value

    def conclude(self, evaluation: Evaluation | None) -> None:
        """Keep the finding (SNOMED CT) of a low result for ``DiagnosticReport.conclusionCode``."""
        finding = evaluation.finding if evaluation is not None else None
        if finding is not None and finding.condition is not None:
            condition = finding.condition
            key = (condition.system, condition.code)
            if key not in self.conclusions:
                self.conclusions[key] = el.conclusion(condition)


@dataclass(slots=True)
class _Writer:
    message: Message
    evaluations: Mapping[str, Evaluation]
    # the id of the resource written for a location: UUIDv5 of its path without ``MSG[n]/``
    ident: Callable[[str, str], str]
    r5: bool
    transaction: bool
    entries: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # of the entries, in order
    issues: list[Issue] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    # derived ANCs by the location of their first source, each with its place among evaluations
    derivations: dict[str, list[tuple[int, str, Evaluation]]] = field(default_factory=dict)

    # ----------------------------------------------------------------- plumbing

    def new(self, resource_type: str, location: str) -> tuple[dict[str, Any], str]:
        """A resource of ``resource_type`` for ``location``, appended as an entry now (the caller
        fills it in), and its URL (each reference to it is a dict of its own). observation()
        does the same inline."""
        rid = self.ident(resource_type, location)
        resource: dict[str, Any] = {"resourceType": resource_type, "id": rid}
        url = "urn:uuid:" + rid
        if self.transaction:
            # PUT on a deterministic id: replaying the message updates, never duplicates.
            request = {"method": "PUT", "url": f"{resource_type}/{rid}"}
            self.entries.append({"fullUrl": url, "resource": resource, "request": request})
        else:
            self.entries.append({"fullUrl": url, "resource": resource})
        self.urls.append(url)
        return resource, url

    def issue(self, severity: Severity, code: str, location: str, text: str) -> None:
        self.issues.append(Issue(severity, f"fhir.{code}", location, text))

    def respaced(self, codes: tuple[str, ...], location: str) -> None:
        for code in codes:
            self.issues.append(el.respaced_issue(code, location))

    def respaced_in(self, value: Concept | None, location: str) -> None:
        """fhir.code-respaced for each code of ``value`` written respaced; called only once a
        code was (``_RESPACED_SEEN``)."""
        codes = _RESPACED(value, None)
        if codes:
            self.respaced(codes, location)

    def time(self, resource: dict[str, Any], name: str, stamp: Any, location: str) -> None:
        value = el.date_time(stamp)
        if value is not None:
            resource[name] = value
        elif stamp is not None:
            self.issue(
                Severity.WARNING,
                "timestamp-invalid",
                location,
                f"{quoted(stamp.text)} ({quoted(stamp.fhir)}) is not a FHIR dateTime; not written",
            )

    def instant(
        self, resource: dict[str, Any], name: str, stamp: Any, location: str, lost: str = ""
    ) -> bool:
        """``stamp`` as the instant ``name`` of ``resource``, or an Issue at ``location``;
        ``lost`` says what is not written instead of ``name`` alone (MSH-7: two elements)."""
        value = el.instant(stamp)
        if value is not None:
            resource[name] = value
            return True
        if stamp is not None and el.date_time(stamp) is None:
            self.time({}, name, stamp, location)  # not even a dateTime: say so, not "no offset"
        elif stamp is not None:
            self.issue(
                Severity.INFORMATION,
                "timestamp-not-instant",
                location,
                f"{quoted(stamp.text)} has no time of day with a known offset, which "
                f"{lost or f'{name} (a FHIR instant) needs; not written'}",
            )
        return False

    # ----------------------------------------------------------------- resources

    def patient(self, patient: Patient) -> str:
        resource, url = self.new("Patient", patient.location)
        if patient.identifiers:
            resource["identifier"] = [
                self.identifier_period(el.identifier(i), i)
                if i.period_start is not None or i.period_end is not None
                else el.identifier(i)
                for i in patient.identifiers
                if i.value
            ]
        if patient.family or patient.given:
            name: dict[str, Any] = {"use": patient.name_use} if patient.name_use else {}
            if patient.family:
                name["family"] = patient.family
            if patient.given:
                name["given"] = list(patient.given)
            if patient.name_prefix:  # V2-to-FHIR IG XPN[HumanName]: XPN.5
                name["prefix"] = list(patient.name_prefix)
            if patient.name_suffix:  # XPN.4, XPN.6
                name["suffix"] = list(patient.name_suffix)
            resource["name"] = [name]
        if patient.other_names:  # V2-to-FHIR IG PID[Patient]: every PID-5 repetition
            resource.setdefault("name", []).extend(
                _human_name(other) for other in patient.other_names
            )
        sex = patient.sex
        if sex not in _GENDERS:
            self.issue(
                Severity.WARNING,
                "gender-unknown",
                patient.location,
                f"sex {quoted(sex)} is not a FHIR administrative gender; written as unknown",
            )
            sex = "unknown"
        if sex != "unknown" or patient.sex_text:
            resource["gender"] = sex
        birth = el.date_time(patient.birth_date)
        if birth is not None:
            resource["birthDate"] = birth[:10]
            if "T" in birth:  # FHIR: a birth time goes in the patient-birthTime extension
                resource["_birthDate"] = {
                    "extension": [{"url": el.BIRTH_TIME, "valueDateTime": birth}]
                }
        elif patient.birth_date is not None:
            self.time({}, "birthDate", patient.birth_date, patient.location)
        if patient.deceased is not None:  # V2-to-FHIR IG PID[Patient]: PID-29, else PID-30
            if isinstance(patient.deceased, bool):
                resource["deceasedBoolean"] = patient.deceased
            else:
                self.death(resource, patient, birth)
        if patient.addresses:  # V2-to-FHIR IG PID[Patient]: PID-11 → address
            resource["address"] = [_address(address) for address in patient.addresses]
        if patient.telecoms:  # V2-to-FHIR IG PID[Patient]: PID-13, PID-14 → telecom
            resource["telecom"] = [
                {"system": t.system, "value": t.value, "use": t.use}
                if t.use
                else {"system": t.system, "value": t.value}
                for t in patient.telecoms
            ]
        noted = patient.note_locations  # each note's NTE, when the reader gave them
        for number, note in enumerate(patient.notes):
            self.issue(
                Severity.INFORMATION,
                "note-unmapped",
                noted[number] if number < len(noted) else patient.location,
                f"Patient has no note element; NTE after PID not written: {quoted(note)}",
            )
        return url

    def death(self, resource: dict[str, Any], patient: Patient, birth: str | None) -> None:
        """PID-29 as ``deceasedDateTime``, unless it is surely before the birth date (PID-7):
        one of the two is wrong, and which is not known; the death sent is ``deceasedBoolean``
        then (the V2-to-FHIR IG's PID-30 when PID-29 is not valued: a PID-30 Y beside it says
        no more, and the reader lets a PID-29 outweigh an N)."""
        assert isinstance(patient.deceased, Timestamp)
        at = f"{patient.location}-29"
        died = el.date_time(patient.deceased)
        if died is None or birth is None or not _died_before_birth(died, birth):
            self.time(resource, "deceasedDateTime", patient.deceased, at)
            return
        resource["deceasedBoolean"] = True
        self.issue(
            Severity.WARNING,
            "death-before-birth",
            at,
            f"PID-29 death date and time {died} is before PID-7 birth date {birth}: one of them "
            "is wrong, and which is not known; deceasedDateTime not written, the death written "
            "as deceasedBoolean true",
        )

    def encounter(self, visit: Visit, context: _Context) -> str:
        resource, url = self.new("Encounter", visit.location)
        if visit.visit_number is not None and visit.visit_number.value:
            # the type sent in PV1-19.5 (AN, a lab's own), else visit number
            sent = visit.visit_number.type_code
            number = el.identifier(visit.visit_number, "" if sent else "VN")
            if visit.visit_number.period_start or visit.visit_number.period_end:  # CX.7-8
                number = self.identifier_period(number, visit.visit_number)
            resource["identifier"] = [number]
        # an ORU^R01 does not say whether the visit is over, unless PV1-45 is sent (visit_period)
        resource["status"] = "unknown"
        klass = self.encounter_class(visit)
        if self.r5:
            if klass is not None:
                resource["class"] = [{"coding": [klass]}]
        else:
            # R4: Encounter.class is required
            resource["class"] = klass or {
                "system": _NULL_FLAVOR,
                "code": "UNK",
                "display": "unknown",
            }
        if context.subject is not None:
            resource["subject"] = {"reference": context.subject}
        if visit.participants:
            role = "actor" if self.r5 else "individual"
            resource["participant"] = [
                {"type": [el.participation_type(kind)], role: {"display": who}}
                for kind, who in (("ATND", visit.attending), *visit.participants)
                if who
            ]
        elif visit.attending:  # the usual PV1: its attending alone
            resource["participant"] = [
                {
                    "type": [el.participation_type("ATND")],
                    "actor" if self.r5 else "individual": {"display": visit.attending},
                }
            ]
        if visit.admitted is not None or visit.discharged is not None:
            self.visit_period(resource, visit)
        if visit.assigned_location:
            resource["location"] = [{"location": {"display": visit.assigned_location}}]
        return url

    def identifier_period(self, out: dict[str, Any], identifier: Identifier) -> dict[str, Any]:
        """CX.7 and CX.8 as ``Identifier.period`` (V2-to-FHIR IG CX[Identifier]); an expiration
        before the effective date is left out (FHIR per-1), as OBR-8 before OBR-7 is."""
        start = el.date_time(identifier.period_start)
        end = el.date_time(identifier.period_end)
        if end is not None and start is not None and _ends_before(end, start):
            assert identifier.period_start is not None
            assert identifier.period_end is not None
            at = identifier.location
            name = at.rsplit("/", 1)[-1].split("[", 1)[0]  # PID
            field = at.rsplit("]-", 1)[-1]
            self.issue(
                Severity.WARNING,
                "period-inverted",
                f"{at}.8",
                f"{name}-{field}.8 {quoted(identifier.period_end.text)} (expiration date) is "
                f"before {name}-{field}.7 {quoted(identifier.period_start.text)} (effective "
                f"date), which a FHIR Period cannot say: {name}-{field}.8 not written",
            )
            end = None
        period = {"start": start} if start is not None else {}
        if end is not None:
            period["end"] = end
        if period:  # Identifier's element order: … value, period, assigner
            assigner = out.pop("assigner", None)
            out["period"] = period
            if assigner is not None:
                out["assigner"] = assigner
        return out

    def visit_period(self, resource: dict[str, Any], visit: Visit) -> None:
        """PV1-44 and PV1-45 as the Encounter's ``period`` (R4) or ``actualPeriod`` (R5): V2-to-FHIR
        IG PV1[Encounter]. A discharge before the admission is left out (FHIR per-1)."""
        start = el.date_time(visit.admitted)
        if visit.admitted is not None and start is None:
            self.time({}, "admitted", visit.admitted, f"{visit.location}-44")
        end = el.date_time(visit.discharged)
        if visit.discharged is not None and end is None:
            self.time({}, "discharged", visit.discharged, f"{visit.location}-45")
        elif end is not None and start is not None and _ends_before(end, start):
            assert visit.discharged is not None
            assert visit.admitted is not None
            self.issue(
                Severity.WARNING,
                "period-inverted",
                f"{visit.location}-45",
                f"PV1-45 {quoted(visit.discharged.text)} is before PV1-44 "
                f"{quoted(visit.admitted.text)}, which a FHIR Period cannot say: PV1-45 not "
                "written",
            )
            end = None
        period = {"start": start} if start is not None else {}
        if end is not None:
            period["end"] = end
        if period:
            resource["actualPeriod" if self.r5 else "period"] = period
        if end is not None:  # discharged: the visit is over (R4 finished is R5 completed)
            resource["status"] = "completed" if self.r5 else "finished"

    def encounter_class(self, visit: Visit) -> dict[str, Any] | None:
        sent = visit.patient_class.strip()
        if not sent:
            return None
        known = tables().encounter_class.get(sent)
        if known is None:  # table 0004's codes are all upper case: 'i' can only be I
            known = tables().encounter_class.get(sent.upper())
        if known is None:
            self.issue(
                Severity.WARNING,
                "patient-class-unknown",
                f"{visit.location}-2",
                f"patient class {quoted(sent)} is not in HL7 table 0004; Encounter.class not set "
                "from it",
            )
            return None
        return el.coding(known)

    def service_section(self, order: Order) -> dict[str, Any]:
        """OBR-24 as a DiagnosticReport.category (V2-to-FHIR IG OBR[DiagnosticReport]): a
        v2-0074 coding for a code of table 0074, else the code sent as text."""
        sent = order.service_section
        code = sent if sent in tables().service_section else sent.upper()
        display = tables().service_section.get(code)
        if display is None:
            self.issue(
                Severity.INFORMATION,
                "service-section-unknown",
                f"{order.location}-24",
                f"diagnostic service section {quoted(sent)} is not in HL7 table 0074: "
                "DiagnosticReport.category written as its text only",
            )
            return {"text": sent}
        return {"coding": [{"system": _V2_0074, "code": code, "display": display}]}

    def order(self, order: Order, context: _Context) -> None:
        identifiers, group_id = self.order_identifiers(order)
        request = self.service_request(order, context, identifiers, group_id)
        parts = _OrderParts(order, context, request, self.specimens(order, context))
        if request is None:
            parts.identifiers = identifiers
            if group_id is not None:
                parts.identifiers.append(group_id)  # ORC-4 goes on the report instead
        else:  # the ServiceRequest has them: the report gets its own copies
            parts.identifiers = [fresh_identifier(identifier) for identifier in identifiers]
        parts.effective_unusable = self.order_effective(parts.effective, order)
        parts.issued = el.instant(order.issued)
        if len(parts.specimens) == 1:
            parts.only_specimen = next(iter(parts.specimens.values()))
        report, _ = self.new("DiagnosticReport", order.location)  # before its Observations
        for result in order.results:
            evaluation = self.evaluations.get(result.location)
            if evaluation is not None:
                self.used.add(result.location)
            parts.observations.append(self.observation(result, evaluation, parts))
            if evaluation is not None and evaluation.finding is not None:
                parts.conclude(evaluation)
        derived = self.derived_for(order)
        if derived:
            # the order's results and their URLs, by location: made once for the order (made for
            # each derived ANC, an order of thousands of WBC/% pairs was quadratic)
            written = {
                result.location: (result, url)
                for result, url in zip(order.results, parts.observations, strict=False)
            }
            for evaluation in derived:
                parts.observations.append(self.derived(evaluation, parts, written))
                parts.conclude(evaluation)
        self.report(report, parts)

    def derived_for(self, order: Order) -> list[Evaluation]:
        """The derived results (ANC from WBC × %) whose first source is a result of ``order``."""
        if not self.derivations:
            return []
        # Looked up by the order's own results: a scan of every derivation for each order made a
        # message of many orders quadratic.
        mine = dict.fromkeys(result.location for result in order.results)
        candidates = [d for source in mine for d in self.derivations.get(source, ())]
        candidates.sort(key=itemgetter(0))  # in the evaluations' order
        found = [e for _, location, e in candidates if location not in self.used]
        for evaluation in found:
            self.used.add(evaluation.location)
        return found

    def service_request(
        self,
        order: Order,
        context: _Context,
        identifiers: list[dict[str, Any]],
        group_id: dict[str, Any] | None,
    ) -> str | None:
        if not _is_request(order):
            self.request_parts_not_written(
                order, "the OBR is no order: no ORC, placer number, ordering provider or OBR-11 G"
            )
            return None
        if context.subject is None:
            self.request_parts_not_written(order, "the message has no PID")
            self.issue(
                Severity.WARNING,
                "order-without-patient",
                order.location,
                "ServiceRequest.subject is required and the message has no PID: no ServiceRequest "
                "written; the order identifiers are on the DiagnosticReport",
            )
            if order.ordering_provider:
                self.issue(
                    Severity.WARNING,
                    "order-without-patient",
                    order.ordering_provider_location or f"{order.location}-16",
                    f"ordering provider {quoted(order.ordering_provider)} not written "
                    "(no ServiceRequest)",
                )
            if order.specimen_action:
                self.issue(
                    Severity.WARNING,
                    "order-without-patient",
                    f"{order.location}-11",
                    f"OBR-11 {quoted(order.specimen_action)} (an order the lab generated, intent "
                    "reflex-order) not written (no ServiceRequest)",
                )
            if order.request_status:  # ORC-5 CA: a cancelled order, said nowhere else
                self.issue(
                    Severity.WARNING,
                    "order-without-patient",
                    order.request_status_location or order.location,
                    f"ORC-5 order status (ServiceRequest.status {order.request_status}) not "
                    "written (no ServiceRequest)",
                )
            return None
        resource, url = self.new("ServiceRequest", order.location)
        if identifiers:
            resource["identifier"] = identifiers
        if group_id is not None:
            # V2-to-FHIR IG ORC[ServiceRequest]: ORC-4 → requisition, the group of orders placed
            # together, which identifies none of them alone
            resource["requisition"] = group_id
        if order.parent_placer_id is not None or order.parent_filler_id is not None:
            based_on = self.parent_order(order, context)  # OBR-29 (rare)
            if based_on:
                resource["basedOn"] = based_on
        # ORC-5 (the order's own status) when sent, else what OBR-25 says of the order
        resource["status"] = order.request_status or _REQUEST_STATUS[order.status]
        # V2-to-FHIR IG OBR[ServiceRequest]: OBR-11 G (a generated order) → reflex-order
        resource["intent"] = "reflex-order" if order.specimen_action == "G" else "order"
        if order.priority:  # V2-to-FHIR IG OBR[ServiceRequest], TQ1[ServiceRequest]
            resource["priority"] = order.priority
        if order.authored is not None:  # V2-to-FHIR IG ORC[ServiceRequest]: ORC-9 if ORC-1 NW
            self.time(resource, "authoredOn", order.authored, order.authored_location)
        code = _CONCEPT(order.code, None)  # a code respaced: told at the report
        if code is not None:
            resource["code"] = {"concept": code} if self.r5 else code  # R5: CodeableReference
        resource["subject"] = {"reference": context.subject}
        if context.encounter is not None:
            resource["encounter"] = {"reference": context.encounter}
        if order.ordering_provider:
            resource["requester"] = {"display": order.ordering_provider}
        return url

    @staticmethod
    def order_identifiers(order: Order) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The placer and filler identifiers (OBR-2/3) and the placer group number (ORC-4)."""
        found = []
        if order.placer_id is not None and order.placer_id.value:
            found.append(el.identifier(order.placer_id, "PLAC"))
        if order.filler_id is not None and order.filler_id.value:
            found.append(el.identifier(order.filler_id, "FILL"))
        group = order.group_id
        return found, el.identifier(group, "PGN") if group is not None and group.value else None

    def specimens(self, order: Order, context: _Context) -> dict[str, str]:
        """Specimen entries of ``order`` by location: its SPMs, else its OBR-15 specimen source.

        The HL7 v2 reader lists the OBR-15 specimen among the order's specimens (location
        ``OBR[k]-15``, with the OBR-7/14 times); a reader that does not gives only
        ``specimen_source``, from which the Specimen is made here.
        """
        source_location = f"{order.location}-15"
        from_source = None
        segments = []
        for specimen in order.specimens:
            if specimen.location == source_location:
                from_source = specimen
            else:
                segments.append(specimen)
        written: dict[str, str] = {}
        for specimen in segments:
            written[specimen.location] = self.specimen(specimen, context, order)
        if from_source is None and order.specimen_source is None:
            if order.collector:  # rare: OBR-10 sent
                self.specimen_collector(order, written)
            return written
        if segments:
            source = from_source or Specimen(source_location, type=order.specimen_source)
            self.issue(
                Severity.INFORMATION,
                "specimen-source-unmapped",
                source_location,
                f"OBR-15 specimen source{_specimen_said(source)} is not written: the order's SPM "
                f"segments describe its specimens ({', '.join(s.location for s in segments)})",
            )
        else:
            # v2.3/2.4: OBR-15 is the order's specimen, written once
            if from_source is None:
                from_source = Specimen(location=source_location, type=order.specimen_source)
            written[source_location] = self.specimen(from_source, context)
        if order.collector:
            self.specimen_collector(order, written)
        return written

    def parent_order(self, order: Order, context: _Context) -> list[dict[str, Any]]:
        """OBR-29 as ``ServiceRequest.basedOn`` (V2-to-FHIR IG OBR[ServiceRequest]): the parent
        order's ServiceRequest when an order of the same patient (before or after this one) has
        the numbers sent, else a reference by those numbers, with an Issue; none when they are
        this order's own alone."""
        for candidate in self.patients_orders(context):  # only for an OBR-29
            if candidate is not order and _is_request(candidate) and _names_order(order, candidate):
                return [
                    {"reference": "urn:uuid:" + self.ident("ServiceRequest", candidate.location)}
                ]
        if _names_order(order, order):
            self.parent_not_written(
                order,
                "it names this order itself (its own numbers, OBR-2 / OBR-3) and no other of "
                "the patient's, and a ServiceRequest is not based on itself",
                itself=True,
            )
            return []
        self.issue(
            Severity.INFORMATION,
            "parent-order-not-found",
            f"{order.location}-29",
            f"OBR-29 parent order {_parent_shown(order)} is no order of this patient's in the "
            "Bundle: ServiceRequest.basedOn names it by its number only",
        )
        return [
            {"type": "ServiceRequest", "identifier": el.identifier(sent, kind)}
            for sent, kind in ((order.parent_placer_id, "PLAC"), (order.parent_filler_id, "FILL"))
            if sent is not None and sent.value
        ]

    def patients_orders(self, context: _Context) -> Iterator[Order]:
        """The orders of the group's patient: the group's, then those of every other group of
        the message whose PID shares a PID-3 identifier with its own (the same value of the same
        assigning authority and type: the same person, sent once per order by some LIS)."""
        yield from context.orders
        patient = context.patient
        if patient is None or not patient.identifiers:
            return
        own = {i for i in patient.identifiers if i.value}
        for group in self.message.groups:
            other = group.patient
            if other is not None and other is not patient and own.intersection(other.identifiers):
                yield from group.orders

    def request_parts_not_written(self, order: Order, why: str) -> None:
        """The Issues for the parts of ``order`` only a ServiceRequest holds (its priority, OBR-29
        parent and ORC-9 authoredOn), when no ServiceRequest is written for it (``why``)."""
        if order.priority:  # rare: sent with no ServiceRequest to hold it
            self.priority_not_written(order, why)
        if order.parent_placer_id is not None or order.parent_filler_id is not None:
            self.parent_not_written(order, why)
        if order.authored is not None:  # rare: ORC-1 NW with ORC-9
            self.issue(
                Severity.INFORMATION,
                "authored-not-written",
                order.authored_location,
                f"ORC-9 {quoted(el.date_time(order.authored) or order.authored.text)} (the new "
                f"order's authoredOn) is not written: no ServiceRequest ({why})",
            )

    def parent_not_written(self, order: Order, why: str, *, itself: bool = False) -> None:
        """fhir.parent-order-not-written at OBR-29: the order has no ServiceRequest (``why``),
        or OBR-29 names the order ``itself``."""
        because = f": {why}" if itself else f": no ServiceRequest ({why})"
        self.issue(
            Severity.INFORMATION,
            "parent-order-not-written",
            f"{order.location}-29",
            f"OBR-29 parent order {_parent_shown(order)} is not written{because}",
        )

    def priority_not_written(self, order: Order, why: str) -> None:
        self.issue(
            Severity.INFORMATION,
            "priority-not-written",
            order.priority_location,
            f"priority {order.priority} is not written: no ServiceRequest ({why})",
        )

    def specimen_collector(self, order: Order, written: dict[str, str]) -> None:
        """OBR-10 as ``collection.collector`` of each Specimen of ``order`` (V2-to-FHIR IG
        OBR[Specimen], R4 and R5), or fhir.collector-not-written when it has none."""
        if not written:
            self.issue(
                Severity.INFORMATION,
                "collector-not-written",
                f"{order.location}-10",
                f"OBR-10 collector {quoted(order.collector)} is not written: the order has no "
                "specimen (no SPM, no OBR-15) whose collection it could name",
            )
            return
        # the order's Specimens are the entries just written: looked for from the end, not in
        # every entry of the Bundle (linear in the orders, not quadratic)
        urls = set(written.values())
        for entry in reversed(self.entries):
            if entry["fullUrl"] in urls:
                collection = entry["resource"].setdefault("collection", {})
                collection["collector"] = {"display": order.collector}
                urls.discard(entry["fullUrl"])
                if not urls:
                    return

    def specimen(self, specimen: Specimen, context: _Context, order: Order | None = None) -> str:
        """A Specimen; an SPM's (``order`` given) without SPM-17 is collected at its order's
        OBR-7, to OBR-8 when sent (V2-to-FHIR IG OBR[Specimen])."""
        resource, url = self.new("Specimen", specimen.location)
        role = _CONCEPT(specimen.role, None)
        if _RESPACED_SEEN:
            self.respaced_in(specimen.role, f"{specimen.location}-11")
        if role is not None and not self.r5:
            resource["extension"] = [{"url": _R4_SPECIMEN_ROLE, "valueCodeableConcept": role}]
        if specimen.identifier is not None and specimen.identifier.value:
            resource["identifier"] = [el.identifier(specimen.identifier)]
        kind = _CONCEPT(specimen.type, None)
        if _RESPACED_SEEN:
            self.respaced_in(specimen.type, f"{specimen.location}-4")
        if kind is not None:
            resource["type"] = kind
        if context.subject is not None:
            resource["subject"] = {"reference": context.subject}
        collected_at, received_at = _specimen_time_fields(specimen.location)
        self.time(resource, "receivedTime", specimen.received, received_at)
        collection: dict[str, Any] = {}
        if specimen.collected_end is None:
            self.time(collection, "collectedDateTime", specimen.collected, collected_at)
        else:
            self.collected_period(collection, specimen, collected_at)
        if specimen.collected is None and specimen.collected_end is None and order is not None:
            _order_collection(collection, order)  # no SPM-17 sent (nor its end alone)
        site = _CONCEPT(specimen.source_site, None)
        if _RESPACED_SEEN:
            self.respaced_in(specimen.source_site, f"{specimen.location}-8")
        if site is not None:
            collection["bodySite"] = {"concept": site} if self.r5 else site  # R5: CodeableReference
        if collection:
            resource["collection"] = collection
        if role is not None and self.r5:
            resource["role"] = [role]
        if specimen.container_type is not None:  # SPM-27 (rare)
            self.container_type(resource, specimen)
        if specimen.notes:
            resource["note"] = self.annotations(
                specimen.notes, specimen.notes_entered, specimen.location
            )
        return url

    def annotations(
        self,
        notes: Sequence[str],
        entered: Sequence[tuple[str, Any]],
        location: str,
    ) -> list[dict[str, Any]]:
        """``notes`` as Annotations with who entered each and when (NTE-5 as ``authorReference``
        with its display, NTE-6 as ``time``: V2-to-FHIR IG NTE[Observation], R4 and R5); the
        notes before ``entered``'s (an OBX-5 comment) have neither, and with no NTE-5/6 sent
        (``entered`` empty, the common case) no note has."""
        if not entered:
            return [{"text": note} for note in notes]
        first = len(notes) - len(entered)
        written: list[dict[str, Any]] = []
        for index, note in enumerate(notes):
            annotation: dict[str, Any] = {}
            if index >= first:
                author, stamp = entered[index - first]
                if author:
                    annotation["authorReference"] = {"display": author}
                self.time(annotation, "time", stamp, location)
            annotation["text"] = note
            written.append(annotation)
        return written

    def container_type(self, resource: dict[str, Any], specimen: Specimen) -> None:
        """SPM-27 as ``Specimen.container.type`` (V2-to-FHIR IG SPM[Specimen]); R5's container
        has no type (it references a Device, which leukoflag does not write): an Issue."""
        sent = specimen.container_type
        container = _CONCEPT(sent, None)
        if sent is None or container is None:
            return
        if not self.r5:
            resource["container"] = [{"type": container}]
            return
        first = sent.codings[0] if sent.codings else None
        shown = sent.text if first is None else first.code
        if first is not None and first.display:
            shown = f"{first.code} ({first.display})" if first.code else first.display
        self.issue(
            Severity.INFORMATION,
            "container-not-written",
            f"{specimen.location}-27",
            "SPM-27 container type is not written: an R5 Specimen.container has no type, only "
            f"a device (a Device resource, which leukoflag does not write): {quoted(shown)}",
        )

    def observation(
        self, result: LabResult, evaluation: Evaluation | None, parts: _OrderParts
    ) -> str:
        # Written once per OBX of every message: the common paths are inline, the rare in helpers.
        location = result.location
        # new()'s work inline (a call an OBX): the entry appended now, the caller fills it in
        rid = self.ident("Observation", location)
        resource: dict[str, Any] = {"resourceType": "Observation", "id": rid}
        url = "urn:uuid:" + rid
        if self.transaction:
            request = {"method": "PUT", "url": "Observation/" + rid}
            self.entries.append({"fullUrl": url, "resource": resource, "request": request})
        else:
            self.entries.append({"fullUrl": url, "resource": resource})
        self.urls.append(url)
        finding = evaluation.finding if evaluation is not None else None
        # _sent's look-up inline (a call an OBX), the rendering on a miss
        entry = _SENT.get(
            (id(result.code), id(result.unit), id(result.reference_range), id(result.sender_flags))
        )
        sent = entry[1] if entry is not None else _sent(result)
        code, interpretations, sent_range = sent.fresh()
        if sent.told:  # reported for every result that carries them, at its own location
            if sent.unknown_flag:
                flags = result.sender_flags
                self.issues.extend(el.sent_interpretations(flags, f"{location}-8")[1])
            if sent.respaced:
                self.respaced(sent.respaced, f"{location}-3")
        if finding is not None or result.sub_id:
            resource["extension"] = self.result_extensions(result, finding, interpretations)
        elif (stamp := result.analysis_time) is not None:
            # the order's last time reused inline (see _LastChecked): a call an OBX less
            last = parts.analysis_time
            if (analysed := last.checked if stamp is last.seen else last.of(stamp)) is not None:
                resource["extension"] = [{"url": _ANALYSIS_TIME, "valueDateTime": analysed}]
            else:
                self.time({}, "analysis time", result.analysis_time, f"{location}-19")
        if result.instance_id is not None:  # V2-to-FHIR IG OBX[Observation]: OBX-21
            resource["identifier"] = [el.identifier(result.instance_id)]
        resource["status"] = _STATUS[result.status]
        if result.category is not None:  # OBX-29 (rare), else laboratory for a count
            category = _CONCEPT(result.category, None)
            if _RESPACED_SEEN:
                self.respaced_in(result.category, f"{location}-29")
            if category is not None:
                resource["category"] = [category]
            elif evaluation is not None and evaluation.analyte is not None:
                resource["category"] = [el.laboratory()]
        elif evaluation is not None and evaluation.analyte is not None:
            resource["category"] = [el.laboratory()]
        if evaluation is not None and evaluation.loinc is not None:
            code = el.with_loinc(code, evaluation.loinc)
        resource["code"] = code if code is not None else self.unknown_code(f"{location}-3", "OBX-3")
        context = parts.context
        if context.subject is not None:
            resource["subject"] = {"reference": context.subject}
        specimen = parts.specimens.get(result.specimen) if result.specimen else None
        if specimen is not None:
            # V2-to-FHIR IG: OBX after SPM is about the specimen
            resource["focus"] = [{"reference": specimen}]
        if context.encounter is not None:
            resource["encounter"] = {"reference": context.encounter}
        if (stamp := result.effective) is not None:
            last = parts.effective_time
            if (effective := last.checked if stamp is last.seen else last.of(stamp)) is not None:
                resource["effectiveDateTime"] = effective
            else:
                self.time(resource, "effectiveDateTime", result.effective, f"{location}-14")
        elif parts.effective:
            # No OBX-14: OBR-7/8 (the specimen's observation time) applies to every result.
            parts.put_effective(resource)
        if parts.issued is not None:
            resource["issued"] = parts.issued  # an unusable OBR-22 is reported on the report
        if result.performers:
            resource["performer"] = [{"display": who} for who in result.performers]
        value = result.value
        # in scope: flagging normalized the value (the output contract applies)
        judged = evaluation if evaluation is not None and evaluation.quantity is not None else None
        text_unit: Unit | None = None  # rare: the unit a text value names, OBX-6 empty
        if isinstance(value, Number) and value.value.is_finite():
            comment = value.comment  # OBX-5's text after the number: the first note
            if judged is not None:
                unit = result.unit
                # rare: a count judged in the unit its text names (ST '0.4 K/uL', OBX-6 empty)
                # keeps it as sent, and so does a lab range sent without unit, read in it (a
                # comparator's text keeps the value's whole already)
                if (
                    value.comment
                    and not sent.unit
                    and judged.analyte is not None
                    and _unit_named(value.comment, judged.analyte)
                ):
                    text_unit = Unit(value.comment)
                    if not value.comparator:
                        unit = text_unit
                resource["valueQuantity"] = el.normalized_quantity(judged, value, unit)
            elif (
                value.comment
                and not sent.unit
                and evaluation is not None
                and evaluation.analyte is not None
                and not result.data_absent_reason
                and not _unit_named(value.comment, evaluation.analyte)
            ):
                # rare: a count as text whose words after the number are no unit ('3.1 foo/uL',
                # OBX-6 empty) is not judged: kept as the text sent, so that read back it is not
                # judged in a unit inferred from the number either
                resource["valueString"] = value.text
                comment = ""
            else:
                if value.comparator:
                    resource["valueQuantity"] = {
                        "value": value.value,
                        "comparator": value.comparator,
                        **sent.unit,
                    }
                else:
                    resource["valueQuantity"] = quantity = sent.quantity.copy()
                    quantity["value"] = value.value
                if result.data_absent_reason:
                    self.value_and_absent_reason(result)
                else:
                    if evaluation is not None and evaluation.issues:
                        _keep_conflicting_code(resource, result, evaluation)
                    if value.comment and not sent.unit:  # rare: a text value naming its unit
                        text_unit = _keep_unit_in_text(resource, value.comment, evaluation)
        else:
            comment = value.comment if isinstance(value, Number) else ""  # NaN, Infinity
            self.other_value(resource, result, evaluation)
        if finding is not None:
            resource["interpretation"] = [el.computed_interpretation(finding.code)]
        elif interpretations:
            resource["interpretation"] = interpretations
        if result.notes or comment:
            notes = [comment, *result.notes] if comment else result.notes
            resource["note"] = self.annotations(notes, result.notes_entered, location)
        if result.method is not None:
            method = _CONCEPT(result.method, None)
            if _RESPACED_SEEN:
                self.respaced_in(result.method, f"{location}-17")
            if method is not None:
                resource["method"] = method
        if specimen is None:
            specimen = parts.only_specimen
        if specimen is not None:
            resource["specimen"] = {"reference": specimen}
        if result.device:
            # OBX-18 EI: the identifier as sent (a receiver matches devices by it), value and
            # assigner together as the display
            device_id = result.device_id
            resource["device"] = {
                "identifier": el.identifier(device_id) if device_id else {"value": result.device},
                "display": result.device,
            }
        if judged is not None and judged.reference_range is not None and isinstance(value, Number):
            resource["referenceRange"] = el.normalized_ranges(
                judged.reference_range, result.reference_range, text_unit or result.unit
            )
        elif sent_range is not None:
            if text_unit is not None and result.reference_range is not None:
                # rare: a range sent without unit is in the value's, named by its text
                sent_range = el.sent_range(result.reference_range, text_unit)
            resource["referenceRange"] = [sent_range]
        if sent.misread_unit and judged is None:
            self.not_ucum(resource, result, evaluation)
        return url

    def not_ucum(
        self, resource: dict[str, Any], result: LabResult, evaluation: Evaluation | None
    ) -> None:
        """The quantities of a result written as sent whose OBX-6 sends a lab spelling as a UCUM
        code (``K/uL^^UCUM``, kelvin per µL to UCUM): kept as unit text, as a judged count's."""
        for name in ("valueQuantity", "valueRange", "referenceRange"):
            node = resource.get(name)
            if name == "valueQuantity" and isinstance(node, dict):
                resource[name] = el.not_ucum(node)
            elif name == "valueRange" and isinstance(node, dict):
                node.update({k: el.not_ucum(v) for k, v in node.items() if k in ("low", "high")})
            elif name == "referenceRange" and isinstance(node, list):
                for entry in node:
                    entry.update(
                        {k: el.not_ucum(v) for k, v in entry.items() if k in ("low", "high")}
                    )
        said = evaluation is not None and any(
            i.code == "units.code-not-ucum" for i in evaluation.issues
        )
        if not said:  # a count flagging read (and refused later) has said so already
            unit = result.unit
            assert unit is not None
            self.issues.append(
                Issue(
                    Severity.WARNING,
                    "units.code-not-ucum",
                    f"{result.location}-6",
                    f"unit code {quoted(unit.code)} was sent with the UCUM system but is a lab "
                    "spelling, not a UCUM code (UCUM reads such spellings otherwise or not at "
                    "all: K/uL as kelvin per µL); the quantity written as sent keeps it as unit "
                    "text, without the UCUM system",
                )
            )

    def result_extensions(
        self,
        result: LabResult,
        finding: Finding | None,
        interpretations: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        extensions: list[dict[str, Any]] = []
        if result.analysis_time is not None:
            analysed = el.checked_date_time(result.analysis_time.fhir)
            if analysed is not None:
                extensions.append({"url": _ANALYSIS_TIME, "valueDateTime": analysed})
            else:
                self.time({}, "analysis time", result.analysis_time, f"{result.location}-19")
        if result.sub_id:
            # V2-to-FHIR IG: OBX-4 kept for the receiver, who knows how the sender groups results
            extensions.append(
                {
                    "url": _V2_SUBID,
                    "extension": [{"url": "original-sub-identifier", "valueString": result.sub_id}],
                }
            )
        if finding is not None:
            extensions.append(el.explanation(finding))
            extensions.extend(
                {"url": el.SENDER_INTERPRETATION, "valueCodeableConcept": i}
                for i in interpretations
            )
        return extensions

    def unknown_code(self, location: str, what: str) -> dict[str, Any]:
        self.issue(
            Severity.WARNING,
            "code-missing",
            location,
            f"{what} is empty; code written as data-absent (unknown)",
        )
        return {"extension": [{"url": el.DAR_EXTENSION, "valueCode": "unknown"}]}

    def order_effective(self, resource: dict[str, Any], order: Order) -> bool:
        """OBR-7 (and OBR-8) as ``effectiveDateTime`` or ``effectivePeriod``; whether either was
        sent and is no dateTime (the report says so)."""
        start = el.date_time(order.effective)
        end = el.date_time(order.effective_end)
        unusable = (start is None and order.effective is not None) or (
            end is None and order.effective_end is not None
        )
        if end is not None and start is not None and _ends_before(end, start):
            # FHIR Period (per-1): the end cannot come before the start; OBR-7 is kept alone
            assert order.effective_end is not None
            self.issue(
                Severity.WARNING,
                "period-inverted",
                f"{order.location}-8",
                f"OBR-8 {quoted(order.effective_end.text)} is before OBR-7 "
                f"{quoted(order.effective.text if order.effective else '')}, which a FHIR Period "
                "cannot say: OBR-8 not written",
            )
            end = None
        if end is not None:
            period = {"start": start, "end": end} if start is not None else {"end": end}
            resource["effectivePeriod"] = period
        elif start is not None:
            resource["effectiveDateTime"] = start
        return unusable

    def collected_period(
        self, collection: dict[str, Any], specimen: Specimen, collected_at: str
    ) -> None:
        """SPM-17.1 and SPM-17.2 as ``collectedPeriod``; SPM-17.1 alone as ``collectedDateTime``
        when SPM-17.2 cannot end a FHIR Period (not a dateTime, or before the start)."""
        start = el.date_time(specimen.collected)
        if specimen.collected is not None and start is None:
            self.time({}, "collected", specimen.collected, collected_at)
        end = el.date_time(specimen.collected_end)
        assert specimen.collected_end is not None
        end_at = f"{collected_at}.2"
        if end is None:
            self.time({}, "collected", specimen.collected_end, end_at)
        elif start is not None and _ends_before(end, start):
            # FHIR Period (per-1): the end cannot come before the start; the start is kept alone
            assert specimen.collected is not None
            self.issue(
                Severity.WARNING,
                "period-inverted",
                end_at,
                f"SPM-17.2 {quoted(specimen.collected_end.text)} is before SPM-17.1 "
                f"{quoted(specimen.collected.text)}, which a FHIR Period cannot say: SPM-17.2 not "
                "written",
            )
            end = None
        if end is not None:
            collection["collectedPeriod"] = {"start": start, "end": end} if start else {"end": end}
        elif start is not None:
            collection["collectedDateTime"] = start

    def other_value(
        self, resource: dict[str, Any], result: LabResult, evaluation: Evaluation | None
    ) -> None:
        """``value[x]`` (or ``dataAbsentReason``) of a result whose value is not a finite number
        (:meth:`observation` writes those)."""
        value = result.value
        if isinstance(value, Number):
            if evaluation is not None and evaluation.quantity is not None:
                resource["valueQuantity"] = el.normalized_quantity(evaluation, value, result.unit)
                return
            resource["valueString"] = value.text
            self.issue(
                Severity.WARNING,
                "value-not-finite",
                f"{result.location}-5",
                f"{quoted(value.text)} is not a finite number; written as valueString",
            )
        elif isinstance(value, NumberRange):
            ends = {
                name: el.quantity(end, result.unit)
                for name, end in (("low", value.low), ("high", value.high))
                if end is not None and end.is_finite()
            }
            if ends:
                resource["valueRange"] = ends
            else:
                resource["valueString"] = value.text
        elif isinstance(value, Ratio):
            resource["valueRatio"] = {
                "numerator": {"value": value.numerator},
                "denominator": {"value": value.denominator},
            }
        elif isinstance(value, Text) and value.text:
            resource["valueString"] = value.text
        elif isinstance(value, CodedResult) and (coded := el.concept(value.concept)) is not None:
            resource["valueCodeableConcept"] = coded
            if _RESPACED_SEEN:
                self.respaced_in(value.concept, f"{result.location}-5")
        else:  # no value written
            reason = self.absent_reason(result)
            if reason:
                text = value.text if isinstance(value, NoValue) else ""
                resource["dataAbsentReason"] = el.data_absent_reason(reason, text)
            return
        if result.data_absent_reason:
            self.value_and_absent_reason(result)

    def value_and_absent_reason(self, result: LabResult) -> None:
        self.issue(
            Severity.WARNING,
            "data-absent-with-value",
            f"{result.location}-5",
            f"the result has a value and data-absent reason {quoted(result.data_absent_reason)}; "
            "FHIR allows only one (obs-6): the value is written",
        )

    @staticmethod
    def absent_reason(result: LabResult) -> str:
        if result.data_absent_reason:
            return result.data_absent_reason
        value = result.value
        if isinstance(value, NoValue) and value.reason in tables().data_absent_reason:
            return value.reason  # "masked", or a code a FHIR input carried
        if result.status is ResultStatus.CANCELLED:
            return "not-performed"  # V2-to-FHIR IG: OBX-11 X, the test was not done
        if isinstance(value, NoValue) and result.status in _REPORTED:
            if value.reason == "sent-before":
                return ""  # OBX-11 U: the value exists, in an earlier message
            return "unknown"  # a reported result without a value: say it is absent, not pending
        return ""

    def derived(
        self,
        evaluation: Evaluation,
        parts: _OrderParts,
        written: dict[str, tuple[LabResult, str]],
    ) -> str:
        """A derived ANC: its own Observation, ``derivedFrom`` its sources (``written``: the
        order's results and their URLs, by location)."""
        specimens, context = parts.specimens, parts.context
        found = [written[location] for location in evaluation.derived_from if location in written]
        sources = [result for result, _ in found]
        resource, url = self.new("Observation", evaluation.location)
        finding = evaluation.finding
        if finding is not None:
            resource["extension"] = [el.explanation(finding)]
        resource["status"] = el.derived_status(result.status.value for result in sources)
        resource["category"] = [el.laboratory()]
        code: dict[str, Any] = {"text": el.DERIVED_ANC_TEXT}
        resource["code"] = el.with_loinc(code, evaluation.loinc) or code
        if context.subject is not None:
            resource["subject"] = {"reference": context.subject}
        if context.encounter is not None:
            resource["encounter"] = {"reference": context.encounter}
        first = sources[0] if sources else None
        if first is not None and first.effective is not None:
            self.time(resource, "effectiveDateTime", first.effective, evaluation.location)
        else:
            parts.put_effective(resource)
        if parts.issued is not None:
            resource["issued"] = parts.issued
        if evaluation.quantity is not None:
            resource["valueQuantity"] = el.per_ul(
                evaluation.quantity.value, evaluation.quantity.comparator
            )
        if finding is not None:
            resource["interpretation"] = [el.computed_interpretation(finding.code)]
        specimen = specimens.get(first.specimen) if first is not None and first.specimen else None
        if specimen is None and len(specimens) == 1:
            specimen = next(iter(specimens.values()))
        if specimen is not None:
            resource["specimen"] = {"reference": specimen}
        if evaluation.reference_range is not None:
            resource["referenceRange"] = el.normalized_ranges(
                evaluation.reference_range, None, None
            )
        resource["derivedFrom"] = [{"reference": url} for _, url in found]
        return url

    def report(self, report: dict[str, Any], parts: _OrderParts) -> None:
        order, context, request = parts.order, parts.context, parts.request
        specimens, observations, conclusions = (
            parts.specimens,
            parts.observations,
            parts.conclusions,
        )
        location = order.location
        notes: list[dict[str, Any]] | None = None
        if order.notes:
            notes = self.annotations(order.notes, order.notes_entered, location)
        if notes is not None and not self.r5:
            report["extension"] = [{"url": _R4_REPORT_NOTE, "valueAnnotation": n} for n in notes]
        if parts.identifiers:
            report["identifier"] = parts.identifiers
        if request is not None:
            report["basedOn"] = [{"reference": request}]
        report["status"] = order.status.value
        if order.service_section:
            report["category"] = [self.service_section(order)]
        code = _CONCEPT(order.code, None)
        if _RESPACED_SEEN:
            self.respaced_in(order.code, f"{location}-4")
        if code is None:
            # An order read from an ORC alone, or implicit, has no OBR: no field -4 to point at.
            code = (
                self.unknown_code(f"{location}-4", "OBR-4")
                if "/OBR[" in location
                else self.unknown_code(location, "the order has no OBR: OBR-4")
            )
        report["code"] = code
        if context.subject is not None:
            report["subject"] = {"reference": context.subject}
        if context.encounter is not None:
            report["encounter"] = {"reference": context.encounter}
        parts.put_effective(report)
        if parts.effective_unusable:  # OBR-7 or OBR-8 sent and no dateTime: reported once, here
            for stamp, field_number in ((order.effective, 7), (order.effective_end, 8)):
                if stamp is not None and el.date_time(stamp) is None:
                    self.time({}, "effective", stamp, f"{location}-{field_number}")
        if parts.issued is not None:  # OBR-22 as order() found it: checked once an order
            report["issued"] = parts.issued
        elif order.issued is not None:  # unusable: say why
            self.instant(report, "issued", order.issued, f"{location}-22")
        if order.results_interpreter:  # V2-to-FHIR IG OBR[DiagnosticReport]: OBR-32
            report["resultsInterpreter"] = [{"display": order.results_interpreter}]
        if specimens:
            report["specimen"] = [{"reference": url} for url in specimens.values()]
        if observations:
            report["result"] = [{"reference": url} for url in observations]
        if notes is not None and self.r5:
            report["note"] = notes
        if conclusions:
            report["conclusionCode"] = list(conclusions.values())

    def provenance(self, targets: list[str], recorded: str | None) -> None:
        """The Provenance of ``targets``; ``recorded``: MSH-7 as an instant (an unusable one is
        reported on the Bundle)."""
        message = self.message
        resource, _ = self.new("Provenance", "")
        resource["extension"] = [self.source_message()]
        resource["target"] = [{"reference": url} for url in targets]
        if recorded is not None:
            resource["recorded"] = recorded
        elif not self.r5:
            # R4: Provenance.recorded is required; say that it is unknown rather than invent it
            resource["_recorded"] = {
                "extension": [{"url": el.DAR_EXTENSION, "valueCode": "unknown"}]
            }
        resource["activity"] = {
            "coding": [
                {
                    "system": _LIFECYCLE,
                    "code": "transform",
                    "display": "Transform/Translate Record Lifecycle Event",
                }
            ]
        }
        assembler = {
            "type": {
                "coding": [{"system": _PARTICIPANT, "code": "assembler", "display": "Assembler"}]
            },
            "who": {"display": _ASSEMBLED_BY},
        }
        sender = _sender(message)
        if sender:
            author = {
                "type": {
                    "coding": [{"system": _PARTICIPANT, "code": "author", "display": "Author"}]
                },
                "who": {"display": sender},
            }
            resource["agent"] = [author, assembler]
        else:
            resource["agent"] = [assembler]
        what: dict[str, Any] = {
            "display": f"HL7 v2 message {message.message_type or '(no MSH-9)'}".strip()
        }
        if message.control_id:
            what["identifier"] = {"value": message.control_id}
        resource["entity"] = [{"role": "source", "what": what}]

    def source_message(self) -> dict[str, Any]:
        """The MSH fields a MessageHeader would carry (this Bundle is not a message Bundle)."""
        message = self.message
        fields = (
            ("messageType", message.message_type),
            ("controlId", message.control_id),
            ("timestamp", message.timestamp.text if message.timestamp else ""),
            ("sendingApplication", hd(message.sending_application, message.sending_application_id)),
            ("sendingFacility", hd(message.sending_facility, message.sending_facility_id)),
            (
                "receivingApplication",
                hd(message.receiving_application, message.receiving_application_id),
            ),
            ("receivingFacility", hd(message.receiving_facility, message.receiving_facility_id)),
            ("processingId", message.processing_id),
            ("version", message.version),
            ("charset", message.charset),
        )
        parts = [{"url": name, "valueString": value} for name, value in fields if value]
        return {
            "url": el.SOURCE_MESSAGE,
            "extension": parts or [{"url": "messageType", "valueString": "unknown"}],
        }


def _order_collection(collection: dict[str, Any], order: Order) -> None:
    """OBR-7 (and OBR-8) as the collection time of an SPM specimen that sends no SPM-17 (V2-to-FHIR
    IG OBR[Specimen]: collectedDateTime, or collectedPeriod when OBR-8 is valued). What cannot
    be written is left out: the DiagnosticReport's effective[x] already says why, at OBR-7/8."""
    start = el.date_time(order.effective)
    if start is None:
        return
    end = el.date_time(order.effective_end)
    if end is not None and not _ends_before(end, start):
        collection["collectedPeriod"] = {"start": start, "end": end}
    else:
        collection["collectedDateTime"] = start


def _specimen_time_fields(location: str) -> tuple[str, str]:
    """The fields a Specimen's collection and receipt times came from: SPM-17 and SPM-18, or
    OBR-7 and OBR-14 for the specimen the reader made of OBR-15 (located ``OBR[k]-15``)."""
    if location.endswith("-15") and "/OBR[" in location:
        order = location[: -len("-15")]
        return f"{order}-7", f"{order}-14"
    return f"{location}-17", f"{location}-18"


def write_bundle(
    message: Message, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """One Bundle for ``message``; ``evaluations`` by result location (from flagging)."""
    key, from_control_id = message_key(message)
    writer = _Writer(
        message=message,
        evaluations=evaluations,
        ident=id_maker(key, len(message.location) + 1),
        r5=settings.fhir_version == "R5",
        transaction=settings.bundle_type == "transaction",
        derivations=_derivations(evaluations),
    )
    if not from_control_id:
        writer.issue(
            Severity.WARNING,
            "no-control-id",
            f"{message.location}/MSH[1]-10",
            "the message has no control id (MSH-10): resource ids are derived from its content: "
            "the same message sent again gets the same ids, any change to it new ones",
        )
    for group in message.groups:
        write_group(writer, group)
    # every location the writer used is an evaluation's: as many used as given, none left over
    unmatched = () if len(writer.used) == len(evaluations) else evaluations
    for location in unmatched:
        if location not in writer.used:
            writer.issue(
                Severity.WARNING,
                "evaluation-unmatched",
                location,
                f"an evaluation for {location} matches no result of the message; not written",
            )
    recorded = el.instant(message.timestamp)  # MSH-7: Provenance.recorded, Bundle.timestamp
    writer.provenance(list(writer.urls), recorded)  # every entry so far: its targets
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": writer.ident("Bundle", ""),
    }
    if message.control_id:
        sender = _sender(message)
        identifier: dict[str, Any] = {"value": message.control_id}
        if sender:
            identifier["assigner"] = {"display": sender}
        bundle["identifier"] = identifier
    bundle["type"] = settings.bundle_type
    if recorded is not None:
        bundle["timestamp"] = recorded
    else:  # say why it is not written (MSH-7 is the Provenance's recorded time too)
        writer.instant(
            bundle,
            "timestamp",
            message.timestamp,
            f"{message.location}/MSH[1]-7",
            "Bundle.timestamp and Provenance.recorded (FHIR instants) need; neither written",
        )
    bundle["entry"] = writer.entries
    return bundle, tuple(writer.issues)


def _derivations(
    evaluations: Mapping[str, Evaluation],
) -> dict[str, list[tuple[int, str, Evaluation]]]:
    """The derived evaluations by the location of their first source (see derived_for)."""
    by_source: dict[str, list[tuple[int, str, Evaluation]]] = {}
    for evaluation in evaluations.values():  # a bare scan first: most messages derive none
        if evaluation.derived_from:
            break
    else:
        return by_source
    for position, (location, evaluation) in enumerate(evaluations.items()):
        if evaluation.derived_from:
            by_source.setdefault(evaluation.derived_from[0], []).append(
                (position, location, evaluation)
            )
    return by_source


def _human_name(name: PersonName) -> dict[str, Any]:
    """A HumanName of a PID-5 repetition after the patient's main name."""
    out: dict[str, Any] = {"use": name.use} if name.use else {}
    if name.family:
        out["family"] = name.family
    if name.given:
        out["given"] = list(name.given)
    if name.prefix:
        out["prefix"] = list(name.prefix)
    if name.suffix:
        out["suffix"] = list(name.suffix)
    return out


def _sender(message: Message) -> str:
    """MSH-3^MSH-4, without an empty side."""
    application, facility = message.sending_application, message.sending_facility
    return f"{application}^{facility}" if application and facility else application or facility


def write_group(writer: _Writer, group: PatientResult) -> None:
    context = _Context(orders=group.orders, patient=group.patient)
    if group.patient is not None:
        context.subject = writer.patient(group.patient)
    if group.visit is not None:
        context.encounter = writer.encounter(group.visit, context)
    for order in group.orders:
        writer.order(order, context)


def _address(address: Address) -> dict[str, Any]:
    """A FHIR Address (R4 and R5) of one PID-11 repetition, its elements in FHIR's order."""
    elements = (
        ("use", address.use),
        ("type", address.type),
        ("line", list(address.lines)),
        ("city", address.city),
        ("district", address.district),
        ("state", address.state),
        ("postalCode", address.postal_code),
        ("country", address.country),
    )
    return {key: value for key, value in elements if value}


def _specimen_said(specimen: Specimen) -> str:
    """An OBR-15 specimen's type, site and role as sent (codes, displays, texts), quoted after a
    space, or ``""``: an Issue about a specimen not written keeps what it said."""
    words = [
        word
        for concept in (specimen.type, specimen.source_site, specimen.role)
        if concept is not None
        for coding in concept.codings
        for word in (coding.code, coding.display, coding.version)
        if word
    ]
    words += [c.text for c in (specimen.type, specimen.source_site, specimen.role) if c and c.text]
    return f" {quoted(' '.join(words), 120)}" if words else ""


def _parent_shown(order: Order) -> str:
    """OBR-29's placer and filler numbers as Issues quote them: 'ORD1^EHR' / 'LAB1^CORELAB'."""
    return " / ".join(
        quoted(f"{sent.value}^{sent.assigner}" if sent.assigner else sent.value)
        for sent in (order.parent_placer_id, order.parent_filler_id)
        if sent is not None and sent.value
    )


def _is_request(order: Order) -> bool:
    """Whether ``order`` is an order, written as a ServiceRequest when its message has a PID:
    a placer number, an ORC, an ordering provider or OBR-11 G (an order the lab generated)."""
    return bool(
        order.placer_id is not None
        or order.order_control
        or order.ordering_provider
        or order.specimen_action
    )


def _names_order(child: Order, candidate: Order) -> bool:
    """Whether ``child``'s OBR-29 names ``candidate``: a placer or filler number sent is the
    candidate's (namespace and system alike), and none sent is another than the candidate's own
    (reflex orders often share their parent's placer number, each with a filler number of its
    own)."""
    named = False
    for sent, own in (
        (child.parent_placer_id, candidate.placer_id),
        (child.parent_filler_id, candidate.filler_id),
    ):
        if sent is None or not sent.value or own is None or not own.value:
            continue
        if sent != own:
            return False
        named = True
    return named
