"""One raw ORU message → :class:`~leukoflag.model.Message`, or a :class:`Rejected` with its reason.

Grouping follows the ORU^R01 structure (v2.5.1 ch. 7.3.1), tolerantly:

* PID starts a PATIENT_RESULT group (several per message); PV1 is its visit.
* ORC then OBR starts an ORDER_OBSERVATION; OBX under it are its results.
* SPM starts a SPECIMEN group inside the current order; OBX after it are specimen observations
  (``LabResult.specimen`` = the SPM's location), never dropped.
* NTE belongs to the segment before it: PID → patient, OBR → order, OBX → result, SPM → specimen.
* An OBX or SPM with no OBR before it goes under an implicit order (``MSG[n]/ORDER[k]``), with an
  Issue; results before any PID go in a group without a patient.

Every segment the reader does not map, and every populated field of a mapped segment that the
model does not carry, is an Issue with its location: nothing is lost silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from leukoflag._cache import text_cache
from leukoflag._construct import constructor
from leukoflag._identifier_types import identifier_types
from leukoflag._quote import listed, quoted
from leukoflag._result_keys import code_key, specimen_key, time_after, utc_instant
from leukoflag._text import invisible, invisible_name
from leukoflag.hl7v2._charset import Decoded, decode_message
from leukoflag.hl7v2._er7 import (
    DEFAULT,
    Delimiters,
    control_characters,
    escape_codec,
    field_problems,
    indentation,
    read_delimiters,
    segment_breaks,
    segment_id,
    segment_id_any_case,
)
from leukoflag.hl7v2._framing import BatchTrailer
from leukoflag.hl7v2._tables import Tables, load_tables
from leukoflag.hl7v2._time import UNHOLDABLE, parse_timestamp
from leukoflag.hl7v2._types import (
    address_parts,
    concept,
    concept_from_parts,
    cwe_unread,
    decoded,
    identifier_cx,
    identifier_ei,
    person_name,
    render_location,
    render_organization,
    render_person,
    system_uri,
    telecom_parts,
    unread_parts,
)
from leukoflag.hl7v2._values import (
    Note,
    flag_in_comment,
    plain_number,
    read_flags,
    read_range,
    read_unit,
    read_value,
)
from leukoflag.model import (
    Address,
    Coding,
    Concept,
    Identifier,
    Issue,
    LabResult,
    Message,
    NoValue,
    Number,
    Order,
    Patient,
    PatientResult,
    PersonName,
    ReferenceRange,
    Rejected,
    ReportStatus,
    ResultStatus,
    Severity,
    Specimen,
    Telecom,
    Timestamp,
    Unit,
    Value,
    Visit,
)
from leukoflag.settings import Settings

__all__ = ["read_message"]

# Made once: a constructor() call is a cache look-up of about 900 instructions (29 a CBC).
_new_order = constructor(Order)
_new_patient_result = constructor(PatientResult)
_new_message = constructor(Message)
_new_patient = constructor(Patient)
_new_visit = constructor(Visit)
_new_specimen = constructor(Specimen)
_new_lab_result = constructor(LabResult)
_new_issue = constructor(Issue)
_new_person_name = constructor(PersonName)
# read on the hot path: a member looked up on its enum class costs ~860 instructions in 3.11
_UNKNOWN_REPORT = ReportStatus.UNKNOWN

_T = TypeVar("_T")
_NO_NAME = PersonName()  # a PID-5 sent empty
_WIDTH = 31  # fields kept per segment after padding (OBX-30 is the last one read)
_BLANKS = [""] * _WIDTH
_PADDING = tuple(("",) * (_WIDTH - sent) for sent in range(_WIDTH))  # blanks after `sent` fields
_NULL = '""'  # v2.5.1 ch. 2.5.3: a field of "" is an explicit null (the value was deleted)
_EMPTY_CONCEPT = Concept()
# Lines that are not segments quoted each in an Issue of its own, per message; the lines unlike
# them that follow are one Issue together (a log pasted into a message: millions of lines).
_SKIPPED_QUOTED = 10
_OBSERVATION_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0936"
# "/OBX[n]" after the message's location: a concatenation costs a third of the f-string.
_OBX_NAMED = 256
_OBX_AT = tuple(f"/OBX[{n}]" for n in range(_OBX_NAMED))

# Fields each mapped segment carries into the model (MSH numbered as in the standard: MSH-1 is
# the field separator; MSH-20, the character set switching scheme, is read by the decoder).
# Every other populated field is an hl7v2.field-unmapped Issue.
_CARRIED = {
    "MSH": frozenset({1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 18, 20}),
    "PID": frozenset({1, 2, 3, 4, 5, 7, 8, 11, 13, 14, 29, 30}),
    "PV1": frozenset({1, 2, 3, 7, 8, 9, 17, 19, 44, 45}),
    "ORC": frozenset({1, 2, 3, 4, 5, 7, 9, 12}),
    "OBR": frozenset({1, 2, 3, 4, 7, 8, 10, 11, 14, 15, 16, 22, 24, 25, 27, 29, 32}),
    "OBX": frozenset({1, 2, 3, 4, 5, 6, 7, 8, 11, 14, 15, 16, 17, 18, 19, 21, 23, 25, 29}),
    "SPM": frozenset({1, 2, 4, 8, 11, 17, 18, 27}),
    "NTE": frozenset({1, 3, 5, 6}),
    "TQ1": frozenset({1, 9}),
}
_MAPPED = frozenset(_CARRIED)
# Unmapped segments ORU_R01 puts between a segment and its NTEs (v2.7+; the US LRI guide
# pre-adopts PRT in v2.5.1): PATIENT is PID [PD1] [{PRT}] [{NTE}], OBSERVATION is OBX [{PRT}]
# [{NTE}]. An NTE after them is still the PID's or OBX's note.
_BEFORE_NOTES = frozenset({"PD1", "PRT"})
_RESULT_SEGMENTS = frozenset({"OBR", "OBX"})
_UNCARRIED = {
    name: tuple(n for n in range(1, 200) if n not in kept) for name, kept in _CARRIED.items()
}
# _UNCARRIED below each count of fields sent: the fields _unmapped looks at, without a bound check.
_UNCARRIED_BELOW = {
    name: tuple(tuple(n for n in numbers if n < sent) for sent in range(201))
    for name, numbers in _UNCARRIED.items()
}

# Issues of one code at one place said each for the first _SAID_EACH of them; the rest are one
# Issue counting them and naming the first locations (_merged): a PID-3 of 20,000 repetitions is
# 6 component Issues, not 20,000; 10,000 Z-segments 6. Only a message with more Issues than that
# pays the pass. The place is one field of one segment (a part's code), the segments of one name
# (a segment's), or one field of the segments of one name (a field's, one Issue a field); for a
# field's Issue that quotes what was sent (_ALIKE), only those alike (NTE-2 'L' on each line of
# a comment), each said with the first of them.
_SAID_EACH = 5
_LOCATIONS_NAMED = 3
# Segment names whose unmapped segments are said apart; those of further names go together.
_SEGMENT_NAMES_APART = 10
_PART, _SEGMENT, _FIELD, _ALIKE = 0, 1, 2, 3
# code -> its place, and what the Issues past the first are, at ``where`` (PID-3, ZXX, NTE-3).
_MERGED: dict[str, tuple[int, Callable[[str], str]]] = {
    "hl7v2.component-unmapped": (_PART, lambda where: f"components of {where} are not carried"),
    "hl7v2.identifier-type-unknown": (
        _PART,
        lambda where: (
            f"identifier types of {where} are not in HL7 table 0203: written as the type's "
            "text, without a v2-0203 coding"
        ),
    ),
    "hl7v2.identifier-type-case": (
        _PART,
        lambda where: (
            f"identifier types of {where} are table 0203 codes in other case: written as the "
            "code, with the type as sent as its text"
        ),
    ),
    "hl7v2.segment-unmapped": (
        _SEGMENT,
        lambda where: (
            f"{where} segments are not mapped"
            if where
            else f"segments of names after the first {_SEGMENT_NAMES_APART} are not mapped"
        ),
    ),
    "hl7v2.segment-id-case": (
        _SEGMENT,
        lambda where: f"{where} segment IDs are not in upper case (read as {where})",
    ),
    "hl7v2.segment-indented": (
        _SEGMENT,
        lambda where: (
            f"{where} segments are indented, which HL7 segments are not (read as {where})"
        ),
    ),
    "hl7v2.line-break-raw": (
        _FIELD,
        lambda where: f"{where} fields hold a raw line feed (kept as a line break in the value)",
    ),
    "hl7v2.field-unmapped": (_ALIKE, lambda where: f"{where} fields alike"),
    "hl7v2.escape-invalid": (_ALIKE, lambda where: f"{where} fields alike"),
    "hl7v2.value-truncated": (
        _FIELD,
        lambda where: (
            f"{where} fields hold a value the sender cut at its length limit (ending with the "
            "truncation character)"
        ),
    ),
    "hl7v2.control-character": (
        _FIELD,
        lambda where: (
            f"{where} fields hold control characters FHIR strings do not allow (replaced with "
            "U+FFFD)"
        ),
    ),
    "hl7v2.byte-order-mark": (
        _FIELD,
        lambda where: (
            f"{where} fields hold a byte-order mark (U+FEFF, removed)"
            if "-" in where
            else f"{where} segments start with a byte-order mark (U+FEFF, removed)"
        ),
    ),
    "hl7v2.code-invisible-character": (
        _FIELD,
        lambda where: (
            f"{where} fields hold characters that show nothing in their codes (removed)"
            if "-" in where
            else f"{where} segment IDs hold characters that show nothing (removed)"
        ),
    ),
}

# The components of a CWE that hold codes (its identifiers, coding systems and their versions and
# OIDs), not the display texts and original text (CWE.2, 5, 9, 11), which are prose.
_CWE_CODES = frozenset({1, 3, 4, 6, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22})
_FIRST = frozenset({1})
_CX_TYPE = frozenset({5})
# OBR-15 (SPS): its first component is a CWE sent as subcomponents (code&text&system, v2.3
# CE&…): its codes only, its text (SPS.1.2, 1.5) being a display text as SPM-4.2 is
_SPS_TYPE = frozenset({(1, _CWE_CODES)})
# The fields the reader matches on a table or a code list, and which components of each hold
# codes (None: all of them; the subcomponents of one are all read, but those of a component
# paired with the subcomponents that hold codes, as OBR-15.1): a Unicode format character
# (category Cf: a zero-width space, a soft hyphen, a direction mark …) pasted into one shows
# nothing but makes the code another (a count unjudged, a urine specimen taken for blood), so
# it is removed there (hl7v2.code-invisible-character). OBX-6: a unit's text (CWE.2, 5) is
# matched on the unit table too. Free text (NTE, names, ST values) keeps its joiners, which
# Indic and Arabic-script spelling needs.
_CODED_FIELDS: dict[
    str, dict[int, frozenset[int] | frozenset[tuple[int, frozenset[int]]] | None]
] = {
    "MSH": {9: None, 12: _FIRST},
    # PID-2/3/4, PV1-19: CX.5 identifier type (table 0203)
    "PID": {2: _CX_TYPE, 3: _CX_TYPE, 4: _CX_TYPE, 8: _FIRST},
    "PV1": {2: _FIRST, 19: _CX_TYPE},  # PV1-2 patient class (table 0004)
    "ORC": {1: _FIRST, 5: _FIRST},
    "OBR": {4: _CWE_CODES, 15: _SPS_TYPE, 25: _FIRST},
    "OBX": {2: _FIRST, 3: _CWE_CODES, 6: frozenset(range(1, 9)), 8: _CWE_CODES, 11: _FIRST},
    "SPM": {4: _CWE_CODES, 11: _CWE_CODES},
}
# The most characters before a line's first field separator that may be a segment ID with
# invisible characters in it (three letters and a few such characters)
_ID_SENT = 8
# IDs such a line is not read as: a header or envelope line there is no segment of the message
_NOT_IN_MESSAGE = frozenset({"", "MSH", "FHS", "BHS", "BTS", "FTS"})


# The last required field of a segment: a message whose *last* segment stops before it was cut.
_REQUIRED_LAST = {"MSH": 12, "PID": 3, "OBR": 4, "OBX": 11, "SPM": 4}

# V2-to-FHIR IG PV1[Encounter]: the doctors of PV1-8, -9, -17 as Encounter.participant, typed
# by v3-ParticipationType (PV1-7, the attending, each repetition, is ATND).
_VISIT_PARTICIPANTS = ((8, "REF"), (9, "CON"), (17, "ADM"))

# ORC-1 order control codes (table 0119) that cancel or discontinue the order.
_CANCELLING_CONTROL = {
    "CA": "cancel order request",
    "CR": "cancelled as requested",
    "DC": "discontinue order request",
    "DR": "discontinued as requested",
    "OC": "order cancelled",
    "OD": "order discontinued",
}

_SEVERITY = {
    "hl7v2.escape-invalid": Severity.WARNING,
    "hl7v2.repetition-unmapped": Severity.INFORMATION,
    "hl7v2.component-unmapped": Severity.INFORMATION,
    "hl7v2.value-number-in-text": Severity.INFORMATION,
    "hl7v2.value-bound-in-words": Severity.WARNING,
    "hl7v2.value-comparator-in-nm": Severity.INFORMATION,
    "hl7v2.value-decimal-comma": Severity.INFORMATION,
    "hl7v2.value-not-numeric": Severity.WARNING,
    "hl7v2.value-sn-invalid": Severity.WARNING,
    "hl7v2.value-sn-unstructured": Severity.INFORMATION,
    "hl7v2.value-type-missing": Severity.WARNING,
    "hl7v2.value-type-unmapped": Severity.INFORMATION,
    "hl7v2.unit-rejoined": Severity.INFORMATION,
    "hl7v2.unit-alternate": Severity.INFORMATION,
    "hl7v2.unit-original-text": Severity.INFORMATION,
    "hl7v2.range-inverted": Severity.WARNING,
    "hl7v2.range-repeated": Severity.WARNING,
    "hl7v2.unit-repeated": Severity.WARNING,
    "hl7v2.value-repeated": Severity.WARNING,
    "hl7v2.timestamp-padded": Severity.INFORMATION,
    "hl7v2.timestamp-offset-dropped": Severity.INFORMATION,
    "hl7v2.flag-unknown": Severity.WARNING,
    "hl7v2.flag-unmapped": Severity.INFORMATION,
}


def read_message(
    raw: bytes, *, index: int, source: str, settings: Settings, decoded: bool = False
) -> Message | Rejected:
    """Read one message (see the module docstring); never raises for bad input. ``decoded``:
    ``raw`` is the UTF-8 of text given as ``str`` (see ``decode_message``)."""
    location = f"MSG[{index}]"
    if isinstance(raw, BatchTrailer):  # messages or batches missing (FileTrailer too; _framing)
        return Rejected(index, source, raw.reason, bytes(raw), location, raw.envelope)
    decoded_message = decode_message(raw, settings.fallback_charset, location, decoded=decoded)
    if isinstance(decoded_message, str):
        return Rejected(index, source, decoded_message, raw, location)
    reader = _Reader(decoded_message, location, settings)
    outcome = reader.read(index, source)
    if isinstance(outcome, str):
        return Rejected(index, source, outcome, raw, location)
    return outcome


# (field number, or its part: "3.8", severity, issue code, text)
_Note = tuple[int | str, Severity, str, str]

# The parts of an OBX that a lab sends over and over, read once per distinct combination of
# OBX-2, 3, 6, 7, 8 and 11: code, unit, reference range, flags, status, status text, data absent
# reason, value type, then the Issues these fields raise as notes (OBX-3's apart: they come
# before OBX-5's). A plain tuple: unpacking it is the fastest way to hand the parts over.
_CodedResult = tuple[
    Concept,
    Unit | None,
    ReferenceRange | None,
    tuple[Coding, ...],
    ResultStatus,
    str,
    str,
    str,
    tuple[_Note, ...],
    tuple[_Note, ...],
]


def _merged(issues: list[Issue]) -> tuple[Issue, ...]:
    """``issues`` with those of one code (of _MERGED) at one place past the first _SAID_EACH
    (two or more: a sixth alone is said as it was) one Issue, at the first of them, saying how
    many more there are and naming the first locations: ``19,995 more components of PID-3 are
    not carried: PID-3[6].7, PID-3[7].7, PID-3[8].7 and 19,992 more``."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    names: set[str] = set()  # of unmapped segments, said apart
    for at, issue in enumerate(issues):
        merged = _MERGED.get(issue.code)
        if merged is None:
            continue
        segment, where = _place(issue.location, merged[0])
        if merged[0] == _ALIKE:
            segment = issue.text
        if issue.code == "hl7v2.segment-unmapped" and where not in names:
            if len(names) < _SEGMENT_NAMES_APART:
                names.add(where)
            else:
                where = ""  # a name after the first ones: with the others
        groups.setdefault((issue.code, segment, where), []).append(at)
    kept: dict[int, Issue] = {}
    dropped: set[int] = set()
    for (code, _segment, where), ats in groups.items():
        if len(ats) <= _SAID_EACH + 1:  # a sixth alone is said as it was, not counted as one
            continue
        rest = ats[_SAID_EACH:]
        place, said = _MERGED[code]
        first = issues[rest[0]]
        if place == _ALIKE:  # the first of the rest said as it was, the others after it
            rest = rest[1:]
            if not rest:
                continue
        named = [_named(issues[at].location, place) for at in rest[:_LOCATIONS_NAMED]]
        counted = f"{len(rest):,} more {said(where)}"
        kept[ats[_SAID_EACH]] = replace(
            first,
            text=f"{first.text} (and {counted} after it: {listed(named, len(rest))})"
            if place == _ALIKE
            else f"{counted}: {listed(named, len(rest))}",
        )
        dropped.update(rest[place != _ALIKE :])
    if not kept:
        return tuple(issues)
    return tuple([kept.get(at, issue) for at, issue in enumerate(issues) if at not in dropped])


def _place(location: str, place: int) -> tuple[str, str]:
    """Where Issues at ``location`` are counted together: the segment, for a part (``PID[1]``),
    else ``""``, and as the texts name it, the field of a part (``PID-3`` of
    ``MSG[1]/PID[1]-3[2].7``), the name of a segment (``ZXX`` of ``MSG[1]/ZXX[7]``), the field
    of the segments of one name (``NTE-3`` of ``MSG[1]/NTE[4]-3``). The message is one: its
    Issues are merged alone."""
    tail = location.rsplit("/", 1)[-1]
    segment, dash, part = tail.partition("-")
    name = segment.split("[", 1)[0]
    if place == _SEGMENT or not dash:
        return "", name
    if place in (_FIELD, _ALIKE):
        return "", f"{name}-{part}"
    return segment, f"{name}-{part.split('[', 1)[0].split('.', 1)[0]}"


def _named(location: str, place: int) -> str:
    """A location as the merged Issue names it: ``PID-3[2].7`` (one segment), ``ZXX[7]``,
    ``NTE[4]-3`` (segments of one name)."""
    tail = location.rsplit("/", 1)[-1]
    if place != _PART:
        return tail
    name, dash, part = tail.partition("-")
    return name.split("[", 1)[0] + dash + part


@text_cache(8192, texts=6)
def _coded_result(  # noqa: PLR0917 - the OBX fields it reads, then the message's codec
    value_type: str,
    code_field: str,
    unit_field: str,
    range_field: str,
    flags_field: str,
    status_field: str,
    delimiters: Delimiters,
    codec: str,
) -> _CodedResult:
    code_notes: list[_Note] = []
    notes: list[_Note] = []
    if delimiters.repetition in code_field:
        code_field = _first_repetition(code_field, delimiters.repetition, code_notes, 3)
    code, problem = concept(code_field, delimiters, codec)
    if problem:
        code_notes.append((3, Severity.WARNING, "hl7v2.escape-invalid", problem))
    if delimiters.component in code_field:
        code_notes.extend(
            (
                f"3.{part}",
                Severity.INFORMATION,
                "hl7v2.component-unmapped",
                f"OBX-3.{part} is not carried: {quoted(text, 80)}",
            )
            for part, text in unread_parts(code_field, "CWE", delimiters)
        )
    if code is None:
        code = _EMPTY_CONCEPT
        code_notes.append(
            (3, Severity.WARNING, "hl7v2.code-missing", "OBX-3 observation identifier is empty")
        )
    unit = reference_range = None
    flags: tuple[Coding, ...] = ()
    if unit_field:
        unit, unit_notes = read_unit(unit_field, delimiters, codec)
        notes.extend((part, _SEVERITY.get(c, Severity.WARNING), c, t) for part, c, t in unit_notes)
    if range_field:
        reference_range, range_notes = read_range(range_field, delimiters, codec)
        notes.extend((7, _SEVERITY.get(c, Severity.WARNING), c, t) for c, t in range_notes)
    if flags_field:
        flags, flag_notes = read_flags(flags_field, delimiters, codec)
        notes.extend((8, _SEVERITY.get(c, Severity.WARNING), c, t) for c, t in flag_notes)
    status_text = status_field.strip()
    row = load_tables().result_status.get(status_text)
    if row is None and status_text:  # not a plain code: f, F^Final^HL70085, P~F
        if delimiters.component in status_text and delimiters.repetition not in status_text:
            notes.extend(
                (f"11.{at}", Severity.INFORMATION, "hl7v2.component-unmapped", text)
                for at, text in _parts_not_carried(
                    status_text, delimiters.component, "OBX-11", "its code is read"
                )
            )
        row = load_tables().result_status.get(_status_code(status_text, delimiters))
    absent = ""
    if row is not None:
        status = row.status
        absent = row.data_absent_reason
        if row.no_result:
            notes.append(
                (
                    11,
                    Severity.INFORMATION,
                    "hl7v2.result-order-detail",
                    "OBX-11 'O': order detail only, no result; kept as a registered result",
                )
            )
    else:
        status = ResultStatus.UNKNOWN
        if status_text:
            notes.append(
                (
                    11,
                    Severity.WARNING,
                    "hl7v2.status-unknown",
                    f"OBX-11 {quoted(status_text)} is not in HL7 table 0085: status unknown",
                )
            )
        else:
            notes.append(
                (
                    11,
                    Severity.WARNING,
                    "hl7v2.status-missing",
                    "OBX-11 observation result status is empty: status unknown",
                )
            )
    return (
        code,
        unit,
        reference_range,
        flags,
        status,
        status_text,
        absent,
        # OBX-2 sent as a coded value (NM^Numeric^HL70125), as OBX-11 may be: its code
        value_type.split(delimiters.component, 1)[0].strip(),
        tuple(code_notes),
        tuple(notes),
    )


def _visible_codes(
    component: str,
    place: int,
    parts: frozenset[int] | frozenset[tuple[int, frozenset[int]]] | None,
    subcomponent: str,
) -> str:
    """``component`` (the ``place``-th of its field) without its Unicode format characters
    where it holds codes, as ``parts`` (a value of :data:`_CODED_FIELDS`) says: all of it, none
    of it, or, for a component paired with subcomponent numbers, those subcomponents."""
    if parts is None or place in parts:
        return "".join(c for c in component if not invisible(c))
    for paired in parts:
        if isinstance(paired, tuple) and paired[0] == place:
            codes = paired[1]
            return subcomponent.join(
                "".join(c for c in sub if not invisible(c)) if number in codes else sub
                for number, sub in enumerate(component.split(subcomponent), 1)
            )
    return component


def _coded_source(parts: list[str], d: Delimiters) -> bool:
    """Whether OBR-15 was sent as a CE (``BLDV^Venous^HL70070``, a v2.3 habit): a code, a text
    and a coding-system name in components 1-3. In SPS (CM in v2.3) components 2 and 3 are the
    additives and the collection method (v2.3: free text), which a system name never is."""
    code, text, system = (part.strip() for part in parts[:3])
    if not (code and text and system) or d.subcomponent in d.component.join(parts[:3]):
        return False
    upper = system.upper()
    return bool(system_uri(system)) or upper == "L" or upper.startswith("99")


def _first_repetition(field: str, repetition: str, notes: list[_Note], number: int) -> str:
    """The first repetition sent of OBX-3 or OBX-6, which do not repeat: the rest, read as part
    of it, made the code's system ``LN~WBC`` (LOINC lost) and its display a coding system's name.
    Empty repetitions carry nothing (``~6690-2^WBC^LN``), as in the other fields (see _sent)."""
    sent = _sent(field.split(repetition))
    if len(sent) > 1:
        notes.append(
            (
                number,
                Severity.INFORMATION,
                "hl7v2.repetition-unmapped",
                f"OBX-{number} repetitions after the first are not carried: "
                + quoted(repetition.join(sent[1:]), 80),
            )
        )
    return sent[0]


def _without_nulls(fields: list[str], delimiters: Delimiters) -> list[str]:
    """``fields`` with each explicit null ``""`` empty: there is no value to carry, and written
    as text it would be a patient named, or a unit spelled, ``""``. So is a repetition,
    component or subcomponent sent as ``""`` (``""~OKAFOR^DANIEL``, ``4.0-11.0~""``,
    ``OKAFOR^""^C``), as in OBX-8 (``L~""``) and OBX-6: empty ones carry nothing."""
    return [
        "" if field == _NULL else _null_parts(field, delimiters) if _NULL in field else field
        for field in fields
    ]


def _null_parts(field: str, d: Delimiters) -> str:
    """``field`` with each repetition, component and subcomponent sent as ``""`` empty, the
    repetitions so emptied at its end left out (those before one sent keep their places, which
    locations count), and empty itself when they all were."""
    parts = d.repetition.join(
        d.component.join(
            d.subcomponent.join("" if s.strip() == _NULL else s for s in c.split(d.subcomponent))
            for c in r.split(d.component)
        )
        for r in field.split(d.repetition)
    ).rstrip(d.repetition)  # 'F~""' is 'F', as read by fields that do not repeat (OBX-11)
    # every part null ('""~""', '""^""'): the field is, not a text of its separators ('~', '^')
    return parts if parts.strip(f"{d.repetition}{d.component}{d.subcomponent} ") else ""


def _shown(identifier: Identifier) -> str:
    """An order ID as a mismatch Issue shows it: the value, and its assigner or system."""
    assigner = identifier.assigner or identifier.system
    return f"{identifier.value} ({assigner})" if assigner else identifier.value


def _inverted(start: Timestamp, end: Timestamp) -> bool:
    """Whether the FHIR writer leaves out ``end`` (OBR-8) as before ``start`` (OBR-7) when it
    writes them as a period (fhir.period-inverted), by the writer's own test. A rare path:
    the writer's module is imported here only."""
    from leukoflag.fhir._elements import date_time, ends_before  # noqa: PLC0415

    starts, ends = date_time(start), date_time(end)
    return starts is not None and ends is not None and ends_before(ends, starts)


def _status_code(text: str, delimiters: Delimiters) -> str:
    """The table 0085/0123 code in an OBX-11/OBR-25 sent in lower case (``f``) or as a coded
    value (``F^Final^HL70085``): its first component, upper case (as PID-8 and OBX-2 are read).
    One sent with a second repetition (``P^Preliminary~F``) is read whole, as ``P~F`` is: which
    status holds is not known; repetitions that name one status (``F^Final~``, ``F~F``: an empty
    one, or the same code again) are that status."""
    if delimiters.repetition in text:
        codes = {
            code
            for repetition in text.split(delimiters.repetition)
            if (code := repetition.split(delimiters.component, 1)[0].strip().upper())
        }
        return codes.pop() if len(codes) == 1 else text
    return text.split(delimiters.component, 1)[0].strip().upper()


def _control(kind: Concept | None, role: Concept | None) -> tuple[bool, tuple[str, ...]]:
    """Whether a specimen of type ``kind`` in role ``role`` is a control (QC) specimen, and the
    role codes not in table 0369 that claim to be from it (each an Issue for the caller)."""
    tables = load_tables()
    control = False
    unknown: list[str] = []
    if role is not None:
        for coding in role.codings:
            row = tables.specimen_role.get(coding.code.upper())
            if row is not None:
                control = control or row.control
            elif not coding.system_name or coding.system_name.upper() == "HL70369":
                unknown.append(coding.code)
    if kind is not None:
        codes = tables.control_codes
        words = tables.control_words
        for coding in kind.codings:
            if coding.code.upper() in codes:
                return True, tuple(unknown)
            if not words.isdisjoint(coding.display.lower().replace(",", " ").split()):
                return True, tuple(unknown)
        if not words.isdisjoint(kind.text.lower().replace(",", " ").split()):
            return True, tuple(unknown)
    return control, tuple(unknown)


# SPM-4 type, SPM-8 source site, SPM-11 role (first repetition): the same few codes come in
# every specimen of a lab, read once per distinct combination. The concepts, their escape
# problems by field number, whether the specimen is a control and the unknown role codes (see
# _control).
_SpecimenCodes = tuple[
    Concept | None,
    Concept | None,
    Concept | None,
    tuple[tuple[int, str], ...],
    bool,
    tuple[str, ...],
]


@text_cache(8192, texts=3)
def _specimen_codes(
    type_field: str, site_field: str, role_field: str, delimiters: Delimiters, codec: str
) -> _SpecimenCodes:
    kind, problem = concept(type_field, delimiters, codec)
    site, site_problem = concept(site_field, delimiters, codec)
    role, role_problem = concept(role_field, delimiters, codec)
    control, unknown_roles = _control(kind, role)
    problems = tuple(
        (number, p) for number, p in ((4, problem), (8, site_problem), (11, role_problem)) if p
    )
    return kind, site, role, problems, control, unknown_roles


@text_cache(256)
def _message_type(field: str, component: str) -> tuple[str, bool]:
    """MSH-9 as ``ORU^R01^ORU_R01`` (components stripped, trailing empty ones dropped), and
    whether its type and trigger event are one leukoflag reads. Once per sender's spelling."""
    parts = [p.strip() for p in field.split(component)]
    return "^".join(parts).rstrip("^"), "^".join(parts[:2]) in load_tables().message_types


def _legal_name(names: list[str], component: str) -> int:
    """The index of the repetition of PID-5 (XPN) that is the patient's legal name, when one
    other than the first is: XPN.7 (name type, HL7 table 0200) ``L`` beside a name, the first
    one not being ``L``. HL7 v2 (PID-5) reports the legal name first; a LIS that sends a maiden
    name (``M``) or an alias (``A``) first would otherwise name the patient by it. A type with
    no name (``^^^^^^L``, ``""^^^^^^L``: a template's empty slot) names no one. 0 for the
    first."""
    if _name_type(names[0], component) == "L":
        return 0
    for index in range(1, len(names)):
        parts = names[index].split(component, 7)
        if len(parts) > 6 and parts[6].strip().upper() == "L" and _holds_name(parts):
            return index
    return 0


def _name_type(name: str, component: str) -> str:
    """XPN.7 of one repetition of PID-5, in upper case ("" when not sent)."""
    parts = name.split(component, 7)
    return parts[6].strip().upper() if len(parts) > 6 else ""


def _holds_name(parts: list[str]) -> bool:
    """Whether an XPN split at its components holds a family name, a given name or a second
    given name (XPN.1-3; HL7's null ``""`` is removed before)."""
    return any(part.strip() for part in parts[:3])


def _sent(repetitions: list[str]) -> list[str]:
    """The repetitions of a field that hold something, or its first: empty ones carry nothing
    (senders pad with them: '~DOE^ANN', 'L~'), and the value read is the first one sent."""
    sent = [r for r in repetitions if r.strip()]
    return sent or repetitions[:1]


def _parts_not_carried(
    field: str, component: str, what: str, why: str
) -> Iterator[tuple[int, str]]:
    """The components sent after the code of a coded ``field`` of which only the code is read
    (``F^Final^HL70085``): each one's place (from 2) and the text of its
    hl7v2.component-unmapped Issue, ``what`` naming the field (``OBX-11``), ``why`` the reason."""
    for at, part in enumerate(field.split(component)[1:], 2):
        if part.strip():
            yield at, f"{what}.{at} is not carried ({why}): {quoted(part, 80)}"


def _once_each(items: list[_T], key: Callable[[_T], Hashable]) -> list[_T]:
    """``items`` in their order, each written once: a later one whose ``key`` is that of one
    before it is left out (a PID-3 identifier, address or phone number sent again unchanged)."""
    seen: set[Hashable] = set()
    kept: list[_T] = []
    for item in items:
        known = key(item)
        if known not in seen:
            seen.add(known)
            kept.append(item)
    return kept


def _read_at(every: list[str], sent: list[str]) -> int:
    """The place (from 1) in ``every`` repetition of a field of the one read, ``sent[0]`` (the
    first of :func:`_sent` over them): after empty ones, the second (``PV1-7[2].13``)."""
    return every.index(sent[0]) + 1


_READS = "leukoflag reads ORU^R01 (and ORU^R30-R32) messages"


def _type_not_read(message_type: str) -> str:
    """Why a message of ``message_type`` (MSH-9 as read, ``^``-joined) is rejected: a lab
    result leukoflag does not read, or an MSH-9 miswritten, is not called "not a lab result"."""
    kind, _, rest = message_type.partition("^")
    trigger = rest.partition("^")[0]
    if f"{kind.upper()}^{trigger.upper()}" in load_tables().message_types:
        return (
            f"message type {message_type} is not in upper case, as HL7 message types and "
            f"trigger events are ({kind.upper()}^{trigger.upper()}): {_READS}"
        )
    if not trigger and len(kind) == 7 and kind[3] == "_" and kind.replace("_", "").isalnum():
        return (
            f"message type {message_type} is a message structure sent where MSH-9 wants the "
            f"message type and trigger event (ORU^R01^ORU_R01): {_READS}"
        )
    if kind == "ORU" and not trigger:
        return f"message type ORU has no trigger event (MSH-9.2): {_READS}"
    if kind == "OUL":
        # The OUL structures order OBR, ORC and SPM otherwise than ORU^R01 (v2.5.1 ch. 7.3.6-9).
        return (
            f"message type {message_type} is a lab result, but one leukoflag does not read: "
            "OUL groups its segments otherwise than ORU^R01 (ORC after OBR; in R22 and R23 the "
            f"specimen before its orders), so have it sent as ORU^R01; {_READS}"
        )
    return f"message type {message_type} is not a lab result: {_READS}"


# Who entered a note and when (NTE-5 rendered readably, NTE-6), by the note's index in its list
_Entered = dict[int, tuple[str, Timestamp | None]]


def _entered(notes: int, entered: _Entered) -> tuple[tuple[str, Timestamp | None], ...]:
    """``entered`` as the tuple the model holds: one (author, time) per note, in order."""
    return tuple([entered.get(index, ("", None)) for index in range(notes)])


class _OrderDraft:
    """An ORDER_OBSERVATION being read: Order fields, then its notes, results and specimens."""

    __slots__ = (
        "entered",
        "fields",
        "location",
        "notes",
        "result_entered",
        "result_notes",
        "results",
        "specimens",
    )

    def __init__(self, location: str, fields: dict[str, Any]) -> None:
        self.location = location
        self.fields = fields
        self.notes: list[str] = []
        self.results: list[LabResult] = []
        self.result_notes: dict[int, list[str]] = {}
        self.specimens: list[_SpecimenDraft] = []
        # NTE-5/6 of the order's notes, and of its results' by result (rare: None until sent)
        self.entered: _Entered | None = None
        self.result_entered: dict[int, _Entered] | None = None

    def build(self) -> Order:
        results = self.results
        for position, notes in self.result_notes.items():
            results[position] = replace(results[position], notes=tuple(notes))
        if self.result_entered is not None:
            for position, entered in self.result_entered.items():
                result = results[position]
                results[position] = replace(
                    result, notes_entered=_entered(len(result.notes), entered)
                )
        if self.entered is not None:
            self.fields["notes_entered"] = _entered(len(self.notes), self.entered)
        return _new_order(
            location=self.location,
            notes=tuple(self.notes),
            results=tuple(results),
            # tuple() of a list comprehension here and below: quicker than of a generator.
            specimens=tuple([s.build() for s in self.specimens]),
            **self.fields,
        )


class _SpecimenDraft:
    __slots__ = ("entered", "notes", "specimen")

    def __init__(self, specimen: Specimen) -> None:
        self.specimen = specimen
        self.notes: list[str] = []
        self.entered: _Entered | None = None  # NTE-5/6 of its notes (rare: None until sent)

    def build(self) -> Specimen:
        if self.notes:
            notes = (*self.specimen.notes, *self.notes)
            if self.entered is not None:
                return replace(
                    self.specimen, notes=notes, notes_entered=_entered(len(notes), self.entered)
                )
            return replace(self.specimen, notes=notes)
        return self.specimen


class _ReceivingSpecimens(list["_SpecimenDraft"]):
    """The specimens of an order that sent OBR-14 without OBR-15: each appended without an
    SPM-18 is received at OBR-14; one whose SPM-18 differs is said at OBR-14. Only such an
    order's list is one: a plain message's append is a list's."""

    def __init__(
        self,
        reader: _Reader,
        *,
        stamp: Timestamp,
        text: str,
        location: str,
        unused: Issue,
        specimens: list[_SpecimenDraft],
    ) -> None:
        super().__init__(specimens)
        self.reader, self.stamp, self.text = reader, stamp, text
        self.location, self.unused = location, unused

    def append(self, draft: _SpecimenDraft) -> None:
        specimen = draft.specimen
        if specimen.received is None:
            draft.specimen = replace(specimen, received=self.stamp)
            self._used()
        elif specimen.received == self.stamp:
            self._used()
        else:
            self._used()  # said here instead: what OBR-14 was, and what is used
            where = specimen.location.rsplit("/", 1)[-1]
            self.reader._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{self.location}-14",
                f"OBR-14 specimen received time {quoted(self.text, 80)} differs from the SPM-18 "
                f"of {where}: its SPM-18 is its received time (Specimen.receivedTime)",
            )
        super().append(draft)

    def _used(self) -> None:
        """OBR-14 is carried: its Issue saying it is not is withdrawn."""
        issues = self.reader.issues
        for at in range(len(issues) - 1, -1, -1):
            if issues[at] is self.unused:
                del issues[at]
                break


class _GroupDraft:
    __slots__ = ("orders", "patient", "patient_note_locations", "patient_notes", "visit")

    def __init__(self, patient: Patient | None) -> None:
        self.patient = patient
        self.patient_notes: list[str] = []
        self.patient_note_locations: list[str] = []
        self.visit: Visit | None = None
        self.orders: list[_OrderDraft] = []

    def build(self) -> PatientResult:
        patient = self.patient
        if patient is not None and self.patient_notes:
            patient = replace(
                patient,
                notes=tuple(self.patient_notes),
                note_locations=tuple(self.patient_note_locations),
            )
        return _new_patient_result(patient, self.visit, tuple([o.build() for o in self.orders]))


class _Reader:
    """The state of reading one message."""

    __slots__ = (
        "analysis_text",
        "analysis_time",
        "codec",
        "controls",
        "counts",
        "delimiters",
        "effective",
        "effective_text",
        "group",
        "groups",
        "implicit_orders",
        "issues",
        "location",
        "message_time",
        "new_issue",
        "new_result",
        "note_target",
        "nulls",
        "obx_count",
        "order",
        "pending_orc",
        "read_at",
        "skipped",
        "skipped_lines",
        "specimen",
        "status_changes",
        "tables",
        "text",
        "times",
        "zone",
    )

    def __init__(self, decoded_message: Decoded, location: str, settings: Settings) -> None:
        self.text = decoded_message.text
        self.codec = escape_codec(decoded_message.codec, settings.fallback_charset)
        self.controls = decoded_message.controls
        # Whether any field may be an explicit null "": one search of the message instead of
        # one per segment. A one-character search is a memchr; the two-character one it guards
        # scans character by character (about 5 instructions each, 14k for a 2.7 kB CBC).
        text = decoded_message.text
        self.nulls = '"' in text and _NULL in text
        self.location = location
        self.zone = settings.default_timezone
        self.tables: Tables = load_tables()
        self.issues: list[Issue] = list(decoded_message.issues)
        self.delimiters: Delimiters = DEFAULT
        self.counts: dict[str, int] = {}  # segments by name, but OBX
        self.obx_count = 0  # the hot path's own counter: no dict lookups
        # fields that do not repeat read from a later repetition (_once), by location: 2 for
        # 'MSG[1]/OBR[1]-2' sent '~ORD1^EHR'; None until one is
        self.read_at: dict[str, int] | None = None
        self.groups: list[_GroupDraft] = []
        self.group: _GroupDraft | None = None
        self.order: _OrderDraft | None = None
        self.pending_orc: tuple[str, list[str], int] | None = None
        self.specimen: _SpecimenDraft | None = None
        # where an NTE's text goes: a list of notes, or the order whose last result it is about
        self.note_target: list[str] | _OrderDraft | None = None
        self.implicit_orders = 0
        # Lines that are not segments (see _skipped): None until the first one.
        self.skipped: dict[str, list[int]] | None = None
        self.skipped_lines = 0
        # Timestamps repeat within a message (OBX-14 of every result): parsed once per text.
        self.times: dict[str, tuple[Timestamp | None, str, str]] = {}
        # The last OBX-14 and OBX-19 reused from it, and their texts (see _obx_time).
        self.effective_text = self.analysis_text = ""
        self.effective: Timestamp | None = None
        self.message_time: Timestamp | None = None  # MSH-7
        self.analysis_time: Timestamp | None = None
        self.new_result = _new_lab_result
        self.new_issue = _new_issue
        # Whether an OBX-11 U came without its value: it may make an earlier result final.
        self.status_changes = False

    # ------------------------------------------------------------------ the message

    def read(self, index: int, source: str) -> Message | str:
        text = self.text
        if "\n" in text:
            text = segment_breaks(text)
        # Blank lines dropped; filter() runs the test in C, twice as fast as a comprehension.
        lines = list(filter(str.strip, text.split("\r")))
        header = lines[0]
        delimiters = read_delimiters(header)
        if isinstance(delimiters, str):
            return delimiters
        self.delimiters = d = delimiters
        if self.controls:  # rare: the message's bytes hold C0 control characters
            lines = self._control_characters(lines)
            header = lines[0]
        if not text.isascii():  # (a flag of the string: no pass) a code may hold a Cf character
            lines = self._invisible_in_codes(lines)
            header = lines[0]
        msh_sent = header.split(d.field)
        msh = ["MSH", d.field, *msh_sent[1:]]
        if len(msh) < _WIDTH:
            msh.extend(_BLANKS[: _WIDTH - len(msh)])
        if self.nulls and _NULL in header:  # MSH-1/2 are never "": the delimiters are read
            msh = _without_nulls(msh, d)
        body = lines[1:]
        message_type, readable = _message_type(msh[9], d.component)
        if not body:
            cut = len(msh_sent) < _REQUIRED_LAST["MSH"]
            if readable or not message_type or cut:  # an ACK of MSH alone is no cut result
                shown = " (MSH itself is cut short)" if cut else ""
                return f"truncated: the message holds only its MSH segment{shown}"
        if not message_type:
            return "MSH-9 message type is empty: cannot tell a lab result from other traffic"
        if not readable:
            return _type_not_read(message_type)
        rejected = self._truncation(body)
        if rejected:
            return rejected
        if "\n" in text:  # raw line breaks kept inside field values
            self._raw_line_breaks(lines)
        if d.truncation:  # v2.7 and later: MSH-2 names a truncation character
            self._cut_values(lines)
        where = f"{self.location}/MSH[1]"
        self._unmapped(msh, "MSH", where, len(msh_sent) + 1)
        for number in (3, 4, 5, 6):  # HD, which do not repeat
            if d.repetition in msh[number]:
                self._once(msh, where, number)
        control_id = self._text(msh[10], f"{where}-10").strip()
        digest = ""
        if not control_id:
            # its identity for resource ids: what was sent, not how leukoflag models it
            digest = hashlib.sha256("\r".join(lines).encode("utf-8", "surrogatepass")).hexdigest()
            self._issue(
                Severity.WARNING,
                "hl7v2.control-id-missing",
                f"{where}-10",
                "MSH-10 message control ID is empty: output ids cannot be tied to the message",
            )
        applications = [self._hd(msh[n], where, n) for n in (3, 4, 5, 6)]
        # Only an HD with components has unread parts or a universal ID: most are a name alone.
        composite = [n for n in (3, 4, 5, 6) if d.component in msh[n]]
        for number in composite:
            self._parts_unmapped(msh[number], "HD", where, number)
        universal_ids = [
            self._hd_universal(msh[n], where, n) if n in composite else "" for n in (3, 4, 5, 6)
        ]
        timestamp = self.message_time = self._time(msh[7], where, 7)
        unheld = ""
        if timestamp is None and self.times.get(msh[7], (None, ""))[1] == UNHOLDABLE:
            # not read, but MSH-7 as sent keys the ids, as it did before it was refused
            unheld = msh[7].split(d.component, 1)[0].split(d.subcomponent, 1)[0].strip()
        field = d.field
        segment, result = self._segment, self._obx
        obx = "OBX" + field
        for line in body:
            if line[:4] == obx:
                result(line)  # most segments of a result message: straight to the OBX reader
                continue
            name = line[:3]
            if name not in _MAPPED or line[3:4] != field:
                name = segment_id(line, field)
            segment(name, line)
        if self.skipped is not None:
            self._skipped_said()
        if "MSH" in self.counts:
            return (
                "more than one MSH segment in one message: split the input into messages "
                "first (leukoflag.hl7v2.split_stream)"
            )
        if self.pending_orc is not None:
            self._order_without_obr()
        version = msh[12].split(d.component)[0].strip()
        if version not in self.tables.versions:
            self._version_unknown(version, f"{where}-12", message_type)
        if d.component in msh[11] or d.component in msh[12]:
            self._components_unmapped(msh, where)
        if self.status_changes:  # rare: an OBX-11 U without its value
            said: dict[str, list[Issue]] = {}
            for group in self.groups:
                for drafts in _orders_alike(group.orders):
                    self._complete_preliminaries(drafts, said)
            if said:  # each U made final is said so in place of its value not sent again
                self.issues = [
                    new
                    for issue in self.issues
                    for new in (
                        said.get(issue.location, (issue,))
                        if issue.code == "hl7v2.result-not-retransmitted"
                        else (issue,)
                    )
                ]
        return _new_message(
            index=index,
            source=source,
            control_id=control_id,
            sending_application=applications[0],
            sending_facility=applications[1],
            sending_application_id=universal_ids[0],
            sending_facility_id=universal_ids[1],
            receiving_application=applications[2],
            receiving_facility=applications[3],
            receiving_application_id=universal_ids[2],
            receiving_facility_id=universal_ids[3],
            timestamp=timestamp,
            timestamp_unheld=unheld,
            message_type=message_type,
            processing_id=msh[11].split(d.component)[0].strip(),
            version=version,
            # MSH-18's default set; all of it when escape sequences switch to the others.
            charset=msh[18].strip()
            if self.codec.startswith("iso2022")
            else msh[18].split(d.repetition)[0].strip(),
            groups=tuple([g.build() for g in self.groups]),
            issues=tuple(self.issues) if len(self.issues) <= _SAID_EACH else _merged(self.issues),
            content_digest=digest,
        )

    def _components_unmapped(self, msh: list[str], where: str) -> None:
        """An Issue for MSH-11.2 (processing mode: archive, restore…) and MSH-12.2-3
        (internationalization code, international version): only their first component is read."""
        d = self.delimiters
        for number in (11, 12):
            for component, part in enumerate(msh[number].split(d.component)[1:], 2):
                if part.strip():
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.component-unmapped",
                        f"{where}-{number}.{component}",
                        f"MSH-{number}.{component} is not carried: {quoted(part)}",
                    )

    def _version_unknown(self, version: str, where: str, message_type: str) -> None:
        said = f"{quoted(version)} is not an HL7 v2 version (table 0104)" if version else "is empty"
        kind = "^".join(message_type.split("^", 2)[:2])  # the type read (ORU^R30), no structure
        self._issue(
            Severity.WARNING,
            "hl7v2.version-unknown",
            where,
            f"MSH-12 version ID {said}; read as an {kind} of any v2 version, which leukoflag "
            "reads the same way",
        )

    def _numbered(self, lines: list[str]) -> Iterator[tuple[str, str, str]]:
        """Each line, its segment name and its location (``MSG[1]/OBX[3]``), segments counted
        as the reader counts them; ``""`` for both on a line that is not a segment."""
        field = self.delimiters.field
        counts: dict[str, int] = {}
        for line in lines:
            name = segment_id(line, field) or segment_id_any_case(line, field)
            if not name:
                yield line, "", ""
                continue
            count = counts[name] = counts.get(name, 0) + 1
            yield line, name, f"{self.location}/{name}[{count}]"

    def _raw_line_breaks(self, lines: list[str]) -> None:
        """An Issue at each field that holds a raw line feed (see :func:`segment_breaks`)."""
        field = self.delimiters.field
        for line, name, where in self._numbered(lines):
            if not name:
                continue  # reported as a line that is not a segment
            at = line.find("\n")
            number = int(name == "MSH")  # MSH-1 is the separator
            counted = 0  # separators are counted up to here: each once, not from the start again
            while at >= 0:
                number += line.count(field, counted, at)
                counted = at
                self._issue(
                    Severity.WARNING,
                    "hl7v2.line-break-raw",
                    f"{where}-{number}",
                    f"{name}-{number} holds a raw line feed, kept as a line break in the value "
                    "(HL7 v2 writes one as the escape \\.br\\ in FT and TX fields)",
                )
                next_field = line.find(field, at)  # one Issue a field
                at = line.find("\n", next_field + 1) if next_field >= 0 else -1

    def _cut_values(self, lines: list[str]) -> None:
        """An Issue at each field holding a value (a repetition, component or subcomponent)
        that ends with the truncation character, MSH-2's fifth (v2.7 ch. 2.5.5.2): the sender cut
        that value at its length limit; the character as data is sent as the escape \\P\\."""
        d = self.delimiters
        mark = d.truncation
        for line, name, where in self._numbered(lines):
            if not name or mark not in line:
                continue
            header = int(name == "MSH")  # MSH-1 is the separator, and MSH-2 holds the mark
            for at, value in enumerate(line.split(d.field)[1 + header :], 1 + 2 * header):
                if mark not in value:
                    continue
                cut = [
                    part
                    for repetition in value.split(d.repetition)
                    for component in repetition.split(d.component)
                    for part in component.split(d.subcomponent)
                    if part.endswith(mark)
                ]
                if cut:
                    self._issue(
                        Severity.WARNING,
                        "hl7v2.value-truncated",
                        f"{where}-{at}",
                        f"{name}-{at} holds a value ending with the truncation character "
                        f"{mark!r} (MSH-2): the sender cut it at its length limit and did not "
                        f"send the rest: {quoted(cut[0])}",
                    )

    def _control_characters(self, lines: list[str]) -> list[str]:
        """``lines`` with the control characters FHIR strings do not allow replaced by U+FFFD,
        and an Issue at each field that held one; and a byte-order mark (U+FEFF) inside a
        field removed, with an Issue at it."""
        field = self.delimiters.field
        # A segment line pasted from a file saved with a mark starts with it: that segment,
        # read without it (not a line skipped as text, its result lost).
        marked = {
            number
            for number, line in enumerate(lines)
            if line[:1] == "\ufeff"
            and (
                segment_id(unmarked := line.lstrip("\ufeff"), field)
                or segment_id_any_case(unmarked, field)
            )
        }
        if marked:
            lines = [line.lstrip("\ufeff") if n in marked else line for n, line in enumerate(lines)]
        cleaned = []
        for line_number, (line, name, where) in enumerate(self._numbered(lines)):
            if not name:  # not a segment: reported as such, not carried
                cleaned.append(control_characters(line)[0])
                continue
            if line_number in marked:
                self._issue(
                    Severity.WARNING,
                    "hl7v2.byte-order-mark",
                    where,
                    f"segment {name} starts with a byte-order mark (U+FEFF, an invisible "
                    f"zero-width no-break space) before its ID: removed, read as {name}",
                )
            values = line.split(field)
            for at, value in enumerate(values):
                values[at], replaced = control_characters(value)
                number = at + int(name == "MSH")  # MSH-1 is the separator
                if replaced:
                    self._issue(
                        Severity.WARNING,
                        "hl7v2.control-character",
                        f"{where}-{number}",
                        f"{name}-{number} holds {replaced}, which FHIR strings do not allow: "
                        "replaced with U+FFFD",
                    )
                if "\ufeff" in value:  # pasted from a file saved with one: invisible, no text
                    values[at] = values[at].replace("\ufeff", "")
                    self._issue(
                        Severity.WARNING,
                        "hl7v2.byte-order-mark",
                        f"{where}-{number}",
                        f"{name}-{number} holds a byte-order mark (U+FEFF, an invisible "
                        "zero-width no-break space) inside its text: removed",
                    )
            cleaned.append(field.join(values))
        return cleaned

    def _invisible_in_codes(self, lines: list[str]) -> list[str]:
        """``lines`` with the Unicode format characters (category Cf) removed from the codes of
        the fields in :data:`_CODED_FIELDS`, and an Issue at each field that held one. Only for
        a message holding a character beyond ASCII, and a line or field holding one."""
        d = self.delimiters
        cleaned = lines
        # A segment ID holding one (a result line pasted from a web page, '\u200bOBX|'): read
        # as the segment it names, not skipped as a line that is not a segment.
        ids: dict[int, str] = {}
        for at, line in enumerate(lines):
            if line.isascii():
                continue
            end = line.find(d.field)
            sent = line[: end if end >= 0 else len(line)]
            if sent.isascii() or len(sent) > _ID_SENT:
                continue
            name = "".join(c for c in sent if not invisible(c))
            if name != sent and segment_id(name, d.field) not in _NOT_IN_MESSAGE:
                if cleaned is lines:
                    cleaned = list(lines)
                cleaned[at] = name + line[len(sent) :]
                ids[at] = sent
        lines = cleaned
        for at, (line, name, where) in enumerate(self._numbered(lines)):
            if at in ids:
                sent = ids[at]
                names = " and ".join(sorted({invisible_name(c) for c in sent if invisible(c)}))
                self._issue(
                    Severity.WARNING,
                    "hl7v2.code-invisible-character",
                    where,
                    f"segment ID {quoted(sent)} holds {names}, which shows nothing: removed, "
                    f"read as {name}",
                )
            coded = _CODED_FIELDS.get(name)
            if coded is None or line.isascii():
                continue
            values = line.split(d.field)
            header = int(name == "MSH")  # MSH-1 is the separator: MSH-n is values[n - 1]
            changed = False
            for number, parts in coded.items():
                index = number - header
                if index >= len(values) or values[index].isascii():
                    continue
                sent = values[index]
                places: list[str] = []  # where removed: OBX-3.6, PID-3[3].5
                repetitions = []
                for count, repetition in enumerate(sent.split(d.repetition), 1):
                    components = repetition.split(d.component)
                    for place, component in enumerate(components, 1):
                        shown = _visible_codes(component, place, parts, d.subcomponent)
                        if shown != component:
                            components[place - 1] = shown
                            nth = f"[{count}]" if count > 1 else ""
                            places.append(f"{name}-{number}{nth}.{place}")
                    repetitions.append(d.component.join(components))
                if not places:  # none, or only in the display texts: prose, kept
                    continue
                read = d.repetition.join(repetitions)
                values[index] = read
                changed = True
                removed = {c for c in sent if invisible(c) and sent.count(c) > read.count(c)}
                names = " and ".join(sorted(invisible_name(c) for c in removed))
                self._issue(
                    Severity.WARNING,
                    "hl7v2.code-invisible-character",
                    f"{where}-{number}",
                    f"{name}-{number} holds {names} in its codes, which shows nothing but makes "
                    f"the code another: removed from {' and '.join(places)}, read as "
                    f"{quoted(read, 80)}",
                )
            if changed:
                if cleaned is lines:
                    cleaned = list(lines)
                cleaned[at] = d.field.join(values)
        return cleaned

    def _truncation(self, body: list[str]) -> str:
        """Why the message body (segments after MSH) is cut short or holds no results, or ``""``."""
        field = self.delimiters.field
        last = body[-1]
        name = last[:3]
        if name not in _MAPPED or last[3:4] != field:
            name = segment_id(last, field) or segment_id_any_case(last, field)
        required = _REQUIRED_LAST.get(name)
        if required is not None and last.count(field) < required:
            sent = last.count(field)
            return (
                f"truncated: the last segment, {name}, stops after field {sent} and lacks "
                f"{name}-{required}; the message was cut short"
            )
        # Stops at the first OBR or OBX, a few segments in (a loop: cheaper than any(generator)).
        for line in body:
            if line[:3] in _RESULT_SEGMENTS and line[3:4] in (field, ""):
                return ""
        for line in body:  # a second pass, for results whose segment ID is not in upper case
            if segment_id_any_case(line, field) in _RESULT_SEGMENTS:
                return ""
        return "no results: the message has no OBR or OBX segment"

    # ------------------------------------------------------------------ segments

    def _segment(self, name: str, line: str) -> None:
        if not name:
            upper = segment_id_any_case(line, self.delimiters.field)
            if upper:  # obx|…: read as OBX, not skipped as text (a result would be lost)
                count = self.obx_count if upper == "OBX" else self.counts.get(upper, 0)
                if line[:1] in " \t":  # ' OBX|…': read without its indentation, as above
                    stripped = line.lstrip(" \t")
                    self._issue(
                        Severity.WARNING,
                        "hl7v2.segment-indented",
                        f"{self.location}/{upper}[{count + 1}]",
                        f"segment {quoted(stripped[:3])} is indented with "
                        f"{indentation(line[: len(line) - len(stripped)])}, which HL7 segments "
                        f"are not: read as {upper}",
                    )
                    self._segment(segment_id(stripped, self.delimiters.field), stripped)
                    return
                self._issue(
                    Severity.WARNING,
                    "hl7v2.segment-id-case",
                    f"{self.location}/{upper}[{count + 1}]",
                    f"segment ID {quoted(line[:3])} is not in upper case, as HL7 segment IDs "
                    f"are: read as {upper}",
                )
                self._segment(upper, line)
                return
            self._skipped(line)
            self.note_target = None
            return
        if name == "OBX":
            self._obx(line)
            return
        count = self.counts[name] = self.counts.get(name, 0) + 1
        location = f"{self.location}/{name}[{count}]"
        fields = line.split(self.delimiters.field)
        sent = len(fields)
        if sent < _WIDTH:
            fields += _PADDING[sent]
        if self.nulls and _NULL in line:
            fields = _without_nulls(fields, self.delimiters)
        if name == "NTE":
            self._nte(fields, location)
        elif name == "OBR":
            self._obr(fields, location)
        elif name == "SPM":
            self._spm(fields, location)
        elif name == "PID":
            self._pid(fields, location, sent)
        elif name == "PV1":
            self._pv1(fields, location, sent)
        elif name == "ORC":
            if self.pending_orc is not None:
                self._order_without_obr()
            self.pending_orc = (location, fields, sent)
            # An ORC starts a new order: an OBX or SPM before the next OBR is not the last one's.
            self.order = None
            self.specimen = None
            self.note_target = None
            return
        elif name == "TQ1" and self.order is not None:  # its order's timing (v2.5 and later)
            self._tq1(fields, location)
            self.note_target = None  # a TQ1 carries no notes: an NTE after it is not the OBX's
        else:
            kind = "Z-segment (locally defined)" if name[0] == "Z" else "segment"
            self._issue(
                Severity.WARNING,
                "hl7v2.segment-unmapped",
                location,
                f"{kind} {name} is not mapped: {quoted(line, 120)}",
            )
            if name not in _BEFORE_NOTES:
                self.note_target = None
            return
        self._unmapped(fields, name, location, sent)

    def _skipped(self, line: str) -> None:
        """An ``hl7v2.line-not-segment`` Issue for ``line`` as it comes, naming its line number;
        a line alike one said before is counted into that one's Issue, and the lines unlike the
        first _SKIPPED_QUOTED ones into one Issue together (see _skipped_said): log text of
        millions of lines pasted into a message is a few Issues, not one built per line."""
        self.skipped_lines += 1
        skipped = self.skipped
        if skipped is None:
            skipped = self.skipped = {}
        said = skipped.get(line)
        if said is None:
            if len(skipped) > _SKIPPED_QUOTED:  # the Issue of the lines unlike those quoted
                skipped[""][2] += 1
                return
            # its line number: MSH and each line read before it (blank ones are not kept)
            number = 1 + self.obx_count + sum(self.counts.values()) + self.skipped_lines
            skipped["" if len(skipped) == _SKIPPED_QUOTED else line] = [
                len(self.issues),
                number,
                1,
            ]
            self._issue(
                Severity.WARNING,
                "hl7v2.line-not-segment",
                self.location,
                f"a line that is not a segment was skipped (line {number:,} of the message): "
                + quoted(line, 80),
            )
            return
        said[2] += 1

    def _skipped_said(self) -> None:
        """The ``hl7v2.line-not-segment`` Issues of lines sent more than once, or of more lines
        than are quoted, with how many more lines each stands for."""
        assert self.skipped is not None
        for line, (at, _number, count) in self.skipped.items():
            if count == 1:
                continue
            issue = self.issues[at]
            more = (
                f"{count - 1:,} more alike after it"
                if line
                else f"{count - 1:,} other lines after it, not quoted"
            )
            head, _, rest = issue.text.partition(" of the message)")
            self.issues[at] = replace(issue, text=f"{head} of the message; {more}){rest}")

    def _unmapped(self, fields: list[str], name: str, location: str, sent: int) -> None:
        """An Issue for each populated field of ``fields[:sent]`` the model does not carry."""
        for number in _UNCARRIED_BELOW[name][min(sent, 200)]:
            if fields[number]:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.field-unmapped",
                    f"{location}-{number}",
                    f"{name}-{number} is populated but not carried: {quoted(fields[number], 80)}",
                )

    def _obr_received(self, field: str, location: str, order: _OrderDraft) -> None:
        """OBR-14 specimen received time sent without OBR-15: the received time of the order's
        specimens (SPM) that send no SPM-18 of their own (V2-to-FHIR IG OBR[Specimen]). Said
        not carried until such a specimen carries it (_ReceivingSpecimens)."""
        stamp = self._time(field, location, 14)
        self._issue(
            Severity.INFORMATION,
            "hl7v2.field-unmapped",
            f"{location}-14",
            "OBR-14 specimen received time is not carried: the order has no specimen (SPM) "
            f"without its own SPM-18 received time to carry it: {quoted(field, 80)}",
        )
        if stamp is not None:
            order.specimens = _ReceivingSpecimens(
                self,
                stamp=stamp,
                text=field,
                location=location,
                unused=self.issues[-1],
                specimens=order.specimens,
            )

    def _group(self, location: str) -> _GroupDraft:
        """The current PATIENT_RESULT group; one without a patient when no PID came first."""
        if self.group is None:
            self._issue(
                Severity.WARNING,
                "hl7v2.patient-missing",
                location,
                "no PID before this segment: its results have no patient",
            )
            self.group = _GroupDraft(None)
            self.groups.append(self.group)
        return self.group

    def _pid(self, fields: list[str], location: str, sent: int) -> None:
        if self.pending_orc is not None:
            self._order_without_obr()
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        identifiers: list[Identifier] = []
        for number in (3, 2, 4):
            if not fields[number]:
                continue  # PID-2 and PID-4 are usually empty
            for count, repetition in enumerate(fields[number].split(d.repetition), start=1):
                if repetition:
                    found = identifier_cx(repetition, d, codec, problems)
                    if found is not None:
                        if found.type_code and found.type_code not in identifier_types():
                            self._identifier_type(found.type_code, location, number, count)
                        if repetition.count(d.component) > 5:  # CX.7 or CX.8 may be sent
                            found = self._identifier_period(
                                found, repetition, location, number, count
                            )
                        identifiers.append(found)
                    self._parts_unmapped(repetition, "CXD", location, number, count)
            if problems:
                self._field_problems(problems, location, number)
        if len(identifiers) > 1:  # one sent again (PID-2 copying PID-3) says no more
            identifiers = _once_each(identifiers, lambda i: (i, i.period_start, i.period_end))
        name = _NO_NAME
        others: list[PersonName] = []
        names = fields[5].split(d.repetition)
        if len(names) == 1:
            count = 1  # the repetition read, as sent
        else:  # V2-to-FHIR IG PID[Patient]: every name sent, the legal one (L) first
            sent_names = [(n, r) for n, r in enumerate(names, 1) if r.strip()] or [(1, names[0])]
            legal = _legal_name([r for _, r in sent_names], d.component)
            if legal:  # HL7 v2 PID-5: the legal name (table 0200 L) is the patient's name
                sent_names.insert(0, sent_names.pop(legal))
            count, names = sent_names[0][0], [r for _, r in sent_names]
            nameless: list[str] = []
            for at, other in sent_names[1:]:
                if not _holds_name(other.split(d.component, 3)):
                    nameless.append(other)  # a type or a prefix alone names no one
                    continue
                other_name = self._name(other, location, at, problems)
                if other_name.family or other_name.given:
                    others.append(other_name)
                else:  # its name was escape sequences that read as nothing
                    nameless.append(other)
            if nameless:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.repetition-unmapped",
                    f"{location}-5",
                    "PID-5 repetitions that hold no name (XPN.1-3) are not carried: "
                    f"{quoted(d.repetition.join(nameless), 80)}",
                )
        if names[0]:
            name = self._name(names[0], location, count, problems)
        if others:  # a name sent again as it was (family, given, use, prefix, suffix) says no more
            others = _once_each([name, *others], lambda o: o)[1:]
        if problems:
            self._field_problems(problems, location, 5)
        sex_text = fields[8].strip()
        sex = "unknown"
        if sex_text:
            if d.component in sex_text and d.repetition not in sex_text:  # M^Male^HL70001
                self._code_only(sex_text, location, 8, "its code is read")
            row = self.tables.gender.get(sex_text.split(d.component)[0].upper())
            if row is None:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.sex-unknown",
                    f"{location}-8",
                    f"PID-8 {quoted(sex_text)} is not in HL7 table 0001: gender unknown",
                )
            else:
                sex = row.gender
        patient = _new_patient(
            location=location,
            identifiers=tuple(identifiers),
            family=name.family,
            given=name.given,
            birth_date=self._time(fields[7], location, 7),
            sex=sex,
            sex_text=sex_text,
        )
        if name.use or others or name.prefix or name.suffix:
            patient = replace(
                patient,
                name_use=name.use,
                other_names=tuple(others),
                name_prefix=name.prefix,
                name_suffix=name.suffix,
            )
        if sent > 11:  # PID-11 or a later field sent (fields[:sent] hold what was sent)
            patient = self._pid_later(patient, fields, location)
        self.group = _GroupDraft(patient)
        self.groups.append(self.group)
        self.order = None
        self.specimen = None
        self.note_target = self.group.patient_notes

    def _name(self, sent: str, location: str, count: int, problems: list[str]) -> PersonName:
        """One PID-5 repetition (XPN, the ``count``-th sent): its family and given names, its
        prefix (XPN.5) and suffixes (XPN.4, XPN.6 degree) as the V2-to-FHIR IG XPN[HumanName]
        maps them, and XPN.7 (table 0200) as a FHIR name-use through its ConceptMap
        table-hl70200-to-name-use; a type it does not map is an Issue at its component."""
        d = self.delimiters
        family, given, besides = person_name(sent, d, self.codec, problems)
        at = f"5[{count}]" if count > 1 else "5"
        prefix: tuple[str, ...] = ()
        suffix: tuple[str, ...] = ()
        if besides and (family or given):
            prefix = tuple(text for component, text in besides if component == 5)
            suffix = tuple(text for component, text in besides if component != 5)
        else:  # a title of no one
            for component, text in besides:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-{at}.{component}",
                    f"PID-{at}.{component} (name suffix, prefix or degree) is not carried: "
                    f"{quoted(text)}: the repetition holds no name",
                )
        self._parts_unmapped(sent, "XPN", location, 5, count)
        use = ""
        if sent.count(d.component) > 5:  # XPN.7 may be sent
            kind = sent.split(d.component, 7)[6].strip()
            why = ""
            if kind and not (family or given):
                why = "is not carried: the repetition holds no name"
            elif kind:
                use = self.tables.name_use.get(kind.upper(), "")
                if not use:
                    why = (
                        "is not one the V2-to-FHIR IG maps to HumanName.use (HL7 table 0200): "
                        "the name written without a use"
                    )
            if why:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-{at}.7",
                    f"PID-{at}.7 name type {quoted(kind)} {why}",
                )
        return _new_person_name(family, given, use, prefix, suffix)

    def _identifier_period(
        self, found: Identifier, repetition: str, location: str, number: int, count: int
    ) -> Identifier:
        """CX.7 (effective date) and CX.8 (expiration date) of a PID-2/3/4 or PV1-19 identifier: the
        V2-to-FHIR IG CX[Identifier] maps them to ``Identifier.period.start`` and ``.end``. One
        that is no date is an Issue at its component (``PID-3[2].7``)."""
        parts = repetition.split(self.delimiters.component, 8)
        at = f"{number}[{count}]" if count > 1 else str(number)
        start = self._time(parts[6].strip(), location, f"{at}.7") if parts[6].strip() else None
        sent_end = parts[7].strip() if len(parts) > 7 else ""
        end = self._time(sent_end, location, f"{at}.8") if sent_end else None
        if start is None and end is None:
            return found
        return replace(found, period_start=start, period_end=end, location=f"{location}-{at}")

    def _pid_later(self, patient: Patient, fields: list[str], location: str) -> Patient:
        """The fields of a PID sent longer than PID-10: PID-11 addresses, PID-13/14 phone
        numbers, PID-29/30 death."""
        if fields[11]:
            addresses = self._addresses(fields[11], location)
            if len(addresses) > 1:  # one sent again says no more
                addresses = tuple(_once_each(list(addresses), lambda a: a))
            patient = replace(patient, addresses=addresses)
        if fields[13] or fields[14]:
            telecoms = self._telecoms(fields, location)
            if len(telecoms) > 1:  # one sent again (with the same use) says no more
                telecoms = tuple(_once_each(list(telecoms), lambda t: t))
            patient = replace(patient, telecoms=telecoms)
        if fields[29] or fields[30]:
            patient = replace(patient, deceased=self._deceased(fields, location))
        return patient

    def _addresses(self, field: str, location: str) -> tuple[Address, ...]:
        """PID-11 (XAD, each repetition sent) as the V2-to-FHIR IG datatype map XAD[Address]
        reads it; an address type (XAD.7) of table 0190 the IG does not map is not carried."""
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        found: list[Address] = []
        for count, repetition in enumerate(field.split(d.repetition), start=1):
            if not repetition.strip():
                continue
            p = address_parts(repetition, d, codec, problems)
            use = kind = why = ""
            if p[6]:
                row = self.tables.address_type.get(p[6].upper())
                if row is None:
                    why = (
                        "is not one the V2-to-FHIR IG maps to Address.use or Address.type "
                        "(HL7 table 0190): not carried"
                    )
                else:
                    use, kind = row.use, row.type
            lines = tuple(line for line in p[:2] if line)
            if lines or any(p[2:6]) or p[8]:
                found.append(Address(lines, p[2], p[8], p[3], p[4], p[5], use, kind))
            elif use or kind:
                why = (
                    "is not carried: the address has no street, city, district, state, postal "
                    "code or country"
                )
            if why:
                at = f"11[{count}].7" if count > 1 else "11.7"
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-{at}",
                    f"PID-{at} address type {quoted(p[6])} {why}",
                )
            self._parts_unmapped(repetition, "XAD", location, 11, count)
        if problems:
            self._field_problems(problems, location, 11)
        return tuple(found)

    def _telecoms(self, fields: list[str], location: str) -> tuple[Telecom, ...]:
        """PID-13 home and PID-14 business phone numbers (XTN, each repetition sent) as the
        V2-to-FHIR IG datatype map XTN[ContactPoint] reads them; a use (XTN.2) or type (XTN.3)
        the IG does not map is not carried, and a number with neither number nor address."""
        d, codec = self.delimiters, self.codec
        found: list[Telecom] = []
        for number in (13, 14):
            problems: list[str] = []
            for count, repetition in enumerate(fields[number].split(d.repetition), start=1):
                if not repetition.strip():
                    continue
                at = f"{number}[{count}]" if count > 1 else str(number)
                parts = telecom_parts(repetition, d, codec, problems)
                telecom = self._telecom(parts, number)
                for component, said in telecom[1]:
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.component-unmapped",
                        f"{location}-{at}.{component}",
                        f"PID-{at}.{component} {said}",
                    )
                if telecom[0] is not None:
                    found.append(telecom[0])
                elif parts[2] and self.tables.telecom_system.get(parts[2].upper()) == "email":
                    self._issue(  # its XTN.1, if sent, is said out of place above
                        Severity.INFORMATION,
                        "hl7v2.field-unmapped",
                        f"{location}-{at}",
                        f"PID-{at} {quoted(repetition, 80)} is an address of type "
                        f"{quoted(parts[2])} (XTN.3) with no address in XTN.4, where the "
                        "V2-to-FHIR IG reads it: not carried",
                    )
                else:
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.field-unmapped",
                        f"{location}-{at}",
                        f"PID-{at} {quoted(repetition, 80)} has no telephone number (XTN.1, "
                        "XTN.5-8) or address (XTN.4): not carried",
                    )
                self._parts_unmapped(repetition, "XTN", location, number, count)
            if problems:
                self._field_problems(problems, location, number)
        return tuple(found)

    def _telecom(self, p: list[str], number: int) -> tuple[Telecom | None, list[tuple[int, str]]]:
        """One XTN's ContactPoint (None without a value), and what is said of its use and
        type the V2-to-FHIR IG does not map (component, text)."""
        unmapped: list[tuple[int, str]] = []
        use = "work" if number == 14 else ""  # V2-to-FHIR IG PID[Patient]: PID-14 is work
        if p[1]:
            known = self.tables.telecom_use.get(p[1].upper())
            if known is None:
                said = (
                    f"telecommunication use {quoted(p[1])} is not one the V2-to-FHIR IG maps "
                    "to ContactPoint.use (HL7 table 0201): not carried"
                )
                unmapped.append((2, said))
            else:
                use = known
        system = ""
        if p[2]:
            system = self.tables.telecom_system.get(p[2].upper(), "")
            if not system:
                system = "other"
                said = (
                    f"telecommunication equipment type {quoted(p[2])} is not one the "
                    "V2-to-FHIR IG maps (HL7 table 0202): ContactPoint.system is other"
                )
                unmapped.append((3, said))
        email = system == "email" or (not p[2] and p[3] and not p[0])  # IG: no XTN.3, an XTN.4
        # the components that are not the value: XTN.1 and 5-8 of an address, XTN.4 (and
        # XTN.5-8 beside an XTN.1) of a number
        unused = (1, 5, 6, 7, 8) if email else (4, 5, 6, 7, 8) if p[0] else (4,)
        value_at = "XTN.4" if email else "XTN.1" if p[0] else "XTN.5-8"
        kind = "address" if email else "number"
        unmapped.extend(
            (c, f"is not carried: {quoted(p[c - 1])} (the {kind} is {value_at})")
            for c in unused
            if p[c - 1]
        )
        if email:
            return (Telecom("email", p[3], use) if p[3] else None), unmapped
        value = p[0] or " ".join(
            part
            for part in (
                f"+{p[4].lstrip('+')}" if p[4] else "",
                f"({p[5]})" if p[5] else "",
                p[6],
                f"ext. {p[7]}" if p[7] else "",
            )
            if part
        )
        if not value or (not p[0] and not p[6]):
            return None, unmapped
        return Telecom(system or "phone", value, use), unmapped

    def _deceased(self, fields: list[str], location: str) -> Timestamp | bool | None:
        """PID-29 death date and time, else PID-30 death indicator (table 0136): V2-to-FHIR IG
        PID[Patient] maps them to Patient.deceasedDateTime, else deceasedBoolean."""
        sent = self._id_code(fields[30], location, 30, "an ID: its code is read")  # 'Y^Yes^HL70136'
        indicator = sent.strip().upper()
        if indicator and indicator not in ("Y", "N"):
            self._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{location}-30",
                f"PID-30 death indicator {quoted(sent, 80)} is not in HL7 table 0136 "
                "(Y, N): not carried",
            )
            indicator = ""
        died = self._time(fields[29], location, 29) if fields[29] else None
        if died is not None:
            if indicator == "N":
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.field-unmapped",
                    f"{location}-30",
                    f"PID-30 death indicator {quoted(sent, 80)} (not deceased) is not "
                    f"carried: PID-29 gives a date of death, {quoted(died.text)}, which is used",
                )
            return died
        return indicator == "Y" if indicator else None

    def _pv1(self, fields: list[str], location: str, sent: int) -> None:
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        group = self._group(location)
        visit_number = None
        if fields[19]:
            visit = fields[19].split(d.repetition)
            count = 1  # the repetition read, as sent: after empty ones, PV1-19[2]
            if len(visit) > 1:  # rare: a repeated field
                every, visit = visit, _sent(visit)
                count = _read_at(every, visit)
            visit_number = identifier_cx(visit[0], d, codec, problems)
            kind = visit_number.type_code if visit_number is not None else ""
            if kind and kind not in identifier_types():
                self._identifier_type(kind, location, 19, count)
            if visit_number is not None and visit[0].count(d.component) > 5:  # CX.7-8 sent?
                visit_number = self._identifier_period(visit_number, visit[0], location, 19, count)
            if problems:
                self._field_problems(problems, location, 19)
            self._parts_unmapped(visit[0], "CXD", location, 19, count)
            if len(visit) > 1:
                self._repetitions(location, 19, visit)
        attending = fields[7].split(d.repetition)
        attending_at = 1  # the repetition read, as sent: after empty ones, PV1-7[2]
        if len(attending) > 1:  # rare: a repeated field (each attending a participant)
            every, attending = attending, _sent(attending)
            attending_at = _read_at(every, attending)
        if group.visit is not None:
            self._issue(
                Severity.WARNING,
                "hl7v2.segment-unmapped",
                location,
                f"a second PV1 for the same patient is not mapped (first: {group.visit.location})",
            )
        else:
            if d.repetition in fields[3]:  # PV1-3 (PL) does not repeat
                self._once(fields, location, 3)
            if d.component in fields[2] and d.repetition not in fields[2]:  # I^Inpatient^HL70004
                self._code_only(fields[2], location, 2, "its code is read")
            patient_class = decoded(fields[2].split(d.component)[0], d, codec, problems).strip()
            if problems:
                self._field_problems(problems, location, 2)
            assigned_location = render_location(fields[3], d, codec, problems)
            if problems:
                self._field_problems(problems, location, 3)
            self._parts_unmapped(fields[3], "PL", location, 3)
            attending_name = render_person(attending[0], d, codec, problems)
            if problems:
                self._field_problems(problems, location, 7)
            self._parts_unmapped(attending[0], "XCN", location, 7, attending_at)
            group.visit = _new_visit(
                location=location,
                patient_class=patient_class,
                assigned_location=assigned_location,
                visit_number=visit_number,
                attending=attending_name,
            )
            if fields[8] or fields[9] or fields[17] or len(attending) > 1:
                group.visit = replace(
                    group.visit, participants=self._participants(fields, location)
                )
            if sent > 44 and "".join(fields[44:46]):  # beyond the fields padded (_WIDTH)
                group.visit = self._visit_period(group.visit, fields, location)
        self.note_target = None

    def _visit_period(self, visit: Visit, fields: list[str], location: str) -> Visit:
        """PV1-44 admit and PV1-45 discharge date/time (its first repetition sent): V2-to-FHIR
        IG PV1[Encounter] maps them to the Encounter's period."""
        discharged = None
        if len(fields) > 45 and fields[45]:
            discharged = self._time(self._first_sent(fields[45], location, 45), location, 45)
        admitted = self._time(fields[44], location, 44)
        return replace(visit, admitted=admitted, discharged=discharged)

    def _participants(self, fields: list[str], location: str) -> tuple[tuple[str, str], ...]:
        """PV1-7 attending doctors after the first sent (Visit.attending), PV1-8 referring,
        PV1-9 consulting, PV1-17 admitting doctors (XCN, each repetition)."""
        attending = fields[7].split(self.delimiters.repetition)
        first = next((n for n, repetition in enumerate(attending) if repetition.strip()), 0)
        found = [
            ("ATND", name)
            for name in self._each_sent(
                fields[7], "XCN", render_person, location, 7, skip=first + 1
            )
            if name
        ]
        for number, kind in _VISIT_PARTICIPANTS:
            people = self._each_sent(fields[number], "XCN", render_person, location, number)
            found += [(kind, name) for name in people if name]
        return tuple(found)

    def _each_sent(
        self,
        field: str,
        kind: str,
        render: Callable[[str, Delimiters, str, list[str]], str],
        location: str,
        number: int,
        *,
        skip: int = 0,
    ) -> list[str]:
        """Each repetition sent of a field whose every repetition is read (OBX-16/23/25, PV1-7
        after the first sent, PV1-8/9/17), after the first ``skip``, rendered as a display; the
        parts not carried located at their repetition (``PV1-9[2].19``)."""
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        found: list[str] = []
        for count, repetition in enumerate(field.split(d.repetition)[skip:], start=skip + 1):
            if repetition.strip():
                found.append(render(repetition, d, codec, problems))
                self._parts_unmapped(repetition, kind, location, number, count)
        if problems:
            self._field_problems(problems, location, number)
        return found

    def _order_without_obr(self) -> None:
        """An ORC with no OBR after it: its own order, with an Issue."""
        assert self.pending_orc is not None
        location, fields, sent = self.pending_orc
        self.pending_orc = None
        self._issue(
            Severity.WARNING,
            "hl7v2.orc-without-obr",
            location,
            "ORC is not followed by an OBR: the order has no code (OBR-4) or report status",
        )
        order = _OrderDraft(location, self._order_fields(None, (location, fields)))
        self._group(location).orders.append(order)
        self._unmapped(fields, "ORC", location, sent)
        self.order = order
        self.specimen = None

    def _obr(self, fields: list[str], location: str) -> None:
        orc = self.pending_orc
        self.pending_orc = None
        order = _OrderDraft(
            location, self._order_fields((location, fields), orc[:2] if orc else None)
        )
        if orc is not None:
            self._unmapped(orc[1], "ORC", orc[0], orc[2])
        if fields[15]:
            source = self._specimen_source(fields, location)
            if source is not None:
                order.fields["specimen_source"] = source.type
                order.specimens.append(_SpecimenDraft(source))
        if fields[14]:  # OBR-14 not read as OBR-15's receipt (which blanks it): its SPMs'
            self._obr_received(fields[14], location, order)
        self._group(orc[0] if orc else location).orders.append(order)
        self.order = order
        self.specimen = None
        self.note_target = order.notes
        self.effective_text = ""  # its first OBX-14 is judged against this OBR-22 too

    def _transaction_time(
        self, order_fields: list[str], where: str, control: str, values: dict[str, Any]
    ) -> None:
        """ORC-9 date/time of transaction: V2-to-FHIR IG ORC[ServiceRequest] maps it to
        ``authoredOn`` if ORC-1 is NW (a new order: the time it was written); of another
        transaction (RE, results) it is that transaction's time, which is not carried."""
        if self.delimiters.repetition in order_fields[9]:  # a DTM does not repeat
            self._once(order_fields, where, 9)
        if control.upper() == "NW":
            stamp = self._time(order_fields[9], where, 9)
            if stamp is not None:
                values["authored"] = stamp
                values["authored_location"] = f"{where}-9"
            return
        self._issue(
            Severity.INFORMATION,
            "hl7v2.field-unmapped",
            f"{where}-9",
            "ORC-9 date/time of transaction is not carried: it is the order's authoredOn only "
            "for a new order (ORC-1 NW; V2-to-FHIR IG ORC[ServiceRequest]), and ORC-1 is "
            f"{quoted(control) if control else 'empty'}: {quoted(order_fields[9], 80)}",
        )

    def _cancelled_order(
        self,
        control: str,
        orc_where: str,
        report_status: str,
        orc_5: str,
        request_status: str,
        *,
        cancelled: bool,
    ) -> None:
        # ORC-1 is not written (output.md): without this, results of a cancelled order look live
        status = quoted(report_status) if report_status else "empty"  # sent text, bounded
        # an ORC-5 that cancels too is written (ServiceRequest.status): the text must not deny it
        carried = ", which the FHIR output does not carry"
        if request_status == "revoked":
            carried = f", as ORC-5 {quoted(orc_5)} does (ServiceRequest.status revoked)"
        elif not request_status and cancelled:  # OBR-25 X: the writer's status is revoked too
            carried = f", as OBR-25 {status} does (ServiceRequest.status revoked)"
        elif request_status and cancelled:  # ORC-5 CM, OBR-25 X: the report carries it
            carried = (
                f", but ORC-5 {quoted(orc_5)} does not (ServiceRequest.status {request_status} "
                f"is written from it), as OBR-25 {status} does (DiagnosticReport.status "
                "cancelled)"
            )
        elif request_status:  # ORC-5 CM: the written status contradicts ORC-1, so say both
            carried = (
                f", but ORC-5 {quoted(orc_5)} does not (ServiceRequest.status {request_status} "
                "is written from it, and the cancellation is not carried)"
            )
        self._issue(
            Severity.WARNING,
            "hl7v2.order-control-cancelled",
            f"{orc_where}-1",
            f"ORC-1 {quoted(control)} ({_CANCELLING_CONTROL[control.upper()]}) says the order "
            f"was cancelled or discontinued{carried}: its results are kept, and their own "
            f"status decides whether they are judged (OBR-25 {status}, OBX-11)",
        )

    def _order_fields(
        self, obr: tuple[str, list[str]] | None, orc: tuple[str, list[str]] | None
    ) -> dict[str, Any]:
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        values: dict[str, Any] = {}
        order_fields = orc[1] if orc else _BLANKS
        request = obr[1] if obr else _BLANKS
        where = obr[0] if obr else (orc[0] if orc else self.location)
        orc_where = orc[0] if orc else where
        for number in (2, 3):  # EI, which do not repeat
            if d.repetition in request[number]:
                self._once(request, where, number)
            if d.repetition in order_fields[number]:
                self._once(order_fields, orc_where, number)
        for key, orc_number, obr_number in (("placer_id", 2, 2), ("filler_id", 3, 3)):
            sent_obr, sent_orc = request[obr_number], order_fields[orc_number]
            from_obr = (
                identifier_ei(sent_obr, d.component, d, codec, problems) if sent_obr else None
            )
            if problems:
                self._field_problems(problems, where, obr_number)
            self._parts_unmapped(sent_obr, "EI", where, obr_number)
            if sent_orc == sent_obr and d.escape not in sent_orc:
                from_orc = from_obr  # the usual case, ORC repeating the OBR's ID: read once
            else:
                from_orc = (
                    identifier_ei(sent_orc, d.component, d, codec, problems) if sent_orc else None
                )
                if problems:
                    self._field_problems(problems, orc_where, orc_number)
                self._parts_unmapped(sent_orc, "EI", orc_where, orc_number)
            # the usual case read once is the same object: tested first, as != on a dataclass
            # calls its __eq__ in Python (about 1,300 instructions) even for the object itself
            if from_obr is not from_orc and from_obr and from_orc and from_obr != from_orc:
                # the namespace or system too: ORD1^EHR and ORD1^CLINIC are different orders
                self._issue(
                    Severity.WARNING,
                    "hl7v2.order-id-mismatch",
                    f"{where}-{obr_number}",
                    f"OBR-{obr_number} {quoted(_shown(from_obr))} differs from "
                    f"ORC-{orc_number} {quoted(_shown(from_orc))}: the OBR value is used",
                )
            values[key] = from_obr or from_orc
        if order_fields[4]:
            if d.repetition in order_fields[4]:  # tested only when sent: a plain ORC has none
                self._once(order_fields, orc_where, 4)
            values["group_id"] = identifier_ei(order_fields[4], d.component, d, codec, problems)
            if problems:
                self._field_problems(problems, orc_where, 4)
            self._parts_unmapped(order_fields[4], "EI", orc_where, 4)
        if order_fields[5]:
            values["request_status"] = status_read = self._order_status(order_fields[5], orc_where)
            if status_read:  # where the writer says it is lost, when it writes no ServiceRequest
                values["request_status_location"] = f"{orc_where}-5"
        values["order_control"] = control = order_fields[1].split(d.component)[0].strip()
        if order_fields[9]:  # rare in a result message
            self._transaction_time(order_fields, orc_where, control, values)
        code = None
        if obr is not None:
            if d.repetition in request[4]:  # OBR-4 does not repeat (as OBX-3)
                self._once(request, where, 4)
            code, problem = concept(request[4], d, codec)
            if problem:
                self._issue(Severity.WARNING, "hl7v2.escape-invalid", f"{where}-4", problem)
            self._parts_unmapped(request[4], "CWE", where, 4)
            if code is None:
                self._issue(
                    Severity.WARNING,
                    "hl7v2.code-missing",
                    f"{where}-4",
                    "OBR-4 universal service identifier is empty",
                )
            values["effective"] = self._time(request[7], where, 7)
            values["effective_end"] = self._time(request[8], where, 8)
            values["issued"] = self._time(request[22], where, 22)
            if request[10]:  # XCN, repeating: the first sent is the Specimen's collector
                every = request[10].split(d.repetition)
                collectors = _sent(every)
                if len(collectors) > 1:
                    self._repetitions(where, 10, collectors)
                if collectors:
                    values["collector"] = render_person(collectors[0], d, codec, problems)
                    if problems:
                        self._field_problems(problems, where, 10)
                    at = _read_at(every, collectors) if len(every) > 1 else 1
                    self._parts_unmapped(collectors[0], "XCN", where, 10, at)
            if request[27]:  # TQ, repeating (v2.4 and before): its priority, TQ.6
                self._quantity_timing(request[27], where, values)
            if request[11]:
                self._specimen_action(request[11], where, values)
            if request[24]:  # an ID (table 0074): its first component
                section = self._id_code(request[24], where, 24, "an ID: its code is read")
                values["service_section"] = self._text(section, f"{where}-24").strip()
            if request[29]:  # EIP: the parent order of a child (reflex, add-on) order
                self._parent_order(request[29], where, values)
        if order_fields[7]:  # TQ (v2.3-2.4): its priority, TQ.6, unless OBR-27.6 gives one
            self._order_timing(order_fields[7], orc_where, values)
        values["code"] = code or _EMPTY_CONCEPT
        status: tuple[ReportStatus, str] = (_UNKNOWN_REPORT, "")
        if obr is not None:  # else no OBR-25: hl7v2.orc-without-obr says so (ORC-25 is another)
            status = self._report_status(request[25], f"{where}-25")
        values["status"], values["status_text"] = status
        if control.upper() in _CANCELLING_CONTROL:
            self._cancelled_order(
                control,
                orc_where,
                request[25].split(d.component)[0].strip(),
                order_fields[5].strip(),
                values.get("request_status", ""),
                cancelled=status[0] is ReportStatus.CANCELLED,
            )
        providers = request[16] or order_fields[12]
        if providers:
            # OBR-16, else ORC-12 (of the ORC, or of an ORC without OBR)
            sender, number = (where, 16) if request[16] or orc is None else (orc[0], 12)
            repetitions = providers.split(d.repetition)
            at = 1  # the repetition read, as sent: after empty ones, OBR-16[2]
            if len(repetitions) > 1:  # rare: a repeated field
                every, repetitions = repetitions, _sent(repetitions)
                at = _read_at(every, repetitions)
                if len(repetitions) > 1:
                    self._repetitions(sender, number, repetitions)
            values["ordering_provider"] = render_person(repetitions[0], d, codec, problems)
            values["ordering_provider_location"] = provider_location = f"{sender}-{number}"
            self._problems(problems, provider_location)
            self._parts_unmapped(repetitions[0], "XCN", sender, number, at)
        if len(request) > 32 and request[32]:  # OBR-32, beyond the fields padded (_WIDTH)
            values["results_interpreter"] = self._interpreter(request[32], where)
        # an ORC-12 naming the OBR-16 provider as sent (the usual case) loses nothing
        if request[16] and order_fields[12] and orc is not None and order_fields[12] != request[16]:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{orc[0]}-12",
                "ORC-12 ordering provider is not carried when OBR-16 is sent (OBR-16 is used): "
                f"{quoted(order_fields[12], 80)}",
            )
        return values

    def _parent_order(self, field: str, where: str, values: dict[str, Any]) -> None:
        """OBR-29 parent (EIP: the parent order's placer EI ^ filler EI, each in subcomponents)
        as ``parent_placer_id`` and ``parent_filler_id``: ServiceRequest.basedOn (V2-to-FHIR IG
        OBR[ServiceRequest]). It does not repeat: its first repetition sent is read."""
        d = self.delimiters
        field, count = self._first_sent_at(field, where, 29)
        number = f"29[{count}]" if count > 1 else "29"  # the repetition read, as sent
        parts = field.split(d.component)
        problems: list[str] = []
        for component, key in ((1, "parent_placer_id"), (2, "parent_filler_id")):
            part = parts[component - 1] if component <= len(parts) else ""
            if not part.strip():
                continue
            values[key] = identifier_ei(part, d.subcomponent, d, self.codec, problems)
            for at, text in unread_parts(part.replace(d.subcomponent, d.component), "EI", d):
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{where}-{number}.{component}.{at}",
                    f"OBR-{number}.{component}.{at} is not carried: {quoted(text, 80)}",
                )
        if problems:
            self._field_problems(problems, where, 29)
        for component, text in enumerate(parts[2:], 3):
            if text.strip():
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{where}-{number}.{component}",
                    f"OBR-{number}.{component} is not carried: {quoted(text, 80)}",
                )

    def _interpreter(self, field: str, where: str) -> str:
        """OBR-32 principal result interpreter (NDL): its name (CNN, in subcomponents) rendered
        as a person; its times and location (NDL.2-11) and the CNN's source table and
        assigning authority (CNN.8-11) are not carried."""
        d = self.delimiters
        read, count = self._first_sent_at(field, where, 32)  # OBR-32 does not repeat
        number = f"32[{count}]" if count > 1 else "32"  # the repetition read, as sent
        parts = read.split(d.component)
        names = parts[0].split(d.subcomponent)
        problems: list[str] = []
        # CNN.1-7 are XCN.1-7 with subcomponents for components
        rendered = render_person(d.component.join(names[:7]), d, self.codec, problems)
        self._problems(problems, f"{where}-32")
        unread = [(f"1.{at}", text) for at, text in enumerate(names[7:], 8) if text.strip()]
        unread += [(str(at), text) for at, text in enumerate(parts[1:], 2) if text.strip()]
        for at, text in unread:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.component-unmapped",
                f"{where}-{number}.{at}",
                f"OBR-{number}.{at} is not carried: {quoted(text, 80)}",
            )
        return rendered

    def _specimen_action(self, field: str, where: str, values: dict[str, Any]) -> None:
        """OBR-11 specimen action code (table 0065): G, a generated order, is carried (V2-to-FHIR
        IG OBR[ServiceRequest]: intent reflex-order); any other code is not, and is said so."""
        d = self.delimiters
        first = _sent(field.split(d.repetition))[0].split(d.component, 1)[0].strip()
        if first.upper() != "G":
            self._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{where}-11",
                f"OBR-11 is populated but not carried: {quoted(field, 80)}",
            )
            return
        self._id_code(field, where, 11, "an ID: its code is read")  # the rest sent, said
        values["specimen_action"] = "G"

    def _order_status(self, field: str, where: str) -> str:
        """ORC-5 (table 0038) as a FHIR request status; "" (OBR-25 decides) when unknown.
        ORC-5 (an ID) does not repeat: read from its first repetition sent ('~CA')."""
        field, count = self._first_sent_at(field, where, 5)
        text = field.strip()
        if not text:
            return ""
        if self.delimiters.component in text:  # CM^Completed^HL70038
            self._code_only(text, where, f"5[{count}]" if count > 1 else 5, "its code is read")
        row = self.tables.order_status.get(_status_code(text, self.delimiters))
        if row is None:
            self._issue(
                Severity.WARNING,
                "hl7v2.order-status-unknown",
                f"{where}-5",
                f"ORC-5 {quoted(text)} is not an order status of table 0038: "
                "ServiceRequest.status follows OBR-25",
            )
            return ""
        return row.status

    def _report_status(self, field: str, location: str) -> tuple[ReportStatus, str]:
        text = field.strip()
        if not text:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.report-status-missing",
                location,
                "OBR-25 result status is empty: report status unknown",
            )
            return ReportStatus.UNKNOWN, ""
        row = self.tables.report_status.get(text)
        if row is None:  # not a plain code: f, F^Final^HL70123, P~F
            d = self.delimiters
            if d.component in text and d.repetition not in text:
                self._code_only(text, location.rsplit("-", 1)[0], 25, "its code is read")
            row = self.tables.report_status.get(_status_code(text, d))
        if row is None or row.status is _UNKNOWN_REPORT:
            known = f" ({row.display})" if row else ""
            self._issue(
                Severity.WARNING,
                "hl7v2.report-status-unknown",
                location,
                f"OBR-25 {quoted(text)}{known} has no DiagnosticReport status: unknown",
            )
            return ReportStatus.UNKNOWN, text
        return row.status, text

    def _specimen_source(self, fields: list[str], location: str) -> Specimen | None:
        """OBR-15 (SPS, v2.3-2.6): a specimen for the order; OBR-14 is its received time."""
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        source = "15"  # as located: after empty repetitions, the one read (15[2])
        if d.repetition in fields[15]:  # OBR-15 does not repeat (as OBX-3)
            count = self._once(fields, location, 15)
            source = f"15[{count}]" if count > 1 else source
        parts = fields[15].split(d.component) + [""] * 7
        kind, problem = concept_from_parts(parts[0].split(d.subcomponent), d, codec)
        site, site_problem = concept_from_parts(parts[3].split(d.subcomponent), d, codec)
        role, role_problem = concept_from_parts(parts[6].split(d.subcomponent), d, codec)
        problems.extend(p for p in (problem, site_problem, role_problem) if p)
        if d.subcomponent in fields[15]:  # CWE.n of the type, site and role, as subcomponents
            for number in (1, 4, 7):
                for part, text in cwe_unread(parts[number - 1].split(d.subcomponent)):
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.component-unmapped",
                        f"{location}-{source}.{number}.{part}",
                        f"OBR-{source}.{number}.{part} is not carried: {quoted(text, 80)}",
                    )
        unread: tuple[int, ...] = (2, 3, 5, 6)
        if _coded_source(parts, d):  # BLDV^Venous^HL70070: one Issue that says what it was
            unread = (5, 6)
            self._issue(
                Severity.INFORMATION,
                "hl7v2.component-unmapped",
                f"{location}-{source}.2",
                f"OBR-{source} {quoted(fields[15], 80)} is sent as a coded value "
                "(code^text^system, as in a CE field), but OBR-15 is a specimen source: its first "
                "component alone "
                "is the code, with its text and system as subcomponents "
                f"({quoted(d.subcomponent.join(parts[:3]), 80)}), and its second and third are "
                "the additives and the collection method (v2.3: free text). The code "
                f"{quoted(parts[0], 60)} was read; the text {quoted(parts[1], 60)} and the "
                f"system {quoted(parts[2], 60)} are not carried",
            )
        for number in unread:
            if parts[number - 1].strip():
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-{source}.{number}",
                    f"OBR-{source}.{number} is not carried: {quoted(parts[number - 1], 60)}",
                )
        self._problems(problems, f"{location}-15")
        if kind is None and site is None and role is None:
            return None
        control = self._is_control(kind, role, f"{location}-15")
        received = self._time(fields[14], location, 14)
        fields[14] = ""  # OBR-14 is carried as this specimen's received time
        return _new_specimen(
            location=f"{location}-15",
            type=kind,
            role=role,
            source_site=site,
            collected=self._time(fields[7], location, 7),
            received=received,
            is_control=control,
        )

    def _spm(self, fields: list[str], location: str) -> None:
        d, codec = self.delimiters, self.codec
        order = self.order or self._implicit_order(location, "SPM")
        problems: list[str] = []
        identifier = None
        for number in (2, 4, 8):  # SPM-2, 4 and 8 do not repeat (as OBX-3)
            if d.repetition in fields[number]:
                self._once(fields, location, number)
        if fields[2]:
            parts = fields[2].split(d.component)
            if d.subcomponent in fields[2]:
                # EIP: placer's EI ^ filler's EI, each as subcomponents; the filler's wins.
                filler = 2 if len(parts) > 1 and parts[1] else 1  # SPM-2.2, else SPM-2.1
                identifier_at = self._number_read(location, 2)  # after empty ones, 2[2]
                chosen = parts[filler - 1]
                identifier = identifier_ei(chosen, d.subcomponent, d, codec, problems)
                # its parts not carried, as of an EI field (subcomponents here)
                as_field = chosen.replace(d.subcomponent, d.component)
                for part, text in unread_parts(as_field, "EI", d):
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.component-unmapped",
                        f"{location}-{identifier_at}.{filler}.{part}",
                        f"SPM-{identifier_at}.{filler}.{part} is not carried: {quoted(text, 80)}",
                    )
                if filler == 2 and parts[0].strip():  # the placer's, beside the filler's
                    self._issue(
                        Severity.INFORMATION,
                        "hl7v2.component-unmapped",
                        f"{location}-{identifier_at}.1",
                        f"SPM-{identifier_at}.1 placer's specimen ID is not carried (the "
                        f"filler's, SPM-{identifier_at}.2, is): {quoted(parts[0])}",
                    )
            else:
                identifier = identifier_ei(fields[2], d.component, d, codec, problems)
                self._parts_unmapped(fields[2], "EI", location, 2)
            if problems:
                self._field_problems(problems, location, 2)
        roles = fields[11].split(d.repetition)
        role_at = 1  # the repetition read, as sent: after empty ones, SPM-11[2]
        if len(roles) > 1:  # rare: a repeated field
            every, roles = roles, _sent(roles)
            role_at = _read_at(every, roles)
        kind, site, role, code_problems, control, unknown_roles = _specimen_codes(
            fields[4], fields[8], roles[0], d, codec
        )
        for number, problem in code_problems:
            self._issue(Severity.WARNING, "hl7v2.escape-invalid", f"{location}-{number}", problem)
        for number, coded in ((4, fields[4]), (8, fields[8])):
            if coded:  # SPM-8 source site is usually empty
                self._parts_unmapped(coded, "CWE", location, number)
        if roles[0]:
            self._parts_unmapped(roles[0], "CWE", location, 11, role_at)
        if len(roles) > 1:
            self._repetitions(location, 11, roles)
            control, unknown_roles = self._later_roles(roles[1:], control, unknown_roles)
        period = fields[17].split(d.component)
        collected = self._time(period[0], location, 17)
        collected_end = self._time(period[1], location, "17.2") if len(period) > 1 else None
        if collected is None and collected_end is None and period[0].strip():  # rare: invalid
            self._collected_instead(order, location)
        if d.subcomponent in fields[17] or len(period) > 2:
            self._period_parts(period, location)
        received = self._time(fields[18], location, 18)
        if received is not None and collected is not None and time_after(collected, received):
            self._issue(  # rare
                Severity.WARNING,
                "hl7v2.specimen-received-before-collection",
                f"{location}-18",
                f"SPM-18 received time {quoted(received.text)} is before SPM-17 collection time "
                f"{quoted(collected.text)}: a specimen is received after it is collected, so a "
                "clock or a date is wrong; both read as sent",
            )
        elif received is not None and collected is None and collected_end is None:  # rare
            drawn = order.fields.get("effective")  # the Specimen's collection time (the writer)
            if drawn is not None and time_after(drawn, received):
                self._issue(
                    Severity.WARNING,
                    "hl7v2.specimen-received-before-collection",
                    f"{location}-18",
                    f"SPM-18 received time {quoted(received.text)} is before OBR-7 collection "
                    f"time {quoted(drawn.text)} (the Specimen's, no SPM-17 read): a specimen is "
                    "received after it is collected, so a clock or a date is wrong; both read as "
                    "sent",
                )
        self._roles_unknown(unknown_roles, location)
        container = self._container_type(fields[27], location) if fields[27] else None
        specimen = _SpecimenDraft(
            _new_specimen(
                location=location,
                identifier=identifier,
                type=kind,
                role=role,
                source_site=site,
                collected=collected,
                collected_end=collected_end,
                received=received,
                is_control=control,
                container_type=container,
            )
        )
        order.specimens.append(specimen)
        self.specimen = specimen
        self.note_target = specimen.notes

    def _container_type(self, field: str, location: str) -> Concept | None:
        """SPM-27 container type (CWE; V2-to-FHIR IG SPM[Specimen]:
        Specimen.container.type). It does not repeat: its first repetition sent is read."""
        d = self.delimiters
        field, count = self._first_sent_at(field, location, 27)
        container, problem = concept(field, d, self.codec)
        if problem:
            self._issue(Severity.WARNING, "hl7v2.escape-invalid", f"{location}-27", problem)
        if field:
            self._parts_unmapped(field, "CWE", location, 27, count)
        return container

    def _period_parts(self, period: list[str], location: str) -> None:
        """An Issue for the parts of SPM-17 (DR) not read: a TS.2 degree of precision after a
        time (as subcomponent), and components after the end."""
        d = self.delimiters
        for component, part in enumerate(period, 1):
            if component > 2 and part.strip():
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-17.{component}",
                    f"SPM-17.{component} is not carried: {quoted(part)}",
                )
            elif d.subcomponent in part:
                for at, sub in enumerate(part.split(d.subcomponent)[1:], 2):
                    if sub.strip():
                        self._issue(
                            Severity.INFORMATION,
                            "hl7v2.component-unmapped",
                            f"{location}-17.{component}.{at}",
                            f"SPM-17.{component}.{at} (degree of precision) is not carried: "
                            f"{quoted(sub)}",
                        )

    def _later_roles(
        self, roles: list[str], control: bool, unknown: tuple[str, ...]
    ) -> tuple[bool, tuple[str, ...]]:
        """SPM-11 repetitions after the first (``P~Q``): only the first is the specimen's role,
        but a control or calibrator role of table 0369 in any of them marks control material
        (as FHIR input reads every Specimen.role), and a code not in the table is said as in
        the first. Returns ``control`` and ``unknown`` (the first's) with theirs added."""
        for sent in roles:
            role, _ = concept(sent, self.delimiters, self.codec)
            more, codes = _control(None, role)
            control = control or more
            unknown += codes
        return control, unknown

    def _is_control(self, kind: Concept | None, role: Concept | None, location: str) -> bool:
        control, unknown_roles = _control(kind, role)
        self._roles_unknown(unknown_roles, location)
        return control

    def _roles_unknown(self, codes: tuple[str, ...], location: str) -> None:
        """An Issue for each specimen role code not in table 0369."""
        for code in codes:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.specimen-role-unknown",
                f"{location}-11",
                f"specimen role {quoted(code)} is not in HL7 table 0369",
            )

    def _implicit_order(self, location: str, name: str) -> _OrderDraft:
        if self.pending_orc is not None:
            self._order_without_obr()
            assert self.order is not None
            return self.order
        self.implicit_orders += 1
        order_location = f"{self.location}/ORDER[{self.implicit_orders}]"
        self._issue(
            Severity.WARNING,
            f"hl7v2.{name.lower()}-without-obr",
            location,
            f"{name} with no OBR before it: kept under an implicit order {order_location}",
        )
        order = _OrderDraft(
            order_location,
            {"code": _EMPTY_CONCEPT, "status": ReportStatus.UNKNOWN},
        )
        self._group(location).orders.append(order)
        self.order = order
        self.specimen = None
        return order

    def _nte(self, fields: list[str], location: str) -> None:
        d = self.delimiters
        problems: list[str] = []
        text = "\n".join(
            decoded(r, d, self.codec, problems) for r in fields[3].split(d.repetition)
        ).strip()
        self._problems(problems, f"{location}-3")
        entered = fields[5] or fields[6]  # NTE-5 entered by, NTE-6 entered time (rare)
        if not text:
            if entered:
                self._entered_unmapped(fields, location, "the NTE has no text (NTE-3)")
            return
        target = self.note_target
        if target is None:
            self._issue(
                Severity.WARNING,
                "hl7v2.note-unattached",
                location,
                f"NTE follows a segment that carries no notes; its text: {quoted(text, 200)}",
            )
            if entered:
                self._entered_unmapped(fields, location, "its note is not carried")
        elif isinstance(target, list):
            target.append(text)
            group = self.group
            # FHIR Patient has no note: the Issue saying so points at the NTE
            if group is not None and target is group.patient_notes:
                group.patient_note_locations.append(location)
                if entered:
                    self._entered_unmapped(fields, location, "FHIR Patient has no note")
            elif entered:
                self._note_entered(fields, location, target, len(target) - 1)
        else:  # the result just read: the last of its order (an OBX between sets it anew)
            position = len(target.results) - 1
            notes = target.result_notes.setdefault(position, [])
            notes.append(text)
            if entered:
                self._note_entered(fields, location, target, len(notes) - 1, position)

    def _note_entered(
        self,
        fields: list[str],
        location: str,
        target: list[str] | _OrderDraft,
        index: int,
        result: int | None = None,
    ) -> None:
        """NTE-5 (entered by, XCN) and NTE-6 (entered time) of the note ``index`` of ``target``
        (an order's or specimen's notes, or the ``result``-th result's of the order ``target``):
        its Annotation's author and time (V2-to-FHIR IG NTE[Observation])."""
        d = self.delimiters
        author = ""
        if fields[5]:
            field, count = self._first_sent_at(fields[5], location, 5)
            problems: list[str] = []
            author = render_person(field, d, self.codec, problems)
            if problems:
                self._field_problems(problems, location, 5)
            self._parts_unmapped(field, "XCN", location, 5, count)
        time = self._time(fields[6], location, 6)
        if not author and time is None:
            return
        if isinstance(target, _OrderDraft):
            if result is None:
                return
            by_result = target.result_entered
            if by_result is None:
                by_result = target.result_entered = {}
            by_result.setdefault(result, {})[index] = (author, time)
            return
        order, specimen = self.order, self.specimen
        if order is not None and target is order.notes:
            if order.entered is None:
                order.entered = {}
            order.entered[index] = (author, time)
        elif specimen is not None and target is specimen.notes:
            if specimen.entered is None:
                specimen.entered = {}
            specimen.entered[len(specimen.specimen.notes) + index] = (author, time)

    def _entered_unmapped(self, fields: list[str], location: str, why: str) -> None:
        """NTE-5 and NTE-6 of an NTE whose note is not written as an Annotation: not carried."""
        for number in (5, 6):
            if fields[number]:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.field-unmapped",
                    f"{location}-{number}",
                    f"NTE-{number} is populated but not carried ({why}): "
                    f"{quoted(fields[number], 80)}",
                )

    # ------------------------------------------------------------------ OBX (the hot path)

    def _obx(self, line: str) -> None:
        count = self.obx_count = self.obx_count + 1
        location = self.location + (_OBX_AT[count] if count < _OBX_NAMED else f"/OBX[{count}]")
        fields = line.split(self.delimiters.field)
        sent = len(fields)
        if sent < _WIDTH:
            fields += _PADDING[sent]
        if self.nulls and _NULL in line:
            fields = _without_nulls(fields, self.delimiters)
        order = self.order or self._implicit_order(location, "OBX")
        d, codec = self.delimiters, self.codec
        (
            code,
            unit,
            reference_range,
            flags,
            status,
            status_text,
            absent,
            kind,
            code_notes,
            notes,
        ) = _coded_result(
            fields[2], fields[3], fields[6], fields[7], fields[8], fields[11], d, codec
        )
        if code_notes:
            for field_number, severity, issue_code, text in code_notes:
                self._issue(severity, issue_code, f"{location}-{field_number}", text)
        number = plain_number[fields[5]] if fields[2] == "NM" else None
        if number is not None:
            value: Value = number  # the common case
        else:
            flags_at = ""  # set only here: tested only when number is None, after the result
            value, value_notes = read_value(kind, fields[5], d, codec)
            if value_notes:
                self._notes(value_notes, f"{location}-5")
            if not flags and type(value) is Number and value.comment and unit is not None:
                flags, flags_at = self._flag_in_value(value, unit, kind, location)
        if notes:
            for field_number, severity, issue_code, text in notes:
                self._issue(severity, issue_code, f"{location}-{field_number}", text)
        if number is None and not absent and type(value) is NoValue:  # a number is a value
            if value.reason == "masked":
                absent = "masked"
            elif status_text:
                value = self._sent_before(value, status_text, location)
        method = category = None
        device = ""
        device_id = None
        performers: tuple[str, ...] = ()
        if fields[15] or fields[16] or fields[23] or fields[25]:
            performers = self._performers(fields, location)
        if fields[17]:
            methods = fields[17].split(d.repetition)
            method_at = 1  # the repetition read, as sent: after empty ones, OBX-17[2]
            if len(methods) > 1:
                every, methods = methods, _sent(methods)
                method_at = _read_at(every, methods)
                if len(methods) > 1:
                    self._repetitions(location, 17, methods)
            method, problem = concept(methods[0], d, codec)
            if problem:
                self._issue(Severity.WARNING, "hl7v2.escape-invalid", f"{location}-17", problem)
            self._parts_unmapped(methods[0], "CWE", location, 17, method_at)
        if fields[18]:
            devices = fields[18].split(d.repetition)
            device_at = 1  # the repetition read, as sent: after empty ones, OBX-18[2]
            if len(devices) > 1:
                every, devices = devices, _sent(devices)
                device_at = _read_at(every, devices)
                if len(devices) > 1:
                    self._repetitions(location, 18, devices)
            device, device_id = self._device(devices[0], location, device_at)
        if fields[29]:
            category = self._observation_type(fields[29], location)
        # Times repeat across the results of a message: the previous OBX's, read without
        # problem, is compared first (a third of the cost of a dict lookup), then see _obx_time.
        effective = analysis_time = None
        if taken := fields[14]:
            if taken == self.effective_text:
                effective = self.effective
            else:
                effective = self._obx_time(taken, location, 14)
                if effective is not None:  # a time unlike the last OBX's: once an order
                    self._drawn_after(effective, order, location)
        if analysed := fields[19]:
            if analysed == self.analysis_text:
                analysis_time = self.analysis_time
            else:
                analysis_time = self._obx_time(analysed, location, 19)
        # Positional, in LabResult's field order (see _construct: the hottest constructor).
        order.results.append(
            self.new_result(
                location,
                code,
                value,
                status,
                unit,
                reference_range,
                status_text,
                absent,
                flags,
                kind,  # value_type
                fields[1].strip(),  # set_id
                fields[4].strip() if fields[4] else "",  # sub_id, usually empty
                effective,
                analysis_time,
                method,
                device,
                performers,
                category,
                (),  # notes: added when an NTE follows
                self.specimen.specimen.location if self.specimen else "",
                order.location,
                device_id,
            )
        )
        if fields[21]:
            self._instance_id(fields[21], location, order.results)
        if number is None and flags_at:  # the sender's flag from OBX-5, not OBX-8: Issues say so
            order.results[-1] = replace(order.results[-1], flags_location=flags_at)
        self.note_target = order
        # fields 9 on are padding when not sent: the width is tested first only when it decides
        if sent > 20 or fields[9] or fields[10] or fields[12] or fields[13]:
            self._unmapped(fields, "OBX", location, sent)

    def _flag_in_value(
        self, value: Number, unit: Unit, kind: str, location: str
    ) -> tuple[tuple[Coding, ...], str]:
        """The sender's flag written after the number of a text value ('3.2 H', '3.2 (L)')
        when OBX-8 is empty, and where it was read; ``((), "")`` for any other comment. Only
        beside a unit in OBX-6 other than the comment: '1.5 L' alone may be 1.5 litres."""
        code = flag_in_comment(value.comment)
        if not code or code.casefold() in (unit.text.casefold(), unit.code.casefold()):
            return (), ""
        flags, _ = read_flags(code, self.delimiters, self.codec)  # a table 0078 code: no note
        self._issue(
            Severity.INFORMATION,
            "hl7v2.value-flag-in-text",
            f"{location}-5",
            f"{kind} value {quoted(value.text, 60)}: the comment {quoted(value.comment)} after "
            f"the number is an abnormal flag of HL7 table 0078 ({code}), read as the sender's "
            "flag, as OBX-8 (empty) would carry it",
        )
        return flags, f"{location}-5"

    def _quantity_timing(
        self, field: str, where: str, values: dict[str, Any], name: str = "OBR-27"
    ) -> None:
        """OBR-27 (or ORC-7) quantity/timing (TQ, its first repetition sent): its priority,
        TQ.6, as ServiceRequest.priority (V2-to-FHIR IG OBR[ServiceRequest]); its other parts
        are not carried."""
        d = self.delimiters
        number_sent = name.split("-", 1)[1]
        read, count = self._first_sent_at(field, where, number_sent)
        if count > 1:  # after empty repetitions: located at the one read, OBR-27[2]
            number_sent, name = f"{number_sent}[{count}]", f"{name}[{count}]"
        parts = read.split(d.component)
        for number, part in enumerate(parts, 1):
            if part.strip() and number != 6:
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{where}-{number_sent}.{number}",
                    f"{name}.{number} is not carried: {quoted(part, 80)}",
                )
        if len(parts) > 5 and parts[5].strip():
            at = f"{where}-{number_sent}.6"
            self._priority(parts[5], at, "hl7v2.component-unmapped", values)

    def _order_timing(self, field: str, where: str, values: dict[str, Any]) -> None:
        """ORC-7 quantity/timing (TQ, v2.3-2.4), read as OBR-27 is: its priority (TQ.6) is the
        order's unless OBR-27.6 gave one; one that differs from it is not carried."""
        own: dict[str, Any] = {}
        self._quantity_timing(field, where, own, "ORC-7")
        if "priority" not in own:
            return
        if "priority" not in values:
            values.update(own)
        elif own["priority"] != values["priority"]:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.component-unmapped",
                own["priority_location"],
                f"ORC-{own['priority_location'].rsplit('-', 1)[1]} priority {own['priority']} "
                "is not carried: the order's priority is "
                f"{values['priority']}, from {values['priority_location'].rsplit('/', 1)[-1]}",
            )

    def _tq1(self, fields: list[str], location: str) -> None:
        """TQ1 after an OBR: TQ1-9 priority (CWE, its first repetition sent, its code) as the
        order's ServiceRequest.priority (V2-to-FHIR IG TQ1[ServiceRequest]). An order's first
        priority is its own: a later one that differs is not carried."""
        assert self.order is not None
        if not fields[9]:
            return
        field, number = fields[9], "9"
        if self.delimiters.repetition in field:
            field, number = self._mapped_priority(field, location)
        sent = self._id_code(field, location, number, "a priority: its code is read")
        values = self.order.fields
        if "priority" not in values:
            self._priority(sent, f"{location}-9", "hl7v2.field-unmapped", values)
            return
        given = self.tables.request_priority.get(self._text(sent, f"{location}-9").strip().upper())
        if given != values["priority"]:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{location}-9",
                f"TQ1-9 priority {quoted(sent)} is not carried: the order's priority is "
                f"{values['priority']}, from {values['priority_location']}",
            )

    def _mapped_priority(self, field: str, location: str) -> tuple[str, str]:
        """TQ1-9 sent with repetitions ('P~S'): the first the IG maps is read (the first sent
        when none is), those before it are not carried, each said so at its repetition, and
        those after it are one hl7v2.repetition-unmapped. Returns the field as if only what is
        read came after, and the field's number as locations name the repetition read ("9[2]")."""
        d = self.delimiters
        sent = [
            (f"9[{at}]" if at > 1 else "9", repetition)
            for at, repetition in enumerate(field.split(d.repetition), start=1)
            if repetition.strip()
        ]
        repetitions = [repetition for _, repetition in sent]
        table = self.tables.request_priority
        chosen = next(
            (
                at
                for at, repetition in enumerate(repetitions)
                if repetition.split(d.component, 1)[0].strip().upper() in table
            ),
            0,
        )
        if not chosen:
            return field, "9"
        number, read = sent[chosen]
        for at, before in sent[:chosen]:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.field-unmapped",
                f"{location}-{at}",
                f"TQ1-9 priority {quoted(before, 80)} is not one the V2-to-FHIR IG maps to "
                "ServiceRequest.priority (HL7 table 0485: S stat, A asap, R routine): not "
                f"carried; its repetition {quoted(read, 80)} is read",
            )
        rest = repetitions[chosen + 1 :]
        if rest:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.repetition-unmapped",
                f"{location}-9",
                "TQ1-9 repetitions after the one read are not carried: "
                f"{quoted(d.repetition.join(rest), 80)}",
            )
        return read, number

    def _priority(self, sent: str, at: str, code: str, values: dict[str, Any]) -> None:
        """A table 0485 priority sent at ``at`` (OBR-27.6, TQ1-9), through the V2-to-FHIR IG
        ConceptMap table-hl70485-to-request-priority: S stat, A asap, R routine."""
        said = self._text(sent, at).strip()
        priority = self.tables.request_priority.get(said.upper())
        if priority is None:
            segment, part = at.rsplit("/", 1)[-1].split("-", 1)  # OBR[1], 27[2].6
            name = f"{segment.split('[', 1)[0]}-{part}"
            self._issue(
                Severity.INFORMATION,
                code,
                at,
                f"{name} priority {quoted(said)} is not one the V2-to-FHIR IG maps to "
                "ServiceRequest.priority (HL7 table 0485: S stat, A asap, R routine): not "
                "carried",
            )
            return
        values["priority"] = priority
        values["priority_location"] = at

    def _id_code(self, field: str, location: str, number: int | str, why: str) -> str:
        """The code of an ID field that does not repeat (PID-30, OBR-24, OBX-29), as sent: its
        first repetition sent, its first component. Later repetitions are
        hl7v2.repetition-unmapped, and the other components a sender filled as if a CWE are
        hl7v2.component-unmapped at their part, saying ``why`` only the code is read."""
        field, count = self._first_sent_at(field, location, number)
        if self.delimiters.component not in field:
            return field
        if count > 1:  # after empty repetitions: located at the one read, PID-30[2]
            number = f"{number}[{count}]"
        return self._code_only(field, location, number, why)

    def _code_only(self, field: str, location: str, number: int | str, why: str) -> str:
        """The first component of a coded field of which only the code is read (an ID sent
        as if a CWE), as sent; the other components sent are hl7v2.component-unmapped at their
        part, saying ``why``."""
        component = self.delimiters.component
        name = location.rsplit("/", 1)[-1].split("[", 1)[0]
        for at, text in _parts_not_carried(field, component, f"{name}-{number}", why):
            self._issue(
                Severity.INFORMATION, "hl7v2.component-unmapped", f"{location}-{number}.{at}", text
            )
        return field.split(component, 1)[0]

    def _observation_type(self, field: str, location: str) -> Concept | None:
        """OBX-29 (ID, table 0936) as the category: its first repetition sent, its first
        component; what else a sender put there (a CWE's text and system) is an Issue. None
        when that component is empty."""
        d = self.delimiters
        sent = self._id_code(field, location, 29, "OBX-29 is an ID of table 0936")
        problems: list[str] = []
        code = decoded(sent, d, self.codec, problems).strip()
        if problems:
            self._field_problems(problems, location, 29)
        if not code:  # no type named: not a codeless category, the in-scope default applies
            return None
        return Concept((Coding(code, "", _OBSERVATION_TYPE, "HL70936"),))

    def _obx_time(self, text: str, location: str, number: int) -> Timestamp | None:
        """OBX-14 or OBX-19 (``number``) unlike the previous OBX's: one parsed without problem
        before in the message is reused, and compared first for the next OBX; any other is read
        (its Issues at this location)."""
        parsed = self.times.get(text)
        if parsed is None or parsed[1]:
            stamp = self._time(text, location, number)
            if stamp is None and number == 14:  # rare: say what the Observation's time is now
                self._effective_instead(location)
            return stamp
        if number == 14:
            self.effective_text, self.effective = text, parsed[0]
        else:
            self.analysis_text, self.analysis_time = text, parsed[0]
        return parsed[0]

    def _drawn_after(self, effective: Timestamp, order: _OrderDraft, location: str) -> None:
        """Say an OBX-14 after the message time (MSH-7) or its order's report time (OBR-22): the
        blood is drawn before its result is reported, so a clock or a date is wrong (the age
        and which result is the latest are taken from it as sent)."""
        later, field = self.message_time, "MSH-7"
        if later is None or not time_after(effective, later):
            later, field = order.fields.get("issued"), "OBR-22"
            if later is None or not time_after(effective, later):
                return
        self._issue(  # rare
            Severity.WARNING,
            "hl7v2.result-time-after-report",
            f"{location}-14",
            f"OBX-14 {quoted(effective.text)} is after {field} {quoted(later.text)}: blood is "
            "drawn before its result is reported, so a clock or a date is wrong; read as sent "
            "(the age is taken on it)",
        )

    def _effective_instead(self, location: str) -> None:
        """Completes the hl7v2.timestamp-invalid Issue of an OBX-14 left out with the time the
        Observation gets instead: the FHIR writer falls back to the order's OBR-7 (and OBR-8)."""
        last = self.issues[-1] if self.issues else None
        if last is None or (last.code, last.location) != (
            "hl7v2.timestamp-invalid",
            f"{location}-14",
        ):
            return
        fields = self.order.fields if self.order is not None else {}
        start, end = fields.get("effective"), fields.get("effective_end")
        if start is None:
            instead = (
                # the writer's period of OBR-8 alone, {"end": …}: the Observation has that time
                "the Observation's effective time is a period ending at its order's OBR-8 "
                f"instead, {quoted(end.fhir)}"
                if end is not None
                else "the Observation has no effective time (its order's OBR-7 gives none)"
            )
        elif end is None or _inverted(start, end):  # OBR-8 before OBR-7: fhir.period-inverted
            instead = "the Observation's effective time is its order's OBR-7 instead, " + quoted(
                start.fhir
            )
        else:
            instead = (
                "the Observation's effective time is its order's OBR-7 to OBR-8 instead, "
                f"{quoted(start.fhir)} to {quoted(end.fhir)}"
            )
        self.issues[-1] = replace(last, text=f"{last.text}; {instead}")

    def _collected_instead(self, order: _OrderDraft, location: str) -> None:
        """Completes the hl7v2.timestamp-invalid Issue of an SPM-17 left out (nor SPM-17.2 read)
        with the collection time the Specimen gets instead: the FHIR writer's, its order's OBR-7
        (to OBR-8 when sent and not before it; V2-to-FHIR IG OBR[Specimen])."""
        at = f"{location}-17"
        for index in range(len(self.issues) - 1, -1, -1):  # its own, or SPM-17.2's after it
            last = self.issues[index]
            if last.location == at:
                break
        else:
            return
        if last.code != "hl7v2.timestamp-invalid":
            return
        start, end = order.fields.get("effective"), order.fields.get("effective_end")
        if start is None:
            instead = "the Specimen has no collection time (its order's OBR-7 gives none)"
        elif end is None or _inverted(start, end):  # OBR-8 before OBR-7: fhir.period-inverted
            instead = (
                f"the Specimen's collection time is its order's OBR-7 instead, {quoted(start.fhir)}"
            )
        else:
            instead = (
                "the Specimen's collection time is its order's OBR-7 to OBR-8 instead, "
                f"{quoted(start.fhir)} to {quoted(end.fhir)}"
            )
        self.issues[index] = replace(last, text=f"{last.text}; {instead}")

    def _producer_unmapped(self, field: str, location: str) -> None:
        """An Issue for each component of OBX-15 (CWE) that its performer text leaves out: it
        shows one coding (the first sent: CWE.1-2, else the alternate), or the concept's text."""
        parts = field.split(self.delimiters.component)
        shown = frozenset({1, 2})
        for first in (1, 4, 10):  # CWE.1, the alternate CWE.4, the second alternate CWE.10
            if len(parts) >= first and parts[first - 1].strip():
                shown = frozenset({first, first + 1})
                break
        else:  # no code: the text (CWE.9, else CWE.2, else CWE.5)
            for text in (9, 2, 5):
                if len(parts) >= text and parts[text - 1].strip():
                    shown = frozenset({text})
                    break
        for number, part in enumerate(parts, 1):
            if number not in shown and part.strip():
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-15.{number}",
                    f"OBX-15.{number} is not carried (the producer is written as "
                    f"CWE.{min(shown)}): {quoted(part)}",
                )

    def _sent_before(self, value: NoValue, status_text: str, location: str) -> NoValue:
        """An empty OBX-5 under OBX-11 U: final now, its value sent before as preliminary, so not
        absent (a data-absent reason would say the lab has none)."""
        tables = load_tables()
        row = tables.result_status.get(status_text) or tables.result_status.get(
            _status_code(status_text, self.delimiters)
        )
        if row is None or not row.value_sent_before:
            return value
        self._issue(
            Severity.WARNING,
            "hl7v2.result-not-retransmitted",
            f"{location}-11",
            f"OBX-11 {quoted(status_text)}: the result sent before as preliminary is final now, "
            "and its value is not sent again; written as a final Observation without value or "
            "data-absent reason, which does not update the preliminary Observation written from "
            "the earlier message (that message's ids)",
        )
        self.status_changes = True
        return NoValue("sent-before", value.text)

    def _complete_preliminaries(
        self, drafts: list[_OrderDraft], said: dict[str, list[Issue]]
    ) -> None:
        """HL7 table 0085 U: "change status to final without retransmitting results already sent
        as preliminary". A U without its value after a preliminary result (OBX-11 P, R or S) of
        the same result in this message (same order, also one sent again under another OBR of
        the message, code, OBX-4 sub-ID, specimen and time) makes that result final: it is
        written once, final with its value, and the U is an Issue at its OBX (its notes and
        performers go to the result it completes). Of several preliminaries, the last before the
        U. A U with nothing preliminary before it (the result is final, corrected, cancelled or
        withdrawn by then, or sent after the U) stays as read: final, its value sent before."""
        last: dict[tuple[object, ...], tuple[_OrderDraft, int]] = {}
        removed: dict[int, set[int]] = {}  # by id() of the draft, the Us it loses
        for draft in drafts:
            for index, result in enumerate(draft.results):
                key = _result_key(result, draft)
                before = last.get(key)
                value = result.value
                if (
                    before is not None
                    and type(value) is NoValue
                    and value.reason == "sent-before"
                    and before[0].results[before[1]].status is ResultStatus.PRELIMINARY
                ):
                    said[f"{result.location}-11"] = self._made_final(before, (draft, index))
                    removed.setdefault(id(draft), set()).add(index)
                    continue  # the completed result stands for the result, final now
                last[key] = (draft, index)
        for draft in drafts:
            gone = removed.get(id(draft))
            if gone:
                _drop_results(draft, gone)

    def _made_final(
        self, preliminary: tuple[_OrderDraft, int], change: tuple[_OrderDraft, int]
    ) -> list[Issue]:
        """The preliminary result made final by the status change (OBX-11 U) after it: final,
        with the U's notes and performers. Returns what replaces the U's Issue that its value
        was sent before: one at each of them, and one for each field of the U that differs."""
        draft, index = preliminary
        result = draft.results[index]
        u_draft, u_index = change
        u = u_draft.results[u_index]
        moved = u_draft.result_notes.pop(u_index, None)
        if moved:
            notes = draft.result_notes.setdefault(index, [])
            entered = u_draft.result_entered.pop(u_index, None) if u_draft.result_entered else None
            if entered:
                if draft.result_entered is None:
                    draft.result_entered = {}
                mine = draft.result_entered.setdefault(index, {})
                mine.update({len(notes) + k: v for k, v in entered.items()})
            notes.extend(moved)
        draft.results[index] = replace(
            result,
            status=ResultStatus.FINAL,
            performers=tuple(dict.fromkeys((*result.performers, *u.performers))),
        )
        elsewhere = (
            ""
            if u_draft is draft
            else f" under {draft.location}, the same order sent again (same filler and placer "
            "order numbers, code and specimens),"
        )
        sent_as, by = quoted(result.status_text), quoted(u.status_text)
        said = [
            Issue(
                Severity.INFORMATION,
                "hl7v2.preliminary-completed",
                f"{result.location}-11",
                f"written final with its value: this result sent as preliminary (OBX-11 "
                f"{sent_as}) is made final by OBX-11 {by} at {u.location} (status changed to "
                "final without retransmitting the result), and judged as a final result",
            ),
            Issue(
                Severity.INFORMATION,
                "hl7v2.result-made-final",
                f"{u.location}-11",
                f"OBX-11 {by} with an empty OBX-5 makes final the preliminary result "
                f"{result.location}{elsewhere} of the same code, OBX-4 sub-ID, specimen and "
                "time: written as that result's final Observation, with its value, not as an "
                "Observation of its own",
            ),
        ]
        said.extend(self._change_unmapped(u, result))
        return said

    def _change_unmapped(self, u: LabResult, result: LabResult) -> Iterator[Issue]:
        """An Issue for each field of the status change ``u`` that it sends otherwise than the
        result it makes final: the final Observation is that result's (its unit, range, flags …)."""
        for number, mine, theirs in (
            (6, _unit_shown(u.unit), _unit_shown(result.unit)),
            (7, _range_shown(u.reference_range), _range_shown(result.reference_range)),
            (8, _flags_shown(u.sender_flags), _flags_shown(result.sender_flags)),
            (17, _concept_shown(u.method), _concept_shown(result.method)),
            (18, u.device, result.device),
            (19, _time_shown(u.analysis_time), _time_shown(result.analysis_time)),
            (21, _identifier_shown(u.instance_id), _identifier_shown(result.instance_id)),
            (29, _concept_shown(u.category), _concept_shown(result.category)),
        ):
            if mine and mine != theirs:
                yield Issue(
                    Severity.INFORMATION,
                    "hl7v2.field-unmapped",
                    f"{u.location}-{number}",
                    f"OBX-{number} of the status change is not carried: {quoted(mine, 80)}; the "
                    f"final Observation is {result.location}'s, which keeps its own"
                    + (f" ({quoted(theirs, 80)})" if theirs else " (none sent)"),
                )

    def _performers(self, fields: list[str], location: str) -> tuple[str, ...]:
        d, codec = self.delimiters, self.codec
        problems: list[str] = []
        found: list[str] = []
        producer_field = fields[15]
        if d.repetition in producer_field:  # OBX-15 does not repeat (as OBX-3)
            sent = _sent(producer_field.split(d.repetition))
            if len(sent) > 1:
                self._repetitions(location, 15, sent)
            producer_field = sent[0]
        if producer_field:
            producer, problem = concept(producer_field, d, codec)
            if problem:
                problems.append(problem)
            if producer is not None:
                first = producer.codings[0] if producer.codings else None
                if first is not None and first.display:
                    found.append(f"{first.display} ({first.code})")
                else:
                    found.append(first.code if first else producer.text)
            if problems:
                self._field_problems(problems, location, 15)
            if d.component in producer_field:
                self._producer_unmapped(producer_field, location)
        # V2-to-FHIR IG (OBX[Observation]): OBX-16 observer, OBX-23 organization and OBX-25
        # responsible observer (v2.5+) → Observation.performer.
        for number, kind, render in (
            (16, "XCN", render_person),
            (23, "XON", render_organization),
            (25, "XCN", render_person),
        ):
            found += self._each_sent(fields[number], kind, render, location, number)
        # Each person once: the technologist who verified the result (OBX-16) is often its
        # responsible observer too (OBX-25), and a performer display says no role.
        return tuple(dict.fromkeys(p for p in found if p))

    def _instance_id(self, field: str, location: str, results: list[LabResult]) -> None:
        """OBX-21 observation instance identifier (EI, not repeating) on the result just read:
        V2-to-FHIR IG OBX[Observation] maps it to Observation.identifier."""
        d = self.delimiters
        repetitions = field.split(d.repetition)
        if len(repetitions) > 1:
            repetitions = _sent(repetitions)
            if len(repetitions) > 1:
                self._repetitions(location, 21, repetitions)
        problems: list[str] = []
        identifier = identifier_ei(repetitions[0], d.component, d, self.codec, problems)
        if problems:
            self._field_problems(problems, location, 21)
        self._parts_unmapped(repetitions[0], "EI", location, 21)
        if identifier is not None:
            results[-1] = replace(results[-1], instance_id=identifier)

    def _device(self, field: str, location: str, count: int = 1) -> tuple[str, Identifier | None]:
        """OBX-18 (EI), its ``count``-th repetition: its display (the value, and the assigner
        after it) and identifier."""
        problems: list[str] = []
        identifier = identifier_ei(
            field, self.delimiters.component, self.delimiters, self.codec, problems
        )
        if problems:
            self._field_problems(problems, location, 18)
        self._parts_unmapped(field, "EI", location, 18, count)
        if identifier is None:
            return "", None
        if identifier.assigner:
            return f"{identifier.value} ({identifier.assigner})", identifier
        return identifier.value, identifier

    # ------------------------------------------------------------------ helpers

    def _time(self, field: str, location: str, number: int | str) -> Timestamp | None:
        """A DTM/TS field (first component); problems are Issues at ``location-number``."""
        if not field:
            return None
        parsed = self.times.get(field)
        if parsed is None:
            d = self.delimiters
            if d.component in field:
                # TS.2: cached by TS.1 alone, so that each field that sends it is told
                field, precision = field.split(d.component, 1)
                if precision.strip(d.component + " "):
                    self._precision_unmapped(precision, location, number)
                parsed = self.times.get(field)
            if parsed is None:
                first = field.split(d.subcomponent, 1)[0].strip()
                parsed = parse_timestamp(first, self.zone) if first else (None, "", "")
                self.times[field] = parsed
        stamp, kind, text = parsed
        if kind:
            code = "hl7v2.timestamp-invalid" if kind == UNHOLDABLE else f"hl7v2.timestamp-{kind}"
            self._issue(_SEVERITY.get(code, Severity.WARNING), code, f"{location}-{number}", text)
        return stamp

    def _precision_unmapped(self, rest: str, location: str, number: int | str) -> None:
        """TS.2 (degree of precision, deprecated: the DTM's digits say it) and anything after."""
        name = location.rsplit("/", 1)[-1].split("[", 1)[0]
        for component, part in enumerate(rest.split(self.delimiters.component), 2):
            if part.strip():
                self._issue(
                    Severity.INFORMATION,
                    "hl7v2.component-unmapped",
                    f"{location}-{number}.{component}",
                    f"{name}-{number}.{component} is not carried: {quoted(part)}",
                )

    def _text(self, field: str, location: str) -> str:
        problems: list[str] = []
        value = decoded(field, self.delimiters, self.codec, problems)
        self._problems(problems, location)
        return value

    def _hd(self, field: str, where: str, number: int) -> str:
        """HD (MSH-3 to MSH-6): the namespace ID, else the universal ID."""
        d = self.delimiters
        if d.component not in field and d.escape not in field:
            return field.strip()
        parts = field.split(d.component)
        problems: list[str] = []
        namespace = decoded(parts[0], d, self.codec, problems).strip()
        universal = parts[1] if len(parts) > 1 else ""
        if not namespace:
            namespace = decoded(universal, d, self.codec, problems).strip()
        if problems:
            self._problems(problems, f"{where}-{number}")
        return namespace

    def _hd_universal(self, field: str, where: str, number: int) -> str:
        """HD universal ID ``^`` type (MSH-3 to MSH-6, components 2-3), when sent beside a
        namespace ID (alone, it is what :meth:`_hd` gives)."""
        d = self.delimiters
        parts = field.split(d.component, 3)
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            return ""
        problems: list[str] = []
        universal = [decoded(part, d, self.codec, problems).strip() for part in parts[1:3]]
        if problems:
            self._problems(problems, f"{where}-{number}")
        return "^".join(universal).rstrip("^")

    def _identifier_type(self, sent: str, location: str, number: int, count: int) -> None:
        """The Issue for CX.5 ``sent`` of repetition ``count`` of field ``number``, not a table
        0203 code as sent: the writer gives it no v2-0203 coding, which a validator would refuse
        (one in other case, ``mr``, is read as that code, as OBX-8 and PID-8 are)."""
        part = f"{number}[{count}].5" if count > 1 else f"{number}.5"  # repetition 2 on: named
        where, name = f"{location}-{part}", f"{location.rsplit('/', 1)[-1].split('[', 1)[0]}-{part}"
        code = sent.upper()
        if code in identifier_types():
            self._issue(
                Severity.INFORMATION,
                "hl7v2.identifier-type-case",
                where,
                f"{name} identifier type {quoted(sent)} is table 0203's {code} in other case: "
                f"written as {code}, with {quoted(sent)} as its text",
            )
        else:
            self._issue(
                Severity.WARNING,
                "hl7v2.identifier-type-unknown",
                where,
                f"{name} identifier type {quoted(sent)} is not in HL7 table 0203: written as "
                "the type's text, without a v2-0203 coding",
            )

    def _parts_unmapped(
        self, field: str, kind: str, location: str, number: int, count: int = 1
    ) -> None:
        """An Issue for each populated component (or subcomponent) of one repetition of field
        ``number``, of datatype ``kind``, that its reader does not carry (``unread_parts``);
        located at the repetition from the second (``count``) on: ``PID[1]-3[2].6``."""
        d = self.delimiters
        if d.component not in field and d.subcomponent not in field:
            return  # one component: the one read
        unread = unread_parts(field, kind, d)
        if not unread:  # the usual case: a name only when there is an Issue to write
            return
        name = location.rsplit("/", 1)[-1].split("[", 1)[0]
        if count == 1 and self.read_at:  # a field read from a later repetition by _once
            count = self.read_at.get(f"{location}-{number}", 1)
        at = f"{number}[{count}]" if count > 1 else str(number)
        for part, text in unread:
            self._issue(
                Severity.INFORMATION,
                "hl7v2.component-unmapped",
                f"{location}-{at}.{part}",
                f"{name}-{at}.{part} is not carried: {quoted(text, 80)}",
            )

    def _repetitions(self, location: str, number: int | str, repetitions: list[str]) -> None:
        name = location.rsplit("/", 1)[-1].split("[", 1)[0]
        rest = self.delimiters.repetition.join(repetitions[1:])
        self._issue(
            Severity.INFORMATION,
            "hl7v2.repetition-unmapped",
            f"{location}-{number}",
            f"{name}-{number} repetitions after the first are not carried: {quoted(rest, 80)}",
        )

    def _once(self, fields: list[str], location: str, number: int) -> int:
        """Field ``number`` of ``fields``, which does not repeat, sent with repetitions (callers
        test for the separator first): its first repetition sent is kept in its place, and the
        rest are one ``hl7v2.repetition-unmapped`` Issue. Read whole, the rest was split at its
        components as part of the first: 'LAB1^CORELAB~LAB2^CORELAB' gave an assigner
        'CORELAB~LAB2', and an Issue per part at components the field does not have. Returns
        the place of the repetition kept, as :meth:`_first_sent_at`, and keeps it for the
        locations of its parts (:meth:`_parts_unmapped`, :meth:`_number_read`)."""
        fields[number], count = self._first_sent_at(fields[number], location, number)
        if count > 1:  # its parts not carried are located there (_parts_unmapped)
            if self.read_at is None:
                self.read_at = {}
            self.read_at[f"{location}-{number}"] = count
        return count

    def _number_read(self, location: str, number: int) -> str:
        """Field ``number`` as located: with the repetition :meth:`_once` read when empty ones
        came before it (``2[2]``)."""
        count = self.read_at.get(f"{location}-{number}", 1) if self.read_at else 1
        return f"{number}[{count}]" if count > 1 else str(number)

    def _first_sent(self, field: str, location: str, number: int | str) -> str:
        """The first repetition sent of ``field`` (field ``number``, which does not repeat): the
        field itself when it holds no repetition separator; the other repetitions sent are one
        ``hl7v2.repetition-unmapped`` Issue."""
        return self._first_sent_at(field, location, number)[0]

    def _first_sent_at(self, field: str, location: str, number: int | str) -> tuple[str, int]:
        """:meth:`_first_sent`, and the place (from 1) of the repetition read among those sent,
        empty ones too: 2 for '~1^^^^^S', whose parts not carried are at ``OBR-27[2].1``."""
        if self.delimiters.repetition not in field:
            return field, 1
        every = field.split(self.delimiters.repetition)
        sent = _sent(every)
        if len(sent) > 1:
            self._repetitions(location, number, sent)
        return sent[0], _read_at(every, sent)

    def _field_problems(self, problems: list[str], location: str, number: int) -> None:
        """The escape problems read from field ``number``, at its location; then none are left
        (the list serves the segment's next field). Callers test ``problems`` first: most fields
        have none, and the call would cost more than the test."""
        self._problems(problems, f"{location}-{number}")
        problems.clear()

    def _problems(self, problems: list[str], location: str) -> None:
        for problem in field_problems(problems):
            self._issue(Severity.WARNING, "hl7v2.escape-invalid", location, problem)

    def _notes(self, notes: list[Note] | tuple[Note, ...], location: str) -> None:
        for code, text in notes:
            self._issue(_SEVERITY.get(code, Severity.WARNING), code, location, text)

    def _issue(self, severity: Severity, code: str, location: str, text: str) -> None:
        self.issues.append(self.new_issue(severity, code, location, text))


def _orders_alike(orders: list[_OrderDraft]) -> Iterator[list[_OrderDraft]]:
    """The orders of one patient as the results of one order are looked for in: each alone, and
    an order sent again under several OBRs of the message together (same filler order number,
    sent, placer order number, code and specimens), in message order."""
    same: dict[tuple[object, ...], list[_OrderDraft]] = {}
    for draft in orders:
        fields = draft.fields
        filler = fields.get("filler_id")
        if filler is not None and filler.value and draft.results:
            specimens = tuple([specimen_key(s.specimen) for s in draft.specimens])
            key = (filler, fields.get("placer_id"), code_key(fields["code"]), specimens)
            same.setdefault(key, []).append(draft)
        else:
            same[(id(draft),)] = [draft]
    return iter(same.values())


def _result_key(result: LabResult, draft: _OrderDraft) -> tuple[object, ...]:
    """What a status change shares with the result it makes final: code, OBX-4 sub-ID, specimen
    (the SPM it follows) and time of the draw (OBX-14, else the collection of its specimens,
    else OBR-7; never OBX-19, when the analyser ran), as a correction shares them with the
    result it replaces (flagging)."""
    specimens = [s.specimen for s in draft.specimens]
    own = [s for s in specimens if s.location == result.specimen] if result.specimen else []
    stamp = result.effective
    if stamp is None:
        for specimen in own or specimens:
            if specimen.collected is not None:
                stamp = specimen.collected
                break
    if stamp is None:
        stamp = draft.fields.get("effective")
    return (
        code_key(result.code),
        result.sub_id,
        specimen_key(own[0]) if own else (),
        utc_instant(stamp.fhir) if stamp is not None else "",
    )


def _drop_results(draft: _OrderDraft, gone: set[int]) -> None:
    """Takes the results at ``gone`` out of ``draft`` (their notes were moved), the notes of the
    results after them moved up with them: one pass, however many."""
    kept = [index for index in range(len(draft.results)) if index not in gone]
    moved = {old: new for new, old in enumerate(kept)}
    draft.results = [draft.results[index] for index in kept]
    draft.result_notes = {moved[p]: n for p, n in draft.result_notes.items() if p in moved}
    if draft.result_entered is not None:
        draft.result_entered = {moved[p]: e for p, e in draft.result_entered.items() if p in moved}


def _unit_shown(unit: Unit | None) -> str:
    return "" if unit is None else unit.text or unit.code


def _range_shown(reference_range: ReferenceRange | None) -> str:
    return "" if reference_range is None else reference_range.text


def _flags_shown(flags: tuple[Coding, ...]) -> str:
    return "~".join([flag.sent or flag.code for flag in flags])


def _time_shown(stamp: Timestamp | None) -> str:
    return "" if stamp is None else stamp.text


def _identifier_shown(identifier: Identifier | None) -> str:
    return "" if identifier is None else identifier.value


def _concept_shown(concept: Concept | None) -> str:
    if concept is None:
        return ""
    return concept.text or "^".join([c.code for c in concept.codings])
