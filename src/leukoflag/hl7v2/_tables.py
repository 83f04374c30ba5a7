"""The HL7 v2 code tables the reader maps, read once from ``data/*.toml`` (each row has a source).

``load_tables()`` is cached per process and returns read-only mappings; ``docs/hl7v2.md``
renders the same rows, so the documentation cannot drift from the data.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from leukoflag._toml_tables import document
from leukoflag.errors import DataFileError
from leukoflag.model import ReportStatus, ResultStatus

__all__ = [
    "INTERPRETATION_SYSTEM",
    "CharsetRow",
    "CodingSystemRow",
    "GenderRow",
    "InterpretationRow",
    "Iso2022Row",
    "MessageTypeRow",
    "OrderStatusRow",
    "ReportStatusRow",
    "ResultStatusRow",
    "RoleRow",
    "Tables",
    "load_tables",
]

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_DATA_ABSENT_REASONS = frozenset(
    {
        "unknown",
        "asked-unknown",
        "temp-unknown",
        "not-asked",
        "asked-declined",
        "masked",
        "not-applicable",
        "unsupported",
        "as-text",
        "error",
        "not-a-number",
        "negative-infinity",
        "positive-infinity",
        "not-performed",
        "not-permitted",
    }
)
_GENDERS = ("male", "female", "other", "unknown")
# FHIR address-use and address-type codes (R4 and R5), "" for none
_ADDRESS_USES = ("", "home", "work", "temp", "old", "billing")
_ADDRESS_TYPES = ("", "postal", "physical", "both")
_TELECOM_USES = ("home", "work", "temp", "old", "mobile")  # FHIR contact-point-use
_TELECOM_SYSTEMS = ("phone", "fax", "email", "pager", "url", "sms", "other")
_REQUEST_PRIORITIES = ("routine", "urgent", "asap", "stat")  # FHIR request-priority
_NAME_USES = ("usual", "official", "temp", "nickname", "anonymous", "old", "maiden")  # name-use
# FHIR request-status codes (ServiceRequest.status)
_REQUEST_STATUSES = (
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class ResultStatusRow:
    """Table 0085 (OBX-11) → ``Observation.status``."""

    code: str
    display: str
    status: ResultStatus
    data_absent_reason: str
    no_result: bool
    source: str
    value_sent_before: bool = False  # U: final now, its value sent earlier as preliminary


@dataclass(frozen=True, slots=True)
class OrderStatusRow:
    """Table 0038 (ORC-5) → ``ServiceRequest.status`` (a FHIR request-status code)."""

    code: str
    display: str
    status: str
    source: str


@dataclass(frozen=True, slots=True)
class ReportStatusRow:
    """Table 0123 (OBR-25) → ``DiagnosticReport.status``."""

    code: str
    display: str
    status: ReportStatus
    source: str


@dataclass(frozen=True, slots=True)
class GenderRow:
    """Table 0001 (PID-8) → FHIR administrative-gender."""

    code: str
    display: str
    gender: str
    source: str


@dataclass(frozen=True, slots=True)
class AddressTypeRow:
    """Table 0190 (XAD.7) → FHIR address-use or address-type (one of them is set)."""

    code: str
    display: str
    use: str
    type: str
    source: str


@dataclass(frozen=True, slots=True)
class InterpretationRow:
    """Table 0078 (OBX-8) → v3-ObservationInterpretation code (``""``: no equivalent)."""

    code: str
    display: str
    interpretation: str
    source: str


@dataclass(frozen=True, slots=True)
class RoleRow:
    """Table 0369 (SPM-11 specimen role); ``control`` marks QC/calibration material."""

    code: str
    display: str
    control: bool
    source: str


@dataclass(frozen=True, slots=True)
class MessageTypeRow:
    """A message type (MSH-9.1^MSH-9.2) the reader maps."""

    code: str
    display: str
    source: str


@dataclass(frozen=True, slots=True)
class VersionRow:
    """An HL7 v2 version (table 0104, MSH-12)."""

    code: str
    display: str
    source: str


@dataclass(frozen=True, slots=True)
class CharsetRow:
    """Table 0211 (MSH-18) name → Python codec."""

    name: str
    codec: str
    standard: bool
    source: str


@dataclass(frozen=True, slots=True)
class Iso2022Row:
    """Table 0211 sets (MSH-18 names, upper-cased) that one ISO 2022 codec decodes together."""

    sets: frozenset[str]
    codec: str
    source: str


@dataclass(frozen=True, slots=True)
class CodingSystemRow:
    """Table 0396 coding system name → FHIR system URI."""

    name: str
    uri: str
    standard: bool
    source: str


@dataclass(frozen=True, slots=True)
class ControlTypeRow:
    """A specimen type code or word that names control material."""

    code: str
    kind: str  # "code" or "word"
    source: str


@dataclass(frozen=True, slots=True)
class Tables:
    """Every table the reader needs, keyed for lookup (charset and system names upper-cased)."""

    result_status: Mapping[str, ResultStatusRow]
    report_status: Mapping[str, ReportStatusRow]
    order_status: Mapping[str, OrderStatusRow]
    gender: Mapping[str, GenderRow]
    interpretation: Mapping[str, InterpretationRow]
    specimen_role: Mapping[str, RoleRow]
    control_types: tuple[ControlTypeRow, ...]
    control_codes: frozenset[str]  # upper-cased
    control_words: frozenset[str]  # lower-cased
    message_types: Mapping[str, MessageTypeRow]
    versions: Mapping[str, VersionRow]  # table 0104
    charsets: Mapping[str, CharsetRow]
    iso2022: tuple[Iso2022Row, ...]  # in the data file's order: narrowest codec first
    iso2022_only: frozenset[str]  # names read only through ISO 2022 (not in ``charsets``)
    coding_systems: Mapping[str, CodingSystemRow]
    address_type: Mapping[str, AddressTypeRow]  # table 0190 (PID-11.7)
    telecom_use: Mapping[str, str]  # table 0201 (XTN.2, upper-cased) → contact-point-use
    telecom_system: Mapping[str, str]  # table 0202 (XTN.3, upper-cased) → contact-point-system
    request_priority: Mapping[str, str]  # table 0485 (OBR-27.6, TQ1-9) → request-priority
    name_use: Mapping[str, str]  # table 0200 (XPN.7, upper) → name-use


_Row = TypeVar(
    "_Row",
    ResultStatusRow,
    ReportStatusRow,
    OrderStatusRow,
    GenderRow,
    InterpretationRow,
    RoleRow,
    MessageTypeRow,
    VersionRow,
    AddressTypeRow,
)
_Named = TypeVar("_Named", CharsetRow, CodingSystemRow)


@functools.cache
def load_tables() -> Tables:
    """All tables, read and checked once per process; raises DataFileError when malformed."""
    v2 = _read("v2_tables.toml")
    charsets = _read("charsets.toml")
    systems = _read("coding_systems.toml")
    control_types = tuple(
        ControlTypeRow(
            _text(row, "code", "control_specimen_types"),
            _choice(row, "kind", ("code", "word"), "control_specimen_types"),
            _source(row, "control_specimen_types"),
        )
        for row in _rows(v2, "control_specimen_types")
    )
    named_charsets = _named(
        CharsetRow(
            _text(row, "name", "charset"),
            _codec(row),
            _flag(row, "standard", "charset"),
            _source(row, "charset"),
        )
        for row in _rows(charsets, "charset")
    )
    iso2022 = tuple(
        Iso2022Row(_sets(row), _codec(row), _source(row, "iso2022"))
        for row in _rows(charsets, "iso2022")
    )
    return Tables(
        result_status=_keyed(
            ResultStatusRow(
                _text(row, "code", "table_0085"),
                _text(row, "display", "table_0085"),
                ResultStatus(_choice(row, "status", tuple(ResultStatus), "table_0085")),
                _dar(row),
                bool(row.get("no_result", False)),
                _source(row, "table_0085"),
                bool(row.get("value_sent_before", False)),
            )
            for row in _rows(v2, "table_0085")
        ),
        report_status=_keyed(
            ReportStatusRow(
                _text(row, "code", "table_0123"),
                _text(row, "display", "table_0123"),
                ReportStatus(_choice(row, "status", tuple(ReportStatus), "table_0123")),
                _source(row, "table_0123"),
            )
            for row in _rows(v2, "table_0123")
        ),
        order_status=_keyed(
            OrderStatusRow(
                _text(row, "code", "table_0038"),
                _text(row, "display", "table_0038"),
                _choice(row, "status", _REQUEST_STATUSES, "table_0038"),
                _source(row, "table_0038"),
            )
            for row in _rows(v2, "table_0038")
        ),
        gender=_keyed(
            GenderRow(
                _text(row, "code", "table_0001"),
                _text(row, "display", "table_0001"),
                _choice(row, "gender", _GENDERS, "table_0001"),
                _source(row, "table_0001"),
            )
            for row in _rows(v2, "table_0001")
        ),
        interpretation=_keyed(
            InterpretationRow(
                _text(row, "code", "table_0078"),
                _text(row, "display", "table_0078"),
                str(row.get("interpretation", "")),
                _source(row, "table_0078"),
            )
            for row in _rows(v2, "table_0078")
        ),
        specimen_role=_keyed(
            RoleRow(
                _text(row, "code", "table_0369"),
                _text(row, "display", "table_0369"),
                _flag(row, "control", "table_0369"),
                _source(row, "table_0369"),
            )
            for row in _rows(v2, "table_0369")
        ),
        control_types=control_types,
        control_codes=frozenset(r.code.upper() for r in control_types if r.kind == "code"),
        control_words=frozenset(r.code.lower() for r in control_types if r.kind == "word"),
        message_types=_listed(v2, "message_types", MessageTypeRow),
        versions=_listed(v2, "table_0104", VersionRow),
        charsets=named_charsets,
        iso2022=iso2022,
        iso2022_only=frozenset().union(*(row.sets for row in iso2022)) - named_charsets.keys(),
        coding_systems=_named(
            CodingSystemRow(
                _text(row, "name", "system"),
                _text(row, "uri", "system"),
                _flag(row, "standard", "system"),
                _source(row, "system"),
            )
            for row in _rows(systems, "system")
        ),
        address_type=_keyed(_address_type(row) for row in _rows(v2, "table_0190")),
        telecom_use=_coded(v2, "table_0201", "use", _TELECOM_USES),
        telecom_system=_coded(v2, "table_0202", "system", _TELECOM_SYSTEMS),
        request_priority=_coded(v2, "table_0485", "priority", _REQUEST_PRIORITIES),
        name_use=_coded(v2, "table_0200", "use", _NAME_USES),
    )


def _coded(
    document: dict[str, Any], table: str, key: str, allowed: tuple[str, ...]
) -> Mapping[str, str]:
    """A table of v2 codes (keyed upper-cased), each with its display, the FHIR ``key`` code
    and a source."""
    coded: dict[str, str] = {}
    for row in _rows(document, table):
        code = _text(row, "code", table)
        _text(row, "display", table)
        _source(row, table)
        if code.upper() in coded:
            raise DataFileError(f"hl7v2 data {table}: code {code!r} twice")
        coded[code.upper()] = _choice(row, key, allowed, table)
    return MappingProxyType(coded)


def _address_type(row: dict[str, Any]) -> AddressTypeRow:
    use = str(row.get("use", ""))
    kind = str(row.get("type", ""))
    if use not in _ADDRESS_USES or kind not in _ADDRESS_TYPES or bool(use) == bool(kind):
        raise DataFileError(
            f"hl7v2 data table_0190: {row} needs a use {_ADDRESS_USES[1:]} or a type "
            f"{_ADDRESS_TYPES[1:]}, not both"
        )
    return AddressTypeRow(
        _text(row, "code", "table_0190"),
        _text(row, "display", "table_0190"),
        use,
        kind,
        _source(row, "table_0190"),
    )


_Listed = TypeVar("_Listed", MessageTypeRow, VersionRow)


def _listed(document: dict[str, Any], table: str, row_type: type[_Listed]) -> Mapping[str, _Listed]:
    """A table of rows that are a code, its display and a source, keyed by code."""
    return _keyed(
        row_type(_text(row, "code", table), _text(row, "display", table), _source(row, table))
        for row in _rows(document, table)
    )


def _read(name: str) -> dict[str, Any]:
    return document(name, "leukoflag.hl7v2")


def _rows(document: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows = document.get(table)
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"hl7v2 data: table {table!r} is missing or empty")
    return rows


def _text(row: dict[str, Any], key: str, table: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise DataFileError(f"hl7v2 data {table}: row {row!r} needs a non-empty {key!r}")
    return value


def _source(row: dict[str, Any], table: str) -> str:
    return _text(row, "source", table)


def _flag(row: dict[str, Any], key: str, table: str) -> bool:
    value = row.get(key)
    if not isinstance(value, bool):
        raise DataFileError(f"hl7v2 data {table}: row {row!r} needs {key!r} = true/false")
    return value


def _choice(row: dict[str, Any], key: str, allowed: tuple[str, ...], table: str) -> str:
    value = _text(row, key, table)
    if value not in allowed:
        raise DataFileError(f"hl7v2 data {table}: {key} {value!r} is not one of {allowed}")
    return value


def _dar(row: dict[str, Any]) -> str:
    value = str(row.get("data_absent_reason", ""))
    if value and value not in _DATA_ABSENT_REASONS:
        raise DataFileError(f"hl7v2 data table_0085: unknown data-absent-reason {value!r}")
    return value


def _codec(row: dict[str, Any]) -> str:
    codec = _text(row, "codec", "charset")
    try:
        codecs.lookup(codec)
    except LookupError:
        raise DataFileError(f"hl7v2 data charset: unknown Python codec {codec!r}") from None
    return codec


def _sets(row: dict[str, Any]) -> frozenset[str]:
    sets = row.get("sets")
    if not isinstance(sets, list) or not sets or not all(isinstance(s, str) and s for s in sets):
        raise DataFileError(f"hl7v2 data iso2022: row {row!r} needs a list of set names")
    return frozenset(name.strip().upper() for name in sets)


def _keyed(rows: Iterable[_Row]) -> Mapping[str, _Row]:
    table: dict[str, _Row] = {}
    for row in rows:
        if row.code in table:
            raise DataFileError(f"hl7v2 data: duplicate code {row.code!r}")
        table[row.code] = row
    return MappingProxyType(table)


def _named(rows: Iterable[_Named]) -> Mapping[str, _Named]:
    table: dict[str, _Named] = {}
    for row in rows:
        key = row.name.strip().upper()
        if key in table:
            raise DataFileError(f"hl7v2 data: duplicate name {row.name!r}")
        table[key] = row
    return MappingProxyType(table)
