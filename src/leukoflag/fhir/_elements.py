"""FHIR datatypes as plain dicts, and the output contract for an in-scope count.

Shared by the Bundle writer (:mod:`._write`) and the in-place flagger (:mod:`._flag`), so an
HL7 v2 result and a FHIR input result come out with the same value, range, interpretation and
explanation. Every function returns new dicts and lists, made for the caller (what is cached
here is a template that is copied, never handed out); none mutates its input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from leukoflag import flagging, units
from leukoflag._cache import text_cache
from leukoflag._identifier_types import identifier_types
from leukoflag._quote import listed, quoted
from leukoflag.fhir._json import plain
from leukoflag.fhir._shared import by_identity
from leukoflag.fhir._terms import (
    DAR,
    LEGACY_V2_0078,
    UCUM,
    UCUM_OID,
    V2_0078,
    V2_0203,
    V3_INTERPRETATION,
    tables,
)
from leukoflag.model import (
    Coding,
    Concept,
    Evaluation,
    Finding,
    Identifier,
    Issue,
    NormalizedRange,
    Number,
    ReferenceRange,
    Severity,
    Timestamp,
    Unit,
)

__all__ = [
    "BIRTH_TIME",
    "COMPUTED_CONCLUSION",
    "DAR_EXTENSION",
    "DERIVED_ANC_TEXT",
    "EXPLANATION",
    "ORIGINAL_TEXT",
    "PQ_TRANSLATION",
    "RANGE_SOURCE",
    "RESPACED_SEEN",
    "SENDER_INTERPRETATION",
    "SOURCE_MESSAGE",
    "UNIT_ALTERNATE_SENT",
    "UNIT_CODE_SENT",
    "UNIT_ORIGINAL_TEXT_SENT",
    "V2_NAMED",
    "checked_date_time",
    "coding",
    "computed_interpretation",
    "concept",
    "conclusion",
    "data_absent_reason",
    "date_time",
    "explanation",
    "fhir_code",
    "identifier",
    "instant",
    "is_computed_conclusion",
    "is_uri",
    "kept_quantity",
    "laboratory",
    "local_system",
    "misread_ucum",
    "normalized_quantity",
    "normalized_ranges",
    "not_ucum",
    "per_ul",
    "plain_number",
    "quantity",
    "respaced_codes",
    "respaced_issue",
    "sent_interpretations",
    "sent_range",
    "unit_fields",
    "with_loinc",
]

_BASE = "http://leukoflag.org/fhir/StructureDefinition/"
EXPLANATION = _BASE + "interpretation-explanation"
SENDER_INTERPRETATION = _BASE + "sender-interpretation"
RANGE_SOURCE = _BASE + "reference-range-source"
SOURCE_MESSAGE = _BASE + "source-message"
# On each DiagnosticReport.conclusionCode leukoflag adds: a re-flag replaces its own, not the lab's
COMPUTED_CONCLUSION = _BASE + "computed-conclusion"
# OBX-6.1 of a unit refused for disagreeing with its text, without the system Quantity.code needs
UNIT_CODE_SENT = _BASE + "unit-code-sent"
# OBX-6.4-6 of a unit refused for disagreeing with its alternate coding, which Quantity lacks
UNIT_ALTERNATE_SENT = _BASE + "unit-alternate-sent"
# OBX-6.9 of a unit refused for naming a count of another scale than the unit
UNIT_ORIGINAL_TEXT_SENT = _BASE + "unit-original-text-sent"
# The code system a v2 message named only by its table 0396 name (L, 99LAB): + the name
V2_NAMED = "http://leukoflag.org/fhir/CodeSystem/v2-named/"
# FHIR core extensions (http://hl7.org/fhir/extensions).
PQ_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
ORIGINAL_TEXT = "http://hl7.org/fhir/StructureDefinition/originalText"
# The original text leukoflag keeps of a value sent with a comparator: "<0.5 10*3/uL"
ORIGINAL_FORM = re.compile(r"^(<=|>=|<|>|ad)?(\d+(?:\.\d+)?)(?: (.+))?$")
DAR_EXTENSION = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"

# code.text of every ANC leukoflag adds (flagged or withdrawn): what marks it as leukoflag's own
DERIVED_ANC_TEXT = "Neutrophils [#/volume] in Blood, derived by leukoflag"
PER_UL_UNIT = "cells/µL"
PER_UL_CODE = "/uL"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_DATE_TIME = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$"
)
_MINUTES_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})$")
_INTERPRETATION_SYSTEMS = frozenset(("", V2_0078, LEGACY_V2_0078, V3_INTERPRETATION))


def plain_number(value: Any) -> str:
    """A JSON number as text, exact: ``Decimal("1E+3")`` → ``1000``."""
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


@text_cache(512)
def is_uri(system: str) -> bool:
    """Whether ``system`` is a URI (``http://loinc.org``, ``urn:oid:…``), not a v2 name."""
    if any(c.isspace() for c in system):
        return False  # FHIR uri holds no whitespace: a validator refuses it, so it is a name
    return "://" in system or system.startswith("urn:")


# --------------------------------------------------------------------------- datatypes


def laboratory() -> dict[str, Any]:
    """The ``laboratory`` Observation category."""
    return {"coding": [{"system": _CATEGORY, "code": "laboratory", "display": "Laboratory"}]}


_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_PARTICIPATION_DISPLAY = {
    "ATND": "attender",
    "REF": "referrer",
    "CON": "consultant",
    "ADM": "admitter",
}


def participation_type(code: str) -> dict[str, Any]:
    """An Encounter.participant.type (v3-ParticipationType, R4 and R5) for a PV1 doctor."""
    return {
        "coding": [
            {"system": _PARTICIPATION_TYPE, "code": code, "display": _PARTICIPATION_DISPLAY[code]}
        ]
    }


def coding(value: Coding) -> dict[str, Any]:
    """A Coding. A system the sender named only by a v2 name (``L``, ``99LAB``) has no URI of
    its own: it is written as :data:`V2_NAMED` + its name, so no reader takes it for LOINC."""
    return _coding_fields(
        value.code, value.display, value.system, value.version, value.system_name
    ).copy()


# Not empty once fhir_code has written a code otherwise (rarely): until then no code written
# in this process is respaced, and the writer looks for none (each code written is rendered by
# fhir_code before its Issue is looked for, on the first sight of its text).
RESPACED_SEEN: list[bool] = []


def fhir_code(code: str) -> str:
    """``code`` as a FHIR ``code``, which holds no whitespace but single spaces between its
    characters: each run of whitespace sent (``CBC  DIFF``, a tab, a line break) as one space."""
    respaced = " ".join(code.split())
    if respaced == code:
        return code
    if not RESPACED_SEEN:
        RESPACED_SEEN.append(True)
    return respaced


def respaced_codes(value: Concept | None) -> tuple[str, ...]:
    """The codes of ``value`` as sent that :func:`fhir_code` writes otherwise (rarely any)."""
    if value is None:
        return ()
    return tuple(c.code for c in value.codings if c.code and fhir_code(c.code) != c.code)


def local_system(name: str) -> str:
    """The system URI written for a coding system named ``name`` in a v2 message (CWE.3)."""
    return V2_NAMED + quote(name, safe="")


@text_cache(4096, texts=5)
def _coding_fields(
    code: str, display: str, system: str, version: str, system_name: str = ""
) -> dict[str, str]:
    """The elements of a Coding (feeds repeat their codes). A template: callers copy it."""
    out: dict[str, str] = {}
    if system and is_uri(system):
        out["system"] = system
        if version:
            out["version"] = version
    elif system_name:
        # without a system a code of the analyte table's LOINC rows is read as LOINC
        out["system"] = local_system(system_name)
        if version:
            out["version"] = version
    if code:
        out["code"] = fhir_code(code)
    if display:
        out["display"] = display
    return out


def conclusion(condition: Coding) -> dict[str, Any]:
    """A finding for ``DiagnosticReport.conclusionCode``, marked as leukoflag's."""
    return {
        "extension": [{"url": COMPUTED_CONCLUSION, "valueBoolean": True}],
        "coding": [coding(condition)],
    }


def is_computed_conclusion(value: Any) -> bool:
    """Whether a ``conclusionCode`` entry is one leukoflag added (:func:`conclusion`)."""
    extensions = value.get("extension") if isinstance(value, dict) else None
    return isinstance(extensions, list) and any(
        isinstance(e, dict) and e.get("url") == COMPUTED_CONCLUSION for e in extensions
    )


def concept(value: Concept | None) -> dict[str, Any] | None:
    """A CodeableConcept, or None when ``value`` holds nothing."""
    if value is None:
        return None
    codings = value.codings
    if len(codings) == 1 and not value.text:  # the common OBX-3: one coding
        first = codings[0]
        one = _coding_fields(
            first.code, first.display, first.system, first.version, first.system_name
        )
        return {"coding": [one.copy()]} if one else None
    written = [c for c in (coding(c) for c in codings) if c]
    out: dict[str, Any] = {}
    if written:
        out["coding"] = written
    if value.text:
        out["text"] = value.text
    return out or None


def with_loinc(value: dict[str, Any] | None, loinc: Coding | None) -> dict[str, Any] | None:
    """``value`` (a CodeableConcept dict) with the ``loinc`` coding appended when absent."""
    if loinc is None:
        return value
    added = coding(loinc)
    out = dict(value) if value else {}
    sent = out.get("coding")
    codings = list(sent) if isinstance(sent, list) else []
    if not any(
        isinstance(c, dict)
        and c.get("system") == added.get("system")
        and c.get("code") == loinc.code
        for c in codings
    ):
        codings.append(added)
    out["coding"] = codings
    return out


def identifier(value: Identifier, type_code: str = "") -> dict[str, Any]:
    """An Identifier; a v2 identifier type (table 0203) becomes ``type`` (one outside the table,
    or in other case, its ``text``); an assigning authority that is a name rather than a URI
    becomes ``assigner.display``."""
    out: dict[str, Any] = {}
    code = type_code or value.type_code
    if code:
        coding, text = _identifier_type(code)
        kind: dict[str, Any] = {"coding": [coding.copy()]} if coding else {}
        if text:
            kind["text"] = text
        out["type"] = kind
    assigner = value.assigner
    if value.system and is_uri(value.system):
        out["system"] = value.system
    elif value.system and not assigner:
        assigner = value.system
    out["value"] = value.value
    if assigner:
        out["assigner"] = {"display": assigner}
    return out


@text_cache(256)
def _identifier_type(code: str) -> tuple[dict[str, str] | None, str]:
    """The coding (a template: callers copy it) and text of ``Identifier.type`` for a CX.5:
    a v2-0203 coding only for a table 0203 code, which a validator refuses any other code of;
    one in other case (``mr``) as that code, the code sent its text; any other, text only."""
    known = code.upper()
    if known not in identifier_types():
        return None, code
    display = tables().identifier_type.get(known, "")
    typed = {"system": V2_0203, "code": known}
    if display:
        typed["display"] = display
    return typed, "" if known == code else code


def quantity(value: Decimal, unit: Unit | None, comparator: str = "") -> dict[str, Any]:
    """A Quantity as sent (V2-to-FHIR IG: code only when the unit names a URI system)."""
    fields = unit_fields(unit)
    if comparator:
        return {"value": value, "comparator": comparator, **fields}
    return {"value": value, **fields}


def unit_fields(unit: Unit | None) -> dict[str, str]:
    """``Quantity.unit``, ``.system`` and ``.code`` of ``unit`` as sent. A template: callers
    copy its items into the Quantity they build (``{"value": v, **fields}``)."""
    return _NO_UNIT if unit is None else _unit_fields(unit.text, unit.code, unit.system)


_NO_UNIT: dict[str, str] = {}


@text_cache(1024, texts=3)
def _unit_fields(text: str, code: str, system: str) -> dict[str, str]:
    """``Quantity.unit``, ``.system`` and ``.code`` of a unit as sent (feeds repeat units).

    A template: callers copy its items into the Quantity they build, never hand it out.
    """
    shown = text or code
    fields = {"unit": shown} if shown else {}
    if code and system and is_uri(system):
        fields["system"] = system
        fields["code"] = code
    return fields


# UCUM by its URI or its OID (read as UCUM too): a lab spelling under either claims UCUM
_UCUM_SYSTEMS = (UCUM, UCUM_OID)


def kept_quantity(value: Decimal, unit: Unit | None) -> dict[str, Any]:
    """A quantity as sent, kept beside its value in cells/µL (PQ translation): as
    :func:`quantity`, but a lab spelling sent as a UCUM code (``K/uL``) is not claimed as UCUM
    (see :func:`not_ucum`)."""
    if unit is None:
        return {"value": value}
    template = _kept_unit_fields(unit.text, unit.code, unit.system)
    if template is None:  # rare: the code is a lab spelling sent with the UCUM system
        return not_ucum({"value": value, **_unit_fields(unit.text, unit.code, unit.system)})
    # a copy with the value set: less than building a dict and merging the unit in (as per_ul)
    kept = template.copy()
    kept["value"] = value
    return kept


@text_cache(1024, texts=3)
def _kept_unit_fields(text: str, code: str, system: str) -> dict[str, Any] | None:
    """``{"value": None}`` and :func:`_unit_fields` (a template, copied with its value set), or
    None when the code is a lab spelling sent as a UCUM code."""
    fields = _unit_fields(text, code, system)
    if fields.get("system") in _UCUM_SYSTEMS and units.misread_ucum_code(Unit(text, code, system)):
        return None
    return {"value": None, **fields}


def misread_ucum(unit: Unit | None) -> bool:
    """Whether ``unit`` sends a lab spelling as a UCUM code (``K/uL^^UCUM``): a Quantity as sent
    must not claim it as UCUM (see :func:`not_ucum`)."""
    return unit is not None and _kept_unit_fields(unit.text, unit.code, unit.system) is None


def not_ucum(sent: dict[str, Any]) -> dict[str, Any]:
    """A Quantity as sent whose ``code`` with the UCUM system is a lab spelling the unit table
    reads (``K/uL``, which UCUM reads as kelvin per µL; ``units.code-not-ucum``), written
    without claiming it as UCUM: the unit text kept, the code, when not that text, in
    :data:`UNIT_CODE_SENT` (read back, it is read as a spelling again)."""
    code = sent.get("code")
    if sent.get("system") not in _UCUM_SYSTEMS or not isinstance(code, str) or not code.strip():
        return sent
    shown = sent.get("unit")
    unit = shown if isinstance(shown, str) and shown.strip() else code
    if not units.misread_ucum_code(Unit(unit, code, UCUM)):
        return sent
    kept = {k: v for k, v in sent.items() if k not in ("extension", "system", "code", "unit")}
    extensions = sent.get("extension")
    own = extensions if isinstance(extensions, list) else []
    if unit == code:
        return {"extension": own, **kept, "unit": unit} if own else {**kept, "unit": unit}
    marked = [*own, {"url": UNIT_CODE_SENT, "valueString": code}]
    return {"extension": marked, **kept, "unit": unit}


def per_ul(value: Decimal, comparator: str = "") -> dict[str, Any]:
    """A count in cells/µL: the normalized quantity of the output contract."""
    if comparator:
        return {"value": value, "comparator": comparator, **_PER_UL}
    quantity = _PER_UL_VALUE.copy()
    quantity["value"] = value
    return quantity


_PER_UL = {"unit": PER_UL_UNIT, "system": UCUM, "code": PER_UL_CODE}  # a template, copied
# The same with "value" (and "extension") first, in the output's key order: a quantity is a
# copy with them set, which costs less than building a dict and merging _PER_UL into it.
_PER_UL_VALUE: dict[str, Any] = {"value": None, **_PER_UL}
_PER_UL_KEPT: dict[str, Any] = {"extension": None, "value": None, **_PER_UL}


def date_time(stamp: Timestamp | None) -> str | None:
    """``stamp`` as a FHIR dateTime, or None when it holds none (absent or malformed)."""
    if stamp is None:
        return None
    return checked_date_time(stamp.fhir)


@text_cache(4096)
def checked_date_time(text: str) -> str | None:
    """``text`` (a ``Timestamp.fhir``) as a valid FHIR dateTime (seconds added to ``hh:mm``),
    or None. :func:`date_time` without the call around it, for the writer's per-OBX path."""
    text = _with_seconds(text)
    return text if _DATE_TIME.match(text) else None


def ends_before(end: str, start: str) -> bool:
    """Whether the FHIR dateTime ``end`` is surely before ``start``: both times of day (compared
    as instants, offsets applied) or both dates at the same precision; else they may overlap (a
    time without offset, invalid FHIR input, beside one with an offset: the two are
    in no known relation; two without offset are compared as sent, as before)."""
    if "T" in end and "T" in start:
        try:
            ends, starts = dt.datetime.fromisoformat(end), dt.datetime.fromisoformat(start)
        except ValueError:  # a leap second (:60), valid in FHIR, unknown to datetime
            return False
        if (ends.tzinfo is None) != (starts.tzinfo is None):
            return False
        return ends < starts
    return "T" not in end and "T" not in start and len(end) == len(start) and end < start


def died_before_birth(died: str, birth: str) -> bool:
    """Whether the FHIR dateTime ``died`` is surely before ``birth``: as instants when both have
    a time of day, else by their dates at the precision both have (1960 is before 1961-07-19;
    a death on the day of birth is not before it)."""
    if "T" in died and "T" in birth:
        return ends_before(died, birth)
    common = min(len(died), len(birth), 10)
    return died[:common] < birth[:common]


def instant(stamp: Timestamp | None) -> str | None:
    """``stamp`` as a FHIR instant (time of day with seconds and an offset), or None."""
    text = date_time(stamp)
    if text is None or "T" not in text:
        return None
    return text


def _with_seconds(text: str) -> str:
    match = _MINUTES_ONLY.match(text)
    return f"{match.group(1)}:00{match.group(2)}" if match else text


# --------------------------------------------------------------------------- in-scope results


def normalized_quantity(evaluation: Evaluation, sent: Number, unit: Unit | None) -> dict[str, Any]:
    """The normalized ``valueQuantity`` of an in-scope count, keeping what was sent.

    An exact value keeps the sent value, unit string and code as an ISO 21090 PQ translation
    (the same physical quantity in another unit). A value with a comparator is an interval, not
    a PQ: its text as sent (``<0.5 K/uL``) is kept as ``originalText`` instead.
    """
    assert evaluation.quantity is not None
    normalized = evaluation.quantity
    kept: dict[str, Any]
    if normalized.comparator:
        shown = " ".join(p for p in (sent.text, unit.text or unit.code if unit else "") if p)
        kept = {"url": ORIGINAL_TEXT, "valueString": shown}
    else:
        kept = {"url": PQ_TRANSLATION, "valueQuantity": kept_quantity(sent.value, unit)}
    if normalized.comparator:
        return {
            "extension": [kept],
            "value": normalized.value,
            "comparator": normalized.comparator,
            **_PER_UL,
        }
    quantity = _PER_UL_KEPT.copy()
    quantity["extension"] = [kept]
    quantity["value"] = normalized.value
    return quantity


def derived_status(statuses: Iterable[str]) -> str:
    """``Observation.status`` of a derived ANC from its sources' statuses: entered-in-error when
    one is (it withdraws the ANC derived from them before), else cancelled, registered or
    unknown when one is (a source no longer available, read back: no value of it stands), else
    preliminary when one is (a value computed from a preliminary one is preliminary), else
    corrected or amended when one was (the derived value changed with it), else final."""
    found = set(statuses)
    for status in (
        "entered-in-error",
        "cancelled",
        "registered",
        "unknown",
        "preliminary",
        "corrected",
        "amended",
    ):
        if status in found:
            return status
    return "final"


def supplied_range(entry: dict[str, Any]) -> bool:
    """Whether a ``referenceRange`` entry is one leukoflag supplied (output read back), not the
    lab's: it carries :data:`RANGE_SOURCE`."""
    extensions = entry.get("extension")
    return isinstance(extensions, list) and any(
        isinstance(e, dict) and e.get("url") == RANGE_SOURCE for e in extensions
    )


def normalized_ranges(
    chosen: NormalizedRange, sent: ReferenceRange | None, value_unit: Unit | None
) -> list[dict[str, Any]]:
    """``referenceRange`` of an in-scope count: the range leukoflag judged with, in cells/µL.

    A lab range keeps its text and, on each limit, the limit as sent (PQ translation). A range
    leukoflag supplied says so (:data:`RANGE_SOURCE`); the lab's own range, when sent but not
    used, follows as sent.
    """
    entry: dict[str, Any] = {}
    lab = chosen.source == "lab"
    if not lab:
        source: list[dict[str, Any]] = [{"url": "source", "valueCode": chosen.source}]
        if chosen.citation:
            source.append({"url": "citation", "valueString": chosen.citation})
        entry["extension"] = [{"url": RANGE_SOURCE, "extension": source}]
    # a range given per sex: the limits as sent are those of the range it was judged with
    limits = chosen.limits_sent if sent is not None and chosen.limits_sent is not None else sent
    unit = limits.unit if limits is not None and limits.unit is not None else value_unit
    for name, limit in (("low", chosen.low), ("high", chosen.high)):
        if limit is None:
            continue
        original = getattr(limits, name) if lab and limits is not None else None
        if name == "high" and limits is not None and limits.high_unit is not None:
            unit = limits.high_unit  # the union of ranges per sex in two units
        if original is None:
            entry[name] = quantity = _PER_UL_VALUE.copy()
        else:
            translation = {"url": PQ_TRANSLATION, "valueQuantity": kept_quantity(original, unit)}
            entry[name] = quantity = _PER_UL_KEPT.copy()
            quantity["extension"] = [translation]
        quantity["value"] = limit
    if lab and chosen.text:
        entry["text"] = chosen.text
    ranges = [entry]
    if not lab and sent is not None:
        ranges.append(sent_range(sent, value_unit))
    return ranges


def sent_range(sent: ReferenceRange, value_unit: Unit | None) -> dict[str, Any]:
    """A reference range as sent: parsed limits (in the range's unit, else the value's), text."""
    fields = unit_fields(sent.unit if sent.unit is not None else value_unit)
    out: dict[str, Any] = {}
    low, high = sent.low, sent.high
    if low is not None and low.is_finite():
        out["low"] = {"value": low, **fields}
    if high is not None and high.is_finite():
        out["high"] = {"value": high, **fields}
    if sent.text:
        out["text"] = sent.text
    return out


def computed_interpretation(code: str) -> dict[str, Any]:
    """The one interpretation leukoflag computed (v3-ObservationInterpretation)."""
    return {"coding": [_interpretation_coding(code).copy()]}


# Sender's flags written without a system said each in an Issue; the rest are one Issue.
_FLAGS_SAID = 5


@text_cache(64)
def _interpretation_coding(code: str) -> dict[str, str]:
    """The v3-ObservationInterpretation coding of ``code``. A template: callers copy it."""
    known = tables().interpretation.get(code)
    display = known.display if known is not None and known.system == V3_INTERPRETATION else ""
    out = {"system": V3_INTERPRETATION, "code": code}
    if display:
        out["display"] = display
    return out


def sent_interpretations(
    flags: Iterable[Coding], location: str
) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The sender's flags (OBX-8 repetitions, FHIR interpretation codings), one CodeableConcept
    each. Table 0078 codes are written code for code in v3-ObservationInterpretation (or kept in
    v2-0078 when v3 has no equivalent); codings of other systems are kept as they are."""
    written: list[dict[str, Any]] = []
    issues: list[Issue] = []
    unsaid: dict[str, None] = {}  # the codes written without a system, each said once
    table = tables().interpretation
    for flag in flags:
        code = flag.code.strip()
        if not code:
            continue
        known = table.get(code) if flag.system in _INTERPRETATION_SYSTEMS else None
        if known is not None and not flag.system and _local_name(flag.system_name):
            known = None  # 'L^Low^99LOC': the lab's own L (V2-to-FHIR IG: CWE.3 is the system)
        if known is not None:
            written.append({"coding": [coding(known)]})
            continue
        if (flag.system and is_uri(flag.system) and flag.system not in _INTERPRETATION_SYSTEMS) or (
            not flag.system and _local_name(flag.system_name)
        ):
            written.append({"coding": [coding(flag)]})
            continue
        unknown = {"code": fhir_code(code)}
        if flag.display:  # the sender's words are all a reader has to go on
            unknown["display"] = flag.display
        written.append({"coding": [unknown]})
        if code in unsaid:
            continue
        unsaid[code] = None
        if len(unsaid) <= _FLAGS_SAID:
            issues.append(
                Issue(
                    Severity.WARNING,
                    "fhir.interpretation-unknown",
                    location,
                    f"the sender's flag {quoted(code)} is in neither HL7 table 0078 nor "
                    "v3-ObservationInterpretation; written without a system",
                )
            )
            if unknown["code"] != code:  # 'L  L': written 'L L', as the other codes sent so are
                issues.append(respaced_issue(code, location))
    if len(unsaid) > _FLAGS_SAID:  # thousands of local flags: one Issue for the rest
        rest = list(unsaid)[_FLAGS_SAID:]
        issues.append(
            Issue(
                Severity.WARNING,
                "fhir.interpretation-unknown",
                location,
                f"{len(rest):,} more of the sender's flags are in neither HL7 table 0078 nor "
                "v3-ObservationInterpretation; written without a system: "
                + listed([quoted(code) for code in rest[:3]], len(rest)),
            )
        )
    return written, issues


def _local_name(system_name: str) -> bool:
    """Whether a coding system named in a v2 message (CWE.3) is neither none nor table 0078."""
    return bool(system_name) and system_name.upper() != "HL70078"


def respaced_issue(code: str, location: str) -> Issue:
    """The Issue for ``code``, sent at ``location``, written otherwise by :func:`fhir_code`."""
    return Issue(
        Severity.WARNING,
        "fhir.code-respaced",
        location,
        f"code {quoted(code)} holds whitespace that a FHIR code cannot (a run of spaces, a tab, "
        f"a line break): written as {quoted(fhir_code(code))}",
    )


def explanation(finding: Finding) -> dict[str, Any]:
    """The leukoflag extension that says why the result got its interpretation code."""
    parts: list[dict[str, Any]] = [
        {"url": "rule", "valueString": finding.rule},
        {"url": "value", "valueQuantity": per_ul(finding.value_per_ul, finding.comparator)},
    ]
    if finding.threshold is not None:
        parts.append({"url": "threshold", "valueQuantity": per_ul(finding.threshold)})
    if finding.threshold_source:
        parts.append({"url": "thresholdSource", "valueString": finding.threshold_source})
    chosen = finding.range
    if chosen is not None:
        parts.append({"url": "rangeSource", "valueCode": chosen.source})
        if chosen.sex:
            parts.append({"url": "rangeSex", "valueCode": chosen.sex})
            if (sent := chosen.limits_sent) is not None and sent.sex_label:
                # M is men in English, women in Spanish: the label and how it was read
                label = f"{sent.sex_label} ({sent.sex_language})"
                parts.append({"url": "rangeSexLabel", "valueString": label})
        limits = {}
        if chosen.low is not None:
            limits["low"] = low = _PER_UL_VALUE.copy()
            low["value"] = chosen.low
        if chosen.high is not None:
            limits["high"] = high = _PER_UL_VALUE.copy()
            high["value"] = chosen.high
        if limits:
            parts.append({"url": "range", "valueRange": limits})
        if chosen.citation:
            parts.append({"url": "rangeCitation", "valueString": chosen.citation})
    if finding.condition is not None:
        parts.append({"url": "finding", "valueCoding": _table_coding(finding.condition, None)})
    if finding.severity:
        parts.append({"url": "severity", "valueCode": finding.severity})
    grade = _grade(finding.ctcae_grade)
    if grade is not None:
        parts.append({"url": "ctcaeGrade", "valueCoding": _table_coding(grade, None)})
        if finding.ctcae_version:
            parts.append({"url": "ctcaeVersion", "valueString": finding.ctcae_version})
        if finding.ctcae_term is not None:
            parts.append(
                {"url": "ctcaeTerm", "valueCoding": _table_coding(finding.ctcae_term, None)}
            )
    if finding.derived:
        parts.append({"url": "derived", "valueBoolean": True})
    return {"url": EXPLANATION, "extension": parts}


def _coding(value: Coding, _: None) -> dict[str, Any]:
    return coding(value)


# flagging's findings, grades and terms are the Codings of its rules file, the same every time
_table_coding = by_identity(_coding, dict.copy, limit=256)


def _grade(grade: int | None) -> Coding | None:
    """The NCIt coding of a CTCAE grade (flagging's table: grades 1–5), or None."""
    if grade is None:
        return None
    try:
        return flagging.ctcae_grade_coding(grade)
    except KeyError:
        return None


def data_absent_reason(code: str, text: str = "") -> dict[str, Any]:
    """``dataAbsentReason`` with the code's display (THO data-absent-reason)."""
    out: dict[str, Any] = {"system": DAR, "code": code}
    display = tables().data_absent_reason.get(code)
    if display:
        out["display"] = display
    concept_dict: dict[str, Any] = {"coding": [out]}
    if text:
        concept_dict["text"] = text
    return concept_dict


def derived_before(node: dict[str, Any]) -> bool:
    """Whether ``node`` is a derived ANC leukoflag wrote (its explanation says ``derived``)."""
    extensions = node.get("extension")
    for explanation in extensions if isinstance(extensions, list) else ():
        if isinstance(explanation, dict) and explanation.get("url") == EXPLANATION:
            parts = explanation.get("extension")
            return any(
                isinstance(part, dict)
                and part.get("url") == "derived"
                and part.get("valueBoolean") is True
                for part in (parts if isinstance(parts, list) else ())
            )
    return False
