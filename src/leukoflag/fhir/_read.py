"""FHIR input → items of model objects.

Accepted input: one JSON document (a resource, or an array of resources: one item per element)
or NDJSON (one resource per line, read line by line, so memory stays flat). Each item becomes a
:class:`FhirItem` holding its JSON and :class:`~leukoflag.model.PatientResult` groups of
:class:`~leukoflag.model.LabResult`: one per Observation (of a Bundle, contained, or the item
itself) and one per Observation component, grouped into orders by the DiagnosticReport that
lists them (Observations no report lists form one order per patient). Anything that is not a
FHIR resource, and an Observation whose shape is broken, is a ``Rejected`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import islice
from typing import Any, BinaryIO, TypeVar
from urllib.parse import parse_qsl

from leukoflag import units
from leukoflag._ages import age_fit
from leukoflag._construct import constructor
from leukoflag._quote import defect, quoted
from leukoflag._range_text import age_group, age_span, ages_of, read_range_text
from leukoflag._result_keys import time_after
from leukoflag._text import invisible, invisible_name
from leukoflag._value_text import leading_number, names_unit
from leukoflag.detect import values_then_object
from leukoflag.errors import UnitError
from leukoflag.fhir._elements import (
    BIRTH_TIME,
    DAR_EXTENSION,
    EXPLANATION,
    ORIGINAL_FORM,
    ORIGINAL_TEXT,
    PQ_TRANSLATION,
    SENDER_INTERPRETATION,
    SOURCE_MESSAGE,
    UNIT_ALTERNATE_SENT,
    UNIT_CODE_SENT,
    UNIT_ORIGINAL_TEXT_SENT,
    derived_before,
    derived_status,
    died_before_birth,
    ends_before,
    supplied_range,
)
from leukoflag.fhir._json import dumps, loads_noting_repeats, loads_written, plain
from leukoflag.fhir._ranges import (
    AgeBound,
    Who,
    age_starts,
    applies,
    labelled_for,
    narrower,
    restricted,
    sex_only,
    type_text_group,
    unlike,
)
from leukoflag.fhir._terms import (
    EFFECTIVE,
    LEGACY_INTERPRETATION,
    V3_INTERPRETATION,
    VALUE_ELEMENTS,
    resource_types,
    tables,
)
from leukoflag.flagging import age_day, birth_span, born_after, drawn, moment
from leukoflag.model import (
    CodedResult,
    Coding,
    Concept,
    Identifier,
    Issue,
    LabResult,
    NoValue,
    Number,
    NumberRange,
    Order,
    Patient,
    PatientResult,
    Ratio,
    ReferenceRange,
    Rejected,
    ReportStatus,
    ResultStatus,
    Severity,
    Specimen,
    Text,
    Timestamp,
    Unit,
    Value,
)

__all__ = [
    "Document",
    "FhirItem",
    "NodeRef",
    "path_location",
    "read_document",
    "read_items",
    "read_line",
    "split_items",
]

Path = tuple[str | int, ...]
_BOM = b"\xef\xbb\xbf"
# Bytes looked through for an object line after a first line that is no object (detect's head)
_LOOK_AHEAD = 4096
_DATE_TIME = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_R4_SPECIMEN_ROLE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Specimen.role"
_T = TypeVar("_T")
# Made once each: the model's frozen dataclasses built without their generated __init__
# (leukoflag._construct), as the HL7 v2 reader does: a FHIR CBC Bundle builds about 400.
_new_coding = constructor(Coding)
_new_concept = constructor(Concept)
_new_unit = constructor(Unit)
_new_timestamp = constructor(Timestamp)
_new_number = constructor(Number)
_new_lab_result = constructor(LabResult)
_new_identifier = constructor(Identifier)
_new_reference_range = constructor(ReferenceRange)
_new_order = constructor(Order)
_new_patient = constructor(Patient)
_new_specimen = constructor(Specimen)
_new_patient_result = constructor(PatientResult)
_new_issue = constructor(Issue)
_new_who = constructor(Who)
_RESULT_STATUSES = {status.value: status for status in ResultStatus}
# Quantity.comparator of R4 and R5 (R5's "ad", sufficient to achieve, is judged as ">=")
_COMPARATORS = frozenset(("<", "<=", ">=", ">", "ad"))
_REPORT_STATUSES = {status.value: status for status in ReportStatus}
# R5's "modified" (changed after it was issued, before it is final) is not final: as partial
_REPORT_STATUSES["modified"] = ReportStatus.PARTIAL
# A focus naming one of these, not the subject, is another person whom the result is about
_PERSONS = frozenset(("Patient", "RelatedPerson", "Person", "Group"))
# Result statuses that say no value stands (flagging judges none of them)
_WITHDRAWN_STATUSES = frozenset(
    (
        ResultStatus.ENTERED_IN_ERROR,
        ResultStatus.CANCELLED,
        ResultStatus.REGISTERED,
        ResultStatus.UNKNOWN,
    )
)


@dataclass(frozen=True, slots=True)
class NodeRef:
    """Where one result sits in the item's JSON: the path to its Observation or component, and
    the index of the ``referenceRange`` entry that was read (None: none)."""

    path: Path
    range_index: int | None = None
    # why none of the lab's ranges was read though it sent some (each is for other patients, or
    # not known to be this one's): told when the result is judged (see _ranges.py)
    range_note: str = ""
    # the lab's ranges not used for a modifierExtension leukoflag does not know: told likewise
    range_issues: tuple[Issue, ...] = ()
    derived: bool = False  # an ANC leukoflag derived and wrote (its output read back)
    # of such an ANC, the status its sources give it now when not the one it carries ("": as
    # sent): written in its place, so a source withdrawn since withdraws the ANC with it
    status: str = ""


_new_node_ref = constructor(NodeRef)


@dataclass(frozen=True, slots=True)
class FhirItem:
    """One FHIR input item, parsed: the JSON and the results found in it.

    ``nodes`` (result location → :class:`NodeRef`), ``reports`` (order location → path of its
    DiagnosticReport) and ``legacy`` (paths of Observations/components whose interpretation is
    in a legacy form) let :func:`leukoflag.fhir.flag_in_place` write back into the same JSON.
    """

    index: int
    source: str
    raw: bytes
    resource: dict[str, Any]
    groups: tuple[PatientResult, ...] = ()
    issues: tuple[Issue, ...] = ()
    nodes: Mapping[str, NodeRef] = field(default_factory=dict)
    reports: Mapping[str, Path] = field(default_factory=dict)
    legacy: tuple[Path, ...] = ()
    # locations of the ANCs leukoflag derived and wrote (its output read back): still derived
    derived: tuple[str, ...] = ()
    # the entry of a hasMember member sent without a subject -> that of the panel whose subject
    # it takes (see _ItemReader.subject_holder): a derived ANC of it carries that subject
    panel_subjects: Mapping[Path, Path] = field(default_factory=dict)
    # the timestamp of a message Bundle, or of a Bundle leukoflag wrote from HL7 v2 (MSH-7): its
    # offset names the zone of the item's local times (a birth date without time)
    sent: Timestamp | None = None
    # the location of the first element or code of the item that only FHIR R5 has (the item is
    # R5, and flagged in place it stays R5), "" when none
    r5_element: str = ""

    @property
    def location(self) -> str:
        return f"ITEM[{self.index}]"

    @property
    def key(self) -> tuple[str, ...]:
        """The item's identity for ids leukoflag mints in it (a digest of its bytes)."""
        return ("fhir", hashlib.sha256(self.raw).hexdigest())


# the resources that may hold results inside a Parameters, which is not read (see
# _ItemReader.parameters_not_read)
_HOLDING_RESULTS = frozenset({"Observation", "DiagnosticReport", "Bundle"})


def path_location(prefix: str, root: dict[str, Any], path: Path) -> str:
    """The Issue location of the node at ``path`` of item ``root`` (``ITEM[1]/Bundle.entry[4]
    .resource``)."""
    text = str(root["resourceType"])
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return f"{prefix}/{text}"


class _Malformed(Exception):  # noqa: N818 - an internal signal, never raised out of this module
    """An Observation whose JSON shape leukoflag cannot read."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where = where
        self.why = why


# --------------------------------------------------------------------------- stream → items


@dataclass(frozen=True, slots=True)
class Document:
    """A FHIR input that is not NDJSON: one JSON document (a resource, or an array of them),
    as read (leading blank lines and a UTF-8 byte-order mark left out)."""

    raw: bytes


_UNPARSED: Any = object()  # a part not parsed while telling NDJSON from a document


def read_items(stream: BinaryIO, *, source: str) -> Iterator[FhirItem | Rejected]:
    """One :class:`FhirItem` or :class:`Rejected` per item of ``stream``, in input order."""
    for index, (part, parsed) in enumerate(_parts(stream), start=1):
        if isinstance(part, Document):
            yield from read_document(part, source=source)
        else:
            yield _item_or_reject(
                _reparse(part) if parsed is _UNPARSED else parsed, part, index, source
            )


def split_items(stream: BinaryIO) -> Iterator[bytes | Document]:
    """The items of ``stream`` as :func:`read_items` finds them, unparsed: each NDJSON line
    (stripped; blank lines are no items, so the n-th line yielded is item n), or one
    :class:`Document` for anything else. Only the first line is parsed, to tell the two apart;
    NDJSON is read line by line, so memory stays flat."""
    for part, _ in _parts(stream):
        yield part


def read_line(raw: bytes, *, index: int, source: str) -> FhirItem | Rejected:
    """Item ``index`` of NDJSON input: one stripped line, as :func:`split_items` yields it."""
    return _item_or_reject(_reparse(raw), raw, index, source)


def read_document(document: Document, *, source: str) -> Iterator[FhirItem | Rejected]:
    """The items of a JSON document: itself, or each element of an array."""
    raw = document.raw
    try:
        parsed, repeats = _parse(raw)
    except ValueError as exc:
        yield _reject(raw.strip(), 1, source, f"not valid JSON: {exc}")
        return
    if isinstance(parsed, list):
        for index, element in enumerate(parsed, start=1):
            yield _item(element, dumps(element), index, source, repeats)
        return
    yield _item(parsed, raw.strip(), 1, source, repeats)


def _parts(stream: BinaryIO) -> Iterator[tuple[bytes | Document, Any]]:
    """:func:`split_items`, each part with its parse when detection made it (the first line),
    else ``_UNPARSED``."""
    lines = _Lines(stream)
    first = lines.next_content()
    if first is None:
        return
    if b"\r" in first.strip():  # JSON holds no raw CR but as a blank: CR ends the lines
        first = lines.split_at_cr(first)
    stripped = first.strip()
    parsed: Any = _UNPARSED
    if stripped.startswith(b"{"):
        parsed = _reparse(stripped) if stripped.endswith(b"}") else _UNPARSED
        # NDJSON: the first line is a whole object, or the next line is one (the first is then a
        # broken line, not the start of a pretty-printed document, whose next line is a member)
        whole = parsed is not _UNPARSED and not isinstance(parsed, ValueError)
        ndjson = whole or _is_object_line(lines.peek_content())
    else:
        # NDJSON too when the first lines are JSON but no objects (42, [1]) and an object line
        # follows: each is an item (rejected), as detect.detect found in the first bytes
        ndjson = values_then_object([stripped, *lines.peek_to_object(_LOOK_AHEAD)], cut=False)
    if ndjson:
        yield stripped, parsed
        while (line := lines.next_content()) is not None:
            yield line.strip(), _UNPARSED
        return
    yield Document(first + lines.rest()), _UNPARSED


class _Lines:
    """Lines of a binary stream, with one line of look-ahead; strips a leading UTF-8 BOM. LF and
    CRLF end a line, and CR too once :meth:`split_at_cr` is called (a file with CR line ends is
    then read whole: readline finds no LF in it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._ahead: list[bytes] = []
        self._first = True
        self._cr = False

    def _read(self) -> bytes | None:
        if self._ahead:
            return self._ahead.pop()
        line = self._stream.readline()
        if not line:
            return None
        if self._first:
            self._first = False
            line = line.removeprefix(_BOM)
        if self._cr:
            return self.split_at_cr(line)
        return line

    def split_at_cr(self, line: bytes) -> bytes:
        """From now on, CR ends a line too: the first line of ``line`` (the rest read next)."""
        self._cr = True
        first, *rest = line.splitlines(keepends=True)
        self._ahead.extend(reversed(rest))
        return first

    def next_content(self) -> bytes | None:
        """The next line that is not blank."""
        while (line := self._read()) is not None:
            if line.strip():
                return line
        return None

    def peek_content(self) -> bytes:
        """The next non-blank line (stripped), left in place; ``b""`` at the end."""
        skipped: list[bytes] = []
        found = b""
        while (line := self._read()) is not None:
            skipped.append(line)
            if line.strip():
                found = line.strip()
                break
        self._ahead.extend(reversed(skipped))
        return found

    def peek_to_object(self, size: int) -> list[bytes]:
        """The next lines, left in place, up to the first that starts with ``{`` (stripped) or
        until ``size`` bytes were peeked at; none at the end."""
        peeked: list[bytes] = []
        total = 0
        while total < size and (line := self._read()) is not None:
            peeked.append(line)
            total += len(line)
            if line.lstrip().startswith(b"{"):
                break
        self._ahead.extend(reversed(peeked))
        return peeked

    def rest(self) -> bytes:
        ahead = b"".join(reversed(self._ahead))
        self._ahead.clear()
        return ahead + self._stream.read()


# The keys objects of a parse hold more than once, by the object's identity (see _parse).
Repeats = dict[int, tuple[str, ...]]


def _reparse(line: bytes) -> tuple[Any, Repeats] | ValueError:
    """``line`` parsed (see :func:`_parse`), or the ValueError saying why it is not JSON."""
    try:
        return _parse(line)
    except ValueError as exc:
        return exc


def _parse(raw: bytes) -> tuple[Any, Repeats]:
    """JSON text ``raw`` parsed, and the keys its objects hold more than once (the parse keeps
    the last value: the reader refuses a repeat of a key that decides a verdict). The slower
    parse noting them is paid for only when the text written back lost a key."""
    parsed, written = loads_written(raw)
    if _lost_keys(raw, written):
        return loads_noting_repeats(raw)
    return parsed, {}


def _lost_keys(raw: bytes, written: bytes) -> bool:
    """Whether ``written``, the parse of JSON text ``raw`` written back, lost a key (a repeat,
    however spelled: ``"value\\u0051uantity"`` is ``"valueQuantity"``). Every string keeps its
    two quotes and a quote in it stays escaped (``\\"``) but for one sent as ``\\u0022``, so
    the quotes differ only when a key went (a ``\\\\u0022``, no escape, only costs the slow
    parse). Two or three counts, against half a parse again for the parse noting repeats."""
    quotes = raw.count(b'"')
    if b"\\" in raw:  # one memchr: without a backslash, no quote is sent as \u0022
        quotes += raw.count(b"\\u0022")
    return quotes != written.count(b'"')


def _is_object_line(line: bytes) -> bool:
    return line.startswith(b"{") and line.endswith(b"}")


def _reject(raw: bytes, index: int, source: str, reason: str) -> Rejected:
    return Rejected(index=index, source=source, reason=reason, raw=raw, location=f"ITEM[{index}]")


def _item_or_reject(
    parsed: tuple[Any, Repeats] | ValueError, raw: bytes, index: int, source: str
) -> FhirItem | Rejected:
    if isinstance(parsed, ValueError):
        return _reject(raw, index, source, f"not valid JSON: {parsed}")
    return _item(parsed[0], raw, index, source, parsed[1])


def _shape(parsed: Any) -> str:
    """What JSON value ``parsed`` is, in JSON's words (not Python's 'NoneType', 'str')."""
    if parsed is None:
        return "JSON null"
    if isinstance(parsed, bool):  # before int: a bool is an int to Python
        return f"JSON {str(parsed).lower()}"
    if isinstance(parsed, (int, Decimal)):
        return "a JSON number"
    return "a JSON string" if isinstance(parsed, str) else "an array"


def _item(
    parsed: Any,
    raw: bytes,
    index: int,
    source: str,
    repeats: Repeats,
) -> FhirItem | Rejected:
    """The item read from ``parsed`` (``raw`` parsed); ``repeats``: the keys objects of it hold
    more than once, by object identity."""
    if not isinstance(parsed, dict):
        return _reject(raw, index, source, f"not a FHIR resource: {_shape(parsed)}, not an object")
    kind = parsed.get("resourceType")
    if kind is None:
        return _reject(raw, index, source, "not a FHIR resource: no resourceType")
    if "resourceType" in repeats.get(id(parsed), ()):
        # an Observation then a Basic: the parse kept the last, the item's counts unread unsaid
        why = _repeated("resourceType", "resource type the sender meant is")
        return _reject(raw, index, source, f"not a FHIR resource: {why}")
    if not isinstance(kind, str) or kind not in resource_types():
        return _reject(
            raw, index, source, f"not a FHIR resource: unknown resourceType {quoted(kind)}"
        )
    reader = _ItemReader(prefix=f"ITEM[{index}]", root=parsed, repeats=repeats)
    try:
        groups = reader.read()
    except _Malformed as exc:
        return _reject(raw, index, source, f"malformed Observation at {exc.where}: {exc.why}")
    except (ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as exc:
        # A reader defect must not take the rest of the input down with it (as the HL7 v2
        # reader's): this item is rejected with the cause, its raw kept for the report.
        return _reject(raw, index, source, defect("read this item", exc))
    return FhirItem(
        index=index,
        source=source,
        raw=raw,
        resource=parsed,
        groups=groups,
        issues=tuple(reader.issues),
        nodes=reader.nodes,
        reports=reader.reports,
        legacy=tuple(reader.legacy),
        derived=tuple(k for k, n in reader.nodes.items() if n.derived) if reader.derived else (),
        panel_subjects=reader.panel_subjects,
        sent=reader.sent,
        r5_element=_r5_element(reader),
    )


# Elements only FHIR R5 has, of the resources an item holds results in (R4 and R4B have none of
# them: hl7.org/fhir/R5 Observation, DiagnosticReport, Specimen, ServiceRequest, Encounter, Bundle)
_R5_ONLY = {
    "Observation": (
        "triggeredBy",
        "instantiatesCanonical",
        "instantiatesReference",
        "bodyStructure",
        "valueAttachment",
        "valueReference",
    ),
    "DiagnosticReport": ("supportingInfo", "note", "composition", "study"),
    "Specimen": ("role", "feature", "combined"),
    "ServiceRequest": ("focus", "bodyStructure", "location", "reason"),
    "Encounter": (
        "actualPeriod",
        "plannedStartDate",
        "plannedEndDate",
        "admission",
        "reason",
        "subjectStatus",
        "virtualService",
        "careTeam",
        "dietPreference",
        "specialArrangement",
        "specialCourtesy",
    ),
    "Bundle": ("issues",),
}
# Elements only R4 and R4B have (R5 renamed or removed them: hl7.org/fhir/R5 DiagnosticReport
# imagingStudy → study, ServiceRequest reasonCode → reason, Encounter period → actualPeriod …)
_R4_ONLY = {
    "DiagnosticReport": ("imagingStudy",),
    "ServiceRequest": ("reasonCode", "reasonReference", "locationCode", "locationReference"),
    "Encounter": (
        "period",
        "hospitalization",
        "reasonCode",
        "reasonReference",
        "statusHistory",
        "classHistory",
    ),
}
# Elements inside an element (each a path of keys, through lists) only one version has: R5's
# Specimen.container is a device, and R5 made datatypes of R4 others: a CodeableConcept (coding)
# a CodeableReference (concept), Encounter.class a Coding (code) a list of CodeableConcept
_R5_INSIDE = {
    "Specimen": (
        ("container", "device"),
        ("container", "location"),
        ("processing", "method"),
        ("collection", "device"),
        ("collection", "procedure"),
        ("collection", "bodySite", "concept"),
    ),
    "ServiceRequest": (("code", "concept"),),
    "Encounter": (("class", "coding"), ("participant", "actor")),
}
_R4_INSIDE = {
    "Specimen": (
        ("container", "identifier"),
        ("container", "description"),
        ("container", "type"),
        ("container", "capacity"),
        ("container", "additiveCodeableConcept"),
        ("container", "additiveReference"),
        ("processing", "procedure"),
        ("collection", "bodySite", "coding"),
    ),
    "ServiceRequest": (("code", "coding"),),
    "Encounter": (("class", "code"), ("participant", "individual")),
}
# codes only R5 has: DiagnosticReport.status modified, Quantity.comparator ad, and the
# Encounter.status codes R5 brought in (hl7.org/fhir/R5/valueset-encounter-status.html)
_R5_CODES = {
    "DiagnosticReport": ("status", ("modified",)),
    "Observation": ("valueQuantity", ("ad",)),
    "Encounter": ("status", ("on-hold", "discharged", "completed", "discontinued")),
}
# codes only R4 and R4B have: Encounter.status (hl7.org/fhir/R4/valueset-encounter-status.html)
_R4_CODES = {"Encounter": ("status", ("arrived", "triaged", "onleave", "finished"))}


def _r5_element(reader: _ItemReader) -> str:
    """Where the item read by ``reader`` first holds an element or a code only R5 has, in its
    resources or the resources they contain; "" when nowhere (R4, R4B, or not known)."""
    root = reader.root
    top = [reader.located(root, (), root)] if root.get("resourceType") == "Bundle" else []
    for located in (*top, *reader.resources):
        for resource, path in _with_contained(located.resource, located.path):
            found = _version_sign(resource, _R5_ONLY, _R5_INSIDE, _R5_CODES)
            if found:
                return f"{reader.location(path)}.{found}"
    return ""


def r4_element(item: FhirItem) -> str:
    """Where ``item`` first holds an element or a code only R4 and R4B have (R5 renamed or
    removed it), in its resources (a Bundle's entries') or the resources they contain; "" when
    nowhere. Looked for only when R5 is asked for."""
    root = item.resource
    held: list[tuple[Any, Path]] = [(root, ())]
    if root.get("resourceType") == "Bundle":
        held.extend(
            (entry.get("resource"), ("entry", i, "resource"))
            for i, entry in enumerate(_list(root.get("entry")))
            if isinstance(entry, dict)
        )
    for resource, path in held:
        if not isinstance(resource, dict):
            continue
        for inner, at in _with_contained(resource, path):
            found = _version_sign(inner, _R4_ONLY, _R4_INSIDE, _R4_CODES)
            if found:
                return f"{path_location(item.location, root, at)}.{found}"
    return ""


def _with_contained(resource: dict[str, Any], path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    """``resource`` at ``path``, then each resource it contains, at its place."""
    yield resource, path
    for i, inner in enumerate(_list(resource.get("contained"))):
        if isinstance(inner, dict):
            yield inner, (*path, "contained", i)


def _version_sign(
    resource: dict[str, Any],
    only: Mapping[str, tuple[str, ...]],
    inside: Mapping[str, tuple[tuple[str, ...], ...]],
    codes: Mapping[str, tuple[str, tuple[str, ...]]],
) -> str:
    """Where ``resource`` shows it is of one FHIR version, by the tables of that version (each
    by resource type): the first element of ``only`` it holds, else the first path of
    ``inside``, else the element holding a code of ``codes`` (a Quantity's comparator); ""
    when none."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return ""
    found = _version_mark(resource, only.get(kind, ()), inside.get(kind, ()))
    if found:
        return found
    name, values = codes.get(kind, ("", ()))
    value = resource.get(name) if name else None
    if isinstance(value, dict):  # a Quantity: its comparator
        value, name = value.get("comparator"), f"{name}.comparator"
    return name if value in values else ""


def _version_mark(
    resource: dict[str, Any], names: tuple[str, ...], inside: tuple[tuple[str, ...], ...]
) -> str:
    """The first of ``names`` that ``resource`` holds, else the first path of ``inside`` it holds
    (its place: ``container[0].device``); "" when none."""
    for name in names:
        if name in resource:
            return name
    for keys in inside:
        found = _held_at(resource, keys)
        if found is not None:
            return found[1:]
    return ""


def _held_at(node: Any, keys: tuple[str, ...]) -> str | None:
    """The place of ``keys`` in ``node`` (through objects and the lists of them: ``.container[0]
    .device``), None when it holds none."""
    if not keys:
        return ""
    if isinstance(node, list):
        for i, element in enumerate(node):
            found = _held_at(element, keys)
            if found is not None:
                return f"[{i}]{found}"
        return None
    if not isinstance(node, dict) or keys[0] not in node:
        return None
    found = _held_at(node[keys[0]], keys[1:])
    return None if found is None else f".{keys[0]}{found}"


# --------------------------------------------------------------------------- resource → model


@dataclass(slots=True)
class _Located:
    """A resource of the item, where it sits, and the resource whose ``contained`` it can use."""

    resource: dict[str, Any]
    path: Path
    location: str
    container: dict[str, Any]


@dataclass(slots=True)
class _OrderDraft:
    location: str
    report: _Located | None
    patient: Patient | None
    observations: list[_Located] = field(default_factory=list)


@dataclass(slots=True)
class _ItemReader:
    prefix: str
    root: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    nodes: dict[str, NodeRef] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    legacy: list[Path] = field(default_factory=list)
    derived: bool = False  # whether a result is an ANC leukoflag derived (see NodeRef.derived)
    by_url: dict[str, _Located] = field(default_factory=dict)
    # the base of each resource sent under a RESTful fullUrl ([base]/Type/id), by its identity
    bases: dict[int, str] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    specimens: dict[str, Specimen] = field(default_factory=dict)
    # A specimen reference the item does not hold (Type/id) -> the first location naming it
    unresolved_specimens: dict[str, str] = field(default_factory=dict)
    # By the identity of a container: its contained resources' positions by id (the first of
    # each id), and its path (see path_of). Built once: a scan for each reference was quadratic.
    contained_ids: dict[int, dict[str, int]] = field(default_factory=dict)
    paths: dict[int, Path] | None = None
    # the keys an object of the item holds more than once, by its identity (see _item)
    repeats: Repeats = field(default_factory=dict)
    # an Observation, component or nested Bundle set aside and said so (a modifier, its subject,
    # malformed): the item holds results, so fhir.no-results is not said
    modified: bool = False
    # Patients with a modifierExtension (by location): their results are set aside
    qualified_patients: set[str] = field(default_factory=set)
    # Bundle entries with a modifierExtension, by the identity of their resource: what it says
    # holds for the resource (its modifiers, and the entry's location)
    entry_modifiers: dict[int, tuple[Any, str]] = field(default_factory=dict)
    # Specimens and Encounters (by identity) whose modifierExtension was said: said once
    said: set[int] = field(default_factory=set)
    # elements (by location) sending modifierExtension twice: said as a repeat, not by its value
    modifiers_twice: set[str] = field(default_factory=set)
    order_time: Timestamp | None = None  # the DiagnosticReport's effective[x], while it is read
    order_issued: Timestamp | None = None  # and its issued
    draft: _OrderDraft | None = None  # the order being read
    # its Specimens as its Order lists them, read when a result has no time of its own
    draft_specimens: tuple[Specimen, ...] | None = None
    # a message Bundle's timestamp: when it was sent, as MSH-7 (a searchset's or a history's is
    # when it was read out, maybe years after the blood was drawn: not a result's date)
    sent: Timestamp | None = None
    # the item's resources (a Bundle's entries, else the item itself), as read
    resources: list[_Located] = field(default_factory=list)
    # Patients of the item by each identifier they carry (system, value): built at the first
    # subject sent as an identifier only
    patient_ids: dict[tuple[str, str], list[_Located]] | None = None
    # the panel whose hasMember first names an Observation, by the member's identity: its time
    # dates a member sent without one (see panel_time)
    panels: dict[int, _Located] = field(default_factory=dict)
    # the other panels whose hasMember names an Observation, by its identity (see member_of)
    more_panels: dict[int, list[_Located]] = field(default_factory=dict)
    # the Patient each subject holder names, by its identity (see whose): said once
    holder_patients: dict[int, Patient | None] = field(default_factory=dict)
    # see FhirItem.panel_subjects
    panel_subjects: dict[Path, Path] = field(default_factory=dict)
    # the element each Specimen's collection time was read from, by the Specimen's location
    collected_elements: dict[str, str] = field(default_factory=dict)

    def location(self, path: Path) -> str:
        return path_location(self.prefix, self.root, path)

    def issue(self, severity: Severity, code: str, location: str, text: str) -> None:
        self.issues.append(_new_issue(severity, f"fhir.{code}", location, text))

    def located(self, resource: dict[str, Any], path: Path, container: dict[str, Any]) -> _Located:
        return _Located(resource, path, self.location(path), container)

    def read(self) -> tuple[PatientResult, ...]:
        root = self.root
        kind = root["resourceType"]
        top = self.located(root, (), root)
        resources = self.resources = self.bundle_resources() if kind == "Bundle" else [top]
        observations = [r for r in resources if r.resource.get("resourceType") == "Observation"]
        reports = [r for r in resources if r.resource.get("resourceType") == "DiagnosticReport"]
        for nested in resources:
            nested_kind = nested.resource.get("resourceType")
            if nested_kind == "Parameters":
                self.parameters_not_read(nested.resource, nested.path)
            elif nested_kind == "Bundle" and nested.path:
                self.modified = True
                # a warning, as for results set aside: the counts it holds go out unflagged
                self.issue(
                    Severity.WARNING,
                    "nested-bundle-not-read",
                    nested.location,
                    "a Bundle inside a Bundle is passed through unread: the results it holds "
                    "are not flagged",
                )
        if kind == "Bundle" and (root.get("type") == "message" or _from_v2(resources)):
            self.sent = self.timestamp(root.get("timestamp"), f"{self.prefix}/Bundle.timestamp")
        if kind == "Bundle" and "implicitRules" in root:
            # a Bundle's one modifier element (it has no modifierExtension): rules for it all
            done = "passed through unchanged, its results unread and unflagged"
            self.unknown_modifiers(_Rules(root["implicitRules"]), top.location, "this Bundle", done)
            return ()
        if (
            kind == "Bundle"
            and root.get("type") in ("document", "message")
            and resources
            and resources[0].path == ("entry", 0, "resource")
            and self.document_withdrawn(resources[0])
        ):
            return ()
        drafts = self.orders(observations, reports)
        groups = self.groups(drafts)
        if not self.nodes and not self.modified:  # one set aside was said so
            self.issue(
                Severity.INFORMATION,
                "no-results",
                f"{self.prefix}/{kind}",
                f"the {kind} holds no Observation: passed through unchanged",
            )
        return groups

    def document_withdrawn(self, first: _Located) -> bool:
        """Whether a document Bundle's first entry, its Composition (which is the document,
        FHIR says), withdraws the whole document: entered-in-error or cancelled, or a modifier
        leukoflag does not know (both modifiers, as its status is); said so. Its results are then
        passed through unread and unflagged, as a report's of that status are not flagged. A
        message Bundle's MessageHeader, first too, governs the message alike by its modifiers."""
        composition = first.resource
        kind = composition.get("resourceType")
        what = {"Composition": "document", "MessageHeader": "message"}.get(str(kind))
        if what is None or what != self.root.get("type"):
            return False
        sent = self.modifiers_of(composition, first.location)
        if sent is not None:
            done = f"the {what} passed through unchanged, its results unread and unflagged"
            self.unknown_modifiers(sent[0], sent[1], f"this {what}", done)
            return True
        if kind != "Composition":
            return False
        status = composition.get("status")
        if status not in ("entered-in-error", "cancelled"):
            return False
        self.modified = True
        self.issue(
            Severity.INFORMATION,
            "document-withdrawn",
            f"{first.location}.status",
            f"the document's Composition is {status}, which says the document is not to be "
            "treated as valid: passed through unchanged, its results unread and unflagged",
        )
        return True

    def parameters_not_read(self, parameters: dict[str, Any], path: Path) -> None:
        """Each resource that may hold results inside a Parameters (an operation's output), at
        any depth of ``part``: passed through unread, said as for a nested Bundle."""
        pending: list[tuple[Any, Path]] = [(parameters.get("parameter"), (*path, "parameter"))]
        while pending:
            listed, where = pending.pop(0)
            if not isinstance(listed, list):
                continue
            for i, parameter in enumerate(listed):
                if not isinstance(parameter, dict):
                    continue
                inner = parameter.get("resource")
                if isinstance(inner, dict) and inner.get("resourceType") in _HOLDING_RESULTS:
                    self.modified = True
                    self.issue(
                        Severity.WARNING,
                        "parameters-not-read",
                        self.location((*where, i, "resource")),
                        "a resource inside a Parameters is passed through unread: its results "
                        "are not flagged",
                    )
                pending.append((parameter.get("part"), (*where, i, "part")))

    # ----------------------------------------------------------------- structure

    def bundle_resources(self) -> list[_Located]:
        entries = self.root.get("entry", [])
        if not isinstance(entries, list) or (self.repeats and self.repeated(self.root, _ENTRY)):
            # entries sent twice: the parse kept the last list, the first one's results are lost
            twice = isinstance(entries, list)
            self.issue(
                Severity.WARNING,
                "bundle-malformed",
                f"{self.prefix}/Bundle.entry",
                (
                    _repeated("entry", "entries the sender meant are")
                    if twice
                    else "Bundle.entry is not a list"
                )
                + ": nothing read from it",
            )
            return []
        found: list[_Located] = []
        # a history Bundle lists each resource's versions newest first: identity -> the newest
        newest: dict[str, int] | None = {} if self.root.get("type") == "history" else None
        requests = self.root.get("type") in ("transaction", "batch")
        for i, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if newest is not None and self.older_version(entry, i, newest):
                continue
            if requests and self.deleted(entry, resource, i):
                continue
            if not isinstance(resource, dict):
                if not isinstance(entry, dict) or "resource" in entry:
                    self.no_resource(entry, resource, i)
                continue
            if self.repeats and self.repeated(entry, _RESOURCE):
                # two resources in one entry: the parse kept the last, the first is lost
                self.modified = True
                self.issue(
                    Severity.WARNING,
                    "bundle-malformed",
                    self.location(("entry", i, "resource")),
                    _repeated("resource", "resource the sender meant is")
                    + ": this entry is passed through unread",
                )
                continue
            if self.repeats and self.unknown_type(
                resource, self.location(("entry", i, "resource"))
            ):
                continue
            kind = resource.get("resourceType")
            if not isinstance(kind, str) or kind not in resource_types():
                self.no_resource(entry, resource, i)
            located = self.located(resource, ("entry", i, "resource"), resource)
            found.append(located)
            if (
                self.repeats and self.modifiers_repeated(entry, self.location(("entry", i)))
            ) or entry.get("modifierExtension"):
                location = self.location(("entry", i))
                self.entry_modifiers[id(resource)] = (entry["modifierExtension"], location)
            self.index_reference(entry.get("fullUrl"), resource, located)
        return found

    def no_resource(self, entry: Any, resource: Any, i: int) -> None:
        """Entry ``i`` holds no FHIR resource (none of its results, if any, is read): said."""
        self.modified = True
        if not isinstance(entry, dict):
            at: Path = ("entry", i)
            text = f"not a Bundle entry: {_shape(entry)}, not an object: passed through unread"
        else:
            at = ("entry", i, "resource")
            kind = resource.get("resourceType") if isinstance(resource, dict) else None
            why = (
                f"{_shape(resource)}, not an object"
                if not isinstance(resource, dict)
                else "no resourceType"
                if kind is None
                else f"unknown resourceType {quoted(kind)}"
            )
            text = f"not a FHIR resource: {why}: this entry is passed through unread"
        self.issue(Severity.WARNING, "bundle-malformed", self.location(at), text)

    def deleted(self, entry: Any, resource: Any, i: int) -> bool:
        """Whether entry ``i`` of a transaction or batch holds a result or report its request
        deletes (said so): the findings and a report's conclusion would describe a resource
        the Bundle removes from the server."""
        request = entry.get("request") if isinstance(entry, dict) else None
        if not (isinstance(request, dict) and request.get("method") == "DELETE"):
            return False
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in ("Observation", "DiagnosticReport"):
            return False
        self.modified = True
        self.issue(
            Severity.INFORMATION,
            "entry-deleted",
            self.location(("entry", i, "resource")),
            f"the entry's request deletes {quoted(request.get('url'))}: this {kind} is passed "
            "through unread and unflagged",
        )
        return True

    def older_version(self, entry: Any, i: int, newest: dict[str, int]) -> bool:
        """Whether entry ``i`` of a history Bundle is an older version of a resource than an
        entry before it (said so for results and reports): the findings and a report's
        conclusion describe the resource as it now stands, or stood before it was deleted."""
        identity = _version_identity(entry)
        if not identity:
            return False
        first = newest.setdefault(identity, i)
        if first == i:
            return False
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind in ("Observation", "DiagnosticReport"):
            self.modified = True
            entries = self.root["entry"]
            deleted = not isinstance(entries[first].get("resource"), dict)
            later = "records its deletion" if deleted else "holds its newest version"
            self.issue(
                Severity.INFORMATION,
                "version-superseded",
                self.location(("entry", i, "resource")),
                f"an older version of {identity} (a history Bundle lists the newest first, and "
                f"{self.location(('entry', first))} {later}): passed through unread and "
                "unflagged",
            )
        return True

    def unknown_type(self, resource: dict[str, Any], where: str) -> bool:
        """Whether ``resource`` (at ``where``) sends resourceType more than once, said so: which
        resource it is is not known, so it is passed through unread and answers no reference."""
        if not self.repeats_said(resource, _TYPE_REPEATS, where):
            return False
        self.modified = True
        return True

    def index_reference(self, full_url: Any, resource: dict[str, Any], located: _Located) -> None:
        kind, rid = resource.get("resourceType"), resource.get("id")
        twice = self.repeats and self.repeats_said(resource, _ID_REPEATS, located.location)
        if twice:
            rid = None  # a reference by either Type/id may mean another resource: it names none
        if isinstance(full_url, str) and full_url:
            self.by_url.setdefault(full_url, located)
            parts = full_url.rstrip("/").split("/")
            if len(parts) >= 4 and parts[-2] == kind and "://" in full_url:
                # a RESTful fullUrl, [base]/Type/id: its relative references are of that server
                self.bases[id(resource)] = "/".join(parts[:-2])
                if not twice and not (isinstance(rid, str) and rid):
                    # it names the resource though it sends no id: a relative reference
                    # (Patient/123) resolves against it all the same
                    rid = parts[-1]
        if isinstance(kind, str) and isinstance(rid, str) and rid:
            self.by_url.setdefault(f"{kind}/{rid}", located)

    def resolve(
        self, reference: Any, container: dict[str, Any], where: str, *, say: bool = True
    ) -> _Located | None:
        """The resource a Reference points to, inside this item (None: not resolvable here);
        ``say``: report a local or ``urn:`` reference that names nothing."""
        if not isinstance(reference, dict):
            return None
        target = reference.get("reference")
        if not isinstance(target, str) or not target:
            return None
        if target == "#":  # FHIR: the resource that contains the one referring
            return self.located(container, self.path_of(container), container)
        if target.startswith("#"):
            contained = container.get("contained")
            if isinstance(contained, list):
                i = self.contained_position(container, contained, target[1:])
                if i is not None:
                    kind = contained[i].get("resourceType")
                    if not isinstance(kind, str) or kind not in resource_types():
                        # an object with an id that is no resource: what it is is not known
                        if say:
                            self.modified = True
                            why = (
                                "no resourceType"
                                if kind is None
                                else (f"unknown resourceType {quoted(kind)}")
                            )
                            self.issue(
                                Severity.WARNING,
                                "reference-unresolved",
                                where,
                                f"reference {quoted(target)} names a contained object that is "
                                f"no FHIR resource ({why}): not read",
                            )
                        return None
                    container_path = self.path_of(container)
                    return self.located(contained[i], (*container_path, "contained", i), container)
            if not say:
                return None
            self.issue(
                Severity.WARNING,
                "reference-unresolved",
                where,
                f"reference {quoted(target)} names no contained resource",
            )
            return None
        if self.bases and "/" in target and not target.startswith("urn:"):
            found = self.restful(target, container)
            if found is None and say and where and "://" not in target:
                self.other_base(reference, target, container, where)
        else:
            found = self.by_url.get(target)
        if found is None and "/" in target and not self.bases:
            parts = target.rstrip("/").split("/")
            # an absolute URL, possibly with /_history/n: match on its Type/id
            if len(parts) >= 4 and parts[-2] == "_history":
                parts = parts[:-2]
            found = self.by_url.get("/".join(parts[-2:]))
        if found is None and say and target.startswith("urn:"):
            kind = self.root["resourceType"]
            self.issue(
                Severity.WARNING,
                "reference-unresolved",
                where,
                f"reference {quoted(target)} names no entry of the Bundle"
                if kind == "Bundle"
                # only a Bundle's fullUrl gives a resource a urn: to be named by
                else f"reference {quoted(target)} names nothing in the item: a urn: reference "
                f"names a Bundle entry by its fullUrl, and the item is {_article(kind)} {kind}, "
                "not a Bundle",
            )
        return found

    def restful(self, target: str, container: dict[str, Any]) -> _Located | None:
        """The entry a reference ``target`` (relative, or an absolute URL, maybe with
        /_history/n) names in a Bundle of RESTful fullUrls, as FHIR resolves it: by the fullUrl
        its server's base (its own, else that of the entry of ``container``) gives it, else by
        its Type/id, but not in another server's entry: two servers' Patient/123 are two."""
        parts = target.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        type_id = "/".join(parts[-2:])
        base = "/".join(parts[:-2]) if "://" in target else self.bases.get(id(container), "")
        if base:
            found = self.by_url.get(f"{base}/{type_id}")
            if found is not None:
                return found
        found = self.by_url.get(target) or self.by_url.get(type_id)
        if found is None or not base:
            return found
        theirs = self.bases.get(id(found.resource), "")
        return None if theirs and theirs != base else found

    def other_base(
        self, reference: dict[str, Any], target: str, container: dict[str, Any], where: str
    ) -> None:
        """Say (once per reference) that relative ``target``, naming nothing under its entry's
        base, passed over an entry of its Type/id under another base: the same server written
        with another scheme or host is not told apart from another server."""
        base = self.bases.get(id(container), "")
        parts = target.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        type_id = "/".join(parts[-2:])
        other = self.by_url.get(type_id)
        if not base or other is None or id(reference) in self.said:
            return
        self.said.add(id(reference))
        self.issue(
            Severity.WARNING,
            "reference-unresolved",
            where,
            f"reference {quoted(target)} names no entry of its own server, {base} (the base of "
            f"the fullUrl of the entry it is in): {other.location}, sent as "
            f"{self.bases.get(id(other.resource), '')}/{type_id}, is another server's {type_id} "
            "and is not taken for it, as FHIR resolves references (the same server written "
            "with another scheme or host?)",
        )

    def contained_position(
        self, container: dict[str, Any], contained: list[Any], rid: str
    ) -> int | None:
        """The position in ``contained`` (``container``'s) of the first resource with id ``rid``."""
        positions = self.contained_ids.get(id(container))
        if positions is None:
            positions = self.contained_ids[id(container)] = {}
            for i, resource in enumerate(contained):
                if isinstance(resource, dict):
                    if self.repeats and self.repeated(resource, _IDENTITY):
                        # which resource or id it is is not known: #id names none of them (an
                        # Observation's contained is said as making it malformed)
                        if container.get("resourceType") != "Observation":
                            where = self.location((*self.path_of(container), "contained", i))
                            self.repeats_said(resource, {**_TYPE_REPEATS, **_ID_REPEATS}, where)
                        continue
                    sent = resource.get("id")
                    if isinstance(sent, str):
                        positions.setdefault(sent, i)
        return positions.get(rid)

    def path_of(self, container: dict[str, Any]) -> Path:
        """The path of a resource that holds contained ones: the first indexed entry that is
        it, else the first entry that is it, else the root's."""
        if container is self.root:
            return ()
        paths = self.paths
        if paths is None:
            paths = self.paths = {}
            for located in self.by_url.values():
                paths.setdefault(id(located.resource), located.path)
            entries = self.root.get("entry")
            if isinstance(entries, list):
                for i, entry in enumerate(entries):
                    if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                        paths.setdefault(id(entry["resource"]), ("entry", i, "resource"))
        return paths.get(id(container), ())

    def orders(self, observations: list[_Located], reports: list[_Located]) -> list[_OrderDraft]:
        drafts: list[_OrderDraft] = []
        listed: set[int] = set()
        readable = []
        for report in reports:
            sent = self.modifiers_of(report.resource, report.location)
            twice = (
                self.repeats_said(report.resource, _REPORT_REPEATS, report.location)
                if (self.repeats and sent is None)
                else ()
            )
            if sent is None and not twice:
                twice = self.report_malformed(report)  # read as not known, as one sent twice
            if "subject" in twice or "status" in twice or "specimen" in twice:
                self.modified = True  # whose results, or whether they stand, is not known
            elif "result" in twice:
                continue  # which results it orders is not known: each is read as listed by none
            elif sent is None:
                context = [
                    *_list(report.resource.get("specimen")),
                    report.resource.get("encounter"),
                ]
                if not self.qualified_context(context, report.container) and not self.not_patient(
                    report, "the results it lists are"
                ):
                    readable.append(report)
                    continue
            else:
                # the report orders its results (patient, time, conclusion): what the modifier
                # says of it may hold for them too (a proficiency-testing run), so none is acted on
                self.unknown_modifiers(
                    sent[0],
                    sent[1],
                    "this report",
                    "passed through unchanged, and the results it lists unread and unflagged",
                )
            listed.update(id(target.resource) for target in self.listed_results(report))
        for report in readable:
            draft = _OrderDraft(report.location, report, self.patient_of(report))
            taken = set(listed)
            for target in self.listed_results(report):
                if id(target.resource) in listed:
                    continue
                listed.add(id(target.resource))
                # its contained Observations are read with it: a panel's #id members not twice
                listed.update(id(inner) for inner in _list(target.resource.get("contained")))
                if not self.other_patient(target, report):
                    draft.observations.append(target)
            if "subject" not in report.resource and draft.observations:
                # DiagnosticReport.subject is optional in R4: its results then say whose they
                # are (the same patient for all, or none is known)
                patients = {
                    p.location if p is not None else "": p
                    for p in map(self.whose, draft.observations)
                }
                if len(patients) == 1:
                    draft.patient = next(iter(patients.values()))
                elif len(patients.keys() - {""}) > 1 and self.copies_of_one(draft.observations):
                    # each result's contained copy of one patient: her order, as one Patient's
                    if "" not in patients:
                        draft.patient = next(iter(patients.values()))
                elif len(patients.keys() - {""}) > 1:
                    # one order of two patients would derive an ANC of one's WBC and the other's
                    # neutrophils: each result is read by its own subject, as no report lists it
                    self.subjects_differ(report, [p for p in patients.values() if p is not None])
                    listed = taken
                    continue
            drafts.append(draft)
        for observation in observations:
            if id(observation.resource) in listed or "hasMember" not in observation.resource:
                continue
            for j, member in enumerate(_list(observation.resource.get("hasMember"))):
                # a report's panel has its members resolved as its results: this one's are not;
                # all before any is grouped, as a member sent before its panel takes its subject
                where = f"{observation.location}.hasMember[{j}]"
                named = self.resolve(member, observation.container, where)
                if named is not None:
                    self.member_of(named, observation)
        loose: dict[str, _OrderDraft] = {}
        heads: dict[tuple[str, ...], list[tuple[_Located, str]]] = {}  # see loose_key
        for observation in observations:
            if id(observation.resource) in listed:
                continue
            listed.add(id(observation.resource))
            patient = self.whose(observation)
            key = patient.location if patient is not None else ""
            if key and key not in loose:
                key = self.loose_key(self.subject_holder(observation), key, heads)
            if key not in loose:
                # the results no report lists, one "order" per patient: ITEM[n]/Bundle, (2), …
                where = f"{self.prefix}/{self.root['resourceType']}"
                if loose:
                    where += f"({len(loose) + 1})"
                loose[key] = _OrderDraft(where, None, patient)
            loose[key].observations.append(observation)
        drafts.extend(loose.values())
        return drafts

    def report_malformed(self, report: _Located) -> tuple[str, ...]:
        """The key of ``report`` (``subject``, ``result``, ``specimen``) that is not a Reference
        (or a list of them), said at it: read as none, its results would be judged as a
        patient's of no known age, read silently as listed by no report, or a CSF count as
        blood. Read as not known, as one sent twice (a specimen: its results set aside)."""
        resource = report.resource
        wrong: tuple[str, str] | None = None
        if resource.get("subject") is not None:
            wrong = _not_reference(resource["subject"], "subject")
        key = "subject"
        if wrong is None and resource.get("result") is not None:
            key, wrong = "result", _not_references(resource["result"], "result")
        if wrong is None and resource.get("specimen") is not None:
            key, wrong = "specimen", _not_references(resource["specimen"], "specimen")
        if wrong is None:
            return ()
        self.modified = True
        self.issue(
            Severity.WARNING,
            "report-malformed",
            f"{report.location}.{wrong[0]}",
            f"{wrong[1]}: {_REPORT_REPEATS[key]}",
        )
        return (key,)

    def other_patient(self, result: _Located, report: _Located) -> bool:
        """Whether ``result``, which ``report`` lists, names another Patient of the item as its
        subject than the report does, said so: judged by the report's patient, a mother's count
        would be read as her newborn's; whose blood it is is not known, so it is not judged."""
        holder = self.subject_holder(result)  # a panel's member without a subject: the panel's
        theirs = self.subject_patient(holder)
        if theirs is None:
            return False
        ours = self.subject_patient(report)
        if ours is None or self.one_patient(ours, theirs):
            return False
        self.modified = True
        self.issue(
            Severity.WARNING,
            "subject-mismatch",
            f"{result.location}.subject" if holder is result else result.location,
            (
                "the subject"
                if holder is result
                else f"the Observation has no subject, and that of the panel whose member it is "
                f"({holder.location}.subject)"
            )
            + f" is the Patient at {theirs.location}, but the DiagnosticReport at "
            f"{report.location} that lists this Observation is of the Patient at "
            f"{ours.location}: whose result it is is not known, so it is passed through unread "
            "and unflagged",
        )
        return True

    def one_patient(self, ours: _Located, theirs: _Located) -> bool:
        """Whether two Patients of the item are one patient (see _same_patient): one resource,
        or one sent twice (a PUT and its include, a copy)."""
        # identifiers sent twice are not known to be the patient's: no copy is known by them
        identified = not (
            self.repeats and (self.identifiers_repeated(ours) or self.identifiers_repeated(theirs))
        )
        return _same_patient(ours, theirs, identified=identified, bases=self.bases)

    def contained_other_patient(self, inner: _Located, container: _Located) -> bool:
        """Whether ``inner``, an Observation contained in ``container`` (read with its order),
        names another Patient of the item as its subject than its container is read as, said
        so: as for a report's result of another patient (other_patient), whose it is is not
        known."""
        theirs = self.subject_patient(inner)
        if theirs is None:
            return False
        holder = self.subject_holder(container)  # a panel's member without a subject: the panel's
        if "subject" not in holder.resource:
            report = self.draft.report if self.draft is not None else None
            if report is None or "subject" not in report.resource:
                return False
            holder = report
        ours = self.subject_patient(holder)
        if ours is None or self.one_patient(ours, theirs):
            return False
        self.modified = True
        self.issue(
            Severity.WARNING,
            "subject-mismatch",
            f"{inner.location}.subject",
            f"the subject is the Patient at {theirs.location}, but the Observation at "
            f"{container.location} that contains this Observation is read as of the Patient at "
            f"{ours.location} ({holder.location}.subject): whose result it is is not known, so it "
            "is passed through unread and unflagged",
        )
        return True

    def copies_of_one(self, results: list[_Located]) -> bool:
        """Whether the Patients the subjects of ``results`` name (those naming one) are all one
        patient, as :meth:`other_patient` tells it (see _same_patient); nothing said."""
        located = [self.subject_patient(result) for result in results]
        named = [patient for patient in located if patient is not None]
        if not named or len(named) != sum("subject" in r.resource for r in results):
            return False  # a subject naming no Patient of the item: not known to be hers
        first = named[0]
        return all(
            _same_patient(
                first,
                other,
                identified=not (
                    self.repeats
                    and (self.identifiers_repeated(first) or self.identifiers_repeated(other))
                ),
                bases=self.bases,
            )
            for other in named[1:]
        )

    def loose_key(
        self,
        observation: _Located,
        key: str,
        heads: dict[tuple[str, ...], list[tuple[_Located, str]]],
    ) -> str:
        """The order of results no report lists for ``observation``, whose Patient is at ``key``:
        that of a Patient it is a copy of (see _same_patient; each result's contained copy of
        him), else its own, indexed in ``heads`` by what a copy shares (id, identifier, or for
        one with neither its birth date and gender), so a large export compares few Patients."""
        mine = self.subject_patient(observation)
        if mine is None:
            return key
        resource = mine.resource
        marks = [
            ("identifier", system, value)
            for i in _list(resource.get("identifier"))
            if isinstance(i, dict)
            and (system := _text(i.get("system")))
            and (value := _text(i.get("value")))
        ]
        rid = resource.get("id")
        if "contained" not in mine.path and isinstance(rid, str) and rid:
            # two servers' Patient/123 are two (see restful): an id is one patient's per base
            marks.append(("id", self.bases.get(id(resource), ""), rid))
        if not marks:  # an equal copy (a contained one) shares these at least
            marks.append(("born", _text(resource.get("birthDate")), _text(resource.get("gender"))))
        for mark in marks:
            for head, head_key in heads.get(mark, ()):
                identified = not (
                    self.repeats
                    and (self.identifiers_repeated(head) or self.identifiers_repeated(mine))
                )
                if _same_patient(head, mine, identified=identified, bases=self.bases):
                    return head_key
        for mark in marks:
            heads.setdefault(mark, []).append((mine, key))
        return key

    def subjects_differ(self, report: _Located, patients: list[Patient]) -> None:
        """Say that ``report``, without subject, lists results of several ``patients``."""
        self.modified = True
        shown = ", ".join(p.location for p in patients[:3])
        self.issue(
            Severity.WARNING,
            "subject-mismatch",
            f"{report.location}.result",
            f"the DiagnosticReport has no subject, and the results it lists are of "
            f"{len(patients)} Patients of the item ({shown}{', …' if len(patients) > 3 else ''}): "
            "its order is not one patient's, so it is passed through unchanged (no "
            "conclusionCode), and its results are read as those no report lists, each by its "
            "own subject",
        )

    def subject_patient(self, located: _Located) -> _Located | None:
        """The one Patient of the item that ``located``'s subject names, as :meth:`patient_of`
        reads it (a reference, an identifier, a search by identifier), nothing said; else None."""
        named = self.subject_identifier(located, say=False)
        if named is not None:  # named by identifier: a urn: or id would miss a mother's count
            sent = named[0]
            if not isinstance(sent, dict):
                return None
            system, value = _text(sent.get("system")), _text(sent.get("value"))
            found = self.identified_patients().get((system, value), [])
            return found[0] if system and value and len(found) == 1 else None
        target = self.resolve(located.resource.get("subject"), located.container, "", say=False)
        if target is None or target.resource.get("resourceType") != "Patient":
            return None
        return target

    def subject_identifier(self, located: _Located, *, say: bool) -> tuple[Any, str] | None:
        """The identifier ``located``'s subject names its Patient by (see _subject_identifier),
        also when it sends one beside a reference that names nothing in the item (a Patient of
        the EHR's server, not in the file): FHIR has both name one patient. ``say``: report a
        local or ``urn:`` reference that names nothing."""
        subject = located.resource.get("subject")
        named = _subject_identifier(subject)
        if named is None and isinstance(subject, dict) and "identifier" in subject:
            where = f"{located.location}.subject"
            if self.resolve(subject, located.container, where, say=say) is None:
                named = subject["identifier"], "identifier"
        return named

    def listed_results(self, report: _Located) -> Iterator[_Located]:
        """The Observations of the item a DiagnosticReport's ``result`` names, in its order, each
        followed by the members of the panel it is (``hasMember``, at any depth): a report that
        lists a CBC panel orders the counts in it."""
        seen: set[int] = set()
        # lists of references still to read: (references, from which index, the resource they
        # are resolved in, where they are); a stack, not recursion, as a chain may be long
        stack: list[tuple[list[Any], int, dict[str, Any], str, _Located | None]] = [
            (
                _list(report.resource.get("result")),
                0,
                report.resource,
                f"{report.location}.result",
                None,
            )
        ]
        while stack:
            references, start, container, where, panel = stack.pop()
            for j in range(start, len(references)):
                target = self.resolve(references[j], container, f"{where}[{j}]")
                if target is None or target.resource.get("resourceType") != "Observation":
                    continue
                if id(target.resource) in seen:
                    continue  # listed twice, or a panel that is its own member
                seen.add(id(target.resource))
                if panel is not None:
                    self.member_of(target, panel)
                yield target
                members = _list(target.resource.get("hasMember"))
                if members:
                    stack.append((references, j + 1, container, where, panel))
                    where = f"{target.location}.hasMember"
                    stack.append((members, 0, target.container, where, target))
                    break

    def groups(self, drafts: list[_OrderDraft]) -> tuple[PatientResult, ...]:
        by_patient: dict[str, tuple[Patient | None, list[Order]]] = {}
        for draft in drafts:
            if draft.patient is not None and draft.patient.location in self.qualified_patients:
                continue  # said when the Patient was read
            order = self.order(draft)
            if order is None:
                continue
            key = draft.patient.location if draft.patient is not None else ""
            by_patient.setdefault(key, (draft.patient, []))[1].append(order)
        return tuple(
            _new_patient_result(patient, None, tuple(orders))
            for patient, orders in by_patient.values()
        )

    def order(self, draft: _OrderDraft) -> Order | None:
        results: list[LabResult] = []
        specimens: dict[str, Specimen] = {}
        report = draft.report
        # read first: a result without a date of its own takes its report's for age bands
        self.order_time = self.order_issued = None
        self.draft, self.draft_specimens = draft, None
        twice: tuple[str, ...] = ()
        if report is not None:
            # said when the report was found readable (orders): an effective[x], issued or specimen
            # sent twice dates or describes its results not at all rather than by the last
            twice = self.repeats.get(id(report.resource), ()) if self.repeats else ()
            if not _REPORT_TIMES.intersection(twice) and not self.choices_said(
                report.resource, "effective", EFFECTIVE, report.location, "the report's time"
            ):
                self.order_time = self.effective(report.resource, report.location)
            if "issued" not in twice:
                issued = report.resource.get("issued")
                self.order_issued = self.timestamp(issued, f"{report.location}.issued")
            if self.order_time is not None and (self.order_issued or self.sent):
                sent = _effective_element(report.resource)
                where = report.location
                self.drawn_after(self.order_time, None, where, sent, where, dated_by="report")
        for observation in draft.observations:
            results.extend(
                self.observation_results(observation, draft.location, specimens, draft.patient)
            )
        if report is None and not results:
            return None
        if report is None:
            return _new_order(
                location=draft.location,
                code=_new_concept(),
                status=ReportStatus.UNKNOWN,
                results=tuple(results),
                specimens=tuple(specimens.values()),
                gathered=True,
            )
        self.reports[draft.location] = report.path
        resource = report.resource
        status_text = resource.get("status")
        status = _REPORT_STATUSES.get(status_text) if isinstance(status_text, str) else None
        if status is None:
            self.issue(
                Severity.WARNING,
                "status-unknown",
                f"{report.location}.status",
                f"DiagnosticReport.status {quoted(status_text)} is not a FHIR report status",
            )
            status = ReportStatus.UNKNOWN
        for j, reference in enumerate(
            _list(resource.get("specimen")) if "specimen" not in twice else ()
        ):
            specimen = self.specimen(reference, report, f"{report.location}.specimen[{j}]")
            if specimen is not None:
                specimens.setdefault(specimen.location, specimen)
        placer = filler = None
        for ident in _list(resource.get("identifier")):
            found = _identifier(ident)
            if found is None:
                continue
            if found.type_code == "PLAC" and placer is None:
                placer = found
            elif found.type_code == "FILL" and filler is None:
                filler = found
        return _new_order(
            location=draft.location,
            code=_concept(resource.get("code")),
            status=status,
            status_text=status_text if isinstance(status_text, str) else "",
            placer_id=placer,
            filler_id=filler,
            effective=self.order_time,
            issued=self.order_issued,
            results=tuple(results),
            specimens=tuple(specimens.values()),
        )

    # ----------------------------------------------------------------- Observation

    def observation_results(
        self,
        observation: _Located,
        order: str,
        specimens: dict[str, Specimen],
        patient: Patient | None,
    ) -> list[LabResult]:
        """The results of one Observation: itself, its components, its contained Observations."""
        resource = observation.resource
        if self.repeats and (key := self.repeated(resource, _DECIDING_OBSERVATION)):
            self.malformed(observation, key, _repeated(key))
            return []
        status_text = resource.get("status")
        if not isinstance(status_text, str) or not status_text:
            # a status sent that is not a code is not missing: the reason quotes it
            missing = status_text is None or status_text == ""
            why = f"{quoted(status_text)} is not a status code"
            self.malformed(
                observation, "status", "Observation.status is required" if missing else why
            )
            return []
        code = resource.get("code")
        if not isinstance(code, dict):
            why = f"{quoted(code)} is not a CodeableConcept"
            self.malformed(
                observation, "code", "Observation.code is required" if code is None else why
            )
            return []
        for key in ("subject", "specimen"):
            # a Reference sent as a list or a string, read as none, would judge a CSF count as
            # blood or a child by adult rules without a word: which one was meant is not known
            sent = resource.get(key)  # null: not sent, as a status or code of null is
            if sent is not None and (wrong := _not_reference(sent, key)) is not None:
                self.malformed(observation, *wrong)
                return []
        for key in ("hasMember", "focus"):
            # a panel's members take its time and subject, a focus names whom the result is
            # about (a newborn in his mother's record): read as none, they would lose them
            sent = resource.get(key)
            if sent is not None and (wrong := _not_references(sent, key)) is not None:
                self.malformed(observation, *wrong)
                return []
        if self.unknown_modifier(resource, observation.location):
            return []
        context = [
            resource.get("specimen"),
            resource.get("encounter"),
            *_list(resource.get("focus")),
        ]
        if self.qualified_context(context, observation.container):
            return []
        if self.not_patient(observation, "this Observation is"):
            return []
        if ("focus" in resource or self.panels) and self.about_another(observation):
            return []
        if self.panels and "subject" not in resource:
            if id(resource) in self.more_panels and self.panels_disagree(observation):
                return []
            if self.panel_not_patient(observation):
                return []
            holder = self.subject_holder(observation)
            # a derived ANC's subject; a panel contained in another entry's resource too
            if holder is not observation and len(observation.path) == 3 <= len(holder.path):
                self.panel_subjects[observation.path] = holder.path
        known, told = len(self.nodes), len(self.issues)
        try:
            return self.observation_results_checked(
                observation, order, specimens, status_text, patient
            )
        except _Malformed as exc:
            if observation.path == () or not self.root.get("resourceType") == "Bundle":
                raise
            # forget the parts of it already read: none of it is flagged
            # the results it added are the newest nodes (a malformed contained one already took
            # its own back): a look at those only, as a scan of all nodes for each malformed
            # Observation was quadratic
            prefix = observation.location
            added = len(self.nodes) - known
            for location in list(islice(reversed(self.nodes), added)):
                if location == prefix or location.startswith(prefix + "."):
                    del self.nodes[location]
            # nor what its reading said of its elements ('valueString … read as the number'):
            # it is passed through unread (Issues of other resources read for it stay)
            self.issues[told:] = [
                i
                for i in self.issues[told:]
                if i.location != prefix and not i.location.startswith(prefix + ".")
            ]
            self.modified = True
            self.issue(
                Severity.ERROR,
                "observation-malformed",
                exc.where,
                f"{exc.why}: this Observation is passed through unread and unflagged",
            )
            return []

    def visible_codes(self, code: Concept, at: str) -> Concept:
        """``code`` with each coding's code read without the invisible characters it holds (a
        byte-order mark or a zero-width space pasted with it: ``"\ufeff6690-2"``), said so at
        that code: read as sent, a count would go out unjudged without a word (the sent code
        stays in the output, as written)."""
        read = []
        for i, coding in enumerate(code.codings):
            hidden = [] if coding.code.isascii() else [c for c in coding.code if invisible(c)]
            if not hidden:
                read.append(coding)
                continue
            visible = "".join(c for c in coding.code if not invisible(c))
            names = sorted({invisible_name(c) for c in hidden})
            self.issue(
                Severity.WARNING,
                "code-invisible-character",
                f"{at}[{i}].code",
                f"code {quoted(coding.code)} holds {' and '.join(names)}: read as "
                f"{quoted(visible)}",
            )
            read.append(replace(coding, code=visible, sent=coding.code))
        return _new_concept(tuple(read), code.text)

    def malformed(self, observation: _Located, element: str, why: str) -> None:
        where = f"{observation.location}.{element}"
        if observation.path == () or self.root.get("resourceType") != "Bundle":
            raise _Malformed(where, why)
        self.modified = True
        self.issue(
            Severity.ERROR,
            "observation-malformed",
            where,
            f"{why}: this Observation is passed through unread and unflagged",
        )

    def unknown_modifier(self, node: dict[str, Any], where: str) -> bool:
        """Whether ``node`` (an Observation or component) or its ``valueQuantity`` has a
        modifierExtension: FHIR forbids acting on an element whose meaning an extension
        leukoflag does not know may change (an estimate, a result that is not the patient's),
        so it is set aside, said so."""
        what = "this result"
        modifiers = node.get("modifierExtension")
        if not modifiers and "implicitRules" in node:  # a modifier element of every resource
            modifiers = _Rules(node["implicitRules"])
        entry = None if modifiers else self.entry_modifiers.get(id(node))
        if entry is not None:  # what the entry's modifier says holds for its resource
            (modifiers, where), what = entry, "this entry"
        elif not modifiers:
            value = node.get("valueQuantity")
            if not isinstance(value, dict) or not value.get("modifierExtension"):
                return False
            # not FHIR (a Quantity has none), but what it says is about the value judged
            modifiers, where = value["modifierExtension"], f"{where}.valueQuantity"
        self.unknown_modifiers(modifiers, where, what, "passed through unread and unflagged")
        return True

    def not_patient(self, holder: _Located, what: str) -> bool:
        """Whether ``holder``'s subject is known not to be a patient (a Group, a Device, a
        Location: by the resource it resolves to, its ``type``, or its ``Type/id``), said so:
        the rules judge a patient's blood by the patient's age and sex, which it has not, so
        ``what`` is set aside rather than judged as an adult's."""
        kind = self.other_subject(holder)
        if kind is None:
            return False
        self.modified = True
        self.issue(
            Severity.WARNING,
            "subject-not-patient",
            f"{holder.location}.subject",
            f"the subject is a {kind}, not a patient, whose age and sex choose the rules: {what} "
            "passed through unread and unflagged",
        )
        return True

    def other_subject(self, holder: _Located) -> str | None:
        """What ``holder``'s subject names when it is known not to be a patient (``Group
        ('Group/g1')``); None: a patient, or not known."""
        subject = holder.resource.get("subject")
        if not isinstance(subject, dict):
            return None
        target = self.resolve(subject, holder.container, "", say=False)
        kind = _kind(subject, target)
        if kind is None or kind == "Patient":
            return None
        reference = subject.get("reference")
        return f"{kind} ({quoted(reference)})" if isinstance(reference, str) else kind

    def panel_not_patient(self, member: _Located) -> bool:
        """Whether the nearest panel with a subject whose ``hasMember`` names ``member`` (sent
        without a subject of its own) has one known not to be a patient, said so: a pooled
        control's or a device's CBC members are not a patient's blood, as the panel is not."""
        has = (p for p in self.panels_of(member.resource) if "subject" in p.resource)
        panel = next(has, None)
        kind = self.other_subject(panel) if panel is not None else None
        if panel is None or kind is None:
            return False
        self.modified = True
        self.issue(
            Severity.WARNING,
            "subject-not-patient",
            member.location,
            f"the Observation has no subject, and the subject of the panel whose member it is "
            f"({panel.location}.subject) is a {kind}, not a patient, whose age and sex choose the "
            "rules: this Observation is passed through unread and unflagged, as the panel is",
        )
        return True

    def member_of(self, member: _Located, panel: _Located) -> None:
        """Note that ``panel``'s hasMember names ``member``: the first panel in ``panels``, any
        other in ``more_panels`` (a member two panels name may be of two patients)."""
        first = self.panels.setdefault(id(member.resource), panel)
        if first.resource is not panel.resource:
            others = self.more_panels.setdefault(id(member.resource), [])
            if all(other.resource is not panel.resource for other in others):
                others.append(panel)

    def nearest_subject(self, panel: _Located | None, seen: set[int]) -> _Located | None:
        """``panel`` if it sends a subject, else the nearest panel with one whose hasMember names
        it (None: none does); ``seen``: the resources walked, a panel its own member."""
        while panel is not None and id(panel.resource) not in seen:
            seen.add(id(panel.resource))
            if "subject" in panel.resource:
                return panel
            panel = self.panels.get(id(panel.resource))
        return None

    def subject_holder(self, observation: _Located) -> _Located:
        """What names ``observation``'s patient: itself, or when it sends no subject, the nearest
        panel with one whose hasMember names it (a CBC panel names its patient once)."""
        if "subject" in observation.resource or not self.panels:
            return observation
        seen = {id(observation.resource)}
        found = self.nearest_subject(self.panels.get(id(observation.resource)), seen)
        return observation if found is None else found

    def whose(self, observation: _Located) -> Patient | None:
        """The Patient of ``observation`` (see subject_holder); a panel's read once for all its
        members, as its subject's unresolved reference is said once."""
        if not self.panels:
            return self.patient_of(observation)
        holder = self.subject_holder(observation)
        key = id(holder.resource)
        if key not in self.holder_patients:
            self.holder_patients[key] = self.patient_of(holder)
        return self.holder_patients[key]

    def panels_disagree(self, member: _Located) -> bool:
        """Whether the panels whose hasMember names ``member`` (sent without a subject) name
        different patients (by their nearest subject), said so: whose blood it is is not known,
        and read as either's it would derive an ANC of one's WBC and the other's neutrophils."""
        panels = [self.panels[id(member.resource)], *self.more_panels[id(member.resource)]]
        holders = [
            found
            for panel in panels
            if (found := self.nearest_subject(panel, {id(member.resource)})) is not None
        ]
        for other in holders[1:]:
            first = holders[0]
            if first.resource["subject"] == other.resource["subject"]:
                continue
            ours, theirs = self.subject_patient(first), self.subject_patient(other)
            if (
                ours is not None
                and theirs is not None
                and _same_patient(ours, theirs, identified=True, bases=self.bases)
            ):
                continue
            self.modified = True
            self.issue(
                Severity.WARNING,
                "subject-mismatch",
                member.location,
                f"the Observation has no subject, and the panels whose member it is name "
                f"different subjects ({first.location}.subject, {other.location}.subject): "
                "whose result it is is not known, so it is passed through unread and unflagged",
            )
            return True
        return False

    def about_another(self, observation: _Located) -> bool:
        """Whether ``observation``'s ``focus`` names another person than its subject (her
        newborn, a fetus, a donor: FHIR's focus is whom the result is then about), or, sent
        without a focus, that of the nearest panel naming it in ``hasMember`` with one, said so:
        judged by the subject's age and sex, a newborn's count would be read as his mother's."""
        if "focus" in observation.resource:
            found, panel = self.other_focus(observation), None
        else:  # a cord-blood CBC's WBC is the newborn's as the panel is
            has = (p for p in self.panels_of(observation.resource) if "focus" in p.resource)
            panel = next(has, None)
            found = self.other_focus(panel) if panel is not None else None
        if found is None:
            return False
        self.modified = True
        where, kind = found
        if panel is None:
            self.issue(
                Severity.WARNING,
                "focus-not-subject",
                where,
                f"the focus is a {kind}, not the subject: the result is about the focus (a "
                "newborn, a fetus, a donor), not the patient whose age and sex the rules would "
                "judge it by, so this Observation is passed through unread and unflagged",
            )
        else:
            self.issue(
                Severity.WARNING,
                "focus-not-subject",
                observation.location,
                f"the focus of the panel whose member it is ({where}) is a {kind}, not the "
                "subject: its members are about the focus (a newborn, a fetus, a donor) as "
                "the panel is, not the patient whose age and sex the rules would judge them "
                "by, so this Observation is passed through unread and unflagged",
            )
        return True

    def other_focus(self, observation: _Located) -> tuple[str, str] | None:
        """Where ``observation``'s ``focus`` names another person than its subject, and what it
        names (``Patient ('urn:uuid:…')``); None: none does."""
        for i, focus in enumerate(_list(observation.resource.get("focus"))):
            if not isinstance(focus, dict):
                continue
            target = self.resolve(focus, observation.container, "", say=False)
            kind = _kind(focus, target)
            if kind not in _PERSONS:
                continue  # a specimen, a condition, a body structure: still the subject's blood
            if kind == "Patient" and self.focus_is_subject(observation, focus, target):
                continue
            reference = focus.get("reference")
            if isinstance(reference, str):
                kind = f"{kind} ({quoted(reference)})"
            return f"{observation.location}.focus[{i}]", kind
        return None

    def focus_is_subject(
        self, observation: _Located, focus: dict[str, Any], target: _Located | None
    ) -> bool:
        """Whether a focus naming a Patient names the Observation's subject (one patient as
        :meth:`other_patient` tells it, else the same ``Type/id`` or identifier when neither is
        in the item)."""
        subject = observation.resource.get("subject")
        sent = focus.get("identifier")
        if target is None and isinstance(sent, dict):
            system, value = _text(sent.get("system")), _text(sent.get("value"))
            if not (system and value):
                return False  # a value without its system may be another register's number
            mine = subject.get("identifier") if isinstance(subject, dict) else None
            if isinstance(mine, dict) and (_text(mine.get("system")), _text(mine.get("value"))) == (
                system,
                value,
            ):
                return True
            found = self.identified_patients().get((system, value), [])
            target = found[0] if len(found) == 1 else None
        theirs = self.subject_patient(observation)
        if target is not None and theirs is not None:
            return _same_patient(theirs, target, identified=True, bases=self.bases)
        if target is not None or theirs is not None or not isinstance(subject, dict):
            return False
        one, other = _type_id(focus.get("reference")), _type_id(subject.get("reference"))
        return one is not None and one == other

    def modifiers_of(self, resource: dict[str, Any], location: str) -> tuple[Any, str] | None:
        """The modifierExtension that qualifies ``resource`` (at ``location``) and where it is:
        its own, else its Bundle entry's (what that says holds for the resource in it)."""
        modifiers = resource.get("modifierExtension")
        if (self.repeats and self.modifiers_repeated(resource, location)) or modifiers:
            return modifiers, location
        if "implicitRules" in resource:  # a modifier element of every resource
            return _Rules(resource["implicitRules"]), location
        return self.entry_modifiers.get(id(resource))

    def modifiers_repeated(self, node: Any, where: str) -> bool:
        """Whether ``node`` (at ``where``) sends modifierExtension more than once, noted: the
        parse kept the last copy, which may be empty while an earlier one holds a modifier."""
        if not self.repeated(node, _MODIFIER):
            return False
        self.modifiers_twice.add(where)
        return True

    def qualified_context(self, references: list[Any], container: dict[str, Any]) -> bool:
        """Whether a Specimen or Encounter of the item that ``references`` name has a
        modifierExtension (said once per resource): it may change what the results collected
        from it, focused on it or of it mean (a specimen that is control material, an encounter
        that never took place), so they are not acted on."""
        for reference in references:
            if reference is None:
                continue
            target = self.resolve(reference, container, "", say=False)
            if target is None:
                continue
            kind = target.resource.get("resourceType")
            if kind not in ("Specimen", "Encounter"):
                continue
            sent = self.modifiers_of(target.resource, target.location)
            what = f"this {kind.lower()}"
            collection = target.resource.get("collection") if kind == "Specimen" else None
            if (
                sent is None
                and isinstance(collection, dict)
                and (
                    (
                        self.repeats
                        and self.modifiers_repeated(collection, f"{target.location}.collection")
                    )
                    or collection.get("modifierExtension")
                )
            ):
                # the collection's time (the patient's age) and body site are read for the verdict
                sent = collection["modifierExtension"], f"{target.location}.collection"
                what = "this specimen's collection"
            if (
                sent is None
                and kind == "Specimen"
                and (self.type_repeated(target) or self.type_malformed(target))
            ):
                return True
            if sent is None:
                continue
            if id(target.resource) not in self.said:
                self.said.add(id(target.resource))
                self.unknown_modifiers(
                    sent[0],
                    sent[1],
                    what,
                    "passed through unchanged, and the results and reports naming it as their "
                    "specimen, focus or encounter unread and unflagged",
                )
            return True
        return False

    def type_repeated(self, specimen: _Located) -> bool:
        """Whether ``specimen`` sends its type more than once, said once: a CSF then a blood type
        would judge a CSF count of 3 cells/uL as a blood count, so its results are set aside."""
        if not (self.repeats and "type" in self.repeats.get(id(specimen.resource), ())):
            return False
        self.modified = True
        if id(specimen.resource) not in self.said:
            self.said.add(id(specimen.resource))
            self.repeats_said(specimen.resource, _SPECIMEN_TYPE_REPEATS, specimen.location)
        return True

    def type_malformed(self, specimen: _Located) -> bool:
        """Whether ``specimen`` sends a type that is not a CodeableConcept (a list, a string, a
        lone coding), said once: read as no type, it would be taken for blood and a CSF count
        judged as a blood count, so its results are set aside (as for a type sent twice)."""
        kind = specimen.resource.get("type")
        wrong = _not_concept(kind) if kind is not None else None
        if wrong is None:
            return False
        self.modified = True
        if id(specimen.resource) not in self.said:
            self.said.add(id(specimen.resource))
            self.issue(
                Severity.WARNING,
                "specimen-type-malformed",
                f"{specimen.location}.{wrong[0]}",
                f"{wrong[1]}: whether the specimen is blood is not known, so the results and "
                "reports naming it as their specimen or focus are passed through unread and "
                "unflagged",
            )
        return True

    def unknown_modifiers(self, modifiers: Any, where: str, what: str, done: str) -> None:
        """Say that the modifierExtension of the element at ``where`` is not known (see
        :func:`_modifier_issue`); something was set aside for it."""
        self.modified = True
        if where in self.modifiers_twice:  # which copy the sender meant is not known: either
            self.issue(
                Severity.WARNING,
                "key-repeated",
                f"{where}.modifierExtension",
                f"{_repeated('modifierExtension', 'extensions the sender meant are')}, and they "
                f"may change what {what} means: read as a modifierExtension leukoflag does not "
                f"know: {done}",
            )
            return
        self.issues.append(_modifier_issue(modifiers, where, what, done))

    def observation_results_checked(
        self,
        observation: _Located,
        order: str,
        specimens: dict[str, Specimen],
        status_text: str,
        patient: Patient | None,
    ) -> list[LabResult]:
        resource = observation.resource
        where = observation.location
        status = _RESULT_STATUSES.get(status_text)
        if status is None:
            self.issue(
                Severity.WARNING,
                "status-unknown",
                f"{where}.status",
                f"Observation.status {quoted(status_text)} is not a FHIR observation status; "
                "read as unknown",
            )
            status = ResultStatus.UNKNOWN
        specimen = None
        specimen_at = ""
        if "specimen" in resource:
            specimen = self.specimen(resource["specimen"], observation, f"{where}.specimen")
            if specimen is not None:
                specimens.setdefault(specimen.location, specimen)
                specimen_at = specimen.location
            else:
                specimen_at = self.unresolved_specimen(resource["specimen"], f"{where}.specimen")
        if len(sent := _sent_choices(resource, EFFECTIVE)) > 1:
            # a choice element appears once: which of two times the count was drawn at is not known
            raise _Malformed(where, f"more than one effective[x]: {', '.join(sent)}")
        effective = self.effective(resource, where)
        dating = observation  # the resource whose effective[x] the result's time is
        if effective is None and self.panels:
            effective, dating = self.panel_time(resource) or (None, observation)
        # the result's date for its age, as flagging takes it: effective, else the collection of
        # its Specimen (none resolved: its order's), else the report's effective
        own = (specimen,) if specimen is not None else None
        dated = drawn(effective, lambda: own or self.order_specimens(), self.order_time, None)
        # drawn on or before it was issued: its date when nothing else gives one (as MSH-7)
        issued = self.timestamp(resource.get("issued"), f"{where}.issued")
        if issued or self.order_issued or self.sent:
            if effective is not None:
                element = _effective_element(dating.resource)
                by = "" if dating is observation else "panel"
                self.drawn_after(effective, issued, dating.location, element, where, dated_by=by)
            elif dated is not None and dated is not self.order_time:
                # dated by the collection of its specimen (its own, else its order's)
                collected = own or self.order_specimens()
                taken = next((c for c in collected if c.collected is dated), None)
                if taken is not None and taken.location in self.collected_elements:
                    element = self.collected_elements[taken.location]
                    self.drawn_after(
                        dated, issued, taken.location, element, where, dated_by="specimen"
                    )
        issued = issued or self.order_issued or self.sent
        dated = dated or issued
        shared = _new_shared(
            status=status,
            status_text=status_text,
            effective=effective,
            issued=issued,
            specimen=specimen_at,
            order=order,
            performers=tuple(_performers(resource.get("performer"), where)),
            device=_reference_text(resource.get("device")),
            category=_first_concept(resource.get("category"), f"{where}.category"),
            method=_concept(resource.get("method")) if "method" in resource else None,
            notes=tuple(_notes(resource.get("note"), where)),
            who=_who(patient, dated),
        )
        results: list[LabResult] = []
        components = resource.get("component")
        if components is not None and not isinstance(components, list):
            raise _Malformed(f"{where}.component", "Observation.component is not a list")
        has_value = any(key in resource for key in VALUE_ELEMENTS) or "dataAbsentReason" in resource
        if has_value or not components:
            results.append(self.result(resource, observation.path, where, shared))
        for i, component in enumerate(components or ()):
            if not isinstance(component, dict) or not isinstance(component.get("code"), dict):
                raise _Malformed(f"{where}.component[{i}]", "a component needs a code")
            if self.repeats and (key := self.repeated(component, _DECIDING_RESULT)):
                raise _Malformed(f"{where}.component[{i}].{key}", _repeated(key))
            if self.unknown_modifier(component, f"{where}.component[{i}]"):
                continue
            path = (*observation.path, "component", i)
            results.append(self.result(component, path, f"{where}.component[{i}]", shared))
        contained = resource.get("contained")
        if contained is not None and not isinstance(contained, list):
            raise _Malformed(f"{where}.contained", "Observation.contained is not a list")
        if contained:
            for i, inner in enumerate(contained):
                if self.repeats and (key := self.repeated(inner, _IDENTITY)):
                    raise _Malformed(f"{where}.contained[{i}].{key}", _repeated(key))
                if isinstance(inner, dict) and inner.get("resourceType") == "Observation":
                    located = self.located(inner, (*observation.path, "contained", i), resource)
                    # read with its container's order: one naming another patient is not judged
                    if "subject" in inner and self.contained_other_patient(located, observation):
                        continue
                    results.extend(self.observation_results(located, order, specimens, patient))
        return results

    def result(self, node: dict[str, Any], path: Path, where: str, shared: _Shared) -> LabResult:
        codings = node["code"].get("coding")
        if codings is not None and not isinstance(codings, list):
            # a lone Coding (an XML-to-JSON singleton) would leave a count unread, unflagged, unsaid
            raise _Malformed(f"{where}.code.coding", "code.coding is not a list")
        code = _concept(node["code"])
        if codings:
            _check_codings(codings, f"{where}.code.coding")
            if not all(c.code.isascii() for c in code.codings):
                code = self.visible_codes(code, f"{where}.code.coding")
        if self.repeats:
            self.unrepeated_parts(node, where)
        value, unit, value_at = self.value(node, where)
        absent = node.get("dataAbsentReason")
        absent_code = ""
        if absent is not None:
            value_at = value_at or f"{where}.dataAbsentReason"  # no value[x]: why is the value
            concept = _concept(absent)
            absent_code = next((c.code for c in concept.codings if c.code), "") or "unknown"
            if isinstance(value, NoValue):
                value = NoValue(absent_code, concept.text)
        elif isinstance(value, NoValue) and value.reason != "empty":
            absent_code = value.reason  # a data-absent-reason extension on the value
        elif not value_at and shared.status is ResultStatus.FINAL:
            # final with no value[x] and no reason, as leukoflag writes an OBX-11 U without its
            # value: the value is elsewhere (an earlier message), so it replaces no count here
            value = NoValue("sent-before")
        elif isinstance(value, Number) and ("valueQuantity" in node or "_valueInteger" in node):
            # one beside a value (a placeholder 0 'not-performed') denies it, as dataAbsentReason
            absent_code = _absent_beside(node)
        ranges = node.get("referenceRange")
        if ranges is not None and not isinstance(ranges, list):
            raise _Malformed(f"{where}.referenceRange", "referenceRange is not a list")
        range_index, reference_range, passed_over, modified = _reference_range(
            ranges or [], where, shared.who
        )
        if ranges and range_index is not None:
            at = f"{where}.referenceRange[{range_index}]"
            self.inverted_text(ranges[range_index], reference_range, at)
            if reference_range is not None and not any(
                k in ranges[range_index] for k in ("low", "high")
            ):
                reference_range = _in_sent_unit(reference_range, node.get("valueQuantity"))
        range_issues = tuple(
            _modifier_issue(
                ranges[i]["modifierExtension"],
                f"{where}.referenceRange[{i}]",
                "this reference range",
                "not used",
            )
            for i in modified
            if ranges
        )
        derived = derived_before(node)
        status, status_text, now = shared.status, shared.status_text, ""
        if derived:
            self.derived = True
            now = self.derived_status(node, where, shared)
            if now:  # judged by its sources' status, not the one it was written with
                status, status_text = _RESULT_STATUSES[now], ""
        self.nodes[where] = _new_node_ref(
            path, range_index, passed_over, range_issues, derived, now
        )
        return _new_lab_result(
            location=where,
            code=code,
            value=value,
            status=status,
            unit=unit,
            reference_range=reference_range,
            status_text=status_text,
            data_absent_reason=absent_code,
            sender_flags=self.flags(node, path, where),
            effective=shared.effective,
            issued=shared.issued,
            method=shared.method,
            device=shared.device,
            performers=shared.performers,
            category=shared.category,
            notes=shared.notes,
            specimen=shared.specimen,
            order=shared.order,
            value_location=value_at,
            normalized_before=(
                isinstance(value, Number)
                and value.value != value.value.to_integral_value()
                # an ANC leukoflag derived: its decimals are the exact product's (499.845)
                and (derived or _normalized_before(node.get("valueQuantity"), value))
            ),
        )

    def derived_status(self, node: dict[str, Any], where: str, shared: _Shared) -> str:
        """The status an ANC leukoflag derived and wrote (``node``, read back) has now that its
        sources (``derivedFrom``) may have changed status since: "" when it is the one it
        carries, or when its sources are not all Observations of the item. One withdrawn itself
        (entered-in-error, cancelled …, as a user may set it) stays so: sources never revive it."""
        if shared.status in _WITHDRAWN_STATUSES:
            return ""
        references = _list(node.get("derivedFrom"))
        sources = [self.resolve(r, node, "", say=False) for r in references]
        statuses = [s.resource.get("status") if s is not None else None for s in sources]
        known = [s for s in statuses if isinstance(s, str) and s in _RESULT_STATUSES]
        if not known or len(known) != len(statuses):
            return ""
        now = derived_status(known)
        if now == shared.status_text:
            return ""
        changed = [
            source.location
            for source, status in zip(sources, statuses, strict=True)
            if source is not None and status == now
        ]
        sources_are = "sources are" if len(changed) > 1 else "source is"
        self.issue(
            Severity.INFORMATION,
            "derived-status",
            f"{where}.status",
            f"the ANC leukoflag derived before, written {quoted(shared.status_text)}, is now "
            f"{now}: its {sources_are} {now} ({', '.join(changed)}), and a derived ANC's status "
            "follows its sources; it is judged and concluded from as such",
        )
        return now

    def repeated(self, node: Any, keys: frozenset[str]) -> str:
        """The first of ``keys`` that ``node`` holds more than once ('' for none)."""
        return next((key for key in self.repeats.get(id(node), ()) if key in keys), "")

    def repeats_said(self, node: Any, done: Mapping[str, str], where: str) -> tuple[str, ...]:
        """The keys of ``done`` that ``node`` (at ``where``) holds more than once, each said at
        it with what is read instead: the parse kept its last value, which may not be meant."""
        keys = tuple(key for key in self.repeats.get(id(node), ()) if key in done)
        for key in keys:
            self.issue(
                Severity.WARNING,
                "key-repeated",
                f"{where}.{key}",
                f"{_repeated(key, 'value the sender meant is')}: {done[key]}",
            )
        return keys

    def choices_said(
        self, node: dict[str, Any], element: str, choices: tuple[str, ...], where: str, what: str
    ) -> bool:
        """Whether ``node`` (at ``where``) sends more than one of ``choices`` (the names of
        choice element ``element``, ``effective``), said so: which of them is meant is not known,
        so ``what`` it gives is read as not sent rather than by the first looked at."""
        sent = _sent_choices(node, choices)
        if len(sent) < 2:
            return False
        self.issue(
            Severity.WARNING,
            "key-repeated",
            f"{where}.{sent[-1]}",
            f"{element}[x] is sent twice, as {' and '.join(sent)} (a choice element appears "
            f"once), and which the sender meant is not known: {what} is read as not sent",
        )
        return True

    def unrepeated_parts(self, node: dict[str, Any], where: str) -> None:
        """Refuse a key repeated in the parts of result ``node`` that decide its verdict: its
        code and codings, its valueQuantity, its reference ranges and their limits."""
        parts: list[tuple[Any, frozenset[str], str]] = [
            (node["code"], _DECIDING_CONCEPT, f"{where}.code"),
            (node.get("valueQuantity"), _DECIDING_QUANTITY, f"{where}.valueQuantity"),
        ]
        parts.extend(
            (coding, _DECIDING_CODING, f"{where}.code.coding[{i}]")
            for i, coding in enumerate(_list(node["code"].get("coding")))
        )
        for i, entry in enumerate(_list(node.get("referenceRange"))):
            at = f"{where}.referenceRange[{i}]"
            parts.append((entry, _DECIDING_RANGE, at))
            if isinstance(entry, dict):
                parts.extend(
                    (entry.get(k), _DECIDING_QUANTITY, f"{at}.{k}") for k in ("low", "high")
                )
        for part, keys, at in parts:
            if key := self.repeated(part, keys):
                raise _Malformed(f"{at}.{key}", _repeated(key))

    def inverted_text(self, entry: dict[str, Any], read: ReferenceRange | None, where: str) -> None:
        """Say why a range sent as text only gave no limits when its low is above its high (as
        hl7v2.range-inverted does for OBX-7): "no numeric limits" alone hid it."""
        if read is None or read.low is not None or read.high is not None:
            return
        text = _text(entry.get("text")).strip()
        if "low" in entry or "high" in entry or not read_range_text(text)[1]:
            return
        self.issue(
            Severity.WARNING,
            "range-inverted",
            f"{where}.text",
            f"reference range {quoted(text)}: low above high; not used",
        )

    def value(self, node: dict[str, Any], where: str) -> tuple[Value, Unit | None, str]:
        """The value, its unit, and the value[x] element read ("" for none)."""
        present = [key for key in VALUE_ELEMENTS if key in node]
        if len(present) > 1:
            raise _Malformed(where, f"more than one value[x]: {', '.join(present)}")
        if not present:
            # a primitive value[x] sent as its extensions only (_valueInteger): why it is absent
            for key in VALUE_ELEMENTS:
                reason = _absent_reason(node.get(f"_{key}"))
                if reason:
                    return NoValue(reason), None, f"{where}._{key}"
            return NoValue("empty"), None, ""
        key = present[0]
        at = f"{where}.{key}"
        value, unit = _value_of(node[key], key, at)
        if key == "valueString" and type(value) is Number:  # rare: a count written as text
            self.issue(
                Severity.INFORMATION,
                "value-number-in-text",
                at,
                f"valueString {quoted(value.text, 60)} read as the number "
                f"{value.comparator}{plain(value.value)} in the unit written after it, "
                f"{quoted(value.comment)}, as HL7 v2 reads an ST value",
            )
        return value, unit, at

    def flags(self, node: dict[str, Any], path: Path, where: str) -> tuple[Coding, ...]:
        interpretation = node.get("interpretation")
        kept = _kept_sender_flags(node)
        if interpretation is None:
            return kept or ()
        legacy = ""
        if isinstance(interpretation, dict):
            legacy = "a single CodeableConcept instead of a list (FHIR STU3 and earlier)"
            interpretation = [interpretation]
        if not isinstance(interpretation, list):
            raise _Malformed(f"{where}.interpretation", "not a list of CodeableConcepts")
        flags: list[Coding] = []
        sent = 0
        for sent_concept in interpretation:
            concept = _object(sent_concept, f"{where}.interpretation")
            flags.extend(_concept(concept).codings)
            codings = concept.get("coding")
            sent += len(codings) if isinstance(codings, list) else codings is not None
        if sent != len(flags) or any(not (f.code.strip() and f.system.strip()) for f in flags):
            flags = self._blank_flags(flags, interpretation, f"{where}.interpretation", legacy)
        codes = _interpretation_codes()
        if any(f.code not in codes and f.system in _COMPARED_SYSTEMS for f in flags):  # rare
            flags = self._flag_codes(flags, interpretation, f"{where}.interpretation", legacy)
        if not legacy:
            # the current system first: an OID or a value set's URL is the rare case
            system = next(
                (
                    flag.system
                    for flag in flags
                    if flag.system != V3_INTERPRETATION and flag.system in LEGACY_INTERPRETATION
                ),
                None,
            )
            if system is not None:
                legacy = f"{LEGACY_INTERPRETATION[system][0]} {system}"
        if legacy:
            self.legacy.append(path)
            self.issue(
                Severity.WARNING,
                "legacy-interpretation",
                f"{where}.interpretation",
                f"interpretation uses {legacy}; written back as a list in "
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            )
        return tuple(flags) if kept is None else kept

    def _blank_flags(
        self, flags: list[Coding], interpretation: list[Any], at: str, legacy: str
    ) -> list[Coding]:
        """The flags of ``interpretation`` (at ``at``) with those of a blank or absent system
        read as sent without one (compared as table 0078's, as a coding without a system is);
        each coding that is no JSON object, is empty or has a blank code, or a ``system`` or
        ``code`` that is not a string is said at it (``fhir.interpretation-coding-malformed``):
        kept as sent, and not compared with the computed code; one without a code but with a
        system or display, valid FHIR, likewise (``fhir.interpretation-coding-uncoded``)."""
        read: list[Coding] = []
        index = 0
        for number, concept in enumerate(interpretation):
            concept_at = at if legacy.startswith("a single") else f"{at}[{number}]"
            codings = concept.get("coding")
            if codings is not None and not isinstance(codings, list):
                self._flag_malformed(f"{concept_at}.coding", "not a list of Codings")
            for place, coding in enumerate(_list(codings)):
                coding_at = f"{concept_at}.coding[{place}]"
                if not isinstance(coding, dict):
                    self._flag_malformed(
                        coding_at, f"{quoted(coding)} is not a Coding (a JSON object)"
                    )
                    continue
                flag = flags[index]
                index += 1
                system, code = coding.get("system"), coding.get("code")
                if code is not None and not isinstance(code, str):
                    self._flag_malformed(f"{coding_at}.code", f"{quoted(code)} is not a string")
                elif code is None and coding and (system is None or isinstance(system, str)):
                    # valid FHIR (a Coding's elements are all optional): not malformed, but
                    # nothing to compare (a display is no code: 'Low' may mean L, LU or LL)
                    self.issue(
                        Severity.INFORMATION,
                        "interpretation-coding-uncoded",
                        coding_at,
                        f"the interpretation coding has no code ({_uncoded(coding)}): kept as "
                        "sent, and not compared with the computed code, as only a code is",
                    )
                elif not flag.code.strip():
                    shown = "no code" if code is None else f"the blank code {quoted(code)}"
                    self._flag_malformed(f"{coding_at}.code", f"the coding has {shown}")
                elif system is not None and not isinstance(system, str):
                    self._flag_malformed(f"{coding_at}.system", f"{quoted(system)} is not a string")
                    continue  # read as no system, it would be compared as table 0078's
                elif flag.system.strip() == "" and system is not None:
                    # FHIR's strings are never blank: a system '' or '  ' is none sent
                    self.issue(
                        Severity.WARNING,
                        "interpretation-coding-malformed",
                        f"{coding_at}.system",
                        f"the interpretation coding's system {quoted(system)} is blank: read as "
                        "sent without a system, compared as HL7 table 0078's",
                    )
                    read.append(replace(flag, system=""))
                    continue
                else:
                    read.append(flag)
                    continue
                read.append(flag)  # kept as sent, not compared
        return read

    def _flag_malformed(self, at: str, why: str) -> None:
        self.issue(
            Severity.WARNING,
            "interpretation-coding-malformed",
            at,
            f"{why}: the interpretation coding is kept as sent, and not compared with the "
            "computed code",
        )

    def _flag_codes(
        self, flags: list[Coding], interpretation: list[Any], at: str, legacy: str
    ) -> list[Coding]:
        """The flags of interpretation systems with a code their system does not have: one
        in lower case (``h``; the codes are case-sensitive) is read in upper case, as HL7 v2
        reads OBX-8, and compared; another (``XYZ``) is kept as sent and not compared. Each
        is said at its coding's code (``fhir.interpretation-code-case`` / ``-unknown``)."""
        places: dict[tuple[str, str], str] = {}
        for index, concept in enumerate(interpretation):
            codings = concept.get("coding") if isinstance(concept, dict) else None
            for number, sent in enumerate(codings if isinstance(codings, list) else ()):
                if isinstance(sent, dict) and isinstance(sent.get("code"), str):
                    concept_at = at if legacy.startswith("a single") else f"{at}[{index}]"
                    system = sent.get("system")
                    key = (system if isinstance(system, str) else "", sent["code"].strip())
                    places.setdefault(key, f"{concept_at}.coding[{number}].code")
        codes = _interpretation_codes()
        read: list[Coding] = []
        for flag in flags:
            # blanks around a code are none of it ('H '), as flagging compares it and HL7 v2
            # trims OBX-8; a coding without a system is compared as table 0078's
            code = flag.code.strip()
            if code in codes or not code or flag.system not in _COMPARED_SYSTEMS:
                read.append(flag)
                continue
            location = places.get((flag.system, code), at)
            upper = code.upper()
            of = (
                f"is not in {flag.system}"
                if flag.system
                else "is sent without a system, and is none of HL7 table 0078's"
            )
            if upper in codes:
                self.issue(
                    Severity.WARNING,
                    "interpretation-code-case",
                    location,
                    f"interpretation code {quoted(flag.code)} {of}, whose codes are "
                    f"case-sensitive: read as {quoted(upper)}, as HL7 v2 reads OBX-8, and "
                    "compared with the computed code",
                )
                read.append(replace(flag, code=upper, sent=flag.sent or flag.code))
                continue
            nor = (
                "(nor in HL7 table 0078)" if flag.system else "(nor v3-ObservationInterpretation's)"
            )
            self.issue(
                Severity.WARNING,
                "interpretation-code-unknown",
                location,
                f"interpretation code {quoted(flag.code)} {of} {nor}: kept as sent, and not "
                "compared with the computed code",
            )
            read.append(flag)
        return read

    # ----------------------------------------------------------------- context

    def effective(self, resource: dict[str, Any], where: str) -> Timestamp | None:
        for key in ("effectiveDateTime", "effectiveInstant"):
            if key in resource:
                return self.timestamp(resource[key], f"{where}.{key}")
        period = resource.get("effectivePeriod")
        if isinstance(period, dict):
            # a Period may have no start: its end is then the only time sent
            bound = "start" if "start" in period else "end"
            if bound == "start" and "end" in period:
                self.period_inverted(period, f"{where}.effectivePeriod")
            return self.timestamp(period.get(bound), f"{where}.effectivePeriod.{bound}")
        timing = resource.get("effectiveTiming")
        if isinstance(timing, dict) and isinstance(events := timing.get("event"), list) and events:
            # a Timing's events say when it was drawn: the first, as a Period's start
            return self.timestamp(events[0], f"{where}.effectiveTiming.event[0]")
        return None

    def drawn_after(
        self,
        effective: Timestamp,
        issued: Timestamp | None,
        holder: str,
        sent: str,
        result: str,
        *,
        dated_by: str = "",
    ) -> None:
        """Say the time ``effective``, sent as element ``sent`` of the resource at ``holder``,
        after the ``issued`` of the result at ``result``, its report's or the message Bundle's
        timestamp: blood is drawn before its result is reported, so a clock or a date is wrong
        (the age and which result is the latest are taken from it as sent). ``dated_by``: ""
        for the result's own effective[x], else what dates it ("panel", "specimen"), or
        "report" for a DiagnosticReport's effective[x]."""
        for later, what in (
            (issued, "that result's issued" if dated_by else "its issued"),
            (self.order_issued, "its issued" if dated_by == "report" else "its report's issued"),
            (self.sent, "the message Bundle's timestamp"),
        ):
            if later is not None and time_after(effective, later):
                at = f"{holder}.{sent}"
                if any(i.location == at for i in self.issues):
                    return  # a panel or specimen dating several results: said once
                told = f"{sent} {quoted(effective.text)}"
                if dated_by == "report":
                    told = f"the report's {told}"
                elif dated_by:  # a CBC panel or a specimen dating a result sent without a time
                    told = f"the {dated_by}'s {told} (the time of {result}, sent without one)"
                self.issue(
                    Severity.WARNING,
                    "result-time-after-report",
                    at,
                    f"{told} is after {what} {quoted(later.text)}: "
                    "blood is drawn before its result is reported, so a clock or a date is "
                    "wrong; read as sent (the age is taken on it)",
                )
                return

    def period_inverted(self, period: dict[str, Any], where: str) -> None:
        """Say a Period (at ``where``) whose end is before its start, as the HL7 v2 reader says
        OBR-8 before OBR-7: one of them is wrong (FHIR's per-1), and which is not known; its
        start is read as the time, as sent. Said once per Period."""
        start, end = period.get("start"), period.get("end")
        if not (isinstance(start, str) and isinstance(end, str) and ends_before(end, start)):
            return
        at = f"{where}.end"
        if any(i.location == at for i in self.issues):
            return  # a panel's period, asked for by each of its members
        self.issue(
            Severity.WARNING,
            "period-inverted",
            at,
            f"end {quoted(end)} is before start {quoted(start)}: a FHIR Period cannot end "
            "before it starts, so one of them is wrong; its start is read as the time, and the "
            "Period passed through as sent",
        )

    def panel_time(self, member: dict[str, Any]) -> tuple[Timestamp, _Located] | None:
        """The effective[x] of the panel whose hasMember names ``member`` (or of the panel that
        panel is a member of), and that panel: a CBC panel dates the counts it groups when they
        have no time of their own, as a report dates its results (None: no panel, or none
        dated)."""
        for panel in self.panels_of(member):
            if len(_sent_choices(panel.resource, EFFECTIVE)) > 1:
                return None  # malformed (said at the panel): its members' time is not known
            found = self.effective(panel.resource, panel.location)
            if found is not None:
                return found, panel
        return None

    def panels_of(self, member: dict[str, Any]) -> Iterator[_Located]:
        """The panel whose ``hasMember`` names ``member``, that panel's panel …, nearest first
        (each once: panels may name each other)."""
        seen = {id(member)}
        panel = self.panels.get(id(member))
        while panel is not None and id(panel.resource) not in seen:
            seen.add(id(panel.resource))
            yield panel
            panel = self.panels.get(id(panel.resource))

    def timestamp(self, text: Any, where: str) -> Timestamp | None:
        if text is None:
            return None
        stamp = _timestamp(text)
        if stamp is None:
            self.issue(
                Severity.WARNING,
                "timestamp-invalid",
                where,
                f"{quoted(text)} is not a FHIR date/dateTime; not used",
            )
        return stamp

    def patient_of(self, located: _Located) -> Patient | None:
        subject = located.resource.get("subject")
        where = f"{located.location}.subject"
        named = self.subject_identifier(located, say=True)
        if named is not None:
            return self.identified_patient(subject, where, *named)
        return self.referenced(
            subject, located, where, kind="Patient", known=self.patients, build=_patient
        )

    def identified_patient(
        self, subject: object, where: str, sent: Any, element: str
    ) -> Patient | None:
        """The Patient of the item that ``subject`` names by identifier ``sent`` (see
        _subject_identifier): the one carrying that system and value (None when none does, or
        several do, said so at ``element``)."""
        if not isinstance(sent, dict):
            return None
        system, value = _text(sent.get("system")), _text(sent.get("value"))
        patient_ids = self.identified_patients()
        if not (system and value):
            # a value without its system may be another register's number: said, not guessed
            if id(subject) not in self.said:
                self.said.add(id(subject))
                self.issue(
                    Severity.INFORMATION,
                    "subject-identifier-incomplete",
                    f"{where}.{element}",
                    _incomplete_subject(sent, system, value, patient_ids),
                )
            return None
        found = patient_ids.get((system, value), [])
        if len(found) > 1:
            if id(subject) not in self.said:
                self.said.add(id(subject))
                shown = ", ".join(f.location for f in found[:3])
                self.issue(
                    Severity.WARNING,
                    "subject-ambiguous",
                    f"{where}.{element}",
                    f"the subject is sent as identifier {quoted(f'{system}|{value}')}, which "
                    f"{len(found)} Patients of the item carry ({shown}"
                    f"{', …' if len(found) > 3 else ''}): none is taken, and the patient's age "
                    "and sex are not known",
                )
            return None
        if not found:
            return None
        target = found[0]
        patient = self.patients.get(target.location)
        if patient is None:
            patient = self.patients[target.location] = _patient(
                target.resource, target.location, self
            )
        return patient

    def identified_patients(self) -> dict[tuple[str, str], list[_Located]]:
        """The Patients of the item by each identifier's system and value (built once)."""
        if self.patient_ids is None:
            self.patient_ids = {}
            for located in self.resources:
                if located.resource.get("resourceType") != "Patient":
                    continue
                if self.repeats and self.identifiers_repeated(located):
                    continue
                for ident in _list(located.resource.get("identifier")):
                    if isinstance(ident, dict):
                        key = (_text(ident.get("system")), _text(ident.get("value")))
                        carriers = self.patient_ids.setdefault(key, [])
                        if not carriers or carriers[-1] is not located:  # carried twice: once
                            carriers.append(located)
        return self.patient_ids

    def identifiers_repeated(self, patient: _Located) -> bool:
        """Whether ``patient`` sends identifier more than once, said once: which list is the
        patient's is not known, and a subject by identifier could name it by another's number."""
        if "identifier" not in self.repeats.get(id(patient.resource), ()):
            return False
        if id(patient.resource["identifier"]) not in self.said:
            self.said.add(id(patient.resource["identifier"]))
            self.repeats_said(patient.resource, _IDENTIFIER_REPEATS, patient.location)
        return True

    def specimen(self, reference: Any, holder: _Located, where: str) -> Specimen | None:
        return self.referenced(
            reference, holder, where, kind="Specimen", known=self.specimens, build=_specimen
        )

    def order_specimens(self) -> tuple[Specimen, ...]:
        """The Specimens of the order being read, as its Order lists them (its Observations',
        then its report's), which flagging dates a result without one of its own by; read ahead
        when such a result needs them (a reference that names nothing is told where it is read)."""
        if self.draft_specimens is None:
            draft = self.draft
            assert draft is not None  # set by order(), which reads the results
            holders = [(o, o.resource.get("specimen")) for o in draft.observations]
            report = draft.report
            if report is not None and "specimen" not in self.repeats.get(id(report.resource), ()):
                references = _list(report.resource.get("specimen"))
                holders += [(report, reference) for reference in references]
            found: dict[str, Specimen] = {}
            for holder, reference in holders:
                target = self.resolve(reference, holder.container, "", say=False)
                if target is not None and target.resource.get("resourceType") == "Specimen":
                    specimen = self.specimen(reference, holder, "")
                    if specimen is not None:
                        found.setdefault(specimen.location, specimen)
            self.draft_specimens = tuple(found.values())
        return self.draft_specimens

    def unresolved_specimen(self, reference: Any, where: str) -> str:
        """Where a Specimen outside the item is first named ("": no reference to it): results
        naming other specimens are never one specimen's (a derived ANC is not made of them)."""
        target = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(target, str) or not target or target.startswith("#"):
            return ""
        parts = target.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        return self.unresolved_specimens.setdefault("/".join(parts[-2:]), where)

    def referenced(
        self,
        reference: Any,
        holder: _Located,
        where: str,
        *,
        kind: str,
        known: dict[str, _T],
        build: Callable[[dict[str, Any], str, _ItemReader], _T],
    ) -> _T | None:
        """The ``kind`` resource ``reference`` (in ``holder``) points to, read once per item."""
        target = self.resolve(reference, holder.container, where)
        if target is None or target.resource.get("resourceType") != kind:
            return None
        found = known.get(target.location)
        if found is None:
            found = known[target.location] = build(target.resource, target.location, self)
        return found


@dataclass(frozen=True, slots=True)
class _Shared:
    """What an Observation's components share with it."""

    status: ResultStatus
    status_text: str
    effective: Timestamp | None
    issued: Timestamp | None  # its own issued, else its report's, else the message's timestamp
    specimen: str
    order: str
    performers: tuple[str, ...]
    device: str
    category: Concept | None
    method: Concept | None
    notes: tuple[str, ...]
    who: Who  # the patient, for choosing among age- and sex-specific reference ranges


_new_shared = constructor(_Shared)

# --------------------------------------------------------------------------- datatypes


# The keys that decide a verdict, by the object holding them: one sent twice (a LIS appending a
# corrected value instead of replacing it) would be judged on the last alone without a word.
_DECIDING_RESULT = frozenset(
    {
        *VALUE_ELEMENTS,
        "dataAbsentReason",
        "code",
        "referenceRange",
        "interpretation",
        "modifierExtension",
    }
)
_DECIDING_OBSERVATION = _DECIDING_RESULT | {
    "status",
    "subject",
    "specimen",
    *EFFECTIVE,
    "issued",
    "component",
    # its contained Patient (the subject #pt) and Observations (a panel's members), of two lists
    "contained",
}
_DECIDING_QUANTITY = frozenset(
    {"value", "comparator", "unit", "code", "system", "modifierExtension"}
)
_DECIDING_CONCEPT = frozenset({"coding", "text"})
_DECIDING_CODING = frozenset({"system", "code"})
_DECIDING_RANGE = frozenset(
    {"low", "high", "type", "appliesTo", "age", "text", "modifierExtension"}
)


# The keys of a Patient that choose the rules, sent twice: what is read instead of the last value
_PATIENT_REPEATS = {
    "birthDate": "the patient's birth date is read as not known (flag.age-unknown)",
    "_birthDate": "the patient's birth date and time are read as not known (flag.age-unknown)",
    "gender": "the patient's sex is read as not known",
}
_IDENTIFIER_REPEATS = {
    "identifier": "the patient's identifiers are read as not sent (a subject naming it by "
    "identifier names no Patient, and settings.duffy_null cannot name it)",
}

# and of any resource: which resource it is, and which references name it
_TYPE_REPEATS = {
    "resourceType": "passed through unread, and no reference names it",
}
_ID_REPEATS = {"id": "no reference by its id names it (only by its fullUrl, when sent)"}
_IDENTITY = frozenset({"resourceType", "id"})

# and of a Specimen (the results' date, whether they are of blood), and of its collection
_SPECIMEN_REPEATS = {
    "collection": "the specimen's collection (its time and body site) is read as not sent",
}
_SPECIMEN_TYPE_REPEATS = {
    "type": "whether the specimen is blood is not known: passed through unchanged, and the "
    "results and reports naming it as their specimen or focus unread and unflagged",
}
_COLLECTED = ("collectedDateTime", "collectedPeriod")
_COLLECTION_REPEATS = dict.fromkeys(
    _COLLECTED, "the specimen's collection time is read as not sent"
)

# and of a DiagnosticReport: whose its results are, whether they stand, which they are, their
# date and specimen
_REPORT_TIMES = frozenset({"effectiveDateTime", "effectivePeriod", "effectiveInstant"})
_SET_ASIDE = "the report is passed through unchanged, and the results it lists unread and unflagged"
_REPORT_REPEATS = {
    "subject": _SET_ASIDE,
    "status": _SET_ASIDE,
    "result": "the report is passed through unchanged (no conclusionCode), and the "
    "Observations it lists are read as those no report lists",
    **dict.fromkeys(_REPORT_TIMES, "the report's time is read as not sent"),
    "issued": "the report's issued is read as not sent",
    # which specimens are its results' is not known: read as none, a CSF count would be blood
    "specimen": _SET_ASIDE,
}

_ENTRY = frozenset({"entry"})
_MODIFIER = frozenset({"modifierExtension"})
_RESOURCE = frozenset({"resource"})


def _repeated(key: str, meant: str = "value the lab meant is") -> str:
    return (
        f"{key} appears more than once in one object (JSON parsers keep only the last): "
        f"which {meant} unknown"
    )


def _value_of(raw: Any, key: str, at: str) -> tuple[Value, Unit | None]:
    """The value[x] ``key`` sent as ``raw`` (at ``at``) and its unit."""
    if key == "valueQuantity":
        quantity = _object(raw, at)
        unit = _sent_unit(quantity, at)
        number = _number(quantity.get("value"), f"{at}.value")
        if number is None:
            # the reason may be on the absent value (_value) or on the Quantity itself
            reason = _absent_reason(quantity.get("_value")) or _absent_reason(quantity)
            return NoValue(reason or "empty"), unit
        comparator = quantity.get("comparator", "")
        if not isinstance(comparator, str):
            raise _Malformed(f"{at}.comparator", "not a string")
        if comparator and comparator not in _COMPARATORS:
            # a bound of unknown direction ('&lt;' from an XML conversion) judged as >= lied
            raise _Malformed(
                f"{at}.comparator",
                f"{quoted(comparator)} is not a FHIR comparator (<, <=, >=, > or R5's ad)",
            )
        return _new_number(number, f"{comparator}{plain(number)}", comparator), unit
    if key == "valueInteger":
        number = _number(raw, at)
        if number is None:
            raise _Malformed(at, "not a number")
        if not isinstance(raw, int):
            # FHIR's integer is '-?([0]|([1-9][0-9]*))': 3.8 (or 3.0) is no count of cells
            # sent without unit, but a value in some other unit, whose scale is not known
            raise _Malformed(
                at,
                f"{raw} is not an integer (FHIR's integer is a JSON number without fraction or "
                "exponent)",
            )
        return _new_number(number, plain(number)), None
    if key == "valueRange":
        ends = _object(raw, at)
        low = _object(ends.get("low", {}), f"{at}.low")
        high = _object(ends.get("high", {}), f"{at}.high")
        low_value = _number(low.get("value"), f"{at}.low.value")
        high_value = _number(high.get("value"), f"{at}.high.value")
        shown = "-".join(plain(v) if v is not None else "" for v in (low_value, high_value))
        low_unit, high_unit = _sent_unit(low, f"{at}.low"), _sent_unit(high, f"{at}.high")
        if low_unit is not None and high_unit is not None and high_unit != low_unit:
            # rare: each limit in its own unit (2.1 10*3/uL to 3500 /uL), read so
            return NumberRange(low_value, high_value, shown, high_unit), low_unit
        return NumberRange(low_value, high_value, shown), low_unit or high_unit
    if key == "valueRatio":
        ratio = _object(raw, at)
        numerator = _number(_object(ratio.get("numerator", {}), at).get("value"), at)
        denominator = _number(_object(ratio.get("denominator", {}), at).get("value"), at)
        if numerator is None or denominator is None:
            return Text(f"{numerator}:{denominator}"), None
        return Ratio(numerator, denominator, f"{plain(numerator)}:{plain(denominator)}"), None
    if key == "valueString":
        if not isinstance(raw, str):
            raise _Malformed(at, "valueString is not a string")
        return _text_value(raw), None
    if key == "valueCodeableConcept":
        return CodedResult(_concept(_object(raw, at))), None
    return Text(raw if isinstance(raw, str) else dumps(raw).decode("utf-8")), None


def _text_value(text: str) -> Value:
    """A valueString: a count written with its unit (``0.4 x10^9/L``, ``<0.5 x10*3/uL``,
    ``3.1K/uL``) is that number, its unit the text after it, read as HL7 v2 reads an ST value;
    any other text (a number alone, with a decimal comma, a comment, a unit the table does not
    read) stays text, not judged."""
    if text.lstrip()[:1] not in _NUMBER_STARTS:
        return Text(text)
    number, comma = leading_number(text)
    if number is None or comma or not number.comment or not names_unit(number.comment):
        return Text(text)
    return number


_NUMBER_STARTS = frozenset("0123456789.<>=+-")  # as the ST reader: a sign too


def _not_reference(value: Any, key: str) -> tuple[str, str] | None:
    """Where and why ``value``, an Observation's ``key`` (``subject``, ``specimen``: one
    Reference each), is not a Reference; None when it is one."""
    if not isinstance(value, dict):
        return key, f"{quoted(value)} is not a Reference (a JSON object)"
    reference = value.get("reference")
    if reference is not None and not isinstance(reference, str):
        return f"{key}.reference", "not a string"
    return None


def _not_references(value: Any, key: str = "hasMember") -> tuple[str, str] | None:
    """Where and why ``value``, a list of References (``hasMember``, ``focus``), is not one;
    None when it is."""
    if not isinstance(value, list):
        return key, f"{quoted(value)} is not a list of References"
    return next(
        (found for i, one in enumerate(value) if (found := _not_reference(one, f"{key}[{i}]"))),
        None,
    )


def _not_concept(value: Any) -> tuple[str, str] | None:
    """Where (under ``type``) and why ``value``, a Specimen's type, is not a CodeableConcept
    whose codings are Codings; None when it is one."""
    if not isinstance(value, dict):
        return "type", f"{quoted(value)} is not a CodeableConcept (a JSON object)"
    codings = value.get("coding")
    if codings is None:
        return None
    if not isinstance(codings, list):
        return "type.coding", "not a list of Codings"
    for i, coding in enumerate(codings):
        if not isinstance(coding, dict):
            return f"type.coding[{i}]", f"{quoted(coding)} is not a Coding (a JSON object)"
        for key in ("system", "code"):
            if coding.get(key) is not None and not isinstance(coding[key], str):
                return f"type.coding[{i}].{key}", "not a string"
    return None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(where, "not a JSON object")
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Malformed(where, f"{quoted(value)} is not a JSON number")
    return value if isinstance(value, Decimal) else Decimal(value)


def _absent_reason(element: Any) -> str:
    """The code of a data-absent-reason extension on ``element`` (a Quantity, or a primitive's
    ``_value``), ``unknown`` when it has none; ``""``: no such extension."""
    if not isinstance(element, dict):
        return ""
    for extension in _list(element.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == DAR_EXTENSION:
            code = extension.get("valueCode")
            return code if isinstance(code, str) and code else "unknown"
    return ""


def _sent_choices(node: dict[str, Any], choices: tuple[str, ...]) -> list[str]:
    """Which of a choice element's names (``choices``) ``node`` sends: more than one is a
    malformed choice (it appears once), whose meant time is not known."""
    return [key for key in choices if key in node]


def _absent_beside(node: dict[str, Any]) -> str:
    """The code of a data-absent-reason extension sent on a count's value though it has one
    (``valueQuantity._value``, the ``valueQuantity`` itself, ``_valueInteger``); "": none."""
    quantity = node.get("valueQuantity")
    if isinstance(quantity, dict):
        return _absent_reason(quantity.get("_value")) or _absent_reason(quantity)
    return _absent_reason(node.get("_valueInteger"))


def _version_identity(entry: Any) -> str:
    """The resource a history Bundle entry is a version of (``Type/id``), by its resource, else
    its ``fullUrl`` or ``request.url`` (a DELETE has no resource); "" when none says."""
    if not isinstance(entry, dict):
        return ""
    resource = entry.get("resource")
    if isinstance(resource, dict):
        kind, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(kind, str) and isinstance(rid, str) and rid:
            return f"{kind}/{rid}"
    request = entry.get("request")
    for url in (entry.get("fullUrl"), request.get("url") if isinstance(request, dict) else None):
        if not isinstance(url, str) or url.startswith("urn:"):
            continue
        parts = url.split("?", 1)[0].rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        if len(parts) >= 2 and parts[-2] in resource_types():
            return "/".join(parts[-2:])
    return ""


def _kept_sender_flags(node: dict[str, Any]) -> tuple[Coding, ...] | None:
    """The sender's flags leukoflag kept when it flagged ``node`` before (its ``interpretation``
    is then leukoflag's computed code, not the sender's); None: not flagged by leukoflag."""
    extensions = node.get("extension")
    if not extensions:
        return None
    sent = [e for e in _list(extensions) if isinstance(e, dict)]
    kept = [e for e in sent if e.get("url") == SENDER_INTERPRETATION]
    if not kept and not any(e.get("url") == EXPLANATION for e in sent):
        return None
    return tuple(c for e in kept for c in _concept(e.get("valueCodeableConcept")).codings)


def _effective_element(resource: dict[str, Any]) -> str:
    """The element an Observation's effective time was read from (see Reader.effective)."""
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in resource:
            return key
    period = resource.get("effectivePeriod")
    if isinstance(period, dict):
        return "effectivePeriod.start" if "start" in period else "effectivePeriod.end"
    return "effectiveTiming.event[0]"


def _uncoded(coding: dict[str, Any]) -> str:
    """What an interpretation coding without a code sends instead (``display 'Low'``)."""
    sent = [f"{key} {quoted(coding[key])}" for key in ("system", "display") if key in coding]
    others = len(coding) - len(sent)
    if others:
        sent.append(f"{others} other element{'s' if others > 1 else ''}")
    return ", ".join(sent)


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _coding(value: Any) -> Coding | None:
    if not isinstance(value, dict):
        return None
    system = _text(value.get("system"))
    if system.startswith("urn:oid:"):
        # a system with a FHIR URI sent as its OID (LOINC's): that system, its OID the name sent
        uri = tables().system_oids.get(system)
        if uri is not None:
            return _new_coding(
                code=_text(value.get("code")),
                display=_text(value.get("display")),
                system=uri,
                version=_text(value.get("version")),
                system_name=system,
            )
    return _new_coding(
        code=_text(value.get("code")),
        display=_text(value.get("display")),
        system=system,
        version=_text(value.get("version")),
    )


def _check_codings(codings: list[Any], at: str) -> None:
    """Raise :class:`_Malformed` for a coding of a result's code that is not a JSON object or
    whose ``system`` or ``code`` is not a string: read as no coding, a count coded
    ``"code": ["6690-2"]`` or ``6690`` would go out unread and unflagged without a word."""
    for i, coding in enumerate(codings):
        if not isinstance(coding, dict):
            raise _Malformed(f"{at}[{i}]", "a Coding is not a JSON object")
        _check_strings(coding, ("system", "code"), f"{at}[{i}]")


def _concept(value: Any) -> Concept:
    if not isinstance(value, dict):
        return _new_concept()
    codings = tuple(c for c in map(_coding, _list(value.get("coding"))) if c is not None)
    return _new_concept(codings, _text(value.get("text")))


def _first_concept(value: Any, where: str) -> Concept | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Malformed(where, "not a list")
    return _concept(value[0]) if value else None


def _unit(quantity: dict[str, Any]) -> Unit | None:
    text, code, system = (_text(quantity.get(k)) for k in ("unit", "code", "system"))
    alternate = None
    original = ""
    if "extension" in quantity:
        extensions = [e for e in _list(quantity["extension"]) if isinstance(e, dict)]
        if not code:
            # the unit code leukoflag kept of a unit it refused (/uL^K/uL): refused again
            code = next(
                (_text(e.get("valueString")) for e in extensions if e.get("url") == UNIT_CODE_SENT),
                "",
            )
        # the alternate coding (HL7 v2 OBX-6.4-6) of a unit refused for disagreeing with it
        alternate = next(
            (
                _coded_unit(e.get("valueCoding"))
                for e in extensions
                if e.get("url") == UNIT_ALTERNATE_SENT
            ),
            None,
        )
        # the original text (HL7 v2 OBX-6.9) of a unit refused for naming another scale
        original = next(
            (
                _text(e.get("valueString"))
                for e in extensions
                if e.get("url") == UNIT_ORIGINAL_TEXT_SENT
            ),
            "",
        )
    if not (text or code):
        return None
    return _new_unit(
        text=text or code, code=code, system=system, alternate=alternate, original=original
    )


def _coded_unit(coding: Any) -> Unit | None:
    """The unit a Coding (of leukoflag's ``unit-alternate-sent``) names, None for none."""
    if not isinstance(coding, dict):
        return None
    code, text = _text(coding.get("code")), _text(coding.get("display"))
    if not (code or text):
        return None
    return _new_unit(text=text or code, code=code, system=_text(coding.get("system")))


def _sent_unit(quantity: dict[str, Any], at: str) -> Unit | None:
    """The unit of a Quantity the input sent (at ``at``): :func:`_unit`, its unit, code and
    system each a string when present."""
    unit = _unit(quantity)
    if unit is None or not (unit.text and unit.code and unit.system):
        # "unit": 5 read as no unit would have its count judged in an inferred one
        _check_strings(quantity, ("unit", "code", "system"), at)
    return unit


def _check_strings(node: dict[str, Any], keys: tuple[str, ...], at: str) -> None:
    """Raise :class:`_Malformed` at ``at.key`` for a key of ``keys`` that ``node`` sends as
    something other than a string (read as absent, it would change the verdict unsaid)."""
    for key in keys:
        sent = node.get(key)
        if sent is not None and not isinstance(sent, str):
            raise _Malformed(f"{at}.{key}", "not a string")


def _identifier(value: Any) -> Identifier | None:
    if not isinstance(value, dict) or not _text(value.get("value")):
        return None
    kind = _concept(value.get("type"))
    assigner = value.get("assigner")
    return _new_identifier(
        value=_text(value.get("value")),
        system=_text(value.get("system")),
        type_code=next((c.code for c in kind.codings if c.code), ""),
        assigner=_text(assigner.get("display")) if isinstance(assigner, dict) else "",
    )


def _reference_text(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    ident = value.get("identifier")
    if isinstance(ident, dict) and _text(ident.get("value")):
        return _text(ident.get("value"))
    return _text(value.get("display")) or _text(value.get("reference"))


def _performers(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{where}.performer", "not a list")
    return [text for text in map(_reference_text, value) if text]


def _notes(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{where}.note", "not a list")
    return [_text(n.get("text")) for n in value if isinstance(n, dict) and _text(n.get("text"))]


def _timestamp(text: Any) -> Timestamp | None:
    if not isinstance(text, str) or not _DATE_TIME.match(text):
        return None
    try:
        day = dt.date(
            int(text[:4]),
            int(text[5:7]) if len(text) >= 7 else 1,
            int(text[8:10]) if len(text) >= 10 else 1,
        )
    except ValueError:
        return None
    return _new_timestamp(text=text, fhir=text, day=day)


@dataclass(frozen=True, slots=True)
class _Rules:
    """A resource's ``implicitRules``: FHIR makes it a modifier element, as modifierExtension
    (the rules it names may change what the resource means, and leukoflag knows none)."""

    url: Any


def _modifier_issue(modifiers: Any, where: str, what: str, done: str) -> Issue:
    """The Issue for the modifierExtension of the element at ``where``, which leukoflag does not
    know: ``what`` it may change the meaning of, and what was ``done`` about it (or for the
    resource's implicitRules)."""
    if isinstance(modifiers, _Rules):
        return Issue(
            Severity.WARNING,
            "fhir.implicit-rules-unknown",
            f"{where}.implicitRules",
            f"implicitRules {quoted(modifiers.url)} may change what {what} means (FHIR makes "
            f"it a modifier element), and leukoflag does not know those rules: {done}",
        )
    sent = _list(modifiers)
    shown = (
        ", ".join(  # the first three: the Issue stays short however many were sent
            quoted(m.get("url")) if isinstance(m, dict) else quoted(m) for m in sent[:3]
        )
        + (f" (+{len(sent) - 3} more)" if len(sent) > 3 else "")
    )
    return Issue(
        Severity.WARNING,
        "fhir.modifier-extension-unknown",
        f"{where}.modifierExtension",
        f"modifierExtension {shown or quoted(modifiers)} may change what {what} means, "
        f"and leukoflag does not know it: {done}",
    )


def _who(patient: Patient | None, dated: Timestamp | None) -> Who:
    """The patient of a result dated ``dated``, as choosing its range needs: its day counted in
    the offset of a birth time, as the rules count it (born 23:30-05:00 on the 17th, drawn
    03:00Z on the 24th: day 6, not 7), and why it is before that birth time, if it is."""
    if patient is None:
        return _new_who("unknown", None, dated.day if dated is not None else None)
    born = patient.birth_date
    births = birth_span(born) if born is not None else None
    day = dated.day if dated is not None else None
    unborn = ""
    if born is not None and dated is not None and "T" in born.fhir:
        at = moment(born.fhir)
        if at is not None and at.tzinfo is not None:
            day, unborn = age_day(dated, at.tzinfo), born_after(at, dated)
    return _new_who(patient.sex, births, day, patient.sex_text, unborn)


def _reference_range(
    ranges: list[Any], where: str, who: Who
) -> tuple[int | None, ReferenceRange | None, str, list[int]]:
    """The range a result is judged with, its index, why none was read when the lab sent some,
    and the ranges not used for their modifierExtension: the most specific range for some
    patients only (``age``, ``appliesTo``) that ``who`` is known to be one of, else the first
    normal range for everyone, else none (see _ranges.py); a range whose text gives no limits
    only when no range with limits applies."""
    general: int | None = None
    fitting = False  # whether ``general`` is not labelled for others (adults, for a child)
    chosen_restricted: int | None = None  # the most specific restricted range that fits
    for_others: int | None = None  # the first that fits but is labelled for others ([Adult, Male])
    wordy: int | None = None  # the first range that applies and gives no limits ("see comment")
    passed_over: list[str] = []
    modified: list[int] = []
    starts: list[AgeBound | None] | None = None  # the ages the ranges by age start at
    for i, entry in enumerate(ranges):
        entry_dict = _object(entry, f"{where}.referenceRange[{i}]")
        kind = entry_dict.get("type")
        if kind is not None and not (
            isinstance(kind, dict) and isinstance(kind.get("coding", []), list)
        ):
            # read as no type, a list or a lone coding saying therapeutic would judge as normal
            raise _Malformed(
                f"{where}.referenceRange[{i}].type", "referenceRange.type is not a CodeableConcept"
            )
        if not _normal_type(_concept(kind)):
            continue
        if supplied_range(entry_dict):
            continue  # leukoflag's own (its output read back): not the lab's
        if not any(k in entry_dict for k in ("low", "high", "text")):
            continue
        if entry_dict.get("modifierExtension"):
            modified.append(i)  # what it says of the range is unknown: not acted on
            continue
        limited = _gives_limits(entry_dict)
        if not restricted(entry_dict):
            if limited and not fitting:
                # a range labelled for adults and one for children: the one for the patient
                fits = not unlike(
                    labelled_for(entry_dict) or age_group(_text(entry_dict.get("text"))), who
                ) and not _text_for_others(entry_dict, who)
                if general is None or fits:
                    general, fitting = i, fits
            elif not limited and wordy is None:
                wordy = i
            continue
        if starts is None and "age" in entry_dict:
            starts = age_starts(ranges)
        others = starts[:i] + starts[i + 1 :] if starts is not None else ()
        why = applies(entry_dict, who, others)
        if not why and limited:
            # appliesTo [Adult, Male] for a boy: a children's range for everyone may follow
            if unlike(labelled_for(entry_dict) or age_group(_text(entry_dict.get("text"))), who):
                for_others = i if for_others is None else for_others
            elif chosen_restricted is None or narrower(entry_dict, ranges[chosen_restricted], who):
                chosen_restricted = i  # women of 60 and over, not women, whichever came first
            continue
        if not why:
            wordy = i if wordy is None else wordy
            continue
        passed_over.append(f"[{i}] {why}")
    if chosen_restricted is None and not fitting and for_others is not None:
        chosen_restricted = for_others  # judged by the age band (flag.lab-range-adults)
    if chosen_restricted is not None:
        at = f"{where}.referenceRange[{chosen_restricted}]"
        return chosen_restricted, _located(ranges[chosen_restricted], at), "", modified
    if general is None and len(passed_over) > 1:
        # one range for men and one for women, and the patient is neither: flagging takes their
        # union (the note is told only when it cannot)
        pair = _sex_pair(ranges, where, who)
        if pair is not None:
            return None, pair, _none_applies(passed_over), modified
    # a caption ("Adult reference interval") beside the lab's limits does not judge the count
    chosen = general if general is not None else wordy
    if chosen is not None:
        at = f"{where}.referenceRange[{chosen}]"
        return chosen, _located(ranges[chosen], at), "", modified
    if not passed_over:
        return None, None, "", modified
    return None, None, _none_applies(passed_over), modified


def _kind(reference: dict[str, Any], target: _Located | None) -> str | None:
    """The resource type a Reference names: of the resource it resolves to, its ``type``, or
    its ``Type/id`` (None: not known, or no FHIR resource type)."""
    if target is not None:
        kind = target.resource.get("resourceType")
    elif isinstance(reference.get("type"), str):
        kind = reference["type"].rsplit("/", 1)[-1]  # a type may be a StructureDefinition URL
    else:
        found = _type_id(reference.get("reference"))
        kind = found[0] if found is not None else None
    if not isinstance(kind, str) or kind not in resource_types():
        return None
    return kind


def _type_id(reference: Any) -> tuple[str, str] | None:
    """The ``Type/id`` a literal reference ends with, its version left out (None: a ``#id``, a
    ``urn:`` or no reference)."""
    if not isinstance(reference, str) or reference.startswith(("#", "urn:")):
        return None
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return (parts[-2], parts[-1]) if len(parts) >= 2 else None


def _same_patient(
    one: _Located, other: _Located, *, identified: bool, bases: dict[int, str]
) -> bool:
    """Whether two Patients of the item are one patient: one resource, two entries of one id
    (a PUT and its include) not sent under two server bases, two equal copies (as leukoflag
    contains in a derived ANC), or two copies carrying one identifier (system and value) whose
    birth dates and genders do not disagree (a report's Patient and a result's contained copy).
    A contained id is its container's own name, so it says nothing of an entry's.
    ``identified``: whether their identifiers are known; ``bases``: the base of each entry sent
    under a RESTful fullUrl, by its resource's identity (_ItemReader.bases)."""
    if one.resource is other.resource or one.resource == other.resource:
        return True
    if "contained" not in one.path and "contained" not in other.path:
        rid = one.resource.get("id")
        if isinstance(rid, str) and rid and rid == other.resource.get("id"):
            mine, theirs = bases.get(id(one.resource)), bases.get(id(other.resource))
            # two servers' Patient/123 are two patients, as references resolve (see restful)
            if not (mine and theirs and mine != theirs):
                return True
    if not (identified and _identifiers_shared(one.resource, other.resource)):
        return False
    for key in ("birthDate", "gender"):
        mine, theirs = _text(one.resource.get(key)), _text(other.resource.get(key))
        # a birth date sent to the month is not another than one sent to the day
        if mine and theirs and not (mine.startswith(theirs) or theirs.startswith(mine)):
            return False
    return True


def _identifiers_shared(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two Patients carry an identifier of one system and value (both sent): a value
    alone may be another register's number."""
    keys = {
        (_text(i.get("system")), _text(i.get("value")))
        for i in _list(one.get("identifier"))
        if isinstance(i, dict)
    }
    return any(
        isinstance(i, dict)
        and (system := _text(i.get("system")))
        and (value := _text(i.get("value")))
        and (system, value) in keys
        for i in _list(other.get("identifier"))
    )


def _subject_identifier(subject: Any) -> tuple[Any, str] | None:
    """The identifier a subject names its Patient by and the element of the subject it is sent
    in: an identifier only (``identifier``), or a conditional reference, as a transaction names
    a Patient it may create (``reference``); None for a subject that is a plain reference."""
    if isinstance(subject, dict) and "reference" not in subject and "identifier" in subject:
        return subject["identifier"], "identifier"
    searched = _conditional_identifier(subject)
    return None if searched is None else (searched, "reference")


def _conditional_identifier(subject: Any) -> dict[str, Any] | None:
    """The identifier a conditional reference searches by (``Patient?identifier=system|value``,
    as a transaction sends a Patient it may create), as an Identifier; None for any other
    reference, or a search by more than one identifier alone."""
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str) or not reference.startswith("Patient?"):
        return None
    query = parse_qsl(reference.removeprefix("Patient?"), keep_blank_values=True)
    if len(query) != 1 or query[0][0] != "identifier":
        return None
    system, bar, value = query[0][1].rpartition("|")
    return {"system": system, "value": value} if bar else {"value": value}


def _incomplete_subject(
    sent: dict[str, Any],
    system: str,
    value: str,
    patient_ids: dict[tuple[str, str], list[_Located]],
) -> str:
    """Why a subject sent as an identifier without its system or value names no Patient, and
    which Patients of the item carry that value (under a system: maybe another register's)."""
    kind = _concept(sent.get("type"))
    named = kind.codings[0].code if kind.codings else kind.text
    shown = f" (type {quoted(named)})" if named else ""
    if not value:
        return (
            f"the subject is sent as an identifier{shown} without a value: no Patient is "
            "taken for it, and the patient's age and sex are not known"
        )
    carriers = [
        f"{located.location} under system {quoted(key[0])}" if key[0] else located.location
        for key, found in patient_ids.items()
        if key[1] == value
        for located in found
    ]
    verb = "carries" if len(carriers) == 1 else "carry"
    also = f" ({', '.join(carriers[:3])}{', …' if len(carriers) > 3 else ''} {verb} that value)"
    return (
        f"the subject is sent as identifier {quoted(value)}{shown} without a system: a value "
        "may be another register's number, so no Patient of the item is taken for it"
        f"{also if carriers else ''}, and the patient's age and sex are not known"
    )


def _none_applies(passed_over: list[str]) -> str:
    return (
        f"none of the lab's reference ranges is known to be this patient's "
        f"(referenceRange{'; '.join(passed_over)})"
    )


def _sex_pair(ranges: list[Any], where: str, who: Who) -> ReferenceRange | None:
    """For a patient neither male nor female, the lab's one range for men and one for women
    (``by_sex``, of which flagging takes the union), when they differ only by sex; else None."""
    if who.sex in ("male", "female"):
        return None
    found: dict[str, list[ReferenceRange]] = {"male": [], "female": []}
    for i, entry in enumerate(ranges):
        if not isinstance(entry, dict) or entry.get("modifierExtension"):
            continue
        if not _normal_type(_concept(entry.get("type"))) or supplied_range(entry):
            continue
        sex = sex_only(entry, who)
        if not sex:
            continue
        try:
            read = _located(entry, f"{where}.referenceRange[{i}]")
        except _Malformed:
            return None  # not read for this patient before: not a reason to refuse the item now
        if (read.low is not None or read.high is not None) and not read.by_sex:
            found[sex].append(read)
    if len(found["male"]) != 1 or len(found["female"]) != 1:
        return None
    by_sex = (("male", found["male"][0]), ("female", found["female"][0]))
    # of two elements: an Issue about both is at the list (one about either, at that one)
    return _new_reference_range("", by_sex=by_sex, location=f"{where}.referenceRange")


def _text_for_others(entry: dict[str, Any], who: Who) -> bool:
    """Whether a range sent as text only is not known to be ``who``'s: one sex's alone
    (``Männer 4,0-10,0``) or for ages (``6.0-17.5 (3-12 mo)``) the patient is not known to be
    of; the lab's range for the patient (``Frauen 4,5-11,0``, ``4.0-11.0 (18 y and over)``) may
    follow it."""
    if "low" in entry or "high" in entry:
        return False
    read = read_range_text(_text(entry.get("text")).strip())[0]
    if len(read.by_sex) == 1 and read.by_sex[0][0] != who.sex:
        return True
    if read.by_age:  # 0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0, for a patient of none of those ages
        return not any(_of_ages(band.ages, who) for band in read.by_age)
    return bool(read.ages) and not _of_ages(read.ages, who)


def _of_ages(ages: str, who: Who) -> bool:
    """Whether ``who`` is known to be of the ages a range text notes (``3-12 mo``), as
    flagging judges it (flag.lab-range-unusable says why not)."""
    span = age_span(ages)
    if span is None or who.births is None or who.day is None or who.unborn:
        return False
    return age_fit(span, *who.births, who.day) == "of"


def _gives_limits(entry: dict[str, Any]) -> bool:
    """Whether a ``referenceRange`` has a limit: ``low``, ``high``, or a text they are read from."""
    if "low" in entry or "high" in entry:
        return True
    read = read_range_text(_text(entry.get("text")).strip())[0]
    return read.low is not None or read.high is not None or bool(read.by_sex or read.by_age)


def _normal_type(kind: Concept) -> bool:
    """Whether a ``referenceRange.type`` leaves the range a normal one: no type, a ``normal``
    coding, or, without codings, a text saying normal (``Target on hydroxyurea`` is not)."""
    if kind.codings:
        return any(c.code == "normal" for c in kind.codings)
    # "Adult", "Pediatric reference range": the normal range of adults or children (labelled so
    # when read, see labelled_for)
    return type_text_group(kind.text) is not None


def _located(entry: dict[str, Any], at: str) -> ReferenceRange:
    """The range chosen, read at ``at``: where an Issue refusing it is located."""
    read = _range(entry, at)
    # one of limits is built located (a dataclasses.replace is about 400 bytecodes); one read
    # from its text (cached by read_range_text, shared) is located in a copy
    return read if read.location == at else replace(read, location=at)


def _range(entry: dict[str, Any], at: str) -> ReferenceRange:
    low = _object(entry.get("low", {}), f"{at}.low")
    high = _object(entry.get("high", {}), f"{at}.high")
    text = _text(entry.get("text"))
    # appliesTo or type text "Adult" ("Pediatric"): the range is labelled as its text would
    labelled = labelled_for(entry)
    if text.strip() and "low" not in entry and "high" not in entry:
        # a range sent as text only (a v2 converter's OBX-7 copied over): read as OBX-7 is
        read = read_range_text(text.strip())[0]
        return _labelled(read, labelled) if labelled else read
    if text.strip():
        per_sex = _per_sex_written(text.strip(), low, high)
        if per_sex is not None:
            return per_sex
    low_unit, high_unit = _sent_unit(low, f"{at}.low"), _sent_unit(high, f"{at}.high")
    group = (age_group(text) if text else "") or labelled
    ages = ages_of(text) if text else ""  # text "3-12 mo" beside the limits: for those ages only
    if ages and "age" in entry and read_range_text(text.strip())[0].by_age:
        # a text of ranges per age beside an age the patient meets, not contradicting the limits
        # (see _ranges.applies): the age element says whose the limits are
        ages = ""
    return _new_reference_range(
        text=text,
        low=_number(low.get("value"), f"{at}.low.value"),
        high=_number(high.get("value"), f"{at}.high.value"),
        unit=low_unit or high_unit,
        # a high in another unit than the low (4.0 10*3/uL to 11000 /uL) is read in its own
        high_unit=high_unit if low_unit and high_unit and high_unit != low_unit else None,
        # text "Adult" beside the limits: not a child's range ("Pediatric": not an adult's)
        adults=group == "adults",
        children=group == "children",
        ages=ages,
        location=at,
    )


def _labelled(read: ReferenceRange, group: str) -> ReferenceRange:
    """A range read from its text, labelled for ``group`` by its ``appliesTo`` or ``type``
    unless its text says whom it is for."""
    if read.adults or read.children:
        return read
    by_sex = tuple((sex, _labelled(one, group)) for sex, one in read.by_sex)
    return replace(read, by_sex=by_sex, adults=group == "adults", children=group == "children")


def _per_sex_written(text: str, low: dict[str, Any], high: dict[str, Any]) -> ReferenceRange | None:
    """A range per sex (``M: 4.0-10.0 F: 4.5-11.0``) or per age (``0-1 y: 6.0-17.5; 1-5 y:
    5.0-15.0``) beside the limits leukoflag wrote for it (output read back), read from its text
    again, a range without unit in its limits' unit as sent (the value's, now read in cells/µL),
    so that flagging chooses the patient's again; None for any other range."""
    translations = [
        e["valueQuantity"]
        for limit in (low, high)
        for e in _list(limit.get("extension"))
        if isinstance(e, dict)
        and e.get("url") == PQ_TRANSLATION
        and isinstance(e.get("valueQuantity"), dict)
    ]
    unit = next((u for u in map(_unit, translations) if u is not None), None)
    read = read_range_text(text)[0] if unit is not None else None
    if read is None or not (read.by_sex or read.by_age):
        return None
    by_sex = tuple(
        (which, one if one.unit is not None else replace(one, unit=unit))
        for which, one in read.by_sex
    )
    by_age = tuple(one if one.unit is not None else replace(one, unit=unit) for one in read.by_age)
    if _limit_edited((low, high), [*(one for _, one in by_sex), *by_age]):
        return None  # a limit edited by hand since: read as now sent (fhir.original-stale)
    return replace(read, by_sex=by_sex, by_age=by_age)


def _from_v2(resources: list[_Located]) -> bool:
    """Whether a Bundle is leukoflag's of an HL7 v2 message (its Provenance says which): its
    ``timestamp`` is MSH-7, which dates a result nothing else dates, as it did from HL7 v2."""
    for located in reversed(resources):  # leukoflag writes it last
        resource = located.resource
        if resource.get("resourceType") == "Provenance":
            extensions = resource.get("extension")
            return any(
                isinstance(e, dict) and e.get("url") == SOURCE_MESSAGE
                for e in (extensions if isinstance(extensions, list) else ())
            )
    return False


def _in_sent_unit(read: ReferenceRange, quantity: Any) -> ReferenceRange:
    """A range sent as text only beside a count leukoflag normalized (its output read back, the
    text not judged then): its limits in the unit the count was sent in, its PQ translation's
    (or its original text's, with a comparator), as the text was read then, not in cells/µL
    (``4.0-10.0`` beside 12.5 10*9/L)."""
    if not isinstance(quantity, dict) or quantity.get("code") != "/uL":
        return read
    translations = [
        e["valueQuantity"]
        for e in _list(quantity.get("extension"))
        if isinstance(e, dict)
        and e.get("url") == PQ_TRANSLATION
        and isinstance(e.get("valueQuantity"), dict)
    ]
    unit = next((u for u in map(_unit, translations) if u is not None), None)
    for extension in _list(quantity.get("extension")) if unit is None else ():
        # a count sent with a comparator keeps its text instead: "<0.5 10*3/uL"
        if isinstance(extension, dict) and extension.get("url") == ORIGINAL_TEXT:
            shown = extension.get("valueString")
            match = ORIGINAL_FORM.match(shown) if isinstance(shown, str) else None
            unit = _new_unit(text=match[3]) if match is not None and match[3] else None
    return read if unit is None else _with_unit(read, unit)


def _with_unit(read: ReferenceRange, unit: Unit) -> ReferenceRange:
    """``read`` with ``unit`` where the text named none: its own, its ranges per sex and per age
    ('>=18 y: 4.0-11.0', which the rules judge alone, in its own unit)."""
    by_sex = tuple((sex, _with_unit(one, unit)) for sex, one in read.by_sex)
    by_age = tuple(_with_unit(band, unit) for band in read.by_age)
    return replace(read, unit=read.unit or unit, by_sex=by_sex, by_age=by_age)


def _normalized_before(quantity: Any, value: Number) -> bool:
    """Whether ``value``, a count in cells/µL (``quantity``, its valueQuantity), is leukoflag's
    normalization of a count sent in another unit: an original it kept beside it (a PQ
    translation, or the original text of one with a comparator) says the same count
    (``4.5 /uL`` beside ``0.0045 10*9/L``). Asked only of a value with decimals."""
    if not isinstance(quantity, dict) or quantity.get("code") != "/uL":
        return False
    for extension in _list(quantity.get("extension")):
        if not isinstance(extension, dict):
            continue
        url = extension.get("url")
        if url == PQ_TRANSLATION and isinstance(sent := extension.get("valueQuantity"), dict):
            number, unit = sent.get("value"), _unit(sent)
            comparator = sent.get("comparator", "")
        elif url == ORIGINAL_TEXT and isinstance(text := extension.get("valueString"), str):
            match = ORIGINAL_FORM.match(text)
            if match is None or not match[3]:
                continue
            comparator, number, unit = match[1] or "", Decimal(match[2]), _new_unit(text=match[3])
        else:
            continue
        if unit is None or isinstance(number, bool) or not isinstance(number, int | Decimal):
            continue
        try:
            count = units.normalize(number, unit)
        except UnitError:
            continue
        if (
            count.factor != 1
            and not count.inferred
            and count.value_per_ul == value.value
            and comparator == value.comparator
        ):
            return True
    return False


def _limit_edited(limits: tuple[dict[str, Any], ...], ranges: list[ReferenceRange]) -> bool:
    """Whether a limit leukoflag wrote in cells/µL beside a range text per sex is none of that
    text's ranges' limits (in cells/µL): its value was edited since."""
    written: set[Decimal] = set()
    for one in ranges:
        for number in (one.low, one.high):
            if number is None or one.unit is None:
                continue
            try:
                count = units.normalize(number, one.unit)
            except UnitError:
                return False  # the text's limits are not known exactly: nothing shows an edit
            written.add(count.value_per_ul)
    return any(
        limit.get("code") == "/uL"
        and isinstance(value := limit.get("value"), int | Decimal)
        and not isinstance(value, bool)
        and value not in written
        for limit in limits
    )


# FHIR administrative-gender: Patient.gender's required value set
_GENDERS = frozenset({"male", "female", "other", "unknown"})


def _patient(resource: dict[str, Any], location: str, reader: _ItemReader) -> Patient:
    sent = reader.modifiers_of(resource, location)
    if sent is not None:
        # the age and sex that choose the rules are this resource's, of a meaning not known
        reader.qualified_patients.add(location)
        reader.unknown_modifiers(
            sent[0],
            sent[1],
            "this patient",
            "passed through unchanged, and the results of this patient unread and unflagged",
        )
    names = _list(resource.get("name"))
    name = names[0] if names and isinstance(names[0], dict) else {}
    # two birth dates (or genders): the age (or sex) is not known, not the last one's
    twice = reader.repeats_said(resource, _PATIENT_REPEATS, location) if reader.repeats else ()
    gender = "" if "gender" in twice else _text(resource.get("gender"))
    if gender not in _GENDERS and resource.get("gender") is not None and "gender" not in twice:
        # 'M', 'Male': read as no sex, the ranges of either sex judge (said, not silently)
        reader.issue(
            Severity.WARNING,
            "gender-unknown",
            f"{location}.gender",
            f"{quoted(resource['gender'])} is not a FHIR administrative-gender code (male, "
            "female, other, unknown): the patient's sex is read as unknown, judged by the "
            "ranges of either sex",
        )
    located = _Located(resource, (), location, resource)
    repeated = reader.repeats and reader.identifiers_repeated(located)
    identifiers = () if repeated else _list(resource.get("identifier"))
    birth = reader.timestamp(resource.get("birthDate"), f"{location}.birthDate")
    if "birthDate" in twice or "_birthDate" in twice:
        birth = None
    if birth is not None and isinstance(resource.get("_birthDate"), dict):
        birth = _birth_time(resource["_birthDate"], birth)
    if birth is not None and "deceasedDateTime" in resource:
        _death_before_birth(resource["deceasedDateTime"], birth, location, reader)
    return _new_patient(
        location=location,
        identifiers=tuple(i for i in map(_identifier, identifiers) if i),
        family=_text(name.get("family")),
        given=tuple(g for g in _list(name.get("given")) if isinstance(g, str)),
        birth_date=birth,
        sex=gender if gender in _GENDERS else "unknown",
        sex_text=gender,
    )


def _death_before_birth(sent: Any, birth: Timestamp, location: str, reader: _ItemReader) -> None:
    """``fhir.death-before-birth`` at ``deceasedDateTime`` when it is surely before the birth
    date (and time), as the writer says of an HL7 v2 PID-29 before PID-7: one of them is wrong,
    and which is not known. The Patient passes through as sent."""
    died = _timestamp(sent)
    if died is not None and died_before_birth(died.fhir, birth.fhir):
        reader.issue(
            Severity.WARNING,
            "death-before-birth",
            f"{location}.deceasedDateTime",
            f"deceasedDateTime {died.fhir} is before birthDate {birth.fhir}: one of them is "
            "wrong, and which is not known; the Patient passed through unchanged",
        )


def _birth_time(element: dict[str, Any], birth: Timestamp) -> Timestamp:
    """The birth time of the patient-birthTime extension on ``birthDate`` (as leukoflag writes
    PID-7's), when it falls on that date: a neonate's age in days is counted in its offset."""
    for extension in _list(element.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == BIRTH_TIME:
            stamp = _timestamp(extension.get("valueDateTime"))
            if stamp is not None and "T" in stamp.fhir and stamp.day == birth.day:
                return stamp
    return birth


def _specimen(resource: dict[str, Any], location: str, reader: _ItemReader) -> Specimen:
    # Specimen.role repeats (R5 role, R4 its cross-version extension): the first is the
    # specimen's role, and any role of control material marks it so, in either version
    roles = [r for r in map(_concept, _list(resource.get("role"))) if r is not None]
    if not roles:
        roles = [
            r
            for r in (
                _concept(extension.get("valueCodeableConcept"))
                for extension in _list(resource.get("extension"))
                if isinstance(extension, dict) and extension.get("url") == _R4_SPECIMEN_ROLE
            )
            if r is not None
        ]
    role = roles[0] if roles else None
    collection = resource.get("collection")
    collection = collection if isinstance(collection, dict) else {}
    twice: tuple[str, ...] = ()
    # a collection or its time sent twice: neither copy is known to be the specimen's (a type
    # sent twice sets its results aside instead: type_repeated)
    if reader.repeats:
        twice = reader.repeats_said(resource, _SPECIMEN_REPEATS, location)
        at = f"{location}.collection"
        twice += reader.repeats_said(collection, _COLLECTION_REPEATS, at)
        if "collection" in twice:
            collection = {}
        elif twice:
            collection = {k: v for k, v in collection.items() if k not in twice}
    at = f"{location}.collection"
    when = "the specimen's collection time"
    if reader.choices_said(collection, "collected", _COLLECTED, at, when):
        collection = {k: v for k, v in collection.items() if k not in _COLLECTED}
    site = collection.get("bodySite")
    if isinstance(site, dict) and "concept" in site:  # R5: CodeableReference
        site = site["concept"]
    collected = collection.get("collectedDateTime")
    collected_at = f"{location}.collection.collectedDateTime"
    period = collection.get("collectedPeriod")
    if collected is None and isinstance(period, dict):
        # as effectivePeriod: a Period may have no start, its end then the only time sent
        bound = "start" if "start" in period else "end"
        if bound == "start" and "end" in period:
            reader.period_inverted(period, f"{location}.collection.collectedPeriod")
        collected, collected_at = (
            period.get(bound),
            f"{location}.collection.collectedPeriod.{bound}",
        )
    if collected is not None:
        reader.collected_elements[location] = collected_at.removeprefix(f"{location}.")
    identifiers = [i for i in map(_identifier, _list(resource.get("identifier"))) if i]
    control = tables().control_roles
    kind = _concept(resource["type"]) if isinstance(resource.get("type"), dict) else None
    if reader.repeats and "type" in reader.repeats.get(id(resource), ()):
        kind = None  # its results are set aside (type_repeated)
    return _new_specimen(
        location=location,
        identifier=identifiers[0] if identifiers else None,
        type=kind,
        role=role,
        source_site=_concept(site) if isinstance(site, dict) else None,
        collected=reader.timestamp(collected, collected_at),
        received=reader.timestamp(resource.get("receivedTime"), f"{location}.receivedTime"),
        notes=tuple(_notes(resource.get("note"), location)),
        is_control=any(c.code in control for r in roles for c in r.codings)
        or (kind is not None and _control_type(kind)),
    )


def _control_type(kind: Concept) -> bool:
    """Whether a Specimen.type names control material, as an SPM-4 does (so leukoflag's own
    output of a QC run, read back, is not judged as the patient's blood)."""
    codes, words = tables().control_type_codes, tables().control_type_words
    texts = [kind.text, *(c.display for c in kind.codings)]
    return any(c.code.upper() in codes for c in kind.codings) or any(
        not words.isdisjoint(text.lower().replace(",", " ").split()) for text in texts
    )


# The systems of interpretation codes (the current ones and the other names senders give them).
_FLAG_SYSTEMS = frozenset(
    (V3_INTERPRETATION, "http://terminology.hl7.org/CodeSystem/v2-0078", *LEGACY_INTERPRETATION)
)
# and none: a code sent without a system is compared as table 0078's (as flagging does)
_COMPARED_SYSTEMS = _FLAG_SYSTEMS | {""}


@functools.cache
def _interpretation_codes() -> frozenset[str]:
    """The codes of table 0078 and v3-ObservationInterpretation, and the deprecated L< / H>."""
    terms = tables()
    return frozenset((*terms.interpretation, *terms.deprecated_interpretation))
