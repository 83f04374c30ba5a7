"""Unit normalization of white-cell (WBC) and neutrophil (ANC) counts to cells/µL.

A unit as a lab wrote it goes spelling → alias table (``data/units.toml``) → UCUM code →
pint arithmetic on leukoflag's own UCUM-to-pint translation (``_pint.py``) → dimension check →
exact ``Decimal`` scaling. Anything that does not end as a count per volume is refused with a
:class:`leukoflag.UnitError` whose ``reason`` says why; nothing is guessed.

Public (re-exported by :mod:`leukoflag`):

* ``count_per_ul(value, unit, analyte="wbc") -> Decimal``

Internal API for the pipeline (the flagging step); these names and signatures are stable:

* ``normalize(value, unit, analyte="wbc", *, same_unit_values=()) -> NormalizedCount`` —
  the value in cells/µL plus how it was obtained (UCUM code, factor, spelling, ``inferred``,
  ``matched_tolerantly``, ``exact``), so the caller can report an inference or a tolerant match
  as an Issue. ``same_unit_values`` are other numbers written in the same unit (the reference range
  bounds); they only help decide the magnitude when the unit is missing.
* ``normalize_range(low, high, unit, analyte="wbc", *, result=None)
  -> tuple[Decimal | None, Decimal | None]`` — reference-range bounds with the same rules; a
  missing range unit means "the result's unit" when ``result`` (a NormalizedCount) is given.
* ``resolve_unit(unit, analyte="wbc") -> UnitSpec`` — what a unit is, without a value:
  ``kind`` (count, percent, fraction, other-analyte, not-a-count), UCUM code, factor. It raises
  only when the unit cannot be identified (``unknown-unit``, ``no-unit``, ``unit-conflict``)
  or is refused on purpose (``refused-unit``);
  a percent or a red-cell unit is returned, so flagging can tell a percentage from a count.
* ``issue_for(error, location) -> Issue`` and ``notes_for(count, location) -> tuple[Issue, ...]``
  — the ``units.*`` Issues for a refusal, an inferred unit, or a tolerant match.
* ``misread_ucum_code(unit) -> bool`` — whether a ``Unit``'s code sent with the UCUM system is a
  lab spelling (``K/uL``), which the writer must not keep as a UCUM code.
* ``unit_table() -> UnitTable`` — the loaded data file (docs, tests).

``unit`` may be a ``str``, a :class:`leukoflag.model.Unit` or None. For a ``Unit`` the code is
tried first when its system is UCUM (``http://unitsofmeasure.org``, its OID or ``UCUM``), then the
text, then the code as a spelling; when two of them are known but disagree (``/uL`` coded,
``K/uL`` written) the unit is refused with ``unit-conflict`` rather than trusting either.
``value`` may be ``Decimal``, ``str`` or ``int``; never ``float`` (it has already lost
exactness). Results keep the significant figures of the value as written:
``"8.20"`` in ``K/uL`` gives ``Decimal("8.20E+3")``, equal to 8200 with three significant figures.

UnitError reasons: ``unknown-unit``, ``refused-unit``, ``no-unit``, ``unit-conflict``, ``percent``,
``fraction``,
``wrong-analyte``, ``wrong-dimension``, ``implausible``, ``bad-number``, ``unknown-analyte``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from enum import StrEnum

from leukoflag._cache import LONGEST_KEY
from leukoflag._construct import constructor
from leukoflag._numbers import plain
from leukoflag._quote import quoted, shortened
from leukoflag.errors import DataFileError, UnitError
from leukoflag.model import Analyte, Issue, Severity, Unit
from leukoflag.units import _pint
from leukoflag.units._table import (
    DataKind,
    Match,
    SpellingRow,
    UcumEntry,
    UnitTable,
    default_table,
    utf8_read_as_latin1,
    without_annotations,
)

__all__ = [
    "Match",
    "NormalizedCount",
    "SpellingRow",
    "UnitKind",
    "UnitSpec",
    "UnitTable",
    "checked_magnitude",
    "count_per_ul",
    "issue_for",
    "misread_ucum_code",
    "normalize",
    "normalize_range",
    "notes_for",
    "resolve_unit",
    "unit_table",
]

Number = Decimal | str | int

UCUM_SYSTEM = "http://unitsofmeasure.org"
# the FHIR URI, the v2 coding system name, and UCUM's OID, as some FHIR senders write the system
_UCUM_SYSTEM_NAMES = frozenset({UCUM_SYSTEM, "UCUM", "ucum", "urn:oid:2.16.840.1.113883.6.8"})
_ANALYTES = frozenset({"wbc", "anc"})
# Scaling by powers of ten must never round: a context wide enough for any Decimal.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class UnitKind(StrEnum):
    """What a unit measures, seen from a WBC/ANC count."""

    COUNT = "count"  # cells per volume: normalized
    PERCENT = "percent"  # a differential percentage
    FRACTION = "fraction"  # a differential fraction (UCUM 1, {ratio})
    OTHER_ANALYTE = "other-analyte"  # red-cell counts, mass concentrations, per-field counts
    NOT_A_COUNT = "not-a-count"  # another dimension altogether (fL, pg, mm/h)


_COUNT = UnitKind.COUNT  # read on the hot path: a member looked up on its class costs ~860
_KIND_OF_DATA = {
    DataKind.COUNT: UnitKind.COUNT,
    DataKind.PERCENT: UnitKind.PERCENT,
    DataKind.FRACTION: UnitKind.FRACTION,
    DataKind.RED_CELL: UnitKind.OTHER_ANALYTE,
    DataKind.MASS: UnitKind.OTHER_ANALYTE,
    DataKind.PER_FIELD: UnitKind.OTHER_ANALYTE,
    DataKind.OTHER: UnitKind.NOT_A_COUNT,
}
_REASON_OF_KIND = {
    UnitKind.PERCENT: "percent",
    UnitKind.FRACTION: "fraction",
    UnitKind.OTHER_ANALYTE: "wrong-analyte",
    UnitKind.NOT_A_COUNT: "wrong-dimension",
}


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A resolved unit.

    ``spelling`` is the text or code that matched, as sent (``""`` when inferred). ``factor``
    converts to cells/µL for a count, to a plain fraction for percent/fraction (``%`` → 0.01),
    and is None otherwise; ``exponent`` is ``factor`` as a power of ten when it is one.
    ``dimension`` is pint's dimensionality of the UCUM code; ``meaning`` and ``source`` come
    from the data file (``source`` is where the spelling was seen, or the rule that inferred it).
    ``misread_code`` is a lab spelling a ``Unit`` sent as its UCUM code (``K/uL``, which UCUM
    reads as kelvin per µL), else ``""``: :func:`notes_for` reports it and the writer does not
    claim it as UCUM. ``alternate_of`` is the unit as sent (not in the table) when this spec is
    that of its alternate coding (HL7 v2 OBX-6.4-6), else ``""``: :func:`notes_for` reports it.
    ``counts`` is the count (``wbc`` or ``anc``) a UCUM annotation of the unit names
    (``anc`` for ``10*3{Neutrophils}/uL``), else ``""``: a value of the other is refused in it.
    """

    spelling: str
    ucum: str
    kind: UnitKind
    factor: Decimal | None
    exponent: int | None
    match: Match
    meaning: str
    source: str
    dimension: str
    misread_code: str = ""
    alternate_of: str = ""
    counts: str = ""

    @property
    def matched_tolerantly(self) -> bool:
        """True when the spelling matched only after canonical form or case folding."""
        return self.match in (Match.TOLERANT, Match.CASE_INSENSITIVE)

    @property
    def inferred(self) -> bool:
        """True when no unit was sent and the missing-unit rule chose this one."""
        return self.match is Match.INFERRED


@dataclass(frozen=True, slots=True)
class NormalizedCount:
    """A WBC/ANC value in cells/µL and how it got there (``unit`` says how the unit was found;
    the properties repeat what flagging needs most)."""

    value_per_ul: Decimal
    unit: UnitSpec

    @property
    def ucum(self) -> str:
        """UCUM code of the unit the value was read in (``10*3/uL``)."""
        return self.unit.ucum

    @property
    def factor(self) -> Decimal:
        """Factor from that unit to cells/µL."""
        assert self.unit.factor is not None  # a count always has one
        return self.unit.factor

    @property
    def spelling(self) -> str:
        """The unit as sent (``""`` when it was inferred)."""
        return self.unit.spelling

    @property
    def inferred(self) -> bool:
        """No unit was sent; the data file's missing-unit rule chose it (report an Issue)."""
        return self.unit.match is Match.INFERRED

    @property
    def matched_tolerantly(self) -> bool:
        """The spelling matched only after canonical form or case folding."""
        return self.unit.matched_tolerantly

    @property
    def exact(self) -> bool:
        """The unit was sent and matched as written (spelling or UCUM code): neither inferred
        nor matched tolerantly, no lab spelling was sent as a UCUM code and no alternate coding
        was read in its stead, so :func:`notes_for` has nothing to report."""
        unit = self.unit
        return unit.match in _EXACT_MATCHES and not unit.misread_code and not unit.alternate_of


# Made once: a constructor() call is a cache look-up of about 900 instructions.
_new_normalized_count = constructor(NormalizedCount)


_EXACT_MATCHES = frozenset({Match.EXACT, Match.UCUM_CODE})


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A cached negative answer for a unit (raised as UnitError by the caller)."""

    message: str
    spelling: str
    reason: str

    def error(self) -> UnitError:
        return UnitError(self.message, spelling=self.spelling, reason=self.reason)


# --------------------------------------------------------------------------------- public


def count_per_ul(value: Number, unit: str | Unit | None, analyte: str = "wbc") -> Decimal:
    """``value`` written in ``unit`` as an exact number of cells per µL.

    >>> count_per_ul("8.2", "K/uL")
    Decimal('8.2E+3')

    Raises :class:`leukoflag.UnitError` (a ``ValueError``) with ``.spelling`` and ``.reason``.
    """
    # Hot path: a finite Decimal (or str) value, plausible in a count unit already resolved
    # whose factor is a power of ten. Anything else, including every refusal, takes the full
    # path, which gives each refusal its reason and message. (The steps of _planned, written
    # out: calling it would cost a tenth of this path.)
    plan = _PLANS.get(unit if unit.__class__ is str else _unit_key(unit))
    if plan is not None and analyte in _ANALYTES:
        exponent, high = plan
        try:
            if value.__class__ is Decimal:
                per_ul = value.scaleb(exponent, _EXACT)
            else:
                per_ul = _quick_decimal(value).scaleb(exponent, _EXACT)
            if per_ul <= high and not per_ul.is_signed():
                return per_ul
        except InvalidOperation:
            pass  # NaN, sNaN, or a value that is not a Decimal or plain str: the full path
    return _normalized(value, unit, analyte, ()).value_per_ul


def normalize(
    value: Number,
    unit: str | Unit | None,
    analyte: str = "wbc",
    *,
    same_unit_values: Iterable[Number] = (),
) -> NormalizedCount:
    """``value`` in cells/µL with the UCUM code, factor and how the unit was found."""
    key = unit if unit.__class__ is str else _unit_key(unit)
    plan = _PLANS.get(key)
    if plan is not None and analyte in _ANALYTES:  # a count unit: count_per_ul's hot path
        per_ul = _planned(value, plan)
        if per_ul is not None:
            spec: UnitSpec = _RESOLVED[key]  # type: ignore[assignment]
            # The fast constructor: the frozen dataclass's own __init__ costs as much as the
            # rest of this path (flagging normalizes every count of every order).
            return _new_normalized_count(per_ul, spec)
    return _normalized(value, unit, analyte, same_unit_values)


def normalize_range(
    low: Number | None,
    high: Number | None,
    unit: str | Unit | None,
    analyte: str = "wbc",
    *,
    result: NormalizedCount | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """Reference-range bounds in cells/µL, by the same rules as :func:`normalize`.

    ``unit`` is the range's own unit; when it is missing and ``result`` is given, the range is
    read in the result's unit (including an inferred one). Without either, the magnitude is
    inferred from the bounds together.
    """
    if analyte not in _ANALYTES:
        raise _unknown_analyte(analyte)
    plan = _range_plan(unit, result)
    if plan is not None and (low is not None or high is not None):
        # Hot path (a lab's range next to every count): Decimal bounds in a power-of-ten count
        # unit, each plausible. Anything else (a str bound, a refusal) takes the full path,
        # which gives each refusal its reason and message.
        key = (id(low), id(high), plan[0])
        kept = _PLANNED_RANGES.get(key)
        if kept is not None and kept[0] is low and kept[1] is high and kept[2] == plan:
            return kept[3], kept[4]
        low_per_ul = _planned(low, plan) if low.__class__ is Decimal else None
        high_per_ul = _planned(high, plan) if high.__class__ is Decimal else None
        if (low_per_ul is not None or low is None) and (high_per_ul is not None or high is None):
            if len(_PLANNED_RANGES) >= _RESOLVED_LIMIT:
                _PLANNED_RANGES.clear()
            _PLANNED_RANGES[key] = (low, high, plan, low_per_ul, high_per_ul)
            return low_per_ul, high_per_ul
    low_number = None if low is None else _decimal(low, unit)
    high_number = None if high is None else _decimal(high, unit)
    others: tuple[Decimal, ...] = ()
    if low_number is not None:
        first = low_number
        if high_number is not None:
            others = (high_number,)
    elif high_number is not None:
        first = high_number
    else:
        return None, None
    found = _NO_UNIT if unit is None else _resolved(unit)
    if found is _NO_UNIT and result is not None:
        spec = result.unit
    else:
        spec = _spec_for(unit, first, others)
    if spec.counts and spec.counts != analyte:
        raise _other_count(first, unit, spec, analyte)
    return (
        None if low_number is None else _apply(low_number, spec),
        None if high_number is None else _apply(high_number, spec),
    )


def resolve_unit(unit: str | Unit | None, analyte: str = "wbc") -> UnitSpec:
    """What ``unit`` is, without a value. Raises UnitError only when it cannot be identified
    (``no-unit``, ``unknown-unit``, ``unit-conflict``), is refused on purpose (``refused-unit``)
    or the analyte is unknown."""
    if analyte not in _ANALYTES:
        raise _unknown_analyte(analyte)
    found = _NO_UNIT if unit is None else _resolved(unit)
    if found is _NO_UNIT:
        raise UnitError(
            "no-unit: no unit was sent; a unit can only be inferred from a value",
            spelling="",
            reason="no-unit",
        )
    if isinstance(found, _Refusal):
        raise found.error()
    return found


def unit_table() -> UnitTable:
    """The packaged units data file, loaded once."""
    return default_table()


# --------------------------------------------------------------------------------- issues

# A refused count is kept as sent and left unjudged, so nothing is lost: a warning (error
# means lost or damaged data in every step's Issues). An unknown analyte is a programming error.
_SEVERITY = {
    "unknown-unit": Severity.WARNING,
    "refused-unit": Severity.WARNING,
    "no-unit": Severity.WARNING,
    "percent": Severity.WARNING,
    "fraction": Severity.WARNING,
    "bad-number": Severity.WARNING,
    "unit-conflict": Severity.WARNING,
    "wrong-analyte": Severity.WARNING,
    "wrong-dimension": Severity.WARNING,
    "implausible": Severity.WARNING,
    "unknown-analyte": Severity.ERROR,
}


def issue_for(error: UnitError, location: str) -> Issue:
    """The ``units.<reason>`` Issue for a refused value (documented in docs/issues.md)."""
    severity = _SEVERITY.get(error.reason, Severity.ERROR)  # every reason is listed above
    return Issue(severity, f"units.{error.reason or 'unknown-unit'}", location, str(error))


def notes_for(count: NormalizedCount, location: str) -> tuple[Issue, ...]:
    """Issues for a value that was normalized but not from an exact spelling, or whose unit
    code sent with the UCUM system is a lab spelling."""
    if count.unit.alternate_of:
        text = (
            f"unit {quoted(count.unit.alternate_of)} is not in leukoflag's unit table; its "
            f"alternate coding {quoted(count.unit.spelling)} was read as {count.ucum} "
            f"({count.unit.meaning})"
        )
        return (Issue(Severity.INFORMATION, "units.unit-alternate", location, text),)
    if count.unit.misread_code:
        return (*_tolerant_note(count, location), _misread_note(count.unit, location))
    if count.unit.match is Match.CHARSET:
        return (_charset_note(count.unit, location),)
    if count.inferred:
        text = f"no unit sent; read as {count.ucum} (factor {count.factor:f} to cells/µL)"
        return (Issue(Severity.WARNING, "units.unit-inferred", location, text + _why(count)),)
    return _tolerant_note(count, location)


def _tolerant_note(count: NormalizedCount, location: str) -> tuple[Issue, ...]:
    if count.matched_tolerantly:
        row = count.unit
        text = (
            f"unit {quoted(row.spelling)} matched {row.match.value} as {row.ucum} ({row.meaning})"
        )
        return (Issue(Severity.INFORMATION, "units.unit-matched-tolerantly", location, text),)
    return ()


def _charset_note(spec: UnitSpec, location: str) -> Issue:
    repaired = utf8_read_as_latin1(spec.spelling)
    text = (
        f"unit {quoted(spec.spelling)} is {quoted(repaired)} written in UTF-8 and read as "
        "Latin-1 (the message's declared charset does not match its bytes; correct the "
        f"sender's charset, not the unit table): read as {spec.ucum} ({spec.meaning})"
    )
    return Issue(Severity.WARNING, "units.unit-charset-repaired", location, text)


def _misread_note(spec: UnitSpec, location: str) -> Issue:
    text = (
        f"unit code {quoted(spec.misread_code)} was sent with the UCUM system but is a lab "
        "spelling, not a UCUM code (UCUM reads such spellings otherwise or not at all: K/uL as "
        f"kelvin per µL); leukoflag's unit table reads it as {spec.ucum} ({spec.meaning}); the "
        "quantity as sent is kept with it as unit text, without the UCUM system"
    )
    return Issue(Severity.WARNING, "units.code-not-ucum", location, text)


def misread_ucum_code(unit: Unit) -> bool:
    """Whether ``unit``'s code, sent with the UCUM system, is a lab spelling of a count unit
    leukoflag reads (``K/uL``), not that unit's UCUM code: a Quantity keeping it must not claim
    it as UCUM. Memoized with the unit's resolution."""
    found = _resolved(unit)
    return isinstance(found, UnitSpec) and bool(found.misread_code)


# --------------------------------------------------------------------------------- internals


def _why(count: NormalizedCount) -> str:
    """Why an inferred unit was chosen: the value alone, or (when the value alone could be
    read either way) the reference range sent without a unit beside it."""
    if not count.value_per_ul:
        return ": 0 is 0 cells/µL in every reading"
    exponent = count.unit.exponent
    assert exponent is not None  # the missing-unit readings are powers of ten
    try:
        _infer((count.value_per_ul.scaleb(-exponent, _EXACT),))
    except UnitError:  # 7 alone is 7 or 7,000 cells/µL: the range's limits decided
        readings = " or ".join(reading.ucum for reading in default_table().readings)
        return (
            f": the value alone could be {readings}; the reference range, sent without a unit "
            f"too and read in the same unit, fits only {count.ucum}"
        )
    return " because it is the only plausible magnitude"


def _unknown_analyte(analyte: object) -> UnitError:
    known = ", ".join(sorted(a.value for a in Analyte))
    return UnitError(
        f"unknown-analyte: {analyte!r} is not one of {known}",
        spelling="",
        reason="unknown-analyte",
    )


def _spelling_of(unit: str | Unit | None) -> str:
    if unit is None:
        return ""
    if isinstance(unit, str):
        return unit
    return unit.text or unit.code


def _decimal(value: object, unit: str | Unit | None) -> Decimal:
    """``value`` as an exact, finite Decimal, or UnitError ``bad-number``."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            # Python's Decimal also reads 1_000 and non-ASCII digits (８.２): a lab value does not
            number = Decimal(text) if "_" not in text and text.isascii() else Decimal("NaN")
        except InvalidOperation:
            number = Decimal("NaN")
    elif isinstance(value, bool):
        raise TypeError(f"a count must be Decimal, str or int, not bool ({value!r})")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        raise UnitError(
            f"bad-number: {quoted(value)} is a float, which has already lost exactness; "
            "pass the value as written (str) or as a Decimal",
            spelling=_spelling_of(unit),
            reason="bad-number",
        )
    else:
        raise TypeError(f"a count must be Decimal, str or int, not {type(value).__name__}")
    if not number.is_finite():
        raise UnitError(
            f"bad-number: {quoted(value)} is not a finite decimal number",
            spelling=_spelling_of(unit),
            reason="bad-number",
        )
    return number


def _apply(number: Decimal, spec: UnitSpec) -> Decimal:
    """``number`` in ``spec`` as cells/µL, checked for plausibility."""
    if spec.kind is not UnitKind.COUNT:
        raise _kind_error(number, spec)
    if spec.exponent is not None:
        per_ul = number.scaleb(spec.exponent, _EXACT)
    else:
        per_ul = number.fma(spec.factor, 0, _EXACT)  # type: ignore[arg-type]
    table = default_table()
    if table.plausible_low <= per_ul <= table.plausible_high:
        return per_ul.copy_abs() if per_ul.is_signed() else per_ul  # -0 is 0
    raise UnitError(
        f"implausible: {shortened(str(number))} {_shown(spec)} is "
        f"{shortened(plain(per_ul.normalize(_EXACT)))} cells/µL, "
        "outside "
        f"{table.plausible_low}–{table.plausible_high} for a blood WBC/ANC count "
        "(a mislabelled unit?)",
        spelling=spec.spelling,
        reason="implausible",
    )


def _shown(spec: UnitSpec) -> str:
    if spec.inferred:
        return f"(no unit; read as {spec.ucum})"
    return f"{quoted(spec.spelling)} ({spec.ucum})"


def _kind_error(number: Decimal, spec: UnitSpec) -> UnitError:
    reason = _REASON_OF_KIND[spec.kind]
    return UnitError(
        f"{reason}: unit {quoted(spec.spelling)} ({spec.ucum}) is {spec.meaning}, "
        "not a white-cell or neutrophil count per volume; "
        f"{shortened(str(number))} was not normalized",
        spelling=spec.spelling,
        reason=reason,
    )


def _spec_for(
    unit: str | Unit | None, number: Decimal, same_unit_values: Iterable[Number]
) -> UnitSpec:
    """The spec ``number`` is read in: ``unit``'s, or the one inferred when no unit was sent."""
    found = _NO_UNIT if unit is None else _resolved(unit)
    if isinstance(found, UnitSpec):
        return found
    if found is _NO_UNIT:
        others = tuple(_decimal(other, unit) for other in same_unit_values)
        return _infer((number, *others), as_written=bool(others))
    raise found.error()


def _planned(value: object, plan: tuple[int, Decimal]) -> Decimal | None:
    """``value`` in cells/µL by a hot-path plan (exponent, plausible high), or None when the
    full path must judge it (not plausible, not finite, not a Decimal or plain str)."""
    exponent, high = plan
    try:
        if value.__class__ is Decimal:
            per_ul = value.scaleb(exponent, _EXACT)
        else:
            per_ul = _quick_decimal(value).scaleb(exponent, _EXACT)
        if per_ul <= high and not per_ul.is_signed():
            return per_ul
    except InvalidOperation:
        pass  # NaN, sNaN, or a value that is not a Decimal or plain str: the full path
    return None


def _range_plan(
    unit: str | Unit | None, result: NormalizedCount | None
) -> tuple[int, Decimal] | None:
    """The hot-path plan of a range's unit; a range sent without one is read in the unit of
    ``result``, which has a plan when its factor is a power of ten (a resolved or inferred
    count unit)."""
    if unit is not None:
        return _PLANS.get(unit if unit.__class__ is str else _unit_key(unit))
    if result is None:
        return None
    spec = result.unit
    exponent = spec.exponent
    if exponent is None or spec.kind is not _COUNT:
        return None
    table = default_table()
    return (exponent, table.plausible_high) if table.plausible_low == 0 else None


def _quick_decimal(value: object) -> Decimal:
    """``value`` parsed on the hot path; InvalidOperation sends anything but a plain ASCII str
    (floats, ints, ``1_000``, ``８.２``) to the full path, which judges it."""
    if value.__class__ is not str or "_" in value or not value.isascii():
        raise InvalidOperation
    return Decimal(value)


def _normalized(
    value: Number, unit: str | Unit | None, analyte: str, same_unit_values: Iterable[Number]
) -> NormalizedCount:
    if analyte not in _ANALYTES:
        raise _unknown_analyte(analyte)
    number = _decimal(value, unit)
    spec = _spec_for(unit, number, same_unit_values)
    if spec.counts and spec.counts != analyte:
        raise _other_count(number, unit, spec, analyte)
    return NormalizedCount(_apply(number, spec), spec)


_COUNTED = {"wbc": "all white cells (a WBC)", "anc": "neutrophils (an ANC)"}


def _other_count(
    number: Decimal, unit: str | Unit | None, spec: UnitSpec, analyte: str
) -> UnitError:
    """The refusal of a count read in a unit whose annotation names the other count: the unit
    itself is of another analyte (wrong-analyte); its alternate coding or original text naming
    the other count disagrees with the unit read (unit-conflict, kept in the extensions of the
    unit sent, so read back it is refused again)."""
    table = default_table()
    named = f"names {_COUNTED[spec.counts]} in its annotation (units.toml [annotations]), not "
    named += _COUNTED[analyte]
    for sent in _unit_strings(unit, alternate=False):
        if "{" in sent and table.annotated_count(sent) == spec.counts:
            return UnitError(
                f"wrong-analyte: unit {quoted(sent)} {named}; "
                f"{shortened(str(number))} was not normalized",
                spelling=spec.spelling,
                reason="wrong-analyte",
            )
    assert isinstance(unit, Unit)  # a str unit is its own only text
    if unit.alternate is not None and any(
        "{" in sent and table.annotated_count(sent) == spec.counts
        for sent in (unit.alternate.text, unit.alternate.code)
    ):
        shown = quoted(unit.alternate.code or unit.alternate.text)
        said = f"the unit and its alternate coding disagree: {quoted(spec.spelling)} is "
        said += f"{spec.ucum} ({spec.meaning}) but the alternate {shown} {named}"
    else:
        said = f"the unit and its original text disagree: {quoted(spec.spelling)} "
        said += f"({_read_at(unit, spec)}) is {spec.ucum} ({spec.meaning}) but the original text "
        said += f"{quoted(unit.original)} (OBX-6.9) {named}"
    return UnitError(
        f"unit-conflict: {said}; {shortened(str(number))} was not normalized",
        spelling=spec.spelling,
        reason="unit-conflict",
    )


def _unit_strings(unit: str | Unit | None, *, alternate: bool = True) -> tuple[str, ...]:
    """The texts of ``unit`` as sent (those of its alternate coding too, unless ``alternate``
    is false); not its original text, which only checks the unit (:func:`_with_original`)."""
    if unit is None:
        return ()
    if isinstance(unit, str):
        return (unit,)
    other = unit.alternate
    if other is None or not alternate:
        return (unit.text, unit.code)
    return (unit.text, unit.code, other.text, other.code)


def _sent_texts(unit: str | Unit) -> tuple[str, ...]:
    """Every text of ``unit`` as sent: its own, its alternate coding's, its original text."""
    if isinstance(unit, str):
        return (unit,)
    return (*_unit_strings(unit), unit.original)


_NO_UNIT = _Refusal("no-unit: the unit is empty", "", "no-unit")
# Per-process memos, keyed by the unit as sent (a ``Unit`` by its three strings, which hash and
# compare faster than the dataclass): every resolved unit → its spec or refusal, and count
# units whose factor is a power of ten → the hot path's plan (exponent, plausible high).
# Pure caches of data-file lookups, bounded so arbitrary input cannot grow them without limit.
_RESOLVED: dict[object, UnitSpec | _Refusal] = {}
_PLANS: dict[object, tuple[int, Decimal]] = {}
_RESOLVED_LIMIT = 4096
# The lab ranges a feed repeats (the HL7 v2 reader shares one object per OBX-7 text) in cells/µL,
# by the identity of the limits sent (held, so their ids stay theirs) and the plan: the same
# Decimals come back for every message, and fhir.dumps finds their text kept. Bounded as above.
_PLANNED_RANGES: dict[
    tuple[int, int, int], tuple[object, object, tuple[int, Decimal], Decimal | None, Decimal | None]
] = {}


def _unit_key(unit: str | Unit | None) -> object:
    if isinstance(unit, Unit):
        if unit.alternate is None:  # the usual unit: its three strings, as before alternates
            if unit.original:
                return (unit.text, unit.code, unit.system, unit.original)
            return (unit.text, unit.code, unit.system)
        alternate = unit.alternate
        return (
            unit.text,
            unit.code,
            unit.system,
            alternate.text,
            alternate.code,
            alternate.system,
            unit.original,
        )
    if unit is not None and not isinstance(unit, str):  # as a count of the wrong type is refused
        raise TypeError(f"a unit must be str, Unit or None, not {type(unit).__name__}")
    return unit


def _key_chars(key: object) -> int:
    """The characters of a :func:`_unit_key`."""
    if isinstance(key, tuple):
        return sum(map(len, key))
    return len(key) if isinstance(key, str) else 0


def _resolved(unit: str | Unit) -> UnitSpec | _Refusal:
    """The spec of a unit, or why it has none (``_NO_UNIT`` when it is blank); memoized."""
    key = _unit_key(unit)
    found = _RESOLVED.get(key)
    if found is None:
        found = _resolution(unit)
        if isinstance(found, UnitSpec) and any("{" in s for s in _sent_texts(unit)):  # rare
            found = _annotated(found, unit)
        # a unit of absurd length is resolved again if it comes back, not kept
        if len(_RESOLVED) < _RESOLVED_LIMIT and _key_chars(key) <= LONGEST_KEY:
            _RESOLVED[key] = found
            table = default_table()
            if (
                isinstance(found, UnitSpec)
                and found.kind is UnitKind.COUNT
                and found.exponent is not None
                and not found.counts  # read for one count only: the full path checks which
                and table.plausible_low == 0  # the hot path checks the lower limit by the sign
            ):
                _PLANS[key] = (found.exponent, table.plausible_high)
    return found


def _annotated(spec: UnitSpec, unit: str | Unit) -> UnitSpec:
    """``spec`` with the count a UCUM annotation of ``unit`` names (``{Neutrophils}``: anc):
    that of the coding read first, else of the other coding or the original text (OBX-6.9),
    the sender's other words for the same unit (``10*3/uL^^UCUM^^^^^^10*3{Neutrophils}/uL``)."""
    table = default_table()
    read = _unit_strings(unit, alternate=bool(spec.alternate_of))
    for text in (*read, *_sent_texts(unit)):
        counts = table.annotated_count(text) if "{" in text else None
        if counts is not None:
            return replace(spec, counts=counts)
    return spec


def _resolution(unit: str | Unit) -> UnitSpec | _Refusal:
    table = default_table()
    if isinstance(unit, str):
        spec = _lookup(table, unit)
        if spec is not None:
            return spec
        if not unit.strip():
            return _NO_UNIT
        return _unknown(table, (unit,), quoted(unit), unit)
    if unit.original:
        found = _resolution(replace(unit, original=""))
        return _with_original(table, unit, found) if isinstance(found, UnitSpec) else found
    if unit.alternate is not None:
        return _with_alternate(table, unit, unit.alternate)
    return _resolved_unit(table, unit)


def _read_at(unit: Unit, first: UnitSpec) -> str:
    """The component of HL7 v2 OBX-6 the unit ``first`` was read from."""
    if unit.alternate is not None and first.alternate_of:  # the alternate coding was read
        return "OBX-6.4" if first.spelling == unit.alternate.code else "OBX-6.5"
    return "OBX-6.1" if unit.code and first.spelling == unit.code else "OBX-6.2"


# the units whose values are read (a count, or a differential a count is derived from)
_READ_WITH_ORIGINAL = frozenset({UnitKind.COUNT, UnitKind.PERCENT, UnitKind.FRACTION})


def _with_original(table: UnitTable, unit: Unit, first: UnitSpec) -> UnitSpec | _Refusal:
    """A count or differential unit sent with its original text (HL7 v2 OBX-6.9) beside it:
    refused when the table reads that text as another unit (``10*3/uL^^UCUM^^^^^^cells/uL``:
    3.1 is 3,100 or 3 cells/µL; ``%`` beside ``10*3/uL``: 38 is a percentage, not 38,000
    cells/µL, and ``10*3/uL`` beside ``%``), refuses it on purpose (``/L``) or sees another
    analyte named in it (``10*3{Platelets}/uL``, ``%{Lymphocytes}`` beside ``%``); a text of the
    same scale (``K/uL``) or one the table does not read says nothing."""
    if first.kind not in _READ_WITH_ORIGINAL:
        return first
    original = unit.original
    other = _lookup(table, original)
    if other is not None:
        if (other.kind, other.factor) == (first.kind, first.factor):
            return first
        said = f"is {other.ucum} ({other.meaning})"
    elif (refused := table.refusal(original)) is not None:
        said = f"is refused: {refused.why} (units.toml [refused])"
    elif "{" in original and (annotation := table.annotated_analyte(original)) is not None:
        said = f"names another analyte in its annotation {annotation} (units.toml [annotations])"
    else:
        return first
    at = _read_at(unit, first)
    return _Refusal(
        f"unit-conflict: the unit and its original text disagree: {quoted(first.spelling)} "
        f"({at}) is {first.ucum} ({first.meaning}) but the original text "
        f"{quoted(original)} (OBX-6.9) {said}",
        unit.text or unit.code,
        "unit-conflict",
    )


def _with_alternate(table: UnitTable, unit: Unit, alternate: Unit) -> UnitSpec | _Refusal:
    """A unit sent with an alternate coding (HL7 v2 OBX-6.4-6) of the same unit: the two must
    agree; the alternate is read when the unit itself is not in the table."""
    first = _resolved_unit(table, replace(unit, alternate=None))
    other = _resolved_unit(table, replace(alternate, alternate=None))
    sent = unit.text or unit.code
    shown = quoted(alternate.code or alternate.text)
    if isinstance(first, _Refusal):
        if first.reason == "unknown-unit" and isinstance(other, UnitSpec):
            # 'THOU/UL-X^^99LAB^10*3/uL^^UCUM': the sender's standard coding of the unit
            return replace(other, alternate_of=sent)
        return first
    if isinstance(other, UnitSpec) and (other.kind, other.factor) != (first.kind, first.factor):
        return _Refusal(
            f"unit-conflict: the unit and its alternate coding disagree: {quoted(first.spelling)} "
            f"is {first.ucum} ({first.meaning}) but the alternate {shown} is {other.ucum} "
            f"({other.meaning})",
            sent,
            "unit-conflict",
        )
    if isinstance(other, _Refusal) and other.reason == "refused-unit":
        return _Refusal(
            f"unit-conflict: the unit and its alternate coding disagree: {quoted(first.spelling)} "
            f"is {first.ucum} ({first.meaning}) but the alternate {shown} is refused: "
            + other.message.partition(" is ")[2],
            sent,
            "unit-conflict",
        )
    if isinstance(other, _Refusal) and other.reason == "wrong-analyte":
        # 10*3{Platelets}/uL: the sender's other coding says the number counts platelets
        annotation = table.annotated_analyte(alternate.code) or table.annotated_analyte(
            alternate.text
        )
        return _Refusal(
            f"unit-conflict: the unit and its alternate coding disagree: {quoted(first.spelling)} "
            f"is {first.ucum} ({first.meaning}) but the alternate {shown} names another analyte "
            f"in its annotation {annotation} (units.toml [annotations])",
            sent,
            "unit-conflict",
        )
    return first


def _resolved_unit(table: UnitTable, unit: Unit) -> UnitSpec | _Refusal:
    candidates: list[UnitSpec] = []
    code, text = unit.code.strip(), unit.text.strip()
    ucum_code = _ucum_code(table, code) if code and unit.system in _UCUM_SYSTEM_NAMES else None
    if ucum_code is not None:
        candidates.append(_spec(table, ucum_code, unit.code, Match.UCUM_CODE, seen=""))
    for spelling in (unit.text, unit.code):
        if spelling.strip():
            spec = _lookup(table, spelling)
            if spec is not None:
                candidates.append(spec)
    if not candidates:
        if not code and not text:
            return _NO_UNIT
        shown = " / ".join(quoted(s) for s in dict.fromkeys(s for s in (text, code) if s))
        return _unknown(table, (unit.text, unit.code), shown, unit.text or unit.code)
    first = candidates[0]
    for spelling in (unit.text, unit.code):
        refused = table.refusal(spelling) if spelling.strip() else None
        if refused is not None:
            # '/L' beside '10*9/L' is a thousand-million-fold disagreement, not an unknown to skip
            return _Refusal(
                f"unit-conflict: the unit's code and text disagree: {quoted(first.spelling)} is "
                f"{first.ucum} ({first.meaning}) but {quoted(spelling)} is {refused.why} "
                "(units.toml [refused])",
                unit.text or unit.code,
                "unit-conflict",
            )
    if (
        code
        and unit.system in _UCUM_SYSTEM_NAMES
        and ucum_code is None
        and _lookup(table, unit.code) is None
    ):
        # a UCUM code leukoflag cannot read may disagree with the text: 10*3/mL is one per µL
        return _Refusal(
            f"unknown-unit: the UCUM code {quoted(code)} is not in leukoflag's unit table, so "
            f"whether the unit {quoted(first.spelling)} ({first.ucum}) sent with it means the "
            "same is unknown; not normalized; add it to leukoflag/units/data/units.toml if a "
            "lab uses it",
            unit.text or unit.code,
            "unknown-unit",
        )
    for other in candidates[1:]:
        if (other.kind, other.factor) != (first.kind, first.factor):
            return _Refusal(
                f"unit-conflict: the unit's code and text disagree: {quoted(first.spelling)} is "
                f"{first.ucum} ({first.meaning}) but {quoted(other.spelling)} is {other.ucum} "
                f"({other.meaning})",
                unit.text or unit.code,
                "unit-conflict",
            )
    if (
        code
        and unit.system in _UCUM_SYSTEM_NAMES
        and code not in _ucum_codes()
        and ("{" not in code or without_annotations(code) not in _ucum_codes())
    ):
        # a lab spelling sent as a UCUM code (K/uL: kelvin per µL in UCUM), read by the table
        return replace(first, misread_code=code)
    return first


def _ucum_code(table: UnitTable, code: str) -> str | None:
    """The table's UCUM code ``code`` is, an annotation left out (UCUM §12: ``10*3{cells}/uL``
    is ``10*3/uL``) and ten to a power written ``10^`` (``10^9/L`` is ``10*9/L``), or None."""
    if code in table.ucum:
        return code
    if "{" in code and table.annotated_analyte(code) is None:  # rare
        bare = without_annotations(code)
        if bare in table.ucum:
            return bare
    if "10^" in code:  # rare: UCUM's second code of 'the number ten for arbitrary powers'
        starred = _TEN_CARET.sub("10*", code)
        if starred != code:
            return _ucum_code(table, starred)
    return None


# UCUM (ucum-essence, dimensionless units): 10* and 10^ are both codes of the number ten for
# arbitrary powers, so 10^3/uL is as much a UCUM code as 10*3/uL
_TEN_CARET = re.compile(r"(?<![0-9])10\^(?=[+-]?[0-9])")


@functools.cache
def _ucum_codes() -> frozenset[str]:
    """The table's UCUM codes, each also with a litre written ``l`` (UCUM's ``l`` and ``L``
    are both the litre: ``10*9/l`` is a UCUM code, ``K/uL`` is not) and ten to a power written
    ``10^`` (``10^9/L``, UCUM's other code of it)."""
    return frozenset(
        ten
        for code in default_table().ucum
        for form in (code, _LITRE.sub("l", code))
        for ten in (form, form.replace("10*", "10^"))
    )


_LITRE = re.compile(r"(?<=[/umnd])L(?![A-Za-z\]])")


def _unknown(table: UnitTable, spellings: tuple[str, ...], shown: str, sent: str) -> _Refusal:
    """Why no row reads the unit: a ``[refused]`` row's reason, else that it is unknown."""
    for spelling in spellings:
        refused = table.refusal(spelling) if spelling.strip() else None
        if refused is not None:
            # a spelling refused on purpose: adding a row for it would be the gross error
            return _Refusal(
                f"refused-unit: unit {quoted(spelling)} is {refused.why}; leukoflag refuses it on "
                "purpose (units.toml [refused]): not normalized; the lab's unit needs correcting",
                sent,
                "refused-unit",
            )
    if any("~" in spelling for spelling in spellings):
        # an HL7 v2 unit field sent with repetitions (10*3/uL~/uL): no row can say which applies
        return _Refusal(
            f"unknown-unit: unit {shown} is several units separated by '~' (a unit field sent "
            "with repetitions): which one applies is unknown; not normalized",
            sent,
            "unknown-unit",
        )
    for spelling in spellings:
        annotation = table.annotated_analyte(spelling) if "{" in spelling else None
        if annotation is not None:
            # 10*3{Platelets}/uL: the sender says the number counts another analyte's cells
            return _Refusal(
                f"wrong-analyte: unit {quoted(spelling)} names another analyte in its annotation "
                f"{annotation} (units.toml [annotations]): not a white-cell or neutrophil count; "
                "not normalized",
                sent,
                "wrong-analyte",
            )
    for spelling in spellings:
        repaired = utf8_read_as_latin1(spelling)
        if repaired is not None:
            # the charset is wrong, not the table: a row for the garbled text would be wrong
            return _Refusal(
                f"unknown-unit: unit {quoted(spelling)} looks like {quoted(repaired)} written "
                "in UTF-8 and read as Latin-1, which is not in leukoflag's unit table either; "
                "correct the sender's charset (MSH-18) before adding a row for it",
                sent,
                "unknown-unit",
            )
    return _Refusal(
        f"unknown-unit: unit {shown} is not in leukoflag's unit table; "
        "add a row to leukoflag/units/data/units.toml if a lab uses it",
        sent,
        "unknown-unit",
    )


def _lookup(table: UnitTable, spelling: str) -> UnitSpec | None:
    found = table.lookup(spelling)
    if found is None:
        repaired = utf8_read_as_latin1(spelling)
        found = None if repaired is None else table.lookup(repaired)
        if found is None:
            return None
        # cells/ÂµL: the sender's UTF-8 read as Latin-1 (units.unit-charset-repaired)
        found = (found[0], Match.CHARSET)
    row, match = found
    return _spec(table, row.ucum, spelling, match, seen=row.seen)


def _spec(table: UnitTable, ucum: str, spelling: str, match: Match, *, seen: str) -> UnitSpec:
    entry = table.ucum[ucum]
    magnitude = _measured(ucum)
    kind = _KIND_OF_DATA[entry.kind]
    factor = (
        magnitude.factor if kind in (UnitKind.COUNT, UnitKind.PERCENT, UnitKind.FRACTION) else None
    )
    return UnitSpec(
        spelling=spelling,
        ucum=ucum,
        kind=kind,
        factor=factor,
        exponent=_power_of_ten(factor),
        match=match,
        meaning=entry.meaning,
        source=seen or entry.source,
        dimension=magnitude.dimension,
    )


@functools.cache
def _measured(ucum: str) -> _pint.Magnitude:
    """pint's reading of a UCUM code of the data file, checked against the file (cached)."""
    return checked_magnitude(default_table().ucum[ucum])


def checked_magnitude(entry: UcumEntry) -> _pint.Magnitude:
    """pint's reading of ``entry``'s UCUM code; a disagreement with the data file's kind or
    documented factor is a packaging bug (DataFileError), never a silent conversion."""
    try:
        magnitude = _pint.measure(entry.code)
    except _pint.UcumSyntaxError as exc:
        raise DataFileError(f"units.toml: {exc}") from None
    other = not magnitude.per_volume and not magnitude.dimensionless
    expected = {
        DataKind.COUNT: magnitude.per_volume,
        DataKind.RED_CELL: magnitude.per_volume,
        DataKind.PERCENT: magnitude.dimensionless,
        DataKind.FRACTION: magnitude.dimensionless,
        DataKind.MASS: other,
        DataKind.PER_FIELD: other,
        DataKind.OTHER: other,
    }[entry.kind]
    if not expected:
        raise DataFileError(
            f"units.toml: {entry.code!r} is listed as {entry.kind.value} but pint reads its "
            f"dimension as {magnitude.dimension}"
        )
    if entry.kind in (DataKind.COUNT, DataKind.RED_CELL) and entry.factor is None:
        raise DataFileError(f"units.toml: count unit {entry.code!r} needs a documented factor")
    if entry.factor is not None and magnitude.factor != entry.factor:
        raise DataFileError(
            f"units.toml: {entry.code!r} is documented with factor {entry.factor} but pint "
            f"computes {magnitude.factor}"
        )
    return magnitude


def _infer(values: tuple[Decimal, ...], *, as_written: bool = False) -> UnitSpec:
    """The single plausible reading of unit-less values (rule in units.toml [missing_unit]).
    ``as_written``: a value read with its range is whole only when written without fraction
    digits (``6.0`` beside ``4000-11000`` is not 6 cells/µL)."""
    table = default_table()
    possible: list[UnitSpec] = []
    seen = table.missing_unit_source
    ways = [
        (_spec(table, reading.ucum, "", Match.INFERRED, seen=seen), reading.whole_numbers_only)
        for reading in table.readings
    ]
    for spec, whole_only in ways:
        assert spec.factor is not None
        if all(_readable(v, spec.factor, whole_only, table, as_written=as_written) for v in values):
            possible.append(spec)
    shown = ", ".join(shortened(str(v)) for v in values)
    if not possible:
        failures = "; ".join(
            _why_unreadable(values, spec, whole_only, table, as_written=as_written)
            for spec, whole_only in ways
        )
        raise UnitError(
            f"implausible: {shown} with no unit fits no reading: {failures}",
            spelling="",
            reason="implausible",
        )
    products = {tuple(_EXACT.multiply(v, s.factor) for v in values) for s in possible}  # type: ignore[arg-type]
    if len(possible) > 1 and len(products) > 1:
        readings = " or ".join(s.ucum for s in possible)
        raise UnitError(
            f"no-unit: {shown} was sent without a unit and could be {readings}; not normalized",
            spelling="",
            reason="no-unit",
        )
    return possible[0]


def _readable(
    value: Decimal, factor: Decimal, whole_only: bool, table: UnitTable, *, as_written: bool
) -> bool:
    if whole_only and value != value.to_integral_value():
        return False
    exponent = value.as_tuple().exponent
    if whole_only and as_written and isinstance(exponent, int) and exponent < 0:
        return False  # tenths written ("6.0", "4.0-11.0"): the lab counts in thousands
    return table.plausible_low <= _EXACT.multiply(value, factor) <= table.plausible_high


def _why_unreadable(
    values: tuple[Decimal, ...],
    spec: UnitSpec,
    whole_only: bool,
    table: UnitTable,
    *,
    as_written: bool,
) -> str:
    """Why the reading ``spec`` fits none of ``values``: the first value it cannot read, and how
    (a value inside the plausible limits may fail as no whole number of cells)."""
    factor = spec.factor
    assert factor is not None
    for value in values:
        if _readable(value, factor, whole_only, table, as_written=as_written):
            continue
        said = f"as {spec.ucum}, {shortened(str(value))}"
        if whole_only and value != value.to_integral_value():
            return f"{said} is not a whole number of cells"
        per_ul = _EXACT.multiply(value, factor)
        if table.plausible_low <= per_ul <= table.plausible_high:  # whole, but tenths written
            return f"{said} is written with decimals, which a count of cells is not"
        side = (
            f"below {table.plausible_low}"
            if per_ul < table.plausible_low
            else f"above {table.plausible_high}"
        )
        return f"{said} is {shortened(plain(per_ul.normalize(_EXACT)))} cells/µL, {side}"
    return f"as {spec.ucum}, every value fits"  # not reached: the reading failed for one


def _power_of_ten(factor: Decimal | None) -> int | None:
    if factor is None or factor <= 0:
        return None
    _sign, digits, exponent = factor.normalize().as_tuple()
    if digits == (1,) and isinstance(exponent, int):
        return exponent
    return None
