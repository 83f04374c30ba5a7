"""Builders of realistic lab messages for tests: HL7 v2 ORU^R01 text and FHIR Observations/Bundles.

A one-line call gives a complete, valid message with sensible, deterministic defaults::

    msg = oru_message(patient=patient(birth_date="20190302"), results=[wbc(3.2, "10*9/L")])
    msg.text      # "MSH|^~\\&|…\\rPID|…\\rPV1|…\\rORC|…\\rOBR|…\\rOBX|…\\rSPM|…\\r"
    msg.mllp()    # the same, UTF-8 encoded in an MLLP frame

Every value is escaped with the message's own delimiters (a ``^`` in a unit is written
``\\S\\``), so a builder never produces invalid HL7: what cannot be written validly (a charset
that cannot carry the text, a bad delimiter set) raises ``ValueError``. The same call always
gives the same text: timestamps default to :data:`DEFAULT_COLLECTED`, and the message control id
is a digest of the content. This module uses the standard library only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeAlias

__all__ = [
    "DEFAULT_COLLECTED",
    "Code",
    "FhirResource",
    "Hl7Batch",
    "OrderSpec",
    "OruMessage",
    "PatientSpec",
    "ResultSpec",
    "anc",
    "batch",
    "fhir_bundle",
    "local_code",
    "loinc",
    "ndjson",
    "observation",
    "order",
    "oru_message",
    "patient",
    "result",
    "snomed",
    "to_mllp",
    "ucum",
    "wbc",
]

#: When the default specimen was collected; every other default time is a fixed step after it.
DEFAULT_COLLECTED: Final = dt.datetime(
    2026, 11, 24, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))
)
_RECEIVED_AFTER = dt.timedelta(minutes=20)
_ANALYZED_AFTER = dt.timedelta(minutes=45)
_REPORTED_AFTER = dt.timedelta(minutes=55)
_SENT_AFTER = dt.timedelta(minutes=56)

_MLLP_START = b"\x0b"
_MLLP_END = b"\x1c\x0d"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "http://leukoflag.org/testing")

# HL7 v2 names of coding systems (table 0396) and the FHIR URIs the shared conventions use.
_SYSTEM_URIS: Final = {
    "LN": "http://loinc.org",
    "UCUM": "http://unitsofmeasure.org",
    "SCT": "http://snomed.info/sct",
    "HL70487": "http://terminology.hl7.org/CodeSystem/v2-0487",
    "HL70070": "http://terminology.hl7.org/CodeSystem/v2-0070",
    "HL70078": "http://terminology.hl7.org/CodeSystem/v2-0078",
    "HL70369": "http://terminology.hl7.org/CodeSystem/v2-0369",
}
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

# V2-to-FHIR IG, OBX-11 → Observation.status; the builder accepts either spelling.
_V2_TO_FHIR_STATUS: Final = {
    "F": "final",
    "C": "corrected",
    "A": "amended",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "D": "entered-in-error",
    "W": "entered-in-error",
    "X": "cancelled",
    "I": "registered",
    "N": "final",
    "V": "final",
    "U": "final",
    "B": "final",
}
_FHIR_TO_V2_STATUS: Final = {
    "final": "F",
    "corrected": "C",
    "amended": "A",
    "preliminary": "P",
    "entered-in-error": "D",
    "cancelled": "X",
    "registered": "I",
}
# V2-to-FHIR IG, OBR-25 → DiagnosticReport.status.
_V2_TO_FHIR_REPORT_STATUS: Final = {
    "O": "registered",
    "I": "registered",
    "S": "registered",
    "P": "preliminary",
    "C": "corrected",
    "R": "partial",
    "A": "partial",
    "F": "final",
    "X": "cancelled",
}
# HL7 table 0001 administrative sex ↔ FHIR administrative-gender.
_V2_TO_FHIR_SEX: Final = {
    "F": "female",
    "M": "male",
    "O": "other",
    "A": "other",
    "U": "unknown",
    "N": "unknown",
}
_FHIR_TO_V2_SEX: Final = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
_DATA_ABSENT_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

_CHARSET_CODECS: Final = {
    "": "ascii",  # HL7 v2: no MSH-18 means the basic (7-bit ASCII) character set
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
}
_VERSIONS: Final = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7")
# Versions whose ORU^R01 definition (as hl7apy, leukoflag's strict mode, reads it) requires OBX-4
# and ORC-7/OBR-27 (quantity/timing): the builder fills them there so the message stays valid.
_SUB_ID_REQUIRED: Final = frozenset({"2.3.1", "2.7"})
_TIMING_REQUIRED: Final = frozenset({"2.3"})
_LINE_ENDINGS: Final = ("\r", "\n", "\r\n")

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMERIC = re.compile(rf"^{_NUMBER}$")
_COMPARATOR = re.compile(rf"^(<=|>=|<>|<|>|=)\s*({_NUMBER})$")
_RANGE_VALUE = re.compile(rf"^({_NUMBER})\s*-\s*({_NUMBER})$")
_RATIO_VALUE = re.compile(rf"^({_NUMBER})\s*([:/])\s*({_NUMBER})$")
_RANGE_TEXT = re.compile(rf"^\s*({_NUMBER})\s*(?:-|to)\s*({_NUMBER})\s*$")
_BOUND_TEXT = re.compile(rf"^\s*(<=|>=|<|>)\s*({_NUMBER})\s*$")
_V2_TS = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?)?([+-]\d{4})?$"
)


# --------------------------------------------------------------------------- codes


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value as a lab sends it: code, display text and the HL7 v2 coding-system name
    (``LN``, ``UCUM``, ``HL70487``, a local ``99LAB`` …). ``uri`` is the FHIR system; when
    empty it is derived from ``system`` (known names) or a local ``http://example.org`` URI."""

    code: str
    display: str = ""
    system: str = ""
    uri: str = ""

    @property
    def fhir_system(self) -> str:
        """The FHIR ``Coding.system`` of this code."""
        if self.uri:
            return self.uri
        if self.system in _SYSTEM_URIS:
            return _SYSTEM_URIS[self.system]
        if not self.system:
            return ""
        return f"http://example.org/fhir/CodeSystem/{self.system.lower()}"

    def fhir_coding(self) -> dict[str, Any]:
        """This code as a FHIR ``Coding``."""
        coding: dict[str, Any] = {}
        if self.fhir_system:
            coding["system"] = self.fhir_system
        coding["code"] = self.code
        if self.display:
            coding["display"] = self.display
        return coding


def loinc(code: str, display: str = "") -> Code:
    """A LOINC code (``LN`` in HL7 v2, ``http://loinc.org`` in FHIR)."""
    return Code(code, display, "LN")


def local_code(code: str, display: str = "", system: str = "99LAB") -> Code:
    """A lab's own code in a local coding system (HL7 v2 names them ``99xxx`` or ``L``)."""
    return Code(code, display, system)


def ucum(unit: str) -> Code:
    """A unit coded in UCUM (``10*9/L^10*9/L^UCUM``)."""
    return Code(unit, unit, "UCUM")


def snomed(code: str, display: str = "") -> Code:
    """A SNOMED CT code (``SCT`` in HL7 v2)."""
    return Code(code, display, "SCT")


WBC_LOINC: Final = loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count")
ANC_LOINC: Final = loinc("751-8", "Neutrophils [#/volume] in Blood by Automated count")
CBC_LOINC: Final = loinc("57021-8", "CBC W Auto Differential panel - Blood")
COUNT_UNIT: Final = ucum("10*9/L")

# Specimen types by plain name (HL7 table 0487); pass a Code for anything else.
_SPECIMENS: Final = {
    "blood": Code("BLD", "Whole blood", "HL70487"),
    "venous blood": Code("BLDV", "Blood, venous", "HL70487"),
    "capillary blood": Code("BLDC", "Blood, capillary", "HL70487"),
    "cord blood": Code("BLDCO", "Blood, cord", "HL70487"),
    "urine": Code("UR", "Urine", "HL70487"),
    "csf": Code("CSF", "Cerebral spinal fluid", "HL70487"),
    "body fluid": Code("FLU", "Body fluid", "HL70487"),
    "serum": Code("SER", "Serum", "HL70487"),
    "plasma": Code("PLAS", "Plasma", "HL70487"),
}
# HL7 table 0369 specimen roles (SPM-11): what the material is, when it is not the patient's.
_SPECIMEN_ROLES: Final = {
    "Q": "Control specimen",
    "C": "Calibrator",
    "E": "Electronic QC",
    "P": "Patient",
}

# Default reference ranges in the scale of the unit they are written in. Only for the builder's
# defaults: pass reference_range= for any unit not listed (leukoflag.units does the real work).
_PER_THOUSAND_UNITS: Final = frozenset(
    {"10*9/L", "10*3/uL", "10^9/L", "10^3/uL", "x10^9/L", "x10^3/uL", "x10E3/uL", "K/uL", "G/L"}
)
_PER_ONE_UNITS: Final = frozenset({"/uL", "cells/uL", "cells/µL", "{cells}/uL", "/mm3"})
_DEFAULT_RANGES: Final = {
    # analyte: (range per 10*9/L, range per µL); typical adult lab ranges
    "wbc": ("4.0-11.0", "4000-11000"),
    "anc": ("1.5-7.5", "1500-7500"),
}

CodeLike: TypeAlias = Code | Sequence[Code]
UnitLike: TypeAlias = Code | str | None
ValueLike: TypeAlias = str | int | float | Decimal | None
FlagLike: TypeAlias = str | Sequence[str] | None
TimeLike: TypeAlias = dt.datetime | dt.date | str
SpecimenLike: TypeAlias = Code | str | None


# --------------------------------------------------------------------------- patient


@dataclass(frozen=True, slots=True)
class PatientSpec:
    """A patient as PID carries it (and as a FHIR Patient). Build one with :func:`patient`."""

    mrn: str = "MRN0042817"
    assigning_authority: str = "GENHOSP"
    identifier_system: str = "http://hospital.example.org/fhir/sid/mrn"
    family: str = "Okafor"
    given: tuple[str, ...] = ("Ada",)
    birth_date: str = "19800314"  # HL7 v2 DT at the precision sent: YYYY, YYYYMM or YYYYMMDD
    sex: str = "F"  # HL7 table 0001

    @property
    def gender(self) -> str:
        """The FHIR administrative-gender of :attr:`sex`."""
        return _V2_TO_FHIR_SEX.get(self.sex, "unknown")


def patient(
    *,
    mrn: str = "MRN0042817",
    family: str = "Okafor",
    given: str | Sequence[str] = "Ada",
    birth_date: dt.date | str | None = "19800314",
    sex: str = "F",
    assigning_authority: str = "GENHOSP",
    identifier_system: str = "http://hospital.example.org/fhir/sid/mrn",
) -> PatientSpec:
    """A patient. ``birth_date`` is a ``date`` or HL7 v2 text at the precision a sender uses
    (``"2019"``, ``"201903"``, ``"20190302"``; ``None`` for none): for a pediatric patient, count
    back from :data:`DEFAULT_COLLECTED` (``DEFAULT_COLLECTED.date() - timedelta(days=3)``).
    ``sex`` is an HL7 v2 code (F, M, O, U, A, N) or a FHIR gender (female, male, other, unknown).
    """
    if isinstance(birth_date, dt.datetime):
        raise TypeError("birth_date: a date or HL7 v2 date text, not a datetime")
    if isinstance(birth_date, dt.date):
        born = birth_date.strftime("%Y%m%d")
    elif birth_date is None:
        born = ""
    else:
        born = birth_date
        if not re.fullmatch(r"\d{4}(\d{2}(\d{2})?)?", born):
            raise ValueError(f"birth_date: HL7 v2 date text YYYY[MM[DD]], got {birth_date!r}")
    code = _FHIR_TO_V2_SEX.get(sex, sex)
    if code not in _V2_TO_FHIR_SEX:
        raise ValueError(f"sex: one of F, M, O, U, A, N or a FHIR gender, got {sex!r}")
    names = (given,) if isinstance(given, str) else tuple(given)
    return PatientSpec(
        mrn=mrn,
        assigning_authority=assigning_authority,
        identifier_system=identifier_system,
        family=family,
        given=names,
        birth_date=born,
        sex=code,
    )


DEFAULT_PATIENT: Final = patient()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ResultSpec:
    """One result (an OBX, or a FHIR Observation). Build one with :func:`result`, :func:`wbc` or
    :func:`anc`; every field is already in the form written (``value`` as text, ``status`` as an
    OBX-11 code)."""

    codes: tuple[Code, ...]
    value: str
    value_type: str
    unit: Code | None
    reference_range: str
    flags: tuple[str, ...]
    status: str
    observed: TimeLike | None = None
    sub_id: str = ""
    notes: tuple[str, ...] = ()

    @property
    def fhir_status(self) -> str:
        """The FHIR ``Observation.status`` of :attr:`status`."""
        return _V2_TO_FHIR_STATUS[self.status]


def result(
    code: CodeLike,
    value: ValueLike,
    unit: UnitLike = None,
    *,
    reference_range: str = "",
    flag: FlagLike = "auto",
    status: str = "F",
    value_type: str | None = None,
    observed: TimeLike | None = None,
    sub_id: str = "",
    notes: Sequence[str] = (),
) -> ResultSpec:
    """Any result. ``code`` is one :class:`Code` or two (OBX-3 carries a primary and an alternate
    coding, e.g. a local code then its LOINC). ``value`` is a number or text as the lab writes
    it: ``3.2`` or ``"3.20"`` (NM), ``"<0.5"`` (SN with comparator), ``"1.0-2.0"`` (SN range),
    ``"1:128"`` (SN ratio), ``"see comment"`` (ST), ``None`` (no value); ``value_type`` overrides
    the OBX-2 this implies. ``unit`` is a :class:`Code` (``ucum("10*9/L")``) or the lab's spelling
    as text (written in OBX-6.1 alone). ``flag`` is the sender's OBX-8 (``"L"``, ``["L", "A"]``,
    ``None``); ``"auto"`` puts L, H or N by comparing the value with ``reference_range``.
    ``status`` is an OBX-11 code (F, C, X, D, P, A …) or a FHIR status (``"corrected"``).
    ``observed`` (OBX-14) defaults to the specimen's collection time.
    """
    codes = (code,) if isinstance(code, Code) else tuple(code)
    if not 1 <= len(codes) <= 2:
        raise ValueError("code: one Code, or two (primary and alternate coding of OBX-3)")
    text = _value_text(value)
    kind = value_type if value_type is not None else _value_type(text)
    if kind not in ("NM", "SN", "ST", "TX", "FT", "CWE", "CE", ""):
        raise ValueError(f"value_type: an OBX-2 value type (NM, SN, ST …), got {kind!r}")
    if kind == "NM" and text and not _NUMERIC.match(text):
        raise ValueError(f"value {text!r} is not a number: NM cannot carry it")
    if kind == "SN" and text and _sn_parts(text) is None:
        raise ValueError(f"value {text!r} is not a structured numeric: SN cannot carry it")
    unit_code = Code(unit) if isinstance(unit, str) else unit
    v2_status = _FHIR_TO_V2_STATUS.get(status, status)
    if v2_status not in _V2_TO_FHIR_STATUS:
        raise ValueError(f"status: an OBX-11 code (F, C, X, D, P, A …) or FHIR status: {status!r}")
    flags = _flags(flag, text, reference_range)
    return ResultSpec(
        codes=codes,
        value=text,
        value_type=kind,
        unit=unit_code,
        reference_range=reference_range,
        flags=flags,
        status=v2_status,
        observed=observed,
        sub_id=sub_id,
        notes=tuple(notes),
    )


def wbc(
    value: ValueLike = "7.2",
    unit: UnitLike = COUNT_UNIT,
    *,
    code: CodeLike = WBC_LOINC,
    reference_range: str | None = None,
    flag: FlagLike = "auto",
    status: str = "F",
    value_type: str | None = None,
    observed: TimeLike | None = None,
    sub_id: str = "",
    notes: Sequence[str] = (),
) -> ResultSpec:
    """A white-cell count (LOINC 6690-2, 10*9/L, range 4.0-11.0 by default). See :func:`result`
    for the options; ``reference_range`` defaults to a typical adult range written in the unit's
    scale when the unit is a common count spelling, else to none."""
    return result(
        code,
        value,
        unit,
        reference_range=_default_range("wbc", unit, reference_range),
        flag=flag,
        status=status,
        value_type=value_type,
        observed=observed,
        sub_id=sub_id,
        notes=notes,
    )


def anc(
    value: ValueLike = "4.1",
    unit: UnitLike = COUNT_UNIT,
    *,
    code: CodeLike = ANC_LOINC,
    reference_range: str | None = None,
    flag: FlagLike = "auto",
    status: str = "F",
    value_type: str | None = None,
    observed: TimeLike | None = None,
    sub_id: str = "",
    notes: Sequence[str] = (),
) -> ResultSpec:
    """An absolute neutrophil count (LOINC 751-8, 10*9/L, range 1.5-7.5 by default); options as
    for :func:`wbc`."""
    return result(
        code,
        value,
        unit,
        reference_range=_default_range("anc", unit, reference_range),
        flag=flag,
        status=status,
        value_type=value_type,
        observed=observed,
        sub_id=sub_id,
        notes=notes,
    )


def _value_text(value: ValueLike) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("value: a number or text, not a bool")
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest text that reads back as this float
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"value: not a finite number: {value}")
        return format(value, "f")
    return str(value).strip()


def _value_type(text: str) -> str:
    if not text or _NUMERIC.match(text):
        return "NM"
    if _sn_parts(text) is not None:
        return "SN"
    return "ST"


def _sn_parts(text: str) -> tuple[str, str, str, str] | None:
    """The four SN components (comparator, num1, separator/suffix, num2) of a value text."""
    if match := _COMPARATOR.match(text):
        return (match.group(1), match.group(2), "", "")
    if match := _RANGE_VALUE.match(text):
        return ("", match.group(1), "-", match.group(2))
    if match := _RATIO_VALUE.match(text):
        return ("", match.group(1), match.group(2), match.group(3))
    if _NUMERIC.match(text):
        return ("", text, "", "")
    return None


def _unit_key(unit: UnitLike) -> str:
    if unit is None:
        return ""
    return unit if isinstance(unit, str) else unit.code


def _default_range(analyte: str, unit: UnitLike, given: str | None) -> str:
    if given is not None:
        return given
    key = _unit_key(unit)
    per_thousand, per_one = _DEFAULT_RANGES[analyte]
    if key in _PER_THOUSAND_UNITS:
        return per_thousand
    if key in _PER_ONE_UNITS:
        return per_one
    return ""


def _range_limits(text: str) -> tuple[Decimal | None, Decimal | None] | None:
    if match := _RANGE_TEXT.match(text):
        return Decimal(match.group(1)), Decimal(match.group(2))
    if match := _BOUND_TEXT.match(text):
        bound = Decimal(match.group(2))
        return (bound, None) if match.group(1).startswith(">") else (None, bound)
    return None


def _flags(flag: FlagLike, value: str, reference_range: str) -> tuple[str, ...]:
    if flag is None or flag == "":
        return ()
    if flag != "auto":
        return (flag,) if isinstance(flag, str) else tuple(flag)
    limits = _range_limits(reference_range)
    if limits is None or not value:
        return ()
    low, high = limits
    if _NUMERIC.match(value):
        number = Decimal(value)
        if low is not None and number < low:
            return ("L",)
        if high is not None and number > high:
            return ("H",)
        return ("N",)
    if match := _COMPARATOR.match(value):
        comparator, bound = match.group(1), Decimal(match.group(2))
        if comparator in ("<", "<=") and low is not None and bound <= low:
            return ("L",)
        if comparator in (">", ">=") and high is not None and bound >= high:
            return ("H",)
    return ()  # a range, ratio or text value, or a bound that proves nothing: labs send no flag


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One ORC/OBR order with its results and specimen. Build one with :func:`order`."""

    results: tuple[ResultSpec, ...]
    code: Code = CBC_LOINC
    specimen: Code | None = field(default_factory=lambda: _SPECIMENS["blood"])
    specimen_role: str = ""
    specimen_results: tuple[ResultSpec, ...] = ()
    status: str = ""  # OBR-25; "" derives it from the results
    placer_id: str = ""
    filler_id: str = ""
    collected: TimeLike | None = None
    notes: tuple[str, ...] = ()

    @property
    def report_status(self) -> str:
        """OBR-25: as given, else C when any result is corrected, X when all are cancelled or
        deleted, P when any is preliminary, else F."""
        if self.status:
            return self.status
        statuses = {r.status for r in (*self.results, *self.specimen_results)}
        if statuses and statuses <= {"X", "D", "W"}:
            return "X"
        if "C" in statuses:
            return "C"
        if statuses & {"P", "R", "S"}:
            return "P"
        return "F"


def order(
    results: Sequence[ResultSpec] = (),
    *,
    code: Code = CBC_LOINC,
    specimen: SpecimenLike = "blood",
    specimen_role: str = "",
    specimen_results: Sequence[ResultSpec] = (),
    status: str = "",
    placer_id: str = "",
    filler_id: str = "",
    collected: TimeLike | None = None,
    notes: Sequence[str] = (),
) -> OrderSpec:
    """An order (ORC + OBR, a FHIR DiagnosticReport) with its ``results`` (OBX under the OBR).

    ``specimen`` is ``"blood"`` (default), ``"urine"``, ``"csf"``, ``"body fluid"``,
    ``"cord blood"``, ``"serum"``, ``"plasma"``, ``"venous blood"``, ``"capillary blood"``, a
    :class:`Code`, or ``None`` (no SPM). ``specimen_role`` is an SPM-11 code (``"Q"`` control
    material, ``"C"`` calibrator). ``specimen_results`` are OBX written after the SPM (specimen
    observations). ``status`` is OBR-25 (derived from the results when empty). ``placer_id`` and
    ``filler_id`` default to numbers derived from the order's position in the message.
    """
    if specimen_role and specimen_role not in _SPECIMEN_ROLES:
        raise ValueError(f"specimen_role: one of {', '.join(_SPECIMEN_ROLES)} (HL7 table 0369)")
    if status and status not in _V2_TO_FHIR_REPORT_STATUS:
        raise ValueError(f"status: an OBR-25 code ({', '.join(_V2_TO_FHIR_REPORT_STATUS)})")
    return OrderSpec(
        results=tuple(results),
        code=code,
        specimen=_specimen_code(specimen),
        specimen_role=specimen_role,
        specimen_results=tuple(specimen_results),
        status=status,
        placer_id=placer_id,
        filler_id=filler_id,
        collected=collected,
        notes=tuple(notes),
    )


def _specimen_code(specimen: SpecimenLike) -> Code | None:
    if specimen is None or isinstance(specimen, Code):
        return specimen
    try:
        return _SPECIMENS[specimen.lower()]
    except KeyError:
        known = ", ".join(sorted(_SPECIMENS))
        raise ValueError(f"specimen: one of {known}, a Code or None; got {specimen!r}") from None


# --------------------------------------------------------------------------- HL7 v2 encoding


@dataclass(frozen=True, slots=True)
class _Encoding:
    """The delimiters of one message (MSH-1 and MSH-2) and the escaping they require."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @classmethod
    def parse(cls, delimiters: str) -> _Encoding:
        if len(delimiters) != 5 or len(set(delimiters)) != 5:
            raise ValueError(
                "delimiters: five different characters, field separator then MSH-2 "
                f"(default '|^~\\&'), got {delimiters!r}"
            )
        for char in delimiters:
            if char.isalnum() or char.isspace() or not char.isascii() or not char.isprintable():
                raise ValueError(f"delimiters: {char!r} cannot be an HL7 v2 delimiter")
        return cls(*delimiters)

    @property
    def msh2(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent

    def text(self, value: str, *, formatted: bool = False) -> str:
        r"""``value`` with every delimiter escaped (HL7 v2 2.7.4): ``\F\ \S\ \T\ \R\ \E\``;
        line breaks as ``\.br\`` in formatted text (FT); other control characters, and line
        breaks elsewhere, as hex ``\X0A\``."""
        e = self.escape
        escapes = {
            self.escape: f"{e}E{e}",
            self.field: f"{e}F{e}",
            self.component: f"{e}S{e}",
            self.subcomponent: f"{e}T{e}",
            self.repetition: f"{e}R{e}",
        }
        value = value.replace("\r\n", "\n")
        out: list[str] = []
        for char in value:
            if char in escapes:
                out.append(escapes[char])
            elif char in "\r\n" and formatted:
                out.append(f"{e}.br{e}")
            elif char < " " or char == "\x7f":
                # a control character (a segment end, an MLLP frame byte) is never sent raw
                out.append(f"{e}X{ord(char):02X}{e}")
            else:
                out.append(char)
        return "".join(out)

    def composite(self, *parts: str | tuple[str, ...]) -> str:
        """Components (a tuple is one component of subcomponents), escaped, trailing empties cut."""
        rendered = [
            self.subcomponent.join(self.text(p) for p in part).rstrip(self.subcomponent)
            if isinstance(part, tuple)
            else self.text(part)
            for part in parts
        ]
        return self.component.join(rendered).rstrip(self.component)

    def coded(self, codes: Sequence[Code]) -> str:
        """A CWE/CE: identifier^text^system for the first code, then for the alternate."""
        parts: list[str] = []
        for code in codes:
            parts.extend((code.code, code.display, code.system))
        return self.composite(*parts)

    def repeat(self, values: Iterable[str]) -> str:
        return self.repetition.join(values)

    def segment(self, name: str, fields: Sequence[str]) -> str:
        """A segment from its fields (field 1 first), trailing empty fields cut."""
        cut = list(fields)
        while cut and not cut[-1]:
            cut.pop()
        return self.field.join((name, *cut))


def _v2_time(value: TimeLike) -> str:
    if isinstance(value, str):
        if not _V2_TS.match(value):
            raise ValueError(
                f"time: HL7 v2 TS text YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]: {value!r}"
            )
        return value
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y%m%d%H%M%S")
        if value.microsecond:
            text += f".{value.microsecond // 100:04d}"
        offset = value.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        return text
    return value.strftime("%Y%m%d")


def _after(base: TimeLike, step: dt.timedelta) -> TimeLike:
    """``base`` moved by ``step`` when it is a time of day; text and dates stay as given."""
    return base + step if isinstance(base, dt.datetime) else base


# --------------------------------------------------------------------------- HL7 v2 messages


@dataclass(frozen=True, slots=True)
class OruMessage:
    """One HL7 v2 message as text. ``charset`` is MSH-18 (``""`` when absent)."""

    text: str
    control_id: str
    charset: str = "UNICODE UTF-8"
    line_ending: str = "\r"

    def __str__(self) -> str:
        return self.text

    @property
    def segments(self) -> list[str]:
        """The segments, in order, without terminators."""
        return [s for s in self.text.split(self.line_ending) if s]

    def segment(self, name: str, occurrence: int = 1) -> str:
        """The ``occurrence``-th (1-based) segment named ``name``; KeyError when there is none."""
        found = [s for s in self.segments if s[:3] == name]
        if not 1 <= occurrence <= len(found):
            raise KeyError(f"no {name}[{occurrence}] in message {self.control_id}")
        return found[occurrence - 1]

    def encode(self, codec: str | None = None) -> bytes:
        """The message as bytes, in the charset MSH-18 names (or ``codec``, to build a message
        whose bytes disagree with its MSH-18 on purpose)."""
        return self.text.encode(codec or _CHARSET_CODECS[self.charset])

    def mllp(self) -> bytes:
        """The encoded message in one MLLP frame (``0x0B`` … ``0x1C 0x0D``)."""
        return _MLLP_START + self.encode() + _MLLP_END


@dataclass(frozen=True, slots=True)
class Hl7Batch:
    """Messages in an FHS/BHS … BTS/FTS batch file."""

    text: str
    messages: tuple[OruMessage, ...]
    charset: str = "UNICODE UTF-8"

    def __str__(self) -> str:
        return self.text

    def encode(self, codec: str | None = None) -> bytes:
        """The batch as bytes (see :meth:`OruMessage.encode`)."""
        return self.text.encode(codec or _CHARSET_CODECS[self.charset])

    def mllp(self) -> bytes:
        """The whole batch in one MLLP frame."""
        return _MLLP_START + self.encode() + _MLLP_END


def oru_message(
    patient: PatientSpec | None = DEFAULT_PATIENT,
    results: Sequence[ResultSpec] | None = None,
    *,
    orders: Sequence[OrderSpec] | None = None,
    specimen: SpecimenLike = "blood",
    collected: TimeLike = DEFAULT_COLLECTED,
    control_id: str | None = None,
    sending_application: str = "LABSYS",
    sending_facility: str = "CITYLAB",
    receiving_application: str = "EHR",
    receiving_facility: str = "GENHOSP",
    version: str = "2.5.1",
    processing_id: str = "P",
    charset: str | None = "UNICODE UTF-8",
    delimiters: str = "|^~\\&",
    line_ending: str = "\r",
    patient_class: str = "O",
    ordering_provider: str = "1234567893^Nguyen^Linh^^^Dr",
    performing_lab: str = "City Lab",
) -> OruMessage:
    """A complete ORU^R01 message: MSH, PID, PV1, then ORC, OBR, OBX per result and SPM.

    ``results`` go under one CBC order with specimen ``specimen`` (default WBC 7.2 and ANC 4.1,
    both normal); for several orders pass ``orders=[order(...), ...]`` instead. ``patient=None``
    leaves out PID and PV1. ``collected`` (an aware ``datetime``, a ``date`` or HL7 v2 TS text;
    a naive ``datetime`` is written without offset) is when the specimen was taken; received,
    analysis, report and message times follow it by fixed steps. ``control_id`` (MSH-10)
    defaults to a digest of the content: unique per content, the same for the same call.
    ``version`` below 2.5 writes the specimen in OBR-15 instead of an SPM segment. ``charset``
    is MSH-18 (``"UNICODE UTF-8"``, ``"8859/1"``, ``"ASCII"`` or ``None`` for none, meaning
    ASCII); ``delimiters`` the field separator then the four MSH-2 characters; ``line_ending``
    the segment terminator (``"\\r"`` per the standard; ``"\\n"`` or ``"\\r\\n"`` as files have).
    """
    if results is not None and orders is not None:
        raise ValueError("pass results= (one CBC order) or orders=, not both")
    if orders is None:
        orders = [order((wbc(), anc()) if results is None else results, specimen=specimen)]
    if not orders:
        raise ValueError("orders: an ORU^R01 message needs at least one order")
    if version not in _VERSIONS:
        raise ValueError(f"version: one of {', '.join(_VERSIONS)}, got {version!r}")
    if line_ending not in _LINE_ENDINGS:
        raise ValueError("line_ending: '\\r', '\\n' or '\\r\\n'")
    msh18 = charset or ""
    if msh18 not in _CHARSET_CODECS:
        known = ", ".join(repr(c) for c in _CHARSET_CODECS if c)
        raise ValueError(f"charset: one of {known} or None, got {charset!r}")
    enc = _Encoding.parse(delimiters)
    context = _MessageContext(
        enc=enc,
        version=version,
        collected=collected,
        ordering_provider=ordering_provider,
        performing_lab=performing_lab,
        patient_class=patient_class,
    )
    body: list[str] = []
    if patient is not None:
        body.append(_pid(enc, patient))
        body.append(_pv1(enc, patient, patient_class))
    for number, spec in enumerate(orders, start=1):
        body.extend(context.order_segments(number, spec))

    def render(msh10: str) -> str:
        msh = _msh(
            enc,
            sending=(sending_application, sending_facility),
            receiving=(receiving_application, receiving_facility),
            sent=_v2_time(_after(collected, _SENT_AFTER)),
            control_id=msh10,
            processing_id=processing_id,
            version=version,
            charset=msh18,
        )
        return "".join(segment + line_ending for segment in (msh, *body))

    if control_id is None:
        digest = hashlib.sha256(render("").encode("utf-8")).hexdigest()
        control_id = f"LF{digest[:16].upper()}"
    text = render(control_id)
    try:
        text.encode(_CHARSET_CODECS[msh18])
    except UnicodeEncodeError as exc:
        what = text[exc.start : exc.end]
        raise ValueError(
            f"charset {charset!r} cannot carry {what!r}: use charset='UNICODE UTF-8'"
        ) from None
    return OruMessage(text=text, control_id=control_id, charset=msh18, line_ending=line_ending)


def batch(
    *messages: OruMessage,
    sending_application: str = "LABSYS",
    sending_facility: str = "CITYLAB",
    batch_id: str = "BATCH0001",
) -> Hl7Batch:
    """An FHS/BHS batch of ``messages`` (each keeps its own MSH), closed by BTS/FTS counts."""
    if not messages:
        raise ValueError("batch: at least one message")
    first = messages[0]
    head = first.segments[0]
    enc = _Encoding.parse(head[3:8])
    for message in messages[1:]:
        if message.segments[0][3:8] != head[3:8] or message.charset != first.charset:
            raise ValueError("batch: every message must use the same delimiters and charset")
        if message.line_ending != first.line_ending:
            raise ValueError("batch: every message must use the same line ending")
    sent = head.split(enc.field)[6] if head.count(enc.field) >= 6 else ""
    end = first.line_ending
    header = [enc.text(sending_application), enc.text(sending_facility), "", "", sent]
    fhs = f"FHS{enc.field}{enc.msh2}{enc.field}" + enc.field.join(
        [*header, "", "", "", enc.text(batch_id)]
    )
    bhs = f"BHS{enc.field}{enc.msh2}{enc.field}" + enc.field.join(
        [*header, "", "", "", enc.text(batch_id)]
    )
    text = fhs + end + bhs + end + "".join(m.text for m in messages)
    text += f"BTS{enc.field}{len(messages)}{end}FTS{enc.field}1{end}"
    return Hl7Batch(text=text, messages=tuple(messages), charset=first.charset)


def to_mllp(*messages: OruMessage | Hl7Batch | str | bytes) -> bytes:
    """``messages`` one after the other, each in its own MLLP frame (text is UTF-8 encoded)."""
    frames: list[bytes] = []
    for message in messages:
        if isinstance(message, (OruMessage, Hl7Batch)):
            frames.append(message.mllp())
        else:
            raw = message.encode("utf-8") if isinstance(message, str) else message
            frames.append(_MLLP_START + raw + _MLLP_END)
    return b"".join(frames)


def _msh(
    enc: _Encoding,
    *,
    sending: tuple[str, str],
    receiving: tuple[str, str],
    sent: str,
    control_id: str,
    processing_id: str,
    version: str,
    charset: str,
) -> str:
    message_type = ("ORU", "R01") if version == "2.3" else ("ORU", "R01", "ORU_R01")
    fields = [
        enc.text(sending[0]),  # MSH-3
        enc.text(sending[1]),
        enc.text(receiving[0]),
        enc.text(receiving[1]),
        sent,  # MSH-7
        "",
        enc.composite(*message_type),  # MSH-9
        enc.text(control_id),  # MSH-10
        enc.text(processing_id),
        enc.text(version),  # MSH-12
        "",
        "",
        "",  # MSH-15/16 acknowledgment types: transport only, leukoflag does not carry them
        "",
        "",
        enc.text(charset),  # MSH-18
    ]
    while fields and not fields[-1]:
        fields.pop()
    return f"MSH{enc.field}{enc.msh2}{enc.field}" + enc.field.join(fields)


def _pid(enc: _Encoding, spec: PatientSpec) -> str:
    given, *middle = spec.given or ("",)
    fields = [
        "1",  # PID-1
        "",
        enc.composite(spec.mrn, "", "", spec.assigning_authority, "MR"),  # PID-3 CX
        "",
        enc.composite(spec.family, given, " ".join(middle)),  # PID-5 XPN
        "",
        spec.birth_date,  # PID-7
        spec.sex,  # PID-8
    ]
    return enc.segment("PID", fields)


def _pv1(enc: _Encoding, spec: PatientSpec, patient_class: str) -> str:
    fields = [""] * 19
    fields[0] = "1"
    fields[1] = enc.text(patient_class)  # PV1-2
    fields[2] = enc.composite("ONC", "", "", spec.assigning_authority)  # PV1-3 PL
    fields[18] = enc.composite(f"V{spec.mrn}", "", "", spec.assigning_authority, "VN")  # PV1-19
    return enc.segment("PV1", fields)


@dataclass(frozen=True, slots=True)
class _MessageContext:
    enc: _Encoding
    version: str
    collected: TimeLike
    ordering_provider: str
    performing_lab: str
    patient_class: str

    @property
    def has_spm(self) -> bool:
        return self.version not in ("2.3", "2.3.1", "2.4")  # SPM exists from v2.5

    def order_segments(self, number: int, spec: OrderSpec) -> list[str]:
        enc = self.enc
        collected = spec.collected if spec.collected is not None else self.collected
        placer = spec.placer_id or f"ORD{1000 + number}"
        filler = spec.filler_id or f"LAB{2000 + number}"
        placer_ei = enc.composite(placer, "EHR")
        filler_ei = enc.composite(filler, "LABSYS")
        reported = _v2_time(_after(collected, _REPORTED_AFTER))
        provider = self._provider()
        # ORC-1 RE: observations to follow. The ordering provider goes in OBR-16 only (ORC-12
        # would repeat it); ORC-5 and ORC-9 are left out as leukoflag does not carry them.
        orc = ["RE", placer_ei, filler_ei]
        obr = [""] * 25
        if self.version in _TIMING_REQUIRED:
            timing = enc.composite("", "", "", _v2_time(collected), "", "R")  # TQ-4 start, TQ-6
            orc.extend(["", "", "", timing])  # ORC-7
            obr.extend(["", timing])  # OBR-27
        obr[0] = str(number)
        obr[1], obr[2] = placer_ei, filler_ei
        obr[3] = enc.coded((spec.code,))  # OBR-4
        obr[6] = _v2_time(collected)  # OBR-7
        if not self.has_spm and spec.specimen is not None:
            # v2.3/2.4: the specimen travels in OBR-15 (SPS, its code as subcomponents)
            obr[14] = enc.composite(
                (spec.specimen.code, spec.specimen.display, _as_0070(spec.specimen.system))
            )
        obr[15] = provider  # OBR-16
        obr[21] = reported  # OBR-22
        obr[24] = spec.report_status  # OBR-25
        segments = [enc.segment("ORC", orc), enc.segment("OBR", obr)]
        segments.extend(self._notes(spec.notes))
        set_id = 0
        for item in spec.results:
            set_id += 1
            segments.extend(self._obx(set_id, item, collected))
        if spec.specimen is not None and self.has_spm:
            segments.append(self._spm(spec.specimen, spec.specimen_role, collected, filler))
            for item in spec.specimen_results:
                set_id += 1
                segments.extend(self._obx(set_id, item, collected))
        elif spec.specimen_results:
            raise ValueError("specimen_results need an SPM: a specimen and version 2.5 or later")
        return segments

    def _provider(self) -> str:
        # already written as an XCN by the caller ("id^family^given"): escape each component
        parts = self.ordering_provider.split("^")
        return self.enc.composite(*parts)

    def _notes(self, notes: Sequence[str]) -> list[str]:
        return [
            self.enc.segment("NTE", [str(n), "", self.enc.text(note, formatted=True)])
            for n, note in enumerate(notes, start=1)
        ]

    def _obx(self, set_id: int, spec: ResultSpec, collected: TimeLike) -> list[str]:
        enc = self.enc
        observed = spec.observed if spec.observed is not None else collected
        fields = [""] * 19
        fields[0] = str(set_id)
        fields[1] = spec.value_type  # OBX-2
        fields[2] = enc.coded(spec.codes)  # OBX-3
        sub_id = spec.sub_id or ("1" if self.version in _SUB_ID_REQUIRED else "")
        fields[3] = enc.text(sub_id)  # OBX-4
        fields[4] = self._value(spec)  # OBX-5
        if spec.unit is not None:
            fields[5] = enc.coded((spec.unit,))  # OBX-6
        fields[6] = enc.text(spec.reference_range)  # OBX-7
        fields[7] = enc.repeat(enc.text(f) for f in spec.flags)  # OBX-8
        fields[10] = spec.status  # OBX-11
        fields[13] = _v2_time(observed)  # OBX-14
        if self.has_spm:  # OBX-19 date/time of the analysis exists from v2.5
            fields[18] = _v2_time(_after(observed, _ANALYZED_AFTER))
        if self.version in ("2.5.1", "2.6", "2.7"):  # OBX-23 exists from v2.5.1
            fields.extend(["", "", "", enc.composite(self.performing_lab)])  # OBX-23
        return [enc.segment("OBX", fields), *self._notes(spec.notes)]

    def _value(self, spec: ResultSpec) -> str:
        if spec.value_type == "SN":
            parts = _sn_parts(spec.value)
            if parts is None:  # result() checked this; kept for the type checker
                raise ValueError(f"not a structured numeric: {spec.value!r}")
            return self.enc.composite(*parts)
        return self.enc.text(spec.value, formatted=spec.value_type == "FT")

    def _spm(self, specimen: Code, role: str, collected: TimeLike, filler: str) -> str:
        enc = self.enc
        fields = [""] * 18
        fields[0] = "1"
        fields[1] = enc.composite("", (f"SP{filler}", "LABSYS"))  # SPM-2 EIP: filler's id
        fields[3] = enc.coded((specimen,))  # SPM-4
        if role:
            fields[10] = enc.coded((Code(role, _SPECIMEN_ROLES[role], "HL70369"),))  # SPM-11
        fields[16] = _v2_time(collected)  # SPM-17 (DR: the start of the collection)
        fields[17] = _v2_time(_after(collected, _RECEIVED_AFTER))  # SPM-18
        return enc.segment("SPM", fields)


def _as_0070(system: str) -> str:
    return "HL70070" if system == "HL70487" else system


# --------------------------------------------------------------------------- FHIR


class FhirResource(dict[str, Any]):
    """A FHIR resource as a JSON dict whose numbers are exact ``Decimal`` values.

    Index and change it like any dict; :meth:`json` writes decimals exactly as given
    (``8.20`` stays ``8.20``), which ``json.dumps`` cannot do.
    """

    def json(self) -> str:
        """The resource as compact JSON text, decimals exact."""
        return _json_text(self)

    def encode(self) -> bytes:
        """The JSON text, UTF-8 encoded."""
        return self.json().encode("utf-8")


def ndjson(*resources: Mapping[str, Any]) -> str:
    """``resources`` as NDJSON: one JSON document per line."""
    return "".join(_json_text(resource) + "\n" for resource in resources)


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
    specimen_code = _specimen_code(specimen)
    if specimen_code is not None:
        specimen_resource = _fhir_specimen(specimen_code, collected, None)
        specimen_resource["id"] = "specimen"
        contained.append(_ordered(specimen_resource))
        specimen_ref = {"reference": "#specimen"}
    resource = _fhir_observation(
        spec, subject, specimen_ref, collected, interpretation_system=interpretation_system
    )
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
    ``transaction`` (each entry with a POST request) or ``batch``."""
    if bundle_type not in ("collection", "transaction", "batch"):
        raise ValueError("bundle_type: collection, transaction or batch")
    specs = list(results) if results is not None else [wbc(), anc()]
    entries: list[dict[str, Any]] = []
    subject: dict[str, Any] | None = None
    if patient is not None:
        patient_resource = _fhir_patient(patient)
        subject = {"reference": f"urn:uuid:{patient_resource['id']}"}
        entries.append(patient_resource)
    specimen_ref: dict[str, Any] | None = None
    specimen_code = _specimen_code(specimen)
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
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "timestamp": _fhir_time(_after(collected, _SENT_AFTER)),
        "entry": bundle_entries,
    }
    bundle = {"resourceType": "Bundle", "id": _resource_id(bundle), **bundle}
    return FhirResource(bundle)


def _fhir_patient(spec: PatientSpec) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                        }
                    ]
                },
                "system": spec.identifier_system,
                "value": spec.mrn,
            }
        ],
        "name": [{"family": spec.family, "given": list(spec.given)}],
        "gender": spec.gender,
    }
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
        resource["subject"] = subject
    resource["receivedTime"] = _fhir_time(_after(collected, _RECEIVED_AFTER))
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
        "code": {
            "coding": [c.fhir_coding() for c in spec.codes],
            "text": spec.codes[0].display or spec.codes[0].code,
        },
    }
    if subject is not None:
        resource["subject"] = subject
    resource["effectiveDateTime"] = _fhir_time(observed)
    if isinstance(observed, dt.datetime) and observed.utcoffset() is not None:
        resource["issued"] = _fhir_time(_after(observed, _REPORTED_AFTER))
    resource.update(_fhir_value(spec))
    if spec.flags:
        resource["interpretation"] = [
            {"coding": [_interpretation_coding(flag, interpretation_system)]} for flag in spec.flags
        ]
    if spec.notes:
        resource["note"] = [{"text": note} for note in spec.notes]
    if specimen is not None:
        resource["specimen"] = specimen
    if spec.reference_range:
        resource["referenceRange"] = [_fhir_range(spec.reference_range, spec.unit)]
    return resource


def _interpretation_coding(flag: str, system: str) -> dict[str, Any]:
    coding = {"system": system, "code": flag}
    if flag in _INTERPRETATION_DISPLAY:
        coding["display"] = _INTERPRETATION_DISPLAY[flag]
    return coding


def _quantity(value: str, unit: Code | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": Decimal(value)}
    if unit is not None:
        quantity["unit"] = unit.display or unit.code
        if unit.system:
            quantity["system"] = unit.fhir_system
            quantity["code"] = unit.code
    return quantity


def _fhir_value(spec: ResultSpec) -> dict[str, Any]:
    text = spec.value
    if not text:
        reason = {"X": "not-performed", "D": "error", "W": "error"}.get(spec.status, "unknown")
        return {"dataAbsentReason": {"coding": [{"system": _DATA_ABSENT_SYSTEM, "code": reason}]}}
    if spec.value_type == "NM":
        return {"valueQuantity": _quantity(text, spec.unit)}
    parts = _sn_parts(text) if spec.value_type == "SN" else None
    if parts is None:
        return {"valueString": text}
    comparator, first, separator, second = parts
    if separator == "-":
        return {
            "valueRange": {"low": _quantity(first, spec.unit), "high": _quantity(second, spec.unit)}
        }
    if separator in (":", "/"):
        return {
            "valueRatio": {
                "numerator": {"value": Decimal(first)},
                "denominator": {"value": Decimal(second)},
            }
        }
    if comparator in ("", "="):
        return {"valueQuantity": _quantity(first, spec.unit)}
    if comparator == "<>":
        return {"valueString": text}
    return {"valueQuantity": {"comparator": comparator, **_quantity(first, spec.unit)}}


def _fhir_range(text: str, unit: Code | None) -> dict[str, Any]:
    reference: dict[str, Any] = {}
    limits = _range_limits(text)
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
    status = order(specs).report_status
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": _V2_TO_FHIR_REPORT_STATUS[status],
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
        resource["subject"] = subject
    resource["effectiveDateTime"] = _fhir_time(collected)
    if isinstance(collected, dt.datetime) and collected.utcoffset() is not None:
        resource["issued"] = _fhir_time(_after(collected, _REPORTED_AFTER))
    if specimen is not None:
        resource["specimen"] = [specimen]
    resource["result"] = [{"reference": f"urn:uuid:{o['id']}"} for o in observations]
    resource["id"] = _resource_id(resource)
    return resource


def _fhir_time(value: TimeLike) -> str:
    """A FHIR date/dateTime from any builder time; a time of day without offset keeps its date
    only (FHIR requires the offset), as a reader would."""
    match = _V2_TS.match(_v2_time(value))
    if match is None:  # _v2_time validated it; kept for the type checker
        raise ValueError(f"not an HL7 v2 time: {value!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    date = "-".join(part for part in (year, month, day) if part)
    if hour is None or offset is None or day is None:
        return date
    clock = f"{hour}:{minute or '00'}:{second or '00'}{fraction or ''}"
    return f"{date}T{clock}{offset[:3]}:{offset[3:]}"


def _resource_id(resource: Mapping[str, Any]) -> str:
    content = {k: v for k, v in resource.items() if k != "id"}
    return str(uuid.uuid5(_ID_NAMESPACE, _json_text(content, sort_keys=True)))


def _ordered(resource: dict[str, Any]) -> dict[str, Any]:
    """``resourceType`` and ``id`` first, as FHIR JSON is usually read."""
    head: dict[str, Any] = {k: resource[k] for k in ("resourceType", "id") if k in resource}
    return {**head, **{k: v for k, v in resource.items() if k not in head}}


def _json_text(value: Any, *, sort_keys: bool = False) -> str:
    if isinstance(value, Mapping):
        items = sorted(value.items()) if sort_keys else value.items()
        body = ",".join(
            f"{json.dumps(str(k))}:{_json_text(v, sort_keys=sort_keys)}" for k, v in items
        )
        return "{" + body + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_text(v, sort_keys=sort_keys) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"JSON has no {value}")
        return format(value, "f")
    if isinstance(value, float):
        return _json_text(Decimal(repr(value)))
    return json.dumps(value, ensure_ascii=False)
