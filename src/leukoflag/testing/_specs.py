"""The neutral descriptions the builders render: codes, patients, results, orders, times.

:mod:`leukoflag.testing.builders` is the public face; this module holds what both renderings
(HL7 v2 text in ``_v2``, FHIR JSON in ``_fhir``) share.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeAlias

DEFAULT_COLLECTED: Final = dt.datetime(
    2026, 11, 24, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))
)
RECEIVED_AFTER = dt.timedelta(minutes=20)
ANALYZED_AFTER = dt.timedelta(minutes=45)
REPORTED_AFTER = dt.timedelta(minutes=55)
SENT_AFTER = dt.timedelta(minutes=56)

# HL7 v2 names of coding systems (table 0396) and the FHIR URIs the shared conventions use.
SYSTEM_URIS: Final = {
    "LN": "http://loinc.org",
    "UCUM": "http://unitsofmeasure.org",
    "SCT": "http://snomed.info/sct",
    "HL70487": "http://terminology.hl7.org/CodeSystem/v2-0487",
    "HL70070": "http://terminology.hl7.org/CodeSystem/v2-0070",
    "HL70078": "http://terminology.hl7.org/CodeSystem/v2-0078",
    "HL70369": "http://terminology.hl7.org/CodeSystem/v2-0369",
}

# OBX-11 → Observation.status as leukoflag reads it (shared reference hl7v2-to-fhir.md, more
# complete than the V2-to-FHIR IG: N not asked is cancelled); the builder accepts either spelling.
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
    "N": "cancelled",
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
V2_TO_FHIR_REPORT_STATUS: Final = {
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

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMERIC = re.compile(rf"^{_NUMBER}$")
_CODED_TYPES: Final = ("CWE", "CE")  # OBX-2 of a coded result (CE before v2.5)
_COMPARATOR = re.compile(rf"^(<=|>=|<>|<|>|=)\s*({_NUMBER})$")
_RANGE_VALUE = re.compile(rf"^({_NUMBER})\s*-\s*({_NUMBER})$")
_RATIO_VALUE = re.compile(rf"^({_NUMBER})\s*([:/])\s*({_NUMBER})$")
_RANGE_TEXT = re.compile(rf"^\s*({_NUMBER})\s*(?:-|to)\s*({_NUMBER})\s*$")
_BOUND_TEXT = re.compile(rf"^\s*(<=|>=|<|>)\s*({_NUMBER})\s*$")
V2_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?)?([+-]\d{4})?$")


def _on_calendar(text: str) -> bool:
    """Whether HL7 v2 DT/TS text (already of the right shape) names a real date and time."""
    match = V2_TS.match(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, _, offset = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
        dt.time(int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return False
    return offset is None or (int(offset[1:3]) < 24 and int(offset[3:]) < 60)


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
        if self.system in SYSTEM_URIS:
            return SYSTEM_URIS[self.system]
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
SPECIMEN_ROLES: Final = {
    "Q": "Control specimen",
    "C": "Calibrator",
    "E": "Electronic QC",
    "P": "Patient",
}

# Default reference ranges in the scale of the unit they are written in. Only for the builder's
# defaults: pass reference_range= for any unit not listed (leukoflag.units does the real work).
_PER_THOUSAND_UNITS: Final = frozenset(
    {
        "10*9/L",
        "10*3/uL",
        "10*3/µL",
        "10^9/L",
        "10^3/uL",
        "x10^9/L",
        "x10^3/uL",
        "x10E3/uL",
        "x10E9/L",
        "K/uL",
        "K/µL",
        "G/L",
    }
)
_PER_ONE_UNITS: Final = frozenset({"/uL", "/µL", "cells/uL", "cells/µL", "{cells}/uL", "/mm3"})
_DEFAULT_RANGES: Final = {
    # analyte: (range per 10*9/L, range per µL); typical adult lab ranges
    "wbc": ("4.0-11.0", "4000-11000"),
    "anc": ("1.5-7.5", "1500-7500"),
}

CodeLike: TypeAlias = Code | Sequence[Code]
UnitLike: TypeAlias = Code | str | Sequence[Code] | None
ValueLike: TypeAlias = str | int | float | Decimal | Code | None
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
        if not _on_calendar(born):  # 30 February would be read as no birth date: adult ranges
            raise ValueError(f"birth_date: {born!r} is not a calendar date")
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
    coded_value: Code | None = None  # OBX-5 of a CWE/CE result (``value`` is then empty)
    unit_alternate: Code | None = None  # OBX-6.4-6 (``unit`` is then OBX-6.1-3, maybe empty)

    @property
    def quantity_unit(self) -> Code | None:
        """The one unit a FHIR Quantity carries: OBX-6.1-3, else the alternate OBX-6.4-6."""
        if self.unit is not None and (self.unit.code or self.unit_alternate is None):
            return self.unit
        return self.unit_alternate

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
    notes: str | Sequence[str] = (),
) -> ResultSpec:
    """Any result. ``code`` is one :class:`Code` or two (OBX-3 carries a primary and an alternate
    coding, e.g. a local code then its LOINC). ``value`` is a number or text as the lab writes
    it: ``3.2`` or ``"3.20"`` (NM), ``"<0.5"`` (SN with comparator), ``"1.0-2.0"`` (SN range),
    ``"1:128"`` (SN ratio), ``"see comment"`` (ST), a :class:`Code` (a coded result: CWE, CE
    before v2.5; FHIR ``valueCodeableConcept``), ``None`` (no value); ``value_type`` overrides
    the OBX-2 this implies. ``unit`` is a :class:`Code` (``ucum("10*9/L")``), the lab's spelling
    as text (written in OBX-6.1 alone), or two Codes: OBX-6.1-3 and the alternate OBX-6.4-6
    (``(Code(""), ucum("10*9/L"))`` sends the unit in the alternate only). ``flag`` is the
    sender's OBX-8 (``"L"``, ``["L", "A"]``, ``None``); ``"auto"`` puts L, H or N by comparing
    the value with ``reference_range``.
    ``status`` is an OBX-11 code (F, C, X, D, P, A …) or a FHIR status (``"corrected"``).
    ``observed`` (OBX-14) defaults to the specimen's collection time. ``notes`` are NTE
    segments after the OBX (FHIR ``note``); a str is one note.
    """
    codes = (code,) if isinstance(code, Code) else tuple(code)
    if not 1 <= len(codes) <= 2:
        raise ValueError("code: one Code, or two (primary and alternate coding of OBX-3)")
    coded = value if isinstance(value, Code) else None
    text = "" if coded is not None else _value_text(value)
    if coded is not None:
        kind = value_type if value_type is not None else "CWE"
        if kind not in _CODED_TYPES:
            raise ValueError(f"value_type: a Code value is CWE or CE, got {kind!r}")
    else:
        kind = value_type if value_type is not None else _value_type(text)
        if kind in _CODED_TYPES:
            raise ValueError(f"value_type {kind}: the value must be a Code, got {text!r}")
    if kind not in ("NM", "SN", "ST", "TX", "FT", *_CODED_TYPES):
        raise ValueError(f"value_type: NM, SN, ST, TX, FT, CWE or CE, got {kind!r}")
    if kind == "NM" and text and not _NUMERIC.match(text):
        raise ValueError(f"value {text!r} is not a number: NM cannot carry it")
    if kind == "SN" and text and sn_parts(text) is None:
        raise ValueError(f"value {text!r} is not a structured numeric: SN cannot carry it")
    units = _unit_codes(unit)
    v2_status = _FHIR_TO_V2_STATUS.get(status, status)
    if v2_status not in _V2_TO_FHIR_STATUS:
        raise ValueError(f"status: an OBX-11 code (F, C, X, D, P, A …) or FHIR status: {status!r}")
    flags = _flags(flag, text, reference_range)
    return ResultSpec(
        codes=codes,
        value=text,
        value_type=kind,
        unit=units[0],
        reference_range=reference_range,
        flags=flags,
        status=v2_status,
        observed=observed,
        sub_id=sub_id,
        notes=note_list(notes),
        coded_value=coded,
        unit_alternate=units[1],
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
    notes: str | Sequence[str] = (),
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
    notes: str | Sequence[str] = (),
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


def note_list(notes: str | Sequence[str]) -> tuple[str, ...]:
    """The NTE texts: a str is one note (not one per character)."""
    return (notes,) if isinstance(notes, str) else tuple(notes)


def _value_text(value: ValueLike) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("value: a number or text, not a bool")
    if not isinstance(value, (str, int, float, Decimal)):  # a list would be written as its repr
        raise TypeError(f"value: a number, text, a Code or None, not {type(value).__name__}")
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
    if sn_parts(text) is not None:
        return "SN"
    return "ST"


def sn_parts(text: str) -> tuple[str, str, str, str] | None:
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


def _unit_codes(unit: UnitLike) -> tuple[Code | None, Code | None]:
    """OBX-6 as written: the unit (CWE.1-3) and its alternate (CWE.4-6), when given."""
    if unit is None or isinstance(unit, Code):
        return unit, None
    if isinstance(unit, str):
        return Code(unit), None
    pair = tuple(unit) if isinstance(unit, Sequence) else ()
    if len(pair) == 2 and isinstance(pair[0], Code) and isinstance(pair[1], Code):
        return pair[0], pair[1]
    raise TypeError(
        "unit: a Code, the lab's spelling as text, two Codes (OBX-6 and its alternate) or "
        f"None, not {unit!r}"
    )


def _unit_key(unit: UnitLike) -> str:
    primary, alternate = _unit_codes(unit)
    code = primary if primary is not None and (primary.code or alternate is None) else alternate
    return "" if code is None else code.code


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


def range_limits(text: str) -> tuple[Decimal | None, Decimal | None] | None:
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
    limits = range_limits(reference_range)
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
    z_segments: tuple[ZSegmentSpec, ...] = ()  # HL7 v2 only: after the OBX, before the SPM

    @property
    def report_status(self) -> str:
        """OBR-25: as given, else X when all results are cancelled (X, N: not asked) or
        deleted, P when any is still preliminary (a corrected report holds none:
        flag.report-status-disagrees; one that a U without value after it makes final is not),
        C when any is corrected, else F."""
        return self.report_status_at(self.collected)

    def report_status_at(self, collected: TimeLike | None) -> str:
        """:attr:`report_status` of the order written with ``collected`` as its collection
        time, which a result's OBX-14 is when its ``observed`` is None."""
        if self.status:
            return self.status
        statuses = {
            *_statuses_now(self.results, collected),
            *_statuses_now(self.specimen_results, collected),
        }
        if statuses and statuses <= {"X", "N", "D", "W"}:
            return "X"
        if statuses & {"P", "R", "S"}:
            return "P"
        if "C" in statuses:
            return "C"
        return "F"


def _statuses_now(results: tuple[ResultSpec, ...], collected: TimeLike | None) -> list[str]:
    """The OBX-11 of ``results`` as leukoflag reads them: a preliminary result (P, R, S) that a
    U without value after it makes final (see :func:`_completions`) is F, and that U is none."""
    statuses = [r.status for r in results]
    for change, before in _completions(results, collected).items():
        statuses[before], statuses[change] = "F", ""
    return [status for status in statuses if status]


def results_as_read(
    results: Sequence[ResultSpec], collected: TimeLike | None
) -> tuple[ResultSpec, ...]:
    """``results`` as leukoflag reads them from HL7 v2, for FHIR, which has no status U: a
    preliminary result that a U without value after it makes final is final, with that U's
    notes (hl7v2.result-made-final), and the U is no result of its own."""
    given = tuple(results)
    made_final = _completions(given, collected)
    if not made_final:
        return given
    completed = {before: change for change, before in made_final.items()}
    out = []
    for index, spec in enumerate(given):
        if index in made_final:
            continue
        if index in completed:
            notes = spec.notes + given[completed[index]].notes
            out.append(dataclasses.replace(spec, status="F", notes=notes))
        else:
            out.append(spec)
    return tuple(out)


def _completions(results: tuple[ResultSpec, ...], collected: TimeLike | None) -> dict[int, int]:
    """Each U without value that makes a preliminary result (P, R, S) before it final, by its
    index, with that result's: the last result of its code, OBX-4 and OBX-14 before that U
    (OBX-14 as written, ``collected`` when ``observed`` is None, compared as a moment), as
    leukoflag's hl7v2.result-made-final."""
    found: dict[int, int] = {}
    for index, change in enumerate(results):
        if change.status != "U" or change.value or change.coded_value is not None:
            continue
        when = moment(change.observed, collected)
        for before in range(index - 1, -1, -1):
            earlier = results[before]
            if (_code_key(earlier.codes), earlier.sub_id, moment(earlier.observed, collected)) == (
                _code_key(change.codes),
                change.sub_id,
                when,
            ):
                if earlier.status in {"P", "R", "S"} and before not in found.values():
                    found[index] = before
                break
    return found


def _code_key(codes: tuple[Code, ...]) -> object:
    """OBX-3 as leukoflag compares two results' codes (leukoflag._result_keys.code_key): its
    codings by system and code, displays aside; else its text."""
    return tuple((c.system, c.code) for c in codes if c.code) or next(
        (c.display for c in codes if c.display), ""
    )


def moment(observed: TimeLike | None, collected: TimeLike | None) -> object:
    """OBX-14 of a result as leukoflag compares it: the collection time when ``observed`` is
    None, a time of day with an offset as its UTC instant at any precision (08:15-05:00 is
    13:15:00Z, 08-05:00 13:00:00Z, 08:15:00.5-05:00 13:15:00.5Z), else as written."""
    stamp = observed if observed is not None else collected
    if stamp is None:
        return None
    text = v2_time(stamp)
    parts = V2_TS.match(text)
    if parts is None or parts[3] is None or parts[4] is None or parts[8] is None:
        # a date, or no offset
        return text
    offset = int(parts[8][1:3]) * 60 + int(parts[8][3:5])
    zone = dt.timezone(dt.timedelta(minutes=offset if parts[8][0] == "+" else -offset))
    fraction = parts[7] or "."
    local = dt.datetime(
        int(parts[1]),
        int(parts[2]),
        int(parts[3]),
        int(parts[4]),
        int(parts[5] or 0),
        int(parts[6] or 0),
        int(fraction[1:].ljust(6, "0")),
        tzinfo=zone,
    )
    return local.astimezone(dt.UTC)


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
    notes: str | Sequence[str] = (),
    z_segments: Sequence[ZSegmentSpec] = (),
) -> OrderSpec:
    """An order (ORC + OBR, a FHIR DiagnosticReport) with its ``results`` (OBX under the OBR).

    ``specimen`` is ``"blood"`` (default), ``"urine"``, ``"csf"``, ``"body fluid"``,
    ``"cord blood"``, ``"serum"``, ``"plasma"``, ``"venous blood"``, ``"capillary blood"``, a
    :class:`Code`, or ``None`` (no SPM). ``specimen_role`` is an SPM-11 code (``"Q"`` control
    material, ``"C"`` calibrator). ``specimen_results`` are OBX written after the SPM (specimen
    observations). ``status`` is OBR-25 (derived from the results when empty). ``placer_id`` and
    ``filler_id`` default to numbers derived from the order's position in the message.
    ``notes`` are NTE segments after the OBR (a str is one note). ``z_segments`` (see
    :func:`z_segment`) follow the order's OBX, before its SPM; HL7 v2 only.
    """
    if specimen_role and specimen_role not in SPECIMEN_ROLES:
        raise ValueError(f"specimen_role: one of {', '.join(SPECIMEN_ROLES)} (HL7 table 0369)")
    if status and status not in V2_TO_FHIR_REPORT_STATUS:
        raise ValueError(f"status: an OBR-25 code ({', '.join(V2_TO_FHIR_REPORT_STATUS)})")
    return OrderSpec(
        results=tuple(results),
        code=code,
        specimen=resolve_specimen(specimen),
        specimen_role=specimen_role,
        specimen_results=tuple(specimen_results),
        status=status,
        placer_id=placer_id,
        filler_id=filler_id,
        collected=collected,
        notes=note_list(notes),
        z_segments=tuple(z_segments),
    )


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class ZSegmentSpec:
    """A site-defined segment (``ZBX``, ``ZPI`` …). Build one with :func:`z_segment`."""

    name: str
    fields: tuple[str | tuple[str, ...], ...]  # field 1 first; a tuple is its components


def z_segment(name: str, *fields: str | Sequence[str]) -> ZSegmentSpec:
    """A Z-segment, as many feeds add for what the standard has no place for: ``name`` is Z and
    two letters or digits, each of ``fields`` (field 1 first) is text or a sequence of its
    components; every value is escaped with the message's delimiters.
    ``z_segment("ZBX", "1", ("SMEAR", "Smear reviewed"), "Y")`` → ``ZBX|1|SMEAR^Smear
    reviewed|Y``."""
    if not re.fullmatch(r"Z[A-Z0-9]{2}", name):
        raise ValueError(f"name: Z and two capital letters or digits (ZBX, Z01), got {name!r}")
    return ZSegmentSpec(
        name, tuple(field if isinstance(field, str) else tuple(field) for field in fields)
    )


@dataclass(frozen=True, slots=True)
class PatientResultSpec:
    """One patient and their orders: a PATIENT_RESULT group of an ORU^R01 (PID, PV1, orders).
    Build one with :func:`patient_result`."""

    patient: PatientSpec
    orders: tuple[OrderSpec, ...]
    z_segments: tuple[ZSegmentSpec, ...] = ()  # after PID and PV1


def patient_result(
    patient: PatientSpec = DEFAULT_PATIENT,
    results: Sequence[ResultSpec] | None = None,
    *,
    orders: Sequence[OrderSpec] | None = None,
    specimen: SpecimenLike = "blood",
    z_segments: Sequence[ZSegmentSpec] = (),
) -> PatientResultSpec:
    """A patient with their results, for a message that reports on several patients
    (``oru_message(patient_results=[...])``): ``results`` under one CBC order on ``specimen``
    (default a normal WBC and ANC), or ``orders=[order(...), ...]``. ``z_segments`` follow the
    patient's PID and PV1."""
    given = order_list(results, orders, specimen, need="a patient's results need")
    return PatientResultSpec(patient, given, tuple(z_segments))


def order_list(
    results: Sequence[ResultSpec] | None,
    orders: Sequence[OrderSpec] | None,
    specimen: SpecimenLike,
    *,
    need: str,
) -> tuple[OrderSpec, ...]:
    """The orders of ``results=`` (one CBC order on ``specimen``; a normal WBC and ANC when
    ``None``) or of ``orders=``, as :func:`patient_result` and ``oru_message`` take them."""
    if results is not None and orders is not None:
        raise ValueError("pass results= (one CBC order) or orders=, not both")
    if orders is None:
        orders = [order(default_results() if results is None else results, specimen=specimen)]
    if not orders:
        raise ValueError(f"orders: {need} at least one order")
    return tuple(orders)


def default_results() -> tuple[ResultSpec, ...]:
    """The results of a message built without any: a normal WBC and ANC."""
    return (wbc(), anc())


def resolve_specimen(specimen: SpecimenLike) -> Code | None:
    if specimen is None or isinstance(specimen, Code):
        return specimen
    try:
        return _SPECIMENS[specimen.lower()]
    except KeyError:
        known = ", ".join(sorted(_SPECIMENS))
        raise ValueError(f"specimen: one of {known}, a Code or None; got {specimen!r}") from None


def v2_time(value: TimeLike) -> str:
    if isinstance(value, str):
        if not V2_TS.match(value):
            raise ValueError(
                f"time: HL7 v2 TS text YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]: {value!r}"
            )
        if not _on_calendar(value):  # leukoflag would report hl7v2.timestamp-invalid
            raise ValueError(f"time: {value!r} is not a calendar date and time")
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


def after(base: TimeLike, step: dt.timedelta) -> TimeLike:
    """``base`` moved by ``step`` when it is a time of day; text and dates stay as given. An
    aware time moves by elapsed time (in UTC, then back to its zone): across a clock change
    wall-clock arithmetic would add or lose the hour."""
    if not isinstance(base, dt.datetime):
        return base
    if base.utcoffset() is None:
        return base + step
    return (base.astimezone(dt.UTC) + step).astimezone(base.tzinfo)
