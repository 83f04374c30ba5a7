"""Neutral value objects passed between the pipeline steps.

Every object is a frozen, slotted dataclass: readers build them once, later steps trust them.
Readers (HL7 v2 and FHIR) produce :class:`Message`; the flagging step turns each in-scope
:class:`LabResult` into an :class:`Evaluation` (and a :class:`Finding`); the FHIR writer turns a
:class:`Message` plus its evaluations into a Bundle. Problems found on the way are
:class:`Issue` records; inputs that could not be converted at all are :class:`Rejected`.

Locations name where a thing came from, so an operator can find it in the input:

* HL7 v2: ``MSG[2]/OBX[3]-6.1`` — message 2 of the input (1-based), the third OBX segment of that
  message (1-based, counted per segment type), field 6, component 1.
* FHIR: ``ITEM[2]/Bundle.entry[4].resource.valueQuantity`` — input item 2 (1-based; an NDJSON
  line or a JSON document), then a FHIRPath-style path with 0-based indexes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

__all__ = [
    "Address",
    "Analyte",
    "CodedResult",
    "Coding",
    "Concept",
    "Evaluation",
    "Finding",
    "Identifier",
    "Issue",
    "LabResult",
    "Message",
    "NoValue",
    "NormalizedQuantity",
    "NormalizedRange",
    "Number",
    "NumberRange",
    "Order",
    "Patient",
    "PatientContext",
    "PatientResult",
    "PersonName",
    "Ratio",
    "ReferenceRange",
    "Rejected",
    "ReportStatus",
    "ResultStatus",
    "Severity",
    "Specimen",
    "Telecom",
    "Text",
    "Timestamp",
    "Unit",
    "Value",
    "Visit",
]


# --------------------------------------------------------------------------- report records


class Severity(StrEnum):
    """Issue severity, the FHIR ``OperationOutcome.issue.severity`` value set."""

    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


@dataclass(frozen=True, slots=True)
class Issue:
    """Something in one input that was not mapped, was repaired, or could not be judged.

    ``code`` is a stable kebab-case identifier prefixed by the step that raised it
    (``hl7v2.segment-unmapped``, ``units.unknown-unit``, ``flag.status-not-flaggable`` …); the list
    is documented in ``docs/issues.md``. ``location`` follows the module docstring.
    """

    severity: Severity
    code: str
    location: str
    text: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """One input item (message, JSON document, NDJSON line) that produced no Bundle.

    ``raw`` is the item exactly as read (bytes), so it can be written out and replayed.
    ``index`` is the item's 1-based position in its source; ``source`` is a file path or
    ``"<input>"``. ``envelope`` names the HL7 v2 batch envelope segment (``"BTS"``, ``"FTS"``,
    ``"BHS"``, ``"FHS"``) when the item is that line, not a message (a trailer whose count shows
    messages missing, a batch or file with no trailer): ``raw`` is then the line, nothing to
    send again.
    """

    index: int
    source: str
    reason: str
    raw: bytes
    location: str = ""
    envelope: str = ""

    def __repr__(self) -> str:
        # An engine logs what it was given: the raw message (names, MRNs, birth dates) stays out.
        return (
            f"{type(self).__name__}(index={self.index!r}, source={self.source!r}, "
            f"reason={self.reason!r}, raw={_raw_summary(self.raw)}, location={self.location!r}"
            + (f", envelope={self.envelope!r})" if self.envelope else ")")
        )


def _raw_summary(raw: bytes) -> str:
    """``raw`` for a repr, without its content: its length and the start of its SHA-256
    (``<1,204 bytes, sha256 9f86d081884c>``), enough to match it with the item sent."""
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return f"<{len(raw):,} byte{'' if len(raw) == 1 else 's'}, sha256 {digest}>"


# --------------------------------------------------------------------------- shared small types


class Analyte(StrEnum):
    """The two counts leukoflag normalizes and interprets."""

    WBC = "wbc"
    ANC = "anc"


class ResultStatus(StrEnum):
    """FHIR ``Observation.status`` (same codes in R4 and R5)."""

    REGISTERED = "registered"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    AMENDED = "amended"
    CORRECTED = "corrected"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"
    UNKNOWN = "unknown"


class ReportStatus(StrEnum):
    """FHIR ``DiagnosticReport.status`` (R4's codes; R5 adds ``modified``, read as partial)."""

    REGISTERED = "registered"
    PARTIAL = "partial"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    AMENDED = "amended"
    CORRECTED = "corrected"
    APPENDED = "appended"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A point in time as written, and its FHIR rendering at the same precision.

    ``fhir`` is a valid FHIR ``dateTime``: ``2026``, ``2026-11``, ``2026-11-24`` or
    ``2026-11-24T08:30:00-05:00`` (seconds and fractions as sent; ``:00`` for the seconds, or the
    minutes and seconds, of a time sent to the minute or the hour). A time of day without a known
    offset (none in the text, no ``Settings.default_timezone``) is truncated to the date and the
    reader raises an Issue. ``day`` is the calendar date, for ages and reference bands.
    """

    text: str
    fhir: str
    day: dt.date


@dataclass(frozen=True, slots=True)
class Coding:
    """One code. ``system`` is a FHIR URI when known (``http://loinc.org``), else empty;
    ``system_name`` is the name the sender used (``LN``, ``L``, ``99LAB``)."""

    code: str
    display: str = ""
    system: str = ""
    system_name: str = ""
    version: str = ""
    # An OBX-8 flag read as another code (`L<` as LU, `l` as L): Issues quote what was sent.
    # Not compared nor in repr (fhir._ids hashes it): the code is the same, only spelled apart.
    sent: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Concept:
    """A coded concept: v2 CWE/CE or FHIR CodeableConcept. ``text`` is original/free text."""

    codings: tuple[Coding, ...] = ()
    text: str = ""

    def code_in(self, system: str) -> str:
        """The first code of ``system`` (a URI), or ``""``."""
        for coding in self.codings:
            if coding.system == system:
                return coding.code
        return ""


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier with the namespace that assigned it (v2 CX/EI, FHIR Identifier)."""

    value: str
    system: str = ""
    type_code: str = ""
    assigner: str = ""
    # CX.7 effective and CX.8 expiration date (PID-2/3/4), as ``Identifier.period``, and the
    # CX's location (``MSG[1]/PID[1]-3[2]``) for the Issues about them. Neither compared nor in
    # repr: the identifier is the same (a PID matches another by it), and fhir._ids hashes repr.
    period_start: Timestamp | None = field(default=None, compare=False, repr=False)
    period_end: Timestamp | None = field(default=None, compare=False, repr=False)
    location: str = field(default="", compare=False, repr=False)


# --------------------------------------------------------------------------- result values


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric value as sent: NM, an SN with or without comparator, the leading number of a
    text value. ``text`` is the original text; ``comment`` is the text after a leading number
    of an ST/TX/FT value (kept as a note)."""

    value: Decimal
    text: str
    comparator: str = ""  # "", "<", "<=", ">", ">="
    comment: str = ""


@dataclass(frozen=True, slots=True)
class NumberRange:
    """An SN range (``^1.0^-^2.0``) or a text range (``1.0-2.0``). ``high_unit``: the unit of
    ``high`` when it is not the result's (a FHIR ``valueRange`` whose ``high`` is sent in
    another unit than its ``low``), else None."""

    low: Decimal | None
    high: Decimal | None
    text: str
    high_unit: Unit | None = None


@dataclass(frozen=True, slots=True)
class Ratio:
    """An SN ratio (``^1^:^128`` or ``^1^/^128``)."""

    numerator: Decimal
    denominator: Decimal
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """A text value (ST/TX/FT, or an SN with ``<>``/``+``) that holds no usable number.
    ``repetitions``: how many repetitions an NM/SN value was sent in, not all the same number
    (``2.1~6.0``: 2), or 0."""

    text: str
    repetitions: int = 0


@dataclass(frozen=True, slots=True)
class CodedResult:
    """A coded value (CWE/CE, FHIR valueCodeableConcept)."""

    concept: Concept


@dataclass(frozen=True, slots=True)
class NoValue:
    """No value: empty OBX-5, masked (``***.**``), or FHIR dataAbsentReason.
    ``reason`` is ``empty``, ``masked``, ``sent-before`` (an empty OBX-5 under OBX-11 U: the value
    went in an earlier message) or a data-absent-reason code; ``text`` as sent."""

    reason: str
    text: str = ""


Value: TypeAlias = Number | NumberRange | Ratio | Text | CodedResult | NoValue


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as sent. ``text`` is what a human reads (CWE.2, or CWE.1 when CWE.2 is empty;
    escapes decoded, a ``10^3/uL`` split by an unescaped ``^`` re-joined); ``code`` is CWE.1
    (FHIR ``Quantity.code``); ``system`` a FHIR URI when known (``http://unitsofmeasure.org``),
    else the sender's system name. ``alternate`` is the same unit in another coding (HL7 v2
    OBX-6.4-6), read beside it: the units step refuses the unit when the two disagree and reads
    the alternate when the first is not in its table. ``original`` is the unit's original text
    (HL7 v2 OBX-6.9) sent beside a unit code or text: the units step refuses the unit when the
    table reads it as a count of another scale (``10*3/uL^^UCUM^^^^^^cells/uL``)."""

    text: str
    code: str = ""
    system: str = ""
    # out of repr: the content ids of a Message built by hand (fhir._ids) stay what they were
    alternate: Unit | None = field(default=None, repr=False)
    original: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A reference range as sent (OBX-7 or FHIR referenceRange). ``text`` is always kept;
    ``low``/``high`` are parsed when possible (``>4.0`` gives only ``low``); ``unit`` is a unit
    written inside the range text or carried by the FHIR low/high quantities; ``high_unit`` is
    the FHIR high's unit when it is not the low's (``unit``): each limit is read in its own.
    ``by_sex`` holds the ranges of a text giving one for men and one for women (``M: 4.0-10.0
    F: 4.5-11.0``), by FHIR administrative-gender; the range itself then has no limits. Each of
    those ranges has the label it was written under (``sex_label``: ``M``, ``Frauen``) and the
    language(s) that label was read in (``sex_language``: ``Spanish, Portuguese``).
    ``adults`` is True when the text labels the range as for adults (``Adult: 4.0-11.0``,
    ``4.0-11.0 (adult)``): it is not a child's range; ``children`` when it labels it as for
    children (``Child: 5.0-15.0``, ``5.0-15.0 (pediatric)``): it is not an adult's. ``ages`` is
    a note naming other ages (``6.0-17.5 (3-12 mo)``, ``Age 0-1 y: 6.0-17.5``): the range is
    only for a patient known to be of those ages. ``by_age`` holds the ranges of a text giving
    one for each of several ages (``0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0``), each with its ``ages``;
    the range itself then has no limits."""

    text: str
    low: Decimal | None = None
    high: Decimal | None = None
    unit: Unit | None = None
    high_unit: Unit | None = None
    by_sex: tuple[tuple[str, ReferenceRange], ...] = ()
    adults: bool = False
    sex_label: str = ""
    sex_language: str = ""
    children: bool = False
    # The ages a note gives the range for, as sent ("3-12 mo" of "6.0-17.5 (3-12 mo)"); not in
    # repr, which ids of a hand-built message without MSH-10 hash (fhir._ids)
    ages: str = field(default="", repr=False)
    by_age: tuple[ReferenceRange, ...] = field(default=(), repr=False)
    # Where it was read when the result's location does not say: a FHIR referenceRange element
    # (``...resource.referenceRange[1]``); "" for OBX-7
    location: str = field(default="", repr=False)


# --------------------------------------------------------------------------- message content


@dataclass(frozen=True, slots=True)
class LabResult:
    """One result: an HL7 v2 OBX, a FHIR Observation, or one component of it."""

    location: str
    code: Concept
    value: Value
    status: ResultStatus
    unit: Unit | None = None
    reference_range: ReferenceRange | None = None
    status_text: str = ""  # as sent, e.g. OBX-11 "C"
    data_absent_reason: str = ""  # FHIR data-absent-reason code, e.g. "not-asked"
    sender_flags: tuple[Coding, ...] = ()  # OBX-8 repetitions / Observation.interpretation
    value_type: str = ""  # OBX-2
    set_id: str = ""  # OBX-1
    sub_id: str = ""  # OBX-4
    effective: Timestamp | None = None  # OBX-14
    analysis_time: Timestamp | None = None  # OBX-19
    method: Concept | None = None  # OBX-17
    device: str = ""  # OBX-18 equipment instance identifier
    performers: tuple[str, ...] = ()  # OBX-15 producer, -16 observer, -23 organization, -25
    category: Concept | None = None  # OBX-29
    notes: tuple[str, ...] = ()  # NTE after this OBX
    # location of the SPM this result follows (specimen observation), of the FHIR Specimen it
    # names, or of its first reference to a Specimen outside the item; or ""
    specimen: str = ""
    order: str = ""  # location of the OBR this result belongs to
    # OBX-18 as an identifier (``device`` is its display: value and assigner); None when the
    # input gave no identifier of its own (FHIR input: the device reference is kept as sent)
    device_id: Identifier | None = None
    # FHIR Observation.issued, else its DiagnosticReport's, else a message Bundle's timestamp:
    # dates a result with no other time for the age, as MSH-7 does HL7 v2's (drawn on or
    # before). Not in repr, which ids of hand-built messages hash (fhir._ids)
    issued: Timestamp | None = field(default=None, repr=False)
    # Where a FHIR result's value was read, which its value and unit Issues name: its value[x]
    # (``...resource.valueQuantity``), else its dataAbsentReason; "" for OBX-5/-6 and none sent
    value_location: str = field(default="", repr=False)
    # Where the sender's flags were read when not from OBX-8 or Observation.interpretation: the
    # OBX-5 of a text value whose number a flag follows ('3.2 H', OBX-8 empty); else ""
    flags_location: str = field(default="", repr=False)
    # OBX-21 observation instance identifier (the lab's id of this result, kept across its
    # corrections); None when not sent. Not in repr, for the same reason.
    instance_id: Identifier | None = field(default=None, repr=False)

    # A FHIR count in cells/µL that leukoflag normalized before (its output read back): the
    # original quantity kept beside it (PQ translation, original text) in another unit says the
    # same count, so its decimals are the unit's (0.0045 10*9/L is 4.5 /uL), not a thousands dot;
    # or an ANC leukoflag derived, whose decimals are the exact product's (2,350 x 21.27 %: 499.845)
    normalized_before: bool = field(default=False, repr=False)
    # Who entered each note and when (NTE-5 rendered readably, "" when not sent; NTE-6), one
    # pair per note of ``notes``, in order; () when no NTE sent either. Not in repr, as above.
    notes_entered: tuple[tuple[str, Timestamp | None], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Specimen:
    """An SPM segment (or OBR-15 specimen source in older messages)."""

    location: str
    identifier: Identifier | None = None  # SPM-2
    type: Concept | None = None  # SPM-4
    role: Concept | None = None  # SPM-11; Q/C/E/B/… mark control and calibration material
    source_site: Concept | None = None  # SPM-8
    collected: Timestamp | None = None  # SPM-17 (its start, SPM-17.1)
    # SPM-17.2, the end of a collection over a time (24 h urine); not in repr, which ids of a
    # hand-built message without MSH-10 hash (fhir._ids): a new field must not change them
    collected_end: Timestamp | None = field(default=None, repr=False)
    received: Timestamp | None = None  # SPM-18
    notes: tuple[str, ...] = ()
    is_control: bool = False  # QC, control or calibrator material: never flagged
    # SPM-27 container type (CWE); not in repr, which ids of a hand-built message
    # without MSH-10 hash (fhir._ids): a new field must not change them
    container_type: Concept | None = field(default=None, repr=False)
    # NTE-5/6 of each note (who entered it and when), as LabResult.notes_entered; not in repr
    notes_entered: tuple[tuple[str, Timestamp | None], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Order:
    """An ORC/OBR pair: becomes DiagnosticReport (and ServiceRequest when ordered)."""

    location: str  # the OBR's location
    code: Concept  # OBR-4
    status: ReportStatus
    status_text: str = ""  # OBR-25 as sent
    placer_id: Identifier | None = None  # OBR-2 / ORC-2
    filler_id: Identifier | None = None  # OBR-3 / ORC-3
    group_id: Identifier | None = None  # ORC-4
    order_control: str = ""  # ORC-1
    effective: Timestamp | None = None  # OBR-7
    effective_end: Timestamp | None = None  # OBR-8
    issued: Timestamp | None = None  # OBR-22
    ordering_provider: str = ""  # OBR-16 / ORC-12, as "id^family^given" text rendered readably
    specimen_source: Concept | None = None  # OBR-15 (v2.3–2.4)
    notes: tuple[str, ...] = ()  # NTE after OBR
    results: tuple[LabResult, ...] = ()  # OBX under this OBR, then OBX after each SPM
    specimens: tuple[Specimen, ...] = ()
    # the field ordering_provider was read from (``MSG[1]/ORC[1]-12`` when OBR-16 is empty);
    # not in repr, which ids of a hand-built message without MSH-10 hash (fhir._ids)
    ordering_provider_location: str = field(default="", repr=False)
    # ORC-5 as a FHIR request status (ServiceRequest.status); "" when not sent or not known, and
    # then OBR-25 decides. Not in repr, for the same reason.
    request_status: str = field(default="", repr=False)
    # FHIR results no DiagnosticReport lists, gathered per patient (a searchset): no report ties
    # them, so two without a time are not one result. Not in repr, for the same reason.
    gathered: bool = field(default=False, repr=False)
    # OBR-32 principal result interpreter, rendered readably; not in repr, for the same reason
    results_interpreter: str = field(default="", repr=False)
    # OBR-24 diagnostic service section ID (table 0074) as sent; not in repr, for the same reason
    service_section: str = field(default="", repr=False)
    # OBR-10 collector identifier (who drew the specimen), rendered readably; not in repr either
    collector: str = field(default="", repr=False)
    # FHIR request-priority of OBR-27.6 or TQ1-9 (table 0485), and where it was sent; not in
    # repr either
    priority: str = field(default="", repr=False)
    priority_location: str = field(default="", repr=False)
    # OBR-11 specimen action code (table 0065) when it is G, a generated (reflex) order, else "";
    # not in repr, for the same reason
    specimen_action: str = field(default="", repr=False)
    # the ORC-5 field request_status was read from (``MSG[1]/ORC[1]-5``), "" when none; not in
    # repr, for the same reason
    request_status_location: str = field(default="", repr=False)
    # NTE-5/6 of each note after the OBR (who entered it and when), as LabResult.notes_entered;
    # not in repr, for the same reason
    notes_entered: tuple[tuple[str, Timestamp | None], ...] = field(default=(), repr=False)
    # OBR-29 parent: the placer's and the filler's number of the order this one is a child of
    # (a reflex or add-on order); None when not sent. Not in repr, for the same reason
    parent_placer_id: Identifier | None = field(default=None, repr=False)
    parent_filler_id: Identifier | None = field(default=None, repr=False)
    # ORC-9 of a new order (ORC-1 NW): when it was written (ServiceRequest.authoredOn), and the
    # field it was read from; None and "" otherwise. Not in repr, for the same reason
    authored: Timestamp | None = field(default=None, repr=False)
    authored_location: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Address:
    """One repetition of PID-11 (XAD) as the V2-to-FHIR IG datatype map XAD[Address] reads it."""

    lines: tuple[str, ...] = ()  # XAD.1 street address (SAD.1), XAD.2 other designation
    city: str = ""  # XAD.3
    district: str = ""  # XAD.9 county/parish code
    state: str = ""  # XAD.4
    postal_code: str = ""  # XAD.5
    country: str = ""  # XAD.6
    use: str = ""  # FHIR address-use of the XAD.7 address type (table 0190), when it has one
    type: str = ""  # FHIR address-type of the XAD.7 address type (M postal, SH physical)


@dataclass(frozen=True, slots=True)
class Telecom:
    """One repetition of PID-13 or PID-14 (XTN) as the V2-to-FHIR IG datatype map
    XTN[ContactPoint] reads it: FHIR contact-point-system and -use codes, and the value."""

    system: str  # XTN.3 (table 0202); phone when not sent: PID-13/14 are phone number fields
    value: str  # XTN.4 for an email address, else XTN.1, else XTN.5-8 written out
    use: str = ""  # XTN.2 (table 0201); work for PID-14 when not sent


@dataclass(frozen=True, slots=True)
class PersonName:
    """One more name of a patient (a PID-5 repetition): family, given names, and its FHIR
    name-use (XPN.7 through HL7 table 0200; "" for none)."""

    family: str = ""
    given: tuple[str, ...] = ()
    use: str = ""
    prefix: tuple[str, ...] = ()  # XPN.5 (DR, MRS)
    suffix: tuple[str, ...] = ()  # XPN.4 (JR, III), then XPN.6 degree (MD, PHD)


@dataclass(frozen=True, slots=True)
class Patient:
    """A PID segment (or a FHIR Patient)."""

    location: str
    identifiers: tuple[Identifier, ...] = ()
    family: str = ""
    given: tuple[str, ...] = ()
    birth_date: Timestamp | None = None  # PID-7 at the precision sent
    sex: str = "unknown"  # FHIR administrative-gender: male, female, other, unknown
    sex_text: str = ""  # PID-8 as sent
    notes: tuple[str, ...] = ()
    # PID-29 death date and time, else PID-30 death indicator (Y True, N False); None when
    # neither is sent. Not in repr, which ids of a hand-built message without MSH-10 hash.
    deceased: Timestamp | bool | None = field(default=None, repr=False)
    addresses: tuple[Address, ...] = field(default=(), repr=False)  # PID-11, each sent
    telecoms: tuple[Telecom, ...] = field(default=(), repr=False)  # PID-13, then PID-14
    # the NTE each note was read from (``MSG[1]/NTE[1]``), in the order of notes: FHIR Patient
    # has no note, and the Issue saying so points at it. Not in repr, for the same reason.
    note_locations: tuple[str, ...] = field(default=(), repr=False)
    # PID-5: the FHIR name-use of the name above (XPN.7 through table 0200, "" for none), and
    # the other names sent, in the order sent. Not in repr, for the same reason.
    name_use: str = field(default="", repr=False)
    other_names: tuple[PersonName, ...] = field(default=(), repr=False)
    # PID-5 XPN.5 prefix, and XPN.4 suffix then XPN.6 degree, of the name above (V2-to-FHIR IG
    # XPN[HumanName]: HumanName.prefix, .suffix). Not in repr, for the same reason.
    name_prefix: tuple[str, ...] = field(default=(), repr=False)
    name_suffix: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Visit:
    """A PV1 segment."""

    location: str
    patient_class: str = ""  # PV1-2
    assigned_location: str = ""  # PV1-3 rendered readably
    visit_number: Identifier | None = None  # PV1-19
    attending: str = ""  # PV1-7
    # PV1-8 referring, PV1-9 consulting and PV1-17 admitting doctors, each repetition as
    # (v3-ParticipationType code, name rendered readably); not in repr, which ids of a
    # hand-built message without MSH-10 hash (fhir._ids)
    participants: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    admitted: Timestamp | None = field(default=None, repr=False)  # PV1-44, for the same reason
    discharged: Timestamp | None = field(default=None, repr=False)  # PV1-45 (its first)


@dataclass(frozen=True, slots=True)
class PatientResult:
    """ORU^R01 PATIENT_RESULT group: one patient (may be absent), visit, orders."""

    patient: Patient | None
    visit: Visit | None
    orders: tuple[Order, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One HL7 v2 message as read. ``issues`` holds what the reader found."""

    index: int  # 1-based position in its input
    source: str  # file path or "<input>"
    control_id: str = ""  # MSH-10
    sending_application: str = ""  # MSH-3
    sending_facility: str = ""  # MSH-4
    # MSH-3/MSH-4 universal ID^type when sent beside a namespace ID: two labs may share a name
    # (in the ids through message_key); not in repr, which ids of a hand-built message without
    # MSH-10 hash (fhir._ids)
    sending_application_id: str = field(default="", repr=False)
    sending_facility_id: str = field(default="", repr=False)
    receiving_application: str = ""  # MSH-5
    receiving_facility: str = ""  # MSH-6
    # MSH-5/MSH-6 universal ID^type when sent beside a namespace ID; not in resource ids, nor
    # in repr, which ids of a hand-built message without MSH-10 hash (fhir._ids)
    receiving_application_id: str = field(default="", repr=False)
    receiving_facility_id: str = field(default="", repr=False)
    timestamp: Timestamp | None = None  # MSH-7
    # MSH-7 as sent when FHIR dateTime cannot hold it (+1430, ten decimals; not read): it keys
    # the ids all the same (fhir._ids); not in repr, which ids of a hand-built message hash
    timestamp_unheld: str = field(default="", repr=False)
    message_type: str = ""  # MSH-9 as "ORU^R01^ORU_R01"
    processing_id: str = ""  # MSH-11
    version: str = ""  # MSH-12
    charset: str = ""  # MSH-18 repetition 1; all of MSH-18 when ISO 2022 switches sets
    groups: tuple[PatientResult, ...] = ()
    issues: tuple[Issue, ...] = ()
    # Without MSH-10: a SHA-256 of the message's segments as sent (CR-joined), its identity for
    # resource ids, the same whatever leukoflag's model holds ("": MSH-10 is there)
    content_digest: str = ""

    @property
    def location(self) -> str:
        return f"MSG[{self.index}]"


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class PatientContext:
    """What the flagging rules need to know about the patient of a result."""

    birth_date: dt.date | None = None  # earliest possible day when sent as a year or month
    sex: str = "unknown"  # FHIR administrative-gender
    duffy_null: bool = False  # known Duffy-null phenotype: explicit opt-in, never inferred
    birth_date_latest: dt.date | None = None  # latest possible day of a year/month birth date
    # The offset of a birth time sent with one (PID-7): a result's day is counted in it.
    birth_zone: dt.tzinfo | None = None
    # The birth time itself (with its offset): a result before it, on the birth day, is unborn.
    birth_time: dt.datetime | None = None
    # Without a birth date: the age the order sent as a result (LOINC 30525-0, 21612-7) that
    # ``birth_date`` to ``birth_date_latest`` come from, as Issues name it ("" when none)
    age_sent: str = ""
    # The message's time (MSH-7, a message Bundle's timestamp): a birth date without time is a
    # local date, and a result time sent in UTC is counted in the zone its offset names.
    message_time: Timestamp | None = None


@dataclass(frozen=True, slots=True)
class NormalizedQuantity:
    """A count in cells/µL, exact. ``comparator`` carried over from an SN value. ``rewritten``:
    leukoflag rewrote the value or unit sent to write it; False for a count sent so already
    (this value, unit ``cells/µL`` with UCUM code ``/uL``: written unchanged) and for a derived
    ANC (not sent)."""

    value: Decimal
    comparator: str = ""
    rewritten: bool = field(default=True, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NormalizedRange:
    """A reference range in cells/µL. ``source`` says where it came from: ``lab`` (the sender's
    OBX-7/referenceRange), ``default`` (adult sex default), ``age-band`` (pediatric band) or
    ``duffy-null``; ``text`` is the sender's text (empty when leukoflag supplied the range)."""

    low: Decimal | None
    high: Decimal | None
    source: str
    text: str = ""
    citation: str = ""  # source of a range leukoflag supplied
    sex: str = ""  # the sex whose range was used, of a lab range giving one per sex
    # Of a lab range giving one per sex: the limits as sent that ``low`` and ``high`` come from
    # (the chosen sex's range, or for the union each limit's own range, with its unit).
    limits_sent: ReferenceRange | None = None
    adults: bool = False  # a lab range labelled for adults (ReferenceRange.adults)
    children: bool = False  # a lab range labelled for children (ReferenceRange.children)


@dataclass(frozen=True, slots=True)
class Finding:
    """Why one in-scope WBC/ANC result got its interpretation code."""

    location: str
    analyte: Analyte
    value_per_ul: Decimal
    code: str  # v3-ObservationInterpretation: N, L, LU, LL or H (HU, HH have no sourced rule)
    rule: str  # rule id from the rules data file, e.g. "wbc-leukopenia-adult"
    threshold: Decimal | None  # the limit that decided the code, cells/µL
    threshold_source: str  # citation from the rules data file
    range: NormalizedRange | None
    comparator: str = ""
    condition: Coding | None = None  # SNOMED CT 84828003 leukopenia / 165517008 neutropenia
    severity: str = ""  # neutropenia severity: mild, moderate, severe, profound
    ctcae_grade: int | None = None
    ctcae_version: str = ""
    ctcae_term: Coding | None = None  # NCIt term, e.g. C143704 Neutrophil count decreased
    derived: bool = False  # ANC computed from WBC × neutrophil %, or segmented + band counts
    sender_flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the flagging step decided for one result (in scope or not).

    ``analyte`` is None when the result is not a blood WBC/ANC count. ``loinc`` is a LOINC coding
    to add when the analyte was recognized from a local code or text and the value normalized
    (a count set aside keeps its codes as sent). ``quantity`` and
    ``reference_range`` are set only when the value was normalized; ``finding`` only when a code
    was computed. ``derived_from`` lists source locations for a derived ANC.
    """

    location: str
    analyte: Analyte | None = None
    loinc: Coding | None = None
    quantity: NormalizedQuantity | None = None
    reference_range: NormalizedRange | None = None
    finding: Finding | None = None
    issues: tuple[Issue, ...] = ()
    derived_from: tuple[str, ...] = ()
