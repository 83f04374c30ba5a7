"""One order's results → evaluations: scope, status, value, unit, range, code, finding.

Order of questions for each result (the first "no" ends it, with an Issue when the result looked
like a count): is it a WBC/ANC count (analyte table)? from peripheral blood of the patient
(specimen, order, control material)? with a status that may be flagged? with a value? a number?
in cells/µL and plausible (``leukoflag.units``, whose ``units.*`` Issues say why not)? Then:
which range, which rules, which code, does the sender agree. After all results: a derived ANC
when the order has none (WBC × neutrophil %, or segmented + band neutrophil counts).

Most results of an order are not counts (hemoglobin, MCV …): they cost one cached table lookup
and a bare Evaluation. What the counts of one order share (rules, specimens) is worked out once
per order; what repeats across a feed (the patient's age on a day and the rules for it, the
comparison with a sender's flags) once per process, in caches bounded in size and keyed on values.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import islice
from operator import itemgetter
from types import MappingProxyType
from typing import NamedTuple

from leukoflag import units
from leukoflag._ages import (
    OLDEST_AGE,
    AgeSpan,
    age_fit,
    placeholder_birth,
    too_old,
    youngest_birth,
)
from leukoflag._cache import text_cache, text_memo
from leukoflag._construct import constructor
from leukoflag._numbers import EXACT, long_number, plain
from leukoflag._quote import quoted, shortened
from leukoflag._range_text import (
    age_span,
    in_hours,
    known_age_words,
    read_decimal_comma,
    read_range_text,
    why_no_limits,
)
from leukoflag._result_keys import code_key, specimen_key, utc_instant
from leukoflag.errors import UnitError
from leukoflag.flagging import _scope
from leukoflag.flagging._rules import (
    INFINITY,
    Criteria,
    Point,
    Profile,
    Rules,
    Verdict,
    load_rules,
    under,
)
from leukoflag.model import (
    Analyte,
    CodedResult,
    Coding,
    Concept,
    Evaluation,
    Finding,
    Issue,
    LabResult,
    NormalizedQuantity,
    NormalizedRange,
    NoValue,
    Number,
    NumberRange,
    Order,
    PatientContext,
    Ratio,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Severity,
    Specimen,
    Text,
    Timestamp,
    Unit,
)
from leukoflag.settings import Settings
from leukoflag.units import NormalizedCount, UnitKind

__all__ = [
    "OLDEST_AGE",
    "age_day",
    "birth_span",
    "born_after",
    "drawn",
    "duplicated_across_orders",
    "evaluate_order",
    "moment",
    "range_named",
    "replaced_across_orders",
    "too_old",
    "youngest_birth",
]

# Made once: a constructor() call is a cache look-up of about 900 instructions (29 a CBC).
_new_evaluation = constructor(Evaluation)
_new_normalized_quantity = constructor(NormalizedQuantity)
_new_normalized_range = constructor(NormalizedRange)
_new_finding = constructor(Finding)
# The Evaluation of a result not judged and without Issues (a CBC's 15 or so results that are
# no count) holds its location alone: one per location is kept and shared, as frozen as any,
# instead of building it for every message (about 2k instructions each). Bounded: emptied when
# full; a location longer than any a reader makes of its counters is not kept.
_BARE: dict[str, Evaluation] = {}
_BARE_KEPT = 4096
_BARE_LONGEST = 80

# V2-to-FHIR IG / FHIR: final, amended, corrected and preliminary results carry values to judge.
FLAGGABLE = frozenset(
    {ResultStatus.FINAL, ResultStatus.AMENDED, ResultStatus.CORRECTED, ResultStatus.PRELIMINARY}
)
ORDER_WITHDRAWN = frozenset({ReportStatus.CANCELLED, ReportStatus.ENTERED_IN_ERROR})
# FHIR report statuses that say every result is verified (final and what may follow it).
_VERIFIED_REPORT = frozenset(
    {ReportStatus.FINAL, ReportStatus.CORRECTED, ReportStatus.AMENDED, ReportStatus.APPENDED}
)
# Report statuses whose results are checked against them (registered: nothing available yet).
_STATUS_CHECKED = _VERIFIED_REPORT | {ReportStatus.REGISTERED}
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FLAG_SYSTEMS = frozenset(
    {
        "",
        V3_INTERPRETATION,
        "http://terminology.hl7.org/CodeSystem/v2-0078",
        "http://hl7.org/fhir/v2/0078",  # older FHIR: accepted on input
        "http://hl7.org/fhir/v3/ObservationInterpretation",
        # as some senders name them: the systems' OIDs, the FHIR value set's URL
        "urn:oid:2.16.840.1.113883.12.78",
        "urn:oid:2.16.840.1.113883.5.83",
        "http://hl7.org/fhir/ValueSet/observation-interpretation",
    }
)
# HL7 table 0078 / v3 codes that say which side of the range the sender put the value.
_SENDER_SIDE = {
    "L": "low",
    "LU": "low",
    "LL": "low",
    "L<": "low",  # deprecated spelling of LU
    "<": "low",
    "H": "high",
    "HU": "high",
    "HH": "high",
    "H>": "high",
    ">": "high",
    "N": "normal",
    "A": "abnormal",
    "AA": "abnormal",
}
_LEVEL = {"L": 1, "LU": 2, "L<": 2, "LL": 3, "H": 1, "HU": 2, "H>": 2, "HH": 3}
_COMPUTED_SIDE = {"N": "normal", "L": "low", "LU": "low", "LL": "low", "H": "high"}
_V2_RESULT = re.compile(r"/OBX\[\d+\]$")
_V2_FIELD = {
    "code": "-3",
    "value": "-5",
    "unit": "-6",
    "range": "-7",
    "flags": "-8",
    "status": "-11",
}
# The same fields of a FHIR Observation or component (ITEM[1]/Bundle.entry[2].resource); its
# value and unit are where the reader read them (LabResult.value_location)
_FHIR_RESULT = re.compile(r"^ITEM\[\d+\]/[^/]+$")
_FHIR_FIELD = {
    "code": ".code",
    "range": ".referenceRange",
    "flags": ".interpretation",
    "status": ".status",
}
_COMPONENT = re.compile(r"\.component\[\d+\]$")
_BIRTH = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_BIRTH_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # what _BIRTH matches with its third group
# A refusal about the number itself is located at the value (OBX-5), any other at the unit.
_VALUE_REASONS = frozenset({"implausible", "bad-number"})
# What a row of the analyte table may contribute to a derived ANC.
_PART_KINDS = frozenset(
    {_scope.PERCENT, _scope.SEGMENTED_PERCENT, _scope.BAND_PERCENT, _scope.SEGMENTED, _scope.BAND}
)
_PERCENT_KINDS = frozenset({UnitKind.PERCENT, UnitKind.FRACTION})
# Result codes of a percent or fraction of the white cells (reference/clinical.md: never counts).
_PERCENT_CODES = frozenset(
    {_scope.PERCENT, _scope.SEGMENTED_PERCENT, _scope.BAND_PERCENT, _scope.FRACTION}
)
_NUMERIC = (Number, NumberRange)  # a tuple: ``Number | NumberRange`` is built anew at each use
_ZERO = Decimal(0)
_ONE = Decimal(1)
_ONE_CELL = Decimal(1)
_HUNDRED = Decimal(100)


def _at(location: str, what: str) -> str:
    """The location of one field of a result: ``MSG[1]/OBX[3]-6`` for HL7 v2, ``….code`` of a
    FHIR Observation (its value and unit: see _value_at)."""
    if _V2_RESULT.search(location):
        return location + _V2_FIELD[what]
    element = _FHIR_FIELD.get(what)
    if element is None or not _FHIR_RESULT.match(location):
        return location
    if what == "status":  # a component has none: its Observation's is the result's
        location = _COMPONENT.sub("", location)
    return location + element


def _value_at(result: LabResult, what: str) -> str:
    """Where the value (``what`` "value") or unit ("unit") of ``result`` is: OBX-5 or OBX-6, or
    the FHIR value[x] element read (its unit is in it), else the result."""
    return result.value_location or _at(result.location, what)


def _issue(severity: Severity, code: str, location: str, text: str) -> Issue:
    return Issue(severity, f"flag.{code}", location, text)


def _limits_shown(low: Decimal | None, high: Decimal | None) -> str:
    """A range's limits in cells/µL for Issue texts, a missing one left out: ``4,000–``."""
    return f"{_fmt(low) if low is not None else ''}–{_fmt(high) if high is not None else ''}"


def _fmt(value: Decimal) -> str:
    """A cells/µL value for Issue texts: ``3,999`` or ``1,234.5``."""
    if value == INFINITY:
        return "∞"
    long = long_number(value)  # 1E-999999999 written out: a billion digits
    if long is not None:
        return long
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,f}"


# --------------------------------------------------------------------------- the order


@dataclass(slots=True)
class _Part:
    """A result that may go into a derived ANC (all checked: blood, flaggable, exact number)."""

    kind: str  # count (a WBC), percent, segmented-percent, band-percent, segmented, band
    result: LabResult
    location: str
    value: Decimal  # cells/µL, or a percent
    specimen: str
    time: str
    day: dt.date | None
    days: _LocalDays | None = None  # a time in UTC of a zone not known: its local dates


class _LocalDays(NamedTuple):
    """The local dates a result time sent in UTC may have when the zone of the patient's birth
    date (a local date) is not known: ``first`` to ``last``, the time as FHIR writes it; or,
    ``sent_as_period``, the days of a result time sent as a month or year (_period_days)."""

    first: dt.date
    last: dt.date
    time: str
    sent_as_period: bool = False


@dataclass(frozen=True, slots=True)
class _Age:
    """The patient's age on one day, as the rules see it, and the rules that apply then."""

    step: int  # index into Rules.edges
    youngest: int  # the step with the latest possible birth date (a year or month was sent)
    latest: dt.date | None  # that latest possible birth date (at most the result day)
    unknown: str  # why the age is not known ("" when it is): judged as an adult
    profiles: Mapping[Analyte, Profile]  # at ``step``, for the patient's sex and Duffy-null
    # the result's local dates when its zone is not known: ``step`` is of the last, ``youngest``
    # of the first (None: the result's date is known)
    days: _LocalDays | None = None


@dataclass(slots=True)
class _OrderState:
    """What the results of one order share, worked out once (built at its first count)."""

    order: Order
    context: PatientContext
    settings: Settings
    fallback_day: dt.date | None
    rules: Rules = field(default_factory=load_rules)
    # The order's specimens by location, built when a result first names its own (most follow
    # no SPM of their own: the order's specimens apply).
    specimens: dict[str, Specimen] | None = None
    # WBC counts (with their value per µL) and percents or ANC parts, in result order: what a
    # derived ANC may be made of, looked at only when the order has no measured ANC.
    candidates: list[tuple[LabResult, _scope.Recognition, Decimal | None]] = field(
        default_factory=list
    )
    measured_anc: bool = False
    parts: bool = False  # whether a percent or ANC part is among the candidates
    replacing: bool = False  # whether a count or part is corrected or amended (OBX-11 C, A)
    preliminary: bool = False  # whether one is preliminary (a final one may replace it)
    withdrawn: bool = False  # whether a WBC or part is entered-in-error (OBX-11 D, W)
    deleted: bool = False  # whether a count or part is entered-in-error (it withdraws its F)
    # Each of several corrections of one result, with all of them: none is used for a derived
    # ANC, as which one stands is not known (even when the others are bounds or masked).
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    counted: set[Analyte] = field(default_factory=set)  # the analytes of the counts seen
    repeated: bool = False  # whether a count's analyte came twice (checked after the order)
    # (result.specimen, recognized by LOINC) of counts whose specimens were found to be the
    # patient's blood: the next count of the order with the same key need not ask again.
    blood: set[tuple[str, bool]] = field(default_factory=set)
    # Without a birth date: why the ages sent as results gave none (", and the age … is not a
    # whole number"), as flag.age-unknown says it ("" when none was sent).
    age_unused: str = ""


# What a result of an order is: a count or part (scope.recognize), the patient's age sent as
# a result (LOINC 30525-0 or 21612-7, read by the counts, see _date_birth_by_age), or neither
# (None). As cached as scope.recognize: telling the age costs a count no more than its recognition.
_AGE = _scope.Recognition("age", None, "loinc", "LOINC 30525-0, 21612-7")
_LOINC = _scope.LOINC


@text_cache(4096, texts=0)
def _recognized(*key: str) -> _scope.Recognition | None:
    return _age_or(_scope.concept_of(key))


@text_memo(4096)  # read by subscript on the hot path: a dict hit
def _recognized_loinc(code: str) -> _scope.Recognition | None:
    return _age_or(Concept((Coding(code, system=_LOINC),)))


def _bare(location: str) -> Evaluation:
    """``Evaluation(location)``: the one kept for ``location`` (see _BARE)."""
    bare = _BARE.get(location)
    if bare is None:
        bare = _new_evaluation(location)
        if len(location) <= _BARE_LONGEST:
            if len(_BARE) >= _BARE_KEPT:
                _BARE.clear()
            _BARE[location] = bare
    return bare


def _bare_or(location: str, issues: tuple[Issue, ...]) -> Evaluation:
    """``Evaluation(location, issues=issues)``, the one kept (_bare) when there are none."""
    return _new_evaluation(location, issues=issues) if issues else _bare(location)


def _age_or(concept: Concept) -> _scope.Recognition | None:
    found = _scope.recognize(concept)
    rules = load_rules()
    if found is None and concept.code_in(rules.age_system) in rules.age_codes:
        return _AGE
    return found


def evaluate_order(
    order: Order,
    context: PatientContext,
    settings: Settings,
    *,
    fallback_day: dt.date | None = None,
    replaced: Mapping[str, tuple[LabResult, ...]] = MappingProxyType({}),
    orders: Sequence[Order] = (),
) -> tuple[Evaluation, ...]:
    """One :class:`Evaluation` per result of ``order`` (same order), then derived ANCs.

    ``fallback_day`` (the message date) dates results that carry no time of their own, for the
    patient's age. ``replaced`` (:func:`replaced_across_orders`) names results that another OBR
    of the same order replaces, withdraws or follows with a cancelled one, and corrections of
    one result sent under several OBRs, by location. ``orders`` are the patient's orders in
    the message (``order`` among them): a patient without a birth date whose order sends no age
    as a result is dated by one sent in another of them.
    """
    evaluations: list[Evaluation] = []
    state: _OrderState | None = None
    ages = False  # whether the order sends an age as a result (LOINC 30525-0, 21612-7)
    # once per order; the kept bare Evaluation looked up inline (a call a result less), _bare
    # making it on a miss (Evaluation has no __bool__: a found one is true)
    bare, kept = _bare, _BARE.get
    by_loinc, by_key, key_of, loinc = _recognized_loinc, _recognized, _scope.concept_key, _LOINC
    for result in order.results:
        codings = result.code.codings
        if len(codings) == 1 and (coding := codings[0]).system == loinc:
            recognition = by_loinc[coding.code]  # the usual case: a lone LOINC coding
        else:  # any other concept, by everything the tables read of it
            recognition = by_key(*key_of(result.code))
        if recognition is None:  # not a count: not in scope
            evaluations.append(kept(result.location) or bare(result.location))
            continue
        if recognition is _AGE:  # the patient's age: not in scope, read by the counts
            evaluations.append(bare(result.location))
            ages = True
            continue
        if state is None:
            state = _OrderState(order, context, settings, fallback_day)
            if context.birth_date is None:  # no birth date: an age sent as a result may date it
                _date_birth_by_age(state, orders)
        evaluations.append(_evaluate_recognized(result, recognition, state))
    if ages and state is not None and context.birth_date is not None:  # off the hot path
        if _birth_gives_no_age(state) and _age_spans(state, order.results):
            # a placeholder birth date, or one after the order: judged as without one, by the age
            unknown = replace(
                context, birth_date=None, birth_date_latest=None, birth_zone=None, birth_time=None
            )
            return evaluate_order(
                order,
                unknown,
                settings,
                fallback_day=fallback_day,
                replaced=replaced,
                orders=orders,
            )
        _say_age_disagreement(state, evaluations, orders)  # an age sent beside the birth date
    elif (  # a placeholder birth date, and an age sent in another order (off the hot path)
        state is not None
        and not ages
        and len(orders) > 1
        and context.birth_date is not None
        and _birth_gives_no_age(state)
        and _age_spans(state, [r for o in orders if o is not order for r in o.results])
    ):
        unknown = replace(
            context, birth_date=None, birth_date_latest=None, birth_zone=None, birth_time=None
        )
        return evaluate_order(
            order, unknown, settings, fallback_day=fallback_day, replaced=replaced, orders=orders
        )
    elif ages and state is None and context.birth_date is not None and len(orders) > 1:
        # an order of no count (an ask-at-order-entry OBR): its age may contradict the birth
        # date the counts of the patient's other orders are judged by (off the hot path)
        aged = _OrderState(order, context, settings, fallback_day)
        if not _birth_gives_no_age(aged):
            _say_age_disagreement(aged, evaluations, orders)
    if state is not None and (  # a correction, or a preliminary and a final (off the hot path)
        state.replacing
        or state.deleted
        or (state.preliminary and any(r.status is ResultStatus.FINAL for r in order.results))
        or replaced
    ):
        _set_aside_superseded(state, evaluations, replaced)
    if state is not None and state.repeated:  # two counts of one analyte (off the hot path)
        _say_duplicates(state, evaluations)
    cancelled: dict[str, tuple[LabResult, list[LabResult]]] | None = None
    if state is not None and (state.repeated or replaced):  # a count cancelled after it
        cancelled = _say_cancelled_after(state, evaluations, replaced)
    if state is not None and not state.measured_anc and state.candidates:
        derived = _derived_ancs(state)
        if derived:
            if cancelled is None:  # a percent cancelled after it repeats no count
                cancelled = _cancelled_after(state, replaced)
            evaluations.extend(_sources_in_doubt(derived, cancelled) if cancelled else derived)
        elif state.parts:  # a WBC and a percent shown, no ANC: say why (off the hot path)
            _explain_not_derived(state, evaluations, orders)
    if state is not None and state.withdrawn and not state.measured_anc:
        evaluations.extend(_withdrawn_ancs(state))
    # A final report contradicts only a preliminary judged result (or one derived from a
    # preliminary source): every count and ANC part noted it in state.preliminary. Off the hot path.
    if (
        state is not None
        and order.status in _STATUS_CHECKED
        and (state.preliminary or order.status is _REGISTERED)
    ):
        _report_status_disagreement(order, evaluations)
    return tuple(evaluations)


def _date_birth_by_age(state: _OrderState, orders: Sequence[Order] = ()) -> None:
    """Gives ``state`` the birth dates that the patient's age sent as a result of the order
    (LOINC 30525-0 or 21612-7, an exact whole number of years, months, weeks or days, of a flaggable
    status) allows on that result's day: ``2`` ``a`` on 2026-11-24, born 2023-11-25 to
    2024-11-24, judged as a birth date sent as a year is; when the order sends none, an age sent
    in another of the patient's ``orders`` (an ask-at-order-entry answer under the CBC's OBR,
    the differential under its own). Several ages giving different spans date nothing."""
    spans = _age_spans(state, state.order.results)
    if not spans and len(orders) > 1:  # none in this order: the patient's other orders
        spans = _age_spans(state, [r for o in orders if o is not state.order for r in o.results])
    if len(spans) != 1:  # off the hot path: a birth date not sent
        state.age_unused = _age_unused(state, orders, spans)
    if len(spans) == 1:
        ((sent, _, (earliest, latest)),) = spans.values()
        state.context = replace(
            state.context,
            birth_date=earliest,
            birth_date_latest=latest if latest != earliest else None,
            birth_zone=None,  # of a birth date sent that gave no age (a placeholder)
            birth_time=None,
            age_sent=sent,
        )


def _age_unused(
    state: _OrderState,
    orders: Sequence[Order],
    spans: dict[tuple[dt.date, dt.date], tuple[str, str, tuple[dt.date, dt.date]]],
) -> str:
    """Why the ages sent as results (in the order, else the patient's other orders) date no
    birth: several spans, or each age's own reason; "" when no age was sent."""
    if spans:
        return ", and the ages sent give different birth dates: " + "; ".join(
            sent.removeprefix("the age ") for sent, _, _ in spans.values()
        )
    unused: list[str] = []
    _age_spans(state, state.order.results, unused)
    if not unused and len(orders) > 1:
        others = [r for o in orders if o is not state.order for r in o.results]
        _age_spans(state, others, unused)
    return "".join(f", and the age {why}" for why in unused[:3])


def _age_spans(
    state: _OrderState, results: Iterable[LabResult], unused: list[str] | None = None
) -> dict[tuple[dt.date, dt.date], tuple[str, str, tuple[dt.date, dt.date]]]:
    """The spans of birth dates (first, last) that each age sent among ``results`` allows on its
    day, with the age as Issues name it and its location (the first sending each); ``unused``,
    when given, gets why each age that gives none does not ("'2.5' 'a' sent in … is not …");
    and the span the patient is judged by: the same, but for an age in hours, whose whole days
    of life are judged (160 h, 6 days 16 hours, is the first week whatever the birth hour)."""
    rules = state.rules
    spans: dict[tuple[dt.date, dt.date], tuple[str, str, tuple[dt.date, dt.date]]] = {}
    system = rules.age_system
    for result in _ages_standing(results, system, rules.age_codes):
        value, unit, code = result.value, result.unit, result.code.code_in(system)
        why = ""
        if result.status not in FLAGGABLE:
            why = f"has the status {result.status}"
        elif not isinstance(value, Number):
            why = "has no value" if isinstance(value, NoValue) else "is not a number"
        elif value.comparator:
            why = "is a bound"
        elif unit is None:
            why = "has no unit"
        if why or unit is None or not isinstance(value, Number):
            if unused is not None:
                unused.append(_age_named(result, code, why or "has no unit"))
            continue
        calendar_unit = rules.age_units.get(unit.code) or rules.age_units.get(unit.text.lower())
        day = _result_day(result, state)
        if calendar_unit is None:
            why = "is in a unit that is not read as an age"
        elif day is None:
            why = "has no date"
        elif value.value < 0 or value.value != value.value.to_integral_value():
            why = "is not a whole number"
        if why or calendar_unit is None or day is None:
            if unused is not None:
                unused.append(_age_named(result, code, why))
            continue
        count = int(value.value)
        if calendar_unit == "hour":  # a newborn's (off the hot path): see _hours_window
            window = _hours_window(_result_time(result, state) or result.issued, day, count)
            judged = _ago(day, count // 24, "day")  # its whole days of life
            sent = (
                f"the age {quoted(value.text)} {quoted(unit.code or unit.text)} sent in "
                f"{result.location} (LOINC {code}) on {day} (a birth "
                + (
                    f"on {window[0]}"
                    if window[0] == window[1]
                    else f"from {window[0]} to {window[1]}"
                )
                + f"), read as {count // 24} whole day{'' if count // 24 == 1 else 's'} of life,"
            )
            spans.setdefault(window, (sent, result.location, (judged, judged)))
            continue
        latest = _ago(day, count, calendar_unit)
        if too_old(latest, day):  # over OLDEST_AGE years: no age (a placeholder, a slip)
            if unused is not None:
                over = f"is over {OLDEST_AGE} years"
                unused.append(_age_named(result, code, over))
            continue
        earliest = _ago(day, count + 1, calendar_unit) + dt.timedelta(days=1)
        sent = (
            f"the age {quoted(value.text)} {quoted(unit.code or unit.text)} sent in "
            f"{result.location} (LOINC {code}) on {day}"
        )
        spans.setdefault((earliest, latest), (sent, result.location, (earliest, latest)))
    return spans


def _hours_window(stamp: Timestamp | None, day: dt.date, hours: int) -> tuple[dt.date, dt.date]:
    """The days a birth ``hours`` whole hours before ``stamp`` may fall on, in its offset: from
    ``hours + 1`` hours before its first moment to ``hours`` before its last, as its precision
    allows (to the second, minute or hour; a date alone, that whole day)."""
    at = moment(stamp.fhir) if stamp is not None and "T" in stamp.fhir else None
    if stamp is None or at is None:
        first = dt.datetime.combine(day, dt.time())
        width = dt.timedelta(days=1)
    else:
        first = at
        digits = re.match(r"\d*", stamp.text)
        sent = len(digits.group()) if digits is not None else 0
        width = dt.timedelta(hours=1 if sent == 10 else 0, minutes=1 if sent == 12 else 0)
        width = width or dt.timedelta(seconds=1)
    try:
        earliest = (first - dt.timedelta(hours=hours + 1)).date()
        latest = (first + width - dt.timedelta(hours=hours, microseconds=1)).date()
    except OverflowError:  # before year 1
        return dt.date.min, dt.date.min
    return earliest, latest


def _ages_standing(
    results: Iterable[LabResult], system: str, codes: frozenset[str]
) -> list[LabResult]:
    """The ages sent among ``results`` (``system``, one of ``codes``) that no later one of the same
    sub-ID replaces: a correction replaces a final or preliminary age, an entered-in-error one
    (OBX-11 D, W) any age before it, a final a preliminary one, as for the counts."""
    ages = [result for result in results if result.code.code_in(system) in codes]
    if len(ages) < 2:
        return ages
    standing: list[LabResult] = []
    for result in ages:
        status = result.status
        if status is ResultStatus.ENTERED_IN_ERROR:
            replaced: frozenset[ResultStatus] | None = None  # every status
        elif status in _REPLACING:
            replaced = _REPLACED
        elif status is ResultStatus.FINAL:
            replaced = _PRELIMINARY
        else:
            replaced = frozenset()
        standing = [
            kept
            for kept in standing
            if kept.sub_id != result.sub_id
            or (replaced is not None and kept.status not in replaced)
        ]
        standing.append(result)
    return standing


def _age_named(result: LabResult, code: str, why: str) -> str:
    value = result.value
    if isinstance(value, CodedResult):
        shown = value.concept.codings[0].code if value.concept.codings else ""
    else:
        shown = value.text
    unit = result.unit
    said = f" {quoted(unit.code or unit.text)}" if unit is not None else ""
    return f"{quoted(shown, 40)}{said} sent in {result.location} (LOINC {code}) {why}"


def _birth_gives_no_age(state: _OrderState) -> bool:
    """Whether the birth date sent gives the patient no age on the order's day: over
    OLDEST_AGE years before it (a feed's placeholder, 19000101) or after it."""
    context = state.context
    birth = context.birth_date
    day = _stamp_day(state.order.effective, state) or state.fallback_day
    if birth is None or day is None:
        return False
    return too_old(context.birth_date_latest or birth, day) or birth > day


def _say_age_disagreement(
    state: _OrderState, evaluations: list[Evaluation], orders: Sequence[Order] = ()
) -> None:
    """Adds flag.age-result-disagrees, at the age sent as a result, to the evaluation of the
    order's first judged count when that age allows no birth date the patient's birth date
    sent (PID-7, birthDate) allows: one of them is wrong; the counts are judged by the birth
    date sent. An order judging no count of its own says it at the age's own evaluation when
    another of the patient's ``orders`` holds a count (which that order, sending no age, does
    not say)."""
    context = state.context
    first = context.birth_date
    if first is None:
        return
    last = context.birth_date_latest or first
    judged = next((i for i, e in enumerate(evaluations) if e.finding is not None), None)
    if judged is None and not _others_hold_a_count(state.order, orders):
        return
    for (earliest, latest), (sent, location, _) in _age_spans(state, state.order.results).items():
        if latest < first or earliest > last:
            if judged is None:  # at the age itself
                judged = next(
                    i for i, r in enumerate(state.order.results) if r.location == location
                )
            issue = _issue(
                Severity.WARNING,
                "age-result-disagrees",
                location,
                f"{sent} puts the birth date at {earliest} to {latest}, but the birth date "
                f"sent is {_born(context)}: one of them is wrong; the counts are judged by "
                "the birth date sent",
            )
            evaluations[judged] = replace(
                evaluations[judged], issues=(*evaluations[judged].issues, issue)
            )
            return


def _others_hold_a_count(order: Order, orders: Sequence[Order]) -> bool:
    """Whether an order of ``orders`` other than ``order`` holds a result recognized as a count
    or part of one (not the patient's age)."""
    for other in orders:
        if other is order:
            continue
        for result in other.results:
            codings = result.code.codings
            if len(codings) == 1 and codings[0].system == _LOINC:
                recognition = _recognized_loinc[codings[0].code]
            else:
                recognition = _recognized(*_scope.concept_key(result.code))
            if recognition is not None and recognition is not _AGE:
                return True
    return False


def _ago(day: dt.date, count: int, unit: str) -> dt.date:
    """The day ``count`` ``unit``s before ``day`` on the calendar (a month's last day for a day
    it lacks: a month before 31 March is 28 or 29 February); the first day there is before it."""
    try:
        if unit in ("year", "month"):
            months = day.year * 12 + day.month - 1 - count * (12 if unit == "year" else 1)
            year, month = divmod(months, 12)
            last = calendar.monthrange(year, month + 1)[1]
            return dt.date(year, month + 1, min(day.day, last))
        return day - dt.timedelta(days=count * (7 if unit == "week" else 1))
    except (ValueError, OverflowError):  # before year 1
        return dt.date.min


def _report_status_disagreement(order: Order, evaluations: list[Evaluation]) -> None:
    """Adds flag.report-status-disagrees, at the report's status, to the evaluation of the
    first judged result that the report's status contradicts: a preliminary one in a final
    (corrected, amended, appended) report, any in a registered one. Its finding still goes into
    conclusionCode: the value is the lab's, and hiding a low count is the worse error."""
    registered = order.status is ReportStatus.REGISTERED
    v2 = _from_hl7v2(order.location)
    found: list[tuple[int, str]] = []
    for index, result in enumerate(order.results):
        if evaluations[index].finding is None:
            continue  # not judged: it gives the report no conclusion
        if registered or result.status is ResultStatus.PRELIMINARY:
            said = [result.status.value] if registered else []
            if v2 and result.status_text:
                said.append(f"OBX-11 {quoted(result.status_text)}")
            found.append((index, result.location + (f" ({', '.join(said)})" if said else "")))
    if len(evaluations) > len(order.results):
        # a derived ANC is preliminary when a source is, the unjudged percent too; in a
        # registered report any judged one is told, even of parts never judged themselves
        preliminary = {r.location for r in order.results if r.status is ResultStatus.PRELIMINARY}
        for index in range(len(order.results), len(evaluations)):
            derived = evaluations[index]
            sources = [s for s in derived.derived_from if registered or s in preliminary]
            if derived.finding is not None and sources:
                found.append((index, f"{derived.location} (derived from {_listed(sources)})"))
    if not found:
        return
    sent = f" (OBR-25 {quoted(order.status_text)})" if v2 and order.status_text else ""
    listed = _listed([text for _, text in found])
    results, them = ("results", "them") if len(found) > 1 else ("result", "it")
    if registered:
        text = (
            f"the report is registered{sent}, which says no result is available yet, but holds "
            f"the judged {results} {listed}; its conclusionCode is drawn from {them} as sent"
        )
    else:
        text = (
            f"the report is {order.status.value}{sent} but holds the preliminary {results} "
            f"{listed}; its conclusionCode is drawn from {them} as sent, and may change when "
            f"{'they are' if len(found) > 1 else 'it is'} final"
        )
    issue = _issue(
        Severity.WARNING,
        "report-status-disagrees",
        f"{order.location}-25" if v2 else f"{order.location}.status",
        text,
    )
    index = found[0][0]
    evaluations[index] = replace(evaluations[index], issues=(*evaluations[index].issues, issue))


def _evaluate_recognized(
    result: LabResult, recognition: _scope.Recognition, state: _OrderState
) -> Evaluation:
    location = result.location
    if recognition.conflict:
        return _new_evaluation(
            location,
            issues=(
                _issue(
                    Severity.WARNING,
                    "code-conflict",
                    _at(location, "code"),
                    f"not flagged: {recognition.conflict}",
                ),
            ),
        )
    kind = recognition.kind
    if kind == _scope.UNSPECIFIED_SPECIMEN:
        return _new_evaluation(
            location,
            issues=(
                _issue(
                    Severity.INFORMATION,
                    "specimen-unspecified",
                    _at(location, "code"),
                    f"{recognition.matched} names no specimen; leukoflag flags blood counts only "
                    "(send a blood LOINC such as 6690-2)",
                ),
            ),
        )
    if kind == _scope.LOINC_UNDER_LOCAL:
        return _new_evaluation(
            location,
            issues=(
                _issue(
                    Severity.WARNING,
                    "loinc-code-local",
                    _at(location, "code"),
                    f"not flagged: {recognition.matched}; a code of a local coding system may "
                    "mean anything, so it is not read as LOINC (send LOINC codes with the "
                    # in the input's own terms: HL7 v2 names LOINC LN, FHIR by its URI only
                    f"system {'LN' if _from_hl7v2(location) else 'http://loinc.org'})",
                ),
            ),
        )
    if kind in _scope.EXCLUDING:
        if kind == _scope.FRACTION:  # a percent code: never a count, but its unit may say one
            return _bare_or(location, _percent_issues(result, recognition))
        return _bare(location)
    if not recognition.is_count:
        if kind in _PART_KINDS:  # percents and ANC parts are never flagged themselves
            state.candidates.append((result, recognition, None))
            state.parts = True
            if result.status in _REVISED:
                _note_revision(result, state)
            elif result.status is _ENTERED_IN_ERROR:
                state.withdrawn = state.deleted = True
        if kind in _PERCENT_CODES:
            return _bare_or(location, _percent_issues(result, recognition))
        return _bare(location)
    analyte = recognition.analyte
    assert analyte is not None  # a count row always names its analyte (checked when loaded)
    if analyte is _ANC:
        state.measured_anc = True
    if analyte in state.counted:
        state.repeated = True
    else:
        state.counted.add(analyte)
    if result.status in _REVISED:
        _note_revision(result, state)
    elif result.status is _ENTERED_IN_ERROR:
        state.deleted = True  # a result of the same code, sub-ID, specimen and time is withdrawn
    return _evaluate_count(result, analyte, recognition, state)


def _percent_issues(result: LabResult, recognition: _scope.Recognition) -> tuple[Issue, ...]:
    """What is wrong with a percent or fraction result that a count would not show: a count
    unit (``10*3/uL`` beside LOINC 770-8: a mislabelled ANC or a mislabelled unit), or a value
    no share of the white cells can have (150 %, -3 %, a fraction of 1.5)."""
    unit = result.unit
    top = _HUNDRED  # a percent without unit: never above 100
    if not _unitless(unit):
        try:
            spec = units.resolve_unit(unit, _ANC)
        except UnitError:
            return ()  # an unknown spelling is not known to be a count
        if spec.kind is _COUNT:
            return (
                _issue(
                    Severity.WARNING,
                    "percent-count-unit",
                    _value_at(result, "unit"),
                    f"not flagged: {recognition.matched} is a percent or fraction of the white "
                    f"cells, never a count, but its unit {_unit_shown(unit)} is a count per "
                    "volume: the code or the unit is wrong, so the value is neither judged as a "
                    "count nor used for a derived ANC",
                ),
            )
        if spec.kind not in _PERCENT_KINDS or spec.factor is None:
            return ()
        top = _ONE / spec.factor  # 100 in %, 1 in a fraction ({ratio})
    value = result.value
    if not isinstance(value, Number) or value.comparator or not value.value.is_finite():
        return ()
    if _ZERO <= value.value <= top:
        return ()
    sent = shortened(value.text or plain(value.value))
    sent += " (no unit)" if _unitless(unit) else f" {_unit_shown(unit)}"
    unused = ", so it is not used for a derived ANC" if recognition.kind in _PART_KINDS else ""
    return (
        _issue(
            Severity.WARNING,
            "percent-implausible",
            _value_at(result, "value"),
            f"{recognition.matched} is a percent or fraction of the white cells, but its value "
            f"{sent} is not from 0 to {_fmt(top)}: the value or the unit is wrong{unused}",
        ),
    )


def _note_revision(result: LabResult, state: _OrderState) -> None:
    if result.status is ResultStatus.PRELIMINARY:
        state.preliminary = True
    else:
        state.replacing = True


def _evaluate_count(
    result: LabResult,
    analyte: Analyte,
    recognition: _scope.Recognition,
    state: _OrderState,
) -> Evaluation:
    location = result.location
    loinc = None if recognition.via == "loinc" else _scope.analyte_table().loinc_to_add[analyte]
    blocker, note = _specimen_issues(result, recognition, state)
    if blocker is not None:
        return _new_evaluation(location, issues=(blocker,))
    issues: list[Issue] = [] if note is None else [note]
    if (
        result.value.__class__ is Number  # the usual final number: nothing to say about it
        and result.status in FLAGGABLE
        and state.order.status not in ORDER_WITHDRAWN
        and not result.data_absent_reason
    ):
        stop = None
    else:
        stop = _status_problem(result, state.order) or _value_problem(result, analyte)
        if result.status is ResultStatus.ENTERED_IN_ERROR and analyte is Analyte.WBC:
            state.withdrawn = True  # an ANC derived from it before is withdrawn with it
    reading = _read_value(result, analyte) if stop is None else stop
    if isinstance(reading, Issue):
        issues.append(reading)  # not normalized: no LOINC added (the output contract's only)
        return _new_evaluation(location, analyte, issues=tuple(issues))
    issues.extend(reading.notes)
    quantity = reading.quantity
    lab, lab_issue = _lab_range(result, analyte, state, reading.count)
    if lab_issue is not None:
        if lab_issue.code == _SCALE_SUSPECT:  # not judged, written as sent, derives no ANC
            issues.append(lab_issue)
            return _new_evaluation(location, analyte, issues=tuple(issues))
        if lab_issue.code != _SEX_UNION:
            issues.append(lab_issue)
    # a count per µL as sent is whole: 4.500 /µl is not 4.5; one leukoflag normalized before
    # (0.0045 10*9/L, read back as 4.5 /uL) is judged as its original was
    per_ul = reading.count.factor == 1
    if per_ul and not result.normalized_before:
        decimals = _decimals_suspect(result, reading)
        if decimals is not None:
            issues.append(decimals)
            return _new_evaluation(location, analyte, issues=tuple(issues))
    elif (
        analyte is _WBC  # first: an ANC is not asked, and the Decimal test costs more
        and (value_per_ul := reading.count.value_per_ul) != value_per_ul.to_integral_value()
    ):
        # a WBC of 0.0045 10*9/L is 4.5 cells/µL: a fraction of a cell, no count (a 10^12/L
        # sent as 10^9/L?); an ANC is WBC x neutrophil share (0.05 x 9 % = 0.0045): judged
        fraction = _fraction_suspect(result, reading)
        if fraction is not None:
            issues.append(fraction)
            return _new_evaluation(location, analyte, issues=tuple(issues))
    if per_ul and quantity is not None and _written_as_sent(result, quantity):
        quantity = _new_normalized_quantity(quantity.value, quantity.comparator, rewritten=False)
    if (
        recognition.kind == _scope.COUNT
        and analyte is _WBC
        and quantity is not None
        and not quantity.comparator
    ):
        state.candidates.append((result, recognition, quantity.value))
    stamp = _result_time(result, state) or result.issued
    sent = stamp.fhir if stamp is not None else ""
    judged = _judge(
        analyte,
        reading.bounds,
        day=_stamp_day(stamp, state, result.issued),
        # a time sent in UTC, or as a month or year (rare): the dates it may be
        days=_result_days(stamp, state, result.issued)
        if sent and (sent.endswith(_UTC) or len(sent) < _FULL_DATE)
        else None,
        lab=lab,
        graded=recognition.kind == _scope.COUNT,
        location=location,
        result=result,
        state=state,
        unborn=_before_birth(result, state) if state.context.birth_time is not None else "",
    )
    if lab_issue is not None and lab_issue.code == _SEX_UNION and judged.range is lab:
        # said only when the union judged (a Duffy-null adult's range replaces the lab's)
        issues.append(lab_issue)
    issues.extend(judged.issues)
    if judged.verdict is None:
        return _new_evaluation(
            location, analyte, loinc, quantity, judged.range, issues=tuple(issues)
        )
    sender_flags = result.sender_flags
    if sender_flags:
        disagreement = _sender_disagreement(sender_flags, judged.verdict.code, location)
        if disagreement is not None:
            if result.flags_location:  # read from OBX-5 ('3.2 H', OBX-8 empty): said there
                disagreement = replace(disagreement, location=result.flags_location)
            issues.append(disagreement)
    finding = _finding(
        location,
        analyte,
        reading.bounds,
        judged,
        sender_flags=tuple([c.code for c in sender_flags]),
        settings=state.settings,
    )
    return _new_evaluation(location, analyte, loinc, quantity, judged.range, finding, tuple(issues))


# --------------------------------------------------------------------------- scope checks


def _candidate_specimens(result: LabResult, state: _OrderState) -> tuple[Specimen, ...]:
    if result.specimen:
        if state.specimens is None:
            state.specimens = {s.location: s for s in state.order.specimens}
        found = state.specimens.get(result.specimen)
        if found is not None:
            return (found,)
    # a Specimen the FHIR item does not hold: what the order says of its specimens applies
    return state.order.specimens


def _specimen_issues(
    result: LabResult, recognition: _scope.Recognition, state: _OrderState
) -> tuple[Issue | None, Issue | None]:
    """Why this count is not a count of the patient's peripheral blood (None: it is), and a
    note when no specimen type it has is in the specimen table (judged from the result code)."""
    key = (result.specimen, recognition.via == "loinc")
    if key in state.blood:
        return None, None
    location = result.location
    specimens = _candidate_specimens(result, state)
    for specimen in specimens:
        if specimen.is_control:
            return _issue(
                Severity.INFORMATION,
                "control-material",
                location,
                f"not flagged: specimen {specimen.location} is control or calibration material",
            ), None
    # The specimen types sent (SPM-4, OBR-15), by the class the specimen table gives them.
    classes: dict[str, list[Specimen | Concept]] = {}
    typed = 0
    for specimen in specimens:
        if specimen.type is not None:
            typed += 1
            klass = _scope.specimen_class(specimen.type)
            if klass:
                classes.setdefault(klass, []).append(specimen)
    source = state.order.specimen_source
    if source is not None:
        typed += 1
        klass = _scope.specimen_class(source)
        if klass:
            classes.setdefault(klass, []).append(source)
    if _scope.NOT_BLOOD in classes:
        where = _describe_specimens(classes[_scope.NOT_BLOOD])
        if _scope.BLOOD in classes:
            return _issue(
                Severity.WARNING,
                "specimen-ambiguous",
                location,
                f"not flagged: the order's specimens disagree ({where} is not blood, "
                f"{_describe_specimens(classes[_scope.BLOOD])} is)",
            ), None
        return _issue(
            Severity.INFORMATION,
            "specimen-not-blood",
            location,
            f"not flagged: the specimen is not peripheral blood ({where})",
        ), None
    if recognition.via != "loinc" and _scope.specimen_class(state.order.code) == _scope.NOT_BLOOD:
        # A local code or text says "WBC" but the order is a urinalysis, CSF count …
        return _issue(
            Severity.INFORMATION,
            "order-not-blood",
            location,
            f"not flagged: {recognition.matched} "
            + (
                "names a count but not its specimen, as a local code does"
                if recognition.matched.startswith("SNOMED")
                else "was recognized from a local code or text"
            )
            + f", and its order {_concept_text(state.order.code)} is not a blood test",
        ), None
    if not typed or classes:
        state.blood.add(key)
        return None, None
    types = [s.type for s in specimens if s.type is not None]
    names = ", ".join(_concept_text(c) for c in (*types, source) if c is not None)
    return None, _issue(
        Severity.INFORMATION,
        "specimen-unrecognized",
        location,
        f"specimen type {names} is not in leukoflag's specimen table; judged as blood from the "
        "result code",
    )


def _describe_specimens(sent: list[Specimen | Concept]) -> str:
    """SPM specimens by location and type, OBR-15 as such: for Issue texts."""
    return ", ".join(
        f"{s.location} {_concept_text(s.type)}".strip()
        if isinstance(s, Specimen)
        else f"OBR-15 {_concept_text(s)}"
        for s in sent
    )


def _concept_text(concept: Concept | None) -> str:
    if concept is None:
        return ""
    for coding in concept.codings:
        if coding.code:
            shown = coding.display or concept.text
            return f'"{coding.code}"' + (f" ({shown})" if shown else "")
    return f'"{concept.text}"'


def _concept_words(concept: Concept) -> str:
    if concept.text:
        return concept.text
    return next((c.display or c.code for c in concept.codings if c.display or c.code), "")


def _status_problem(result: LabResult, order: Order) -> Issue | None:
    if result.status not in FLAGGABLE:
        sent = f" (sent as {quoted(result.status_text)})" if result.status_text else ""
        return _issue(
            Severity.INFORMATION,
            "status-not-flaggable",
            _at(result.location, "status"),
            f"not flagged: result status {result.status.value}{sent}",
        )
    if order.status in ORDER_WITHDRAWN:
        return _issue(
            Severity.INFORMATION,
            "status-not-flaggable",
            result.location,
            f"not flagged: its order {order.location} is {order.status.value}",
        )
    return None


def _value_problem(result: LabResult, analyte: Analyte) -> Issue | None:
    value = result.value
    if not result.data_absent_reason and isinstance(value, _NUMERIC):
        return None
    location = _value_at(result, "value")
    name = analyte.value.upper()
    if result.data_absent_reason:
        # the reason's text as sent ('Specimen clotted', FHIR dataAbsentReason.text) with it
        shown = f" {quoted(value.text)}" if isinstance(value, NoValue) and value.text else ""
        why = f"no {name} value (data absent: {result.data_absent_reason}{shown})"
        if not isinstance(value, NoValue):  # a value sent too: 'no value' denied what was sent
            why = (
                f"the {name} value was sent with a data-absent reason "
                f"({result.data_absent_reason}), which says there is none"
            )
        return _issue(Severity.INFORMATION, "data-absent", location, f"not flagged: {why}")
    if isinstance(value, NoValue):
        shown = f" {quoted(value.text)}" if value.text else ""
        return _issue(
            Severity.INFORMATION,
            "data-absent",
            location,
            f"not flagged: no {name} value ({value.reason}{shown})",
        )
    assert isinstance(value, Text | CodedResult | Ratio)
    shown = value.text if isinstance(value, Text | Ratio) else _concept_words(value.concept)
    why = "is not a number"
    number = value.text.lstrip("<>=≤≥ ") if isinstance(value, Text) else ""
    comma, ambiguous = read_decimal_comma(number)
    if isinstance(value, Text) and value.repetitions:
        # '2.1~6.0': numbers, not "not a number"; that there are two is why it is not judged
        why = (
            f"holds {value.repetitions} repetitions, not all the same number: which one is the "
            "result is unknown"
        )
    elif isinstance(value, Text) and (comma is not None or _NUMBER_TEXT.fullmatch(value.text)):
        # a FHIR valueString '0.4': "not a number" was wrong; it is one, without a unit
        why = "is a number sent as text, without a unit (a count is read from a quantity only)"
        if result.unit is not None:  # an HL7 v2 text value beside its OBX-6 unit
            why = "is a number sent as text (a count is read from a quantity only)"
    elif ambiguous:
        # '1,500': a number, but fifteen hundred or 1.5 is not guessed at (as in a range text)
        why = "is not read as a number: its comma may separate thousands or be a decimal comma"
        if number.count(",") == 1:  # what the sender should correct it to, either way
            whole, point = quoted(number.replace(",", "")), quoted(number.replace(",", "."))
            why += (
                f"; the sender should send {whole} (no thousands separator) or {point} (a "
                "decimal point): a number has neither in HL7 v2 or FHIR"
            )
    return _issue(
        Severity.INFORMATION,
        "value-not-numeric",
        location,
        f"not flagged: the {name} value {quoted(shown)} {why}",
    )


_NUMBER_TEXT = re.compile(r"\s*[<>]?=?\s*[+-]?(\d+\.?\d*|\.\d+)\s*")


# --------------------------------------------------------------------------- values and units


@dataclass(slots=True)
class _Reading:
    """A count's value in cells/µL: the bounds it is judged at, the quantity to write (None
    for a range value), how ``leukoflag.units`` read the unit, and its notes about that."""

    bounds: tuple[Point, Point]
    quantity: NormalizedQuantity | None
    count: NormalizedCount
    notes: tuple[Issue, ...]


def _written_as_sent(result: LabResult, quantity: NormalizedQuantity) -> bool:
    """``result`` was sent as leukoflag writes ``quantity``: the same value in cells/µL, UCUM
    ``/uL`` (a lab's FHIR count, or leukoflag's output read back), so it is written unchanged."""
    unit, value = result.unit, result.value
    return (
        unit is not None
        and unit.text == _PER_UL_TEXT
        and unit.code == "/uL"
        and unit.system == _UCUM
        and isinstance(value, Number)
        and str(value.value) == str(quantity.value)
    )


def _read_value(result: LabResult, analyte: Analyte) -> _Reading | Issue:
    """The value in cells/µL, or the Issue that stops it (``units.*`` for a unit refusal)."""
    value = result.value
    unit = result.unit
    unit_at = "unit"
    quantity = None
    try:
        if isinstance(value, Number):
            if value.comment:  # rare: a text value read as its leading number
                written = _unit_in_text(value, unit, analyte)
                if written is not None:
                    unit, unit_at = written, "value"
                elif _unitless(unit):  # '3.1 foo/uL': a unit guessed beside it may not be its
                    return _no_unit_beside_text(value, result)
                conflict = _unit_in_text_conflict(value, unit, analyte, result)
                if conflict is not None:
                    return conflict
            count = _count(value.value, unit, analyte, result.reference_range)
            if value.comparator:  # rare: '<0' or '>1000' K/uL is a sender's error, not LL or HH
                _check_bound(value, count)
            quantity = _new_normalized_quantity(count.value_per_ul, value.comparator)
            bounds = _comparator_bounds(count.value_per_ul, value.comparator)
        else:
            assert isinstance(value, NumberRange)
            read = _range_value(value, unit, analyte, result)
            if isinstance(read, Issue):
                return read
            count, bounds = read
    except UnitError as exc:
        where = "value" if exc.reason in _VALUE_REASONS else unit_at
        return units.issue_for(exc, _value_at(result, where))
    notes = () if count.exact else units.notes_for(count, _value_at(result, unit_at))
    return _Reading(bounds, quantity, count, notes)


_BELOW = frozenset({"<", "<="})
_ABOVE = frozenset({">", ">="})


def _check_bound(value: Number, count: NormalizedCount) -> None:
    """Raises the refusal of a bound that allows no plausible count: ``<0`` or ``<=0`` (a
    count is never below zero, and none at all is sent as 0), or ``>`` / ``>=`` the plausible
    limit (``>1000`` K/uL: above 1,000,000 cells/µL, the mislabelled unit a plain value is
    refused for)."""
    per_ul = count.value_per_ul
    if value.comparator in _BELOW and not per_ul:
        allows = (
            "no count" if value.comparator == "<" else "only 0, which is sent as 0, not a bound"
        )
        raise UnitError(
            f"implausible: the value {quoted(value.text)} is {value.comparator}0 cells/µL, but a "
            f"count of cells is never below 0: the bound allows {allows} (a sender's error, not "
            "a critically low count)",
            spelling=count.unit.spelling,
            reason="implausible",
        )
    limit = units.unit_table().plausible_high
    if value.comparator in _ABOVE and per_ul >= limit:
        # '>=' the limit itself allows that one count, as '<=0' allows 0: say so, not "none"
        allows = (
            f"only {_fmt(limit)}, which is sent as a value, not a bound"
            if value.comparator == ">=" and per_ul == limit
            else "no plausible count"
        )
        raise UnitError(
            f"implausible: the value {quoted(value.text)} is {value.comparator}"
            f"{_fmt(per_ul)} cells/µL, but a blood WBC/ANC count is at most {_fmt(limit)}: the "
            f"bound allows {allows} (a mislabelled unit?, not a critically high count)",
            spelling=count.unit.spelling,
            reason="implausible",
        )


def _unit_in_text(value: Number, unit: Unit | None, analyte: Analyte) -> Unit | None:
    """The unit a text value names after its number when the unit field is empty (ST
    ``450 cells/uL``), or None when it names none (``3.4 (verified)``)."""
    if not _unitless(unit):
        return None
    try:
        units.resolve_unit(value.comment, analyte.value)
    except UnitError as exc:
        if exc.reason != "refused-unit":
            return None
    # the lab's own unit: inferring one from the magnitude would read '3.1 %' as a WBC of 3,100
    return Unit(value.comment)


def _no_unit_beside_text(value: Number, result: LabResult) -> Issue:
    """The refusal of a text value whose number is followed by words that are no unit the units
    table reads (``3.1 foo/uL``, ``3.1 (verified)``), the unit field empty: a unit inferred from
    the number's size may not be the one the text names, so none is (as a FHIR ``valueString``
    of the same words is not judged)."""
    return units.issue_for(
        UnitError(
            f"no-unit: the value {quoted(value.text)} was sent without a unit and the text after "
            f"its number, {quoted(value.comment)}, is no unit leukoflag reads: a unit is not "
            "inferred from the number beside a text that may name another; not normalized",
            reason="no-unit",
        ),
        _value_at(result, "value"),
    )


def _unit_sent_at(result: LabResult, count: NormalizedCount) -> str:
    """Where the unit ``count`` was read in is: OBX-6 ("unit"), or OBX-5 ("value") for a text
    value naming its unit with the unit field empty (see :func:`_unit_in_text`)."""
    return "value" if _unitless(result.unit) and not count.inferred else "unit"


def _unit_in_text_conflict(
    value: Number, unit: Unit | None, analyte: Analyte, result: LabResult
) -> Issue | None:
    """The Issue for a text value whose unit after the number (``800 cells/uL``) scales the count
    otherwise than the unit field (``10*3/uL``): either reading may be the thousandfold error."""
    try:
        written = units.resolve_unit(value.comment, analyte.value)
        sent = units.resolve_unit(unit, analyte.value)
    except UnitError:
        return None  # the comment is no unit, or the unit field names none: read as before
    if UnitKind.COUNT not in (written.kind, sent.kind) or written.factor == sent.factor:
        return None
    return Issue(
        Severity.WARNING,
        "units.unit-conflict",
        _value_at(result, "value"),
        f"unit-conflict: the value {quoted(value.text)} names the unit {quoted(value.comment)}, "
        f"which is not the unit sent {quoted(sent.spelling)}: not flagged, written as sent",
    )


def _count(
    number: Decimal, unit: Unit | None, analyte: Analyte, reference: ReferenceRange | None
) -> NormalizedCount:
    """``number`` in cells/µL. A number sent without unit is read together with the limits of a
    reference range sent without unit too (the lab wrote both in one unit) when that leaves one
    plausible reading, else alone; ``leukoflag.units`` infers a unit only when it is certain."""
    if reference is not None and _unitless(unit) and _unitless(reference.unit):
        limits = tuple(limit for limit in (reference.low, reference.high) if limit is not None)
        if limits:
            try:
                return units.normalize(number, None, analyte, same_unit_values=limits)
            except UnitError:
                pass  # the range does not fit the value's magnitude: the value alone decides
    return units.normalize(number, unit, analyte)


def _range_value(
    value: NumberRange, unit: Unit | None, analyte: Analyte, result: LabResult
) -> tuple[NormalizedCount, tuple[Point, Point]] | Issue:
    """A range value (``1.0-2.0``) as bounds; raises UnitError when its unit is refused."""
    if value.low is None and value.high is None:
        return _value_range_issue(value, result)
    if _unitless(unit):
        # Unlike a single number, a range value is never read by its magnitude.
        raise UnitError(
            f"no-unit: the range value {quoted(value.text)} was sent without a unit; leukoflag "
            "reads a range value only in the unit it was sent in",
            spelling="",
            reason="no-unit",
        )
    low = None if value.low is None else units.normalize(value.low, unit, analyte)
    high_unit = unit if value.high_unit is None else value.high_unit
    high = None if value.high is None else units.normalize(value.high, high_unit, analyte)
    if low is not None and high is not None and low.value_per_ul > high.value_per_ul:
        return _value_range_issue(value, result)
    count = low or high
    assert count is not None
    lower: Point = (low.value_per_ul if low is not None else _ZERO, 0)
    upper: Point = (high.value_per_ul if high is not None else INFINITY, 0)
    return count, (lower, upper)


def _value_range_issue(value: NumberRange, result: LabResult) -> Issue:
    return _issue(
        Severity.WARNING,
        "value-not-numeric",
        _value_at(result, "value"),
        f"not flagged: the range value {quoted(value.text)} has no usable limits",
    )


def _unitless(unit: Unit | None) -> bool:
    return unit is None or not (unit.text.strip() or unit.code.strip())


def _comparator_bounds(value: Decimal, comparator: str) -> tuple[Point, Point]:
    if not comparator:
        point: Point = (value, 0)
        return point, point
    zero: Point = (_ZERO, 0)
    infinite: Point = (INFINITY, 0)
    if comparator == "<":
        return zero, (value, -1)
    if comparator == "<=":
        return zero, (value, 0)
    if comparator == ">":
        return (value, 1), infinite
    return (value, 0), infinite  # ">=", and R5's "ad" (sufficient to achieve: at least)


# --------------------------------------------------------------------------- ranges


def _lab_range(
    result: LabResult, analyte: Analyte, state: _OrderState, count: NormalizedCount
) -> tuple[NormalizedRange | None, Issue | None]:
    """The lab's range in cells/µL (None: absent, ignored by policy, or unusable + Issue).
    A range sent without unit is read in the value's unit (inferred or not)."""
    sent = result.reference_range
    if sent is None or state.settings.range_policy == "default":
        return None, None
    # drawn before the birth time on the birth day: no age, as the rules judge it (_age)
    unborn = (
        _before_birth(result, state)
        if (sent.by_age or sent.ages) and state.context.birth_time is not None
        else ""
    )
    if sent.by_age:  # 0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0: the patient's age's, if known
        band, why = _age_band(sent, state.context, _result_day(result, state), unborn)
        if band is None:
            return None, _lab_range_issue(_range_at(result), sent, why)
        sent = band
    if sent.ages:  # 6.0-17.5 (3-12 mo): only for a patient known to be of those ages
        outside = _outside_ages(sent.ages, state.context, _result_day(result, state), unborn)
        if outside:
            return None, _lab_range_issue(_range_at(result), sent, outside)
    sex = ""
    if sent.by_sex:
        sent, sex = _sex_range(sent, state.context.sex)
        if not sex and len(sent.by_sex) == 1:
            return None, _lab_range_issue(
                _range_at(result), sent, _other_sex(sent, state.context.sex)
            )
        if not sex:
            return _sex_union(result, analyte, state, count)
    found = _normalized_lab(sent, result, analyte, state, count, sex=sex)
    if isinstance(found, NormalizedRange):
        return found, None
    if isinstance(found, Issue):
        return None, found
    if sex:  # which of the ranges per sex was the patient's, and the label it was under
        found = f"{_chosen_shown(result.reference_range, sex)} cannot be used: {found}"
    return None, _lab_range_issue(_range_at(result), sent, found)


def _normalized_lab(
    sent: ReferenceRange,
    result: LabResult,
    analyte: Analyte,
    state: _OrderState,
    count: NormalizedCount,
    *,
    sex: str,
) -> NormalizedRange | Issue | str:
    """The lab's range ``sent`` in cells/µL; else why it cannot be used (the reason
    flag.lab-range-unusable gives), or flag.scale-suspect, which leaves the count unjudged."""
    if sent.low is None and sent.high is None:
        return why_no_limits(sent.text)
    try:
        if sent.high_unit is None:
            low, high = units.normalize_range(sent.low, sent.high, sent.unit, analyte, result=count)
        else:  # FHIR low and high in different units: each read in its own
            low = units.normalize_range(sent.low, None, sent.unit, analyte)[0]
            high = units.normalize_range(None, sent.high, sent.high_unit, analyte)[1]
    except UnitError as exc:
        return str(exc)
    rules = state.rules
    if low is not None and high is not None and low >= high:
        return "its low limit is not below its high limit"
    # a range of a low limit only (">4.0") is as small as that limit: 4 cells/µL is no range
    top = high if high is not None else low
    if (low is not None and low > rules.lab_low_at_most) or (
        top is not None and top < rules.lab_high_at_least
    ):
        shown = _limits_shown(low, high)
        if top is not None and top < rules.lab_high_at_least and _same_scale(count, low, top):
            return _scale_suspect(result, sent, count, analyte, shown)
        return (
            f"{shown} cells/µL is not a plausible {analyte.value.upper()} range "
            "(sent in another unit than the value?)"
        )
    # of a range per sex or per age, the limits as sent are the chosen one's (written beside the
    # cells/µL, so that read back the text chooses again)
    limits = sent if sex or sent.ages else None
    return _new_normalized_range(
        low, high, "lab", sent.text, "", sex, limits, sent.adults, sent.children
    )


def _sex_range(sent: ReferenceRange, sex: str) -> tuple[ReferenceRange, str]:
    """The range of the patient's sex from one giving a range per sex, with the text as sent,
    and that sex; ``sent`` and ``""`` when the patient is not male or female."""
    for which, chosen in sent.by_sex:
        if which == sex:
            return replace(chosen, text=sent.text), sex
    return sent, ""


def _outside_ages(
    ages: str,
    context: PatientContext,
    day: dt.date | None,
    unborn: str = "",
    span: AgeSpan | None = None,
) -> str:
    """Why a range noted for some ages (``3-12 mo``) is not known to be this patient's, else
    ``""``: a birth date sent as a year or month must fit at its first and its last day;
    ``unborn`` says why the result is before the birth time (see _before_birth); ``span``: the
    ages read from ``ages``, as a text of ranges per age ends them (AgeSpan.before_next)."""
    span = span or age_span(ages)
    shown = quoted(ages)
    if span is None:
        if in_hours(ages):  # 0-72 h: a word leukoflag knows, not read in a text (docs/hl7v2.md)
            return f"its note {shown} gives ages in hours, which leukoflag reads in a FHIR age only"
        if not known_age_words(ages):  # 1-5 Lebensjahre: digits as ages are, and a word
            return f"its note {shown} may give ages, in a word leukoflag does not know"
        bands = read_range_text(ages)[0].by_age
        if bands:  # a FHIR text of ranges per age beside the range's own limits: all read
            return (
                f"its text gives ranges for the ages {_listed_ages([b.ages for b in bands])}, "
                "and which of them its own limits are is not known"
            )
        notes = ages.split("; ")
        if len(notes) > 1 and all(age_span(note) is not None for note in notes):
            # 4.0-11.0 (3-12 mo) (1-5 y): each note read, but not one span of ages
            return (
                f"it is noted for the ages {_listed_ages(notes)} at once, which leukoflag does "
                "not read as one span of ages"
            )
        return f"it is noted for ages {shown}, which leukoflag cannot read"
    fit = _age_fit(span, context, day, unborn)
    if fit == "of":
        return ""
    why = _not_of(fit, context, day, "those ages", one=True, unborn=unborn)
    return f"it is for ages {shown}, and {why}"


def _age_fit(span: AgeSpan, context: PatientContext, day: dt.date | None, unborn: str = "") -> str:
    """How the patient is of ``span`` on ``day`` (see age_fit), or ``"unborn"`` (no birth
    date), ``"undated"`` (no result date) or ``"before birth"`` (``unborn``: a result before
    the birth time)."""
    first = context.birth_date
    if first is None:
        return "unborn"
    if day is None:
        return "undated"
    fit = age_fit(span, first, context.birth_date_latest or first, day)
    # the birth day, before the birth time: of no age, as the rules judge it (_age)
    return "before birth" if unborn and fit != "unusable" else fit


def _not_of(
    fit: str,
    context: PatientContext,
    day: dt.date | None,
    ages: str,
    *,
    one: bool,
    unborn: str = "",
) -> str:
    """Why the patient, who ``fit`` ``ages`` (see _age_fit), is not known to be of them: of
    ``one`` span (``those ages``, ``'0-1 y'``), or of none of several (``them``)."""
    if fit == "unborn":
        return "the patient's birth date is not known"
    if fit == "undated":
        return "the result has no date"
    if fit == "before birth":
        return unborn
    first = context.birth_date
    if fit == "unusable" and day is not None:  # as flag.age-unknown says it
        if first is not None and day < first:
            return f"the birth date {first} is after the result date {day}"
        return placeholder_birth(_born(context), day)
    if one:
        whose = f"{'is not' if fit == 'not' else 'may not be'} of {ages}"
    else:
        whose = f"{'is' if fit == 'not' else 'may be'} of none of {ages}"
    return f"the patient (born {_born(context)}) {whose} on the result date {day}"


def _age_band(
    sent: ReferenceRange, context: PatientContext, day: dt.date | None, unborn: str = ""
) -> tuple[ReferenceRange | None, str]:
    """Of a text giving a range per age, the one of the patient's age, with the text as sent;
    else None and why: no band known to be theirs, or two that are, with different limits."""
    # 0-1 y beside 1-5 y ends at 1 year: a child of 17 months is of 1-5 y only (see meets)
    held = [age_span(band.ages) for band in sent.by_age]
    ends = [
        span and span.before_next(o.low for o in held if o is not None and o is not span)
        for span in held
    ]
    fits = [
        band
        for band, span in zip(sent.by_age, ends, strict=True)
        if not _outside_ages(band.ages, context, day, unborn, span)
    ]
    shown = _listed_ages([band.ages for band in sent.by_age])
    if len({(band.low, band.high, band.unit) for band in fits}) > 1:
        # 0-2 y and 1-5 y both hold a child of 18 months (completed years): whose is not known
        both = _listed_ages([band.ages for band in fits])
        return None, (
            f"it gives ranges for the ages {shown}, and the patient is of {both} at once: which "
            "one is theirs is not known"
        )
    spans = [(band.ages, span) for band, span in zip(sent.by_age, ends, strict=True)]
    readable = [(ages, span) for ages, span in spans if span is not None]
    unread = _listed_ages([ages for ages, span in spans if span is None])
    if fits and unread:
        # 0-1 y beside 0-72 h (not read): the band of the first hours may be the patient's
        return None, (
            f"it gives ranges for the ages {shown}, and the patient is of "
            f"{_listed_ages([band.ages for band in fits])}, but leukoflag cannot read "
            f"{unread}, which may be theirs"
        )
    if fits:
        return replace(fits[0], text=sent.text), ""
    if not readable:
        return None, f"it gives ranges for the ages {shown}, and leukoflag can read none of them"
    # every band weighed: of none (at both ends of the birth date), or maybe of some of them
    maybe = [ages for ages, span in readable if _age_fit(span, context, day, unborn) == "may not"]
    fit = _age_fit(readable[0][1], context, day, unborn) if not maybe else "may not"
    if not unread:
        if len(maybe) == 1:  # born in 2020: of 1-5 y as born in December, of none in January
            why = _not_of(fit, context, day, quoted(maybe[0]), one=True, unborn=unborn)
        elif maybe:  # born in 2025: of 0-1 y or of 1-5 y, which one not known
            why = (
                f"the patient (born {_born(context)}) may be of "
                f"{' or of '.join(map(quoted, maybe))}, and is not known to be of one of them "
                f"on the result date {day}"
            )
        else:
            why = _not_of(fit, context, day, "them", one=False, unborn=unborn)
        return None, f"it gives ranges for the ages {shown}, and {why}"
    if fit in ("unborn", "undated", "unusable", "before birth"):  # no age: none is theirs
        why = _not_of(fit, context, day, "", one=True, unborn=unborn)
        return None, f"it gives ranges for the ages {shown}, and {why} ({unread} cannot be read)"
    # a man of 42 beside 0-1 y and >18 y (not read): he may be of the band not read
    read = [ages for ages, _ in readable]
    return None, (
        f"it gives ranges for the ages {shown}, and "
        f"{_not_of(fit, context, day, _listed_ages(read), one=len(read) == 1)}, but leukoflag "
        f"cannot read {unread}, which may be theirs"
    )


def _listed_ages(ages: list[str]) -> str:
    """``'0-1 y'``, ``'0-1 y' and '1-5 y'``, ``'0-1 y', '1-5 y' and '>18 y'``; ``""`` for none;
    past ten, the first ten and ``and 7 more``."""
    shown = [quoted(one) for one in ages[:_LISTED]]
    if len(ages) > _LISTED:
        return f"{', '.join(shown)}, and {len(ages) - _LISTED:,} more"
    if len(shown) < 2:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _other_sex(sent: ReferenceRange, sex: str) -> str:
    """Why one sex's range alone (``Frauen 4,5-11,0``) does not judge this patient."""
    ((which, one),) = sent.by_sex
    whose = f"it gives limits for {_SEX_PLURAL[which]} only ({quoted(one.sex_label)})"
    if sex in ("male", "female"):
        return f"{whose}, and the patient is {sex}"
    return f"{whose}, and the patient's sex is {quoted(sex)}"


def _sex_union(
    result: LabResult, analyte: Analyte, state: _OrderState, count: NormalizedCount
) -> tuple[NormalizedRange | None, Issue | None]:
    """For a patient neither male nor female, the union of the lab's range for men and for
    women (lowest low, highest high, each in cells/µL): a value normal for either is not
    flagged. Either range unusable: none (the default range), with the Issue saying why."""
    sent = result.reference_range
    assert sent is not None
    why = (
        f"it gives one range for men and one for women{_labels_read(sent)}, and the patient's sex "
        f"is {quoted(state.context.sex)}"
    )
    lows: list[tuple[Decimal, ReferenceRange]] = []  # each limit with the range it is of
    highs: list[tuple[Decimal, ReferenceRange]] = []
    for which, one in sent.by_sex:
        normalized = _normalized_lab(one, result, analyte, state, count, sex="")
        if isinstance(normalized, Issue):
            return None, normalized  # the value's unit is wrong, whichever the sex: not judged
        if isinstance(normalized, str):
            return None, _lab_range_issue(
                one.location or _range_at(result),  # a FHIR range of the two: that element
                sent,
                f"{why}; its range for {_SEX_PLURAL[which]}, {quoted(_range_shown(one))}, cannot "
                f"be used: {normalized}",
            )
        lows.extend(() if normalized.low is None else ((normalized.low, one),))
        highs.extend(() if normalized.high is None else ((normalized.high, one),))
    # a limit one range does not have leaves the union open on that side; on a tie, the first
    lowest = min(lows, key=itemgetter(0)) if len(lows) == len(sent.by_sex) else None
    highest = max(highs, key=itemgetter(0)) if len(highs) == len(sent.by_sex) else None
    low = lowest[0] if lowest is not None else None
    high = highest[0] if highest is not None else None
    if low is None and high is None:
        return None, _lab_range_issue(
            _range_at(result), sent, f"{why}; together its ranges give no limit"
        )
    shown = _limits_shown(low, high)
    note = _issue(
        Severity.INFORMATION,
        "lab-range-sex-union",
        _range_at(result),
        f"the lab's reference range {quoted(_range_shown(sent))} gives one range for men and one "
        f"for women{_labels_read(sent)}, and the patient's sex is {quoted(state.context.sex)}: "
        f"judged with their union, {shown} cells/µL (a value normal for either sex is not "
        "flagged)",
    )
    # each limit as sent, in its range's unit (else the value's, as it was read)
    low_unit = (lowest[1].unit or result.unit) if lowest is not None else None
    high_unit = (highest[1].unit or result.unit) if highest is not None else None
    limits = ReferenceRange(
        sent.text,
        lowest[1].low if lowest is not None else None,
        highest[1].high if highest is not None else None,
        low_unit or high_unit,
        high_unit if low_unit is not None and high_unit != low_unit else None,
    )
    # a union of ranges per sex labelled for adults (Adult M: … F: …) is still not a child's
    adults = any(one.adults for _, one in sent.by_sex)
    children = any(one.children for _, one in sent.by_sex)
    union = _new_normalized_range(low, high, "lab", sent.text, "", "", limits, adults, children)
    return union, note


def _chosen_shown(sent: ReferenceRange | None, sex: str) -> str:
    """``its range for men, '4,0-10,0 g/dL', read from 'H' in Spanish, Portuguese,``: of a range
    per sex, the patient's, as the Issue that says it cannot be used names it."""
    assert sent is not None
    (one,) = [one for which, one in sent.by_sex if which == sex]
    label = f" read from {quoted(one.sex_label)} in {one.sex_language}," if one.sex_label else ""
    return f"its range for {_SEX_PLURAL[sex]}, {quoted(_range_shown(one))},{label}"


def _labels_read(sent: ReferenceRange) -> str:
    """The labels a range text per sex gave its ranges under, and their language(s): ``, read
    from 'H' and 'M' in Spanish, Portuguese``; ``""`` for FHIR ranges per sex (appliesTo)."""
    (_, first), (_, second) = sent.by_sex
    if not first.sex_label or not second.sex_label:
        return ""
    if first.sex_language == second.sex_language:
        return (
            f", read from {quoted(first.sex_label)} and {quoted(second.sex_label)} in "
            f"{first.sex_language}"
        )
    return (
        f", read from {quoted(first.sex_label)} in {first.sex_language} and "
        f"{quoted(second.sex_label)} in {second.sex_language}"
    )


_SEX_PLURAL = {"male": "men", "female": "women"}
_SCALE_SUSPECT = "flag.scale-suspect"
# Analyte.WBC for a test on every count: a member looked up on its class costs about ten times
# the comparison in Python 3.11 (EnumType.__getattr__)
_WBC = Analyte.WBC
# the unit leukoflag writes a count in (fhir PER_UL_UNIT), and its UCUM system
_PER_UL_TEXT = "cells/µL"
_UCUM = "http://unitsofmeasure.org"
_SEX_UNION = "flag.lab-range-sex-union"


def _same_scale(count: NormalizedCount | None, low: Decimal | None, high: Decimal) -> bool:
    """Whether the value is within a factor of ten of its implausibly small lab range: the two
    share the unit, and it is the unit that is wrong (``3.2`` ``/uL`` with ``4.0-11.0``)."""
    if count is None:
        return False
    value = count.value_per_ul
    return (low if low is not None else high) / 10 <= value <= high * 10


def _decimals_suspect(result: LabResult, reading: _Reading) -> Issue | None:
    """flag.scale-suspect for a count in a unit per µL written with decimals (see
    ``_whole_count_meant``): read as sent, ``4.500`` ``/µl`` would be a critical 4.5 cells/µL."""
    for value, _ in reading.bounds:
        thousands = _whole_count_meant(value)
        if thousands is None:
            continue
        sent = result.value
        shown = quoted(sent.text) if isinstance(sent, _NUMERIC) else _fmt(value)
        unit = quoted(reading.count.spelling) if reading.count.spelling else "cells/µL (inferred)"
        # three decimals may be a thousands dot (4.500); any may be a count in 10³/µL mislabelled
        separator = "a thousands separator, or " if _decimals(value) == 3 else ""
        return _issue(
            Severity.WARNING,
            "scale-suspect",
            _value_at(result, _unit_sent_at(result, reading.count)),
            f"the value {shown} reads as {_fmt(value.normalize())} cells/µL in the unit sent "
            f"{unit}, and a count per µL is a whole number of cells, written without decimals: "
            f"it may mean {_fmt(thousands)} cells/µL ({separator}a count in 10³/µL sent under a "
            "unit per µL); not flagged, written as sent",
        )
    return None


def _fraction_suspect(result: LabResult, reading: _Reading) -> Issue | None:
    """flag.scale-suspect for a WBC in a unit larger than per µL (``10*9/L``) that reads as a
    fraction of a cell per µL, written with a measured count's few digits: ``0.0045`` ``10*9/L``
    would be a critical 4.5 cells/µL. Not asked of an ANC, which a lab calculates as WBC ×
    neutrophil share (0.05 × 9 % = 0.0045 10*9/L: a true 4.5 cells/µL, as leukoflag derives).
    A value of more significant digits (``0.45678``, a calculation) or whose thousandfold is not
    plausible is read as sent, and so is a bound (``<0.0045``): a limit, not a count."""
    sent = result.value
    if not isinstance(sent, Number) or sent.comparator:
        return None
    count = reading.count
    value = count.value_per_ul
    if len(value.as_tuple().digits) > _MEASURED_DIGITS:
        return None
    meant = value.scaleb(3)
    if meant > units.unit_table().plausible_high:
        return None
    return _issue(
        Severity.WARNING,
        "scale-suspect",
        _value_at(result, _unit_sent_at(result, count)),
        f"the value {quoted(sent.text)} in the unit sent {quoted(count.spelling)} reads as "
        f"{_fmt(value.normalize())} cells/µL, a fraction of a cell, which a count of cells is "
        f"not: it may mean {_fmt(meant)} cells/µL (a count sent in a unit a thousand times too "
        "large, such as 10^12/L for 10^9/L); not flagged, written as sent",
    )


# A measured count has at most three significant digits (4.53 10*9/L); more are a calculation's.
_MEASURED_DIGITS = 3


def _whole_count_meant(value: Decimal) -> Decimal | None:
    """The count (cells/µL) a value in a unit per µL written with decimals may mean, as cells
    are counted whole: ``4.500`` and ``4.000`` a thousands dot, ``4.5`` a count in 10³/µL. None
    when it is written whole, or is zero, or a whole number padded with other than three zeros
    (``450.0``, ``450.00``: a lab's fixed decimals), or its thousandfold is not plausible
    (``6500.000``, a calculated ``1250.5``): those can only be read as sent."""
    places = _decimals(value)
    if places <= 0:
        return None
    thousands = value.scaleb(3)
    # a thousandfold no blood count reaches cannot be what the lab meant, fraction or not
    if thousands > units.unit_table().plausible_high:
        return None
    if value == value.to_integral_value() and (not value or places != 3):
        return None
    return thousands


def _decimals(value: Decimal) -> int:
    """How many decimals ``value`` was written with (0 for an infinite, open bound)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) else 0


def _scale_suspect(
    result: LabResult, sent: ReferenceRange, count: NormalizedCount, analyte: Analyte, shown: str
) -> Issue:
    name = analyte.value.upper()
    return _issue(
        Severity.WARNING,
        "scale-suspect",
        _value_at(result, _unit_sent_at(result, count)),
        # 4.5, not 4.500: a thousands dot would read the text as the 4,500 the lab may mean
        f"the value reads as {_fmt(count.value_per_ul.normalize(EXACT))} cells/µL and the lab's "
        f"reference range {quoted(_range_shown(sent))} as {shown} cells/µL, on the same scale, "
        f"and no {name} "
        "range is that small: the unit sent is probably not the one the lab measured in; not "
        "flagged, written as sent",
    )


def _range_at(result: LabResult) -> str:
    """Where the lab's range of ``result`` is: OBX-7, or the FHIR referenceRange element read."""
    sent = result.reference_range
    return sent.location if sent is not None and sent.location else _at(result.location, "range")


def _lab_range_issue(at: str, sent: ReferenceRange, why: str) -> Issue:
    return _issue(
        Severity.WARNING,
        "lab-range-unusable",
        at,
        f"the lab's reference range {quoted(_range_shown(sent))} is not used ({why}); "
        "leukoflag's default range applies",
    )


def _range_shown(sent: ReferenceRange) -> str:
    """The range as sent: its text, else (a FHIR range of low/high alone) its limits and unit."""
    low, high = sent.low, sent.high
    if sent.text:
        return sent.text
    if sent.by_sex:  # FHIR ranges for men and for women (appliesTo), each shown
        return ", ".join(f"{which} {_range_shown(one)}" for which, one in sent.by_sex)
    if low is not None and high is not None:
        if sent.unit is not None and sent.high_unit is not None:
            return f"{plain(low)} {sent.unit.text}-{plain(high)} {sent.high_unit.text}"
        limits = f"{plain(low)}-{plain(high)}"
    elif low is not None:
        limits = f">={plain(low)}"
    elif high is not None:
        limits = f"<={plain(high)}"
    else:
        return ""
    return f"{limits} {sent.unit.text}" if sent.unit is not None else limits


# --------------------------------------------------------------------------- judging


@dataclass(slots=True)
class _Judged:
    range: NormalizedRange | None
    verdict: Verdict | None
    criteria: Criteria | None
    issues: list[Issue]


def _judge(
    analyte: Analyte,
    bounds: tuple[Point, Point],
    *,
    day: dt.date | None,
    lab: NormalizedRange | None,
    graded: bool,
    location: str,
    state: _OrderState,
    result: LabResult | None = None,
    unborn: str = "",
    days: _LocalDays | None = None,
) -> _Judged:
    """``unborn``: why the result is before the birth time on the birth day (else "");
    ``result``: the result judged (None for a derived ANC), where its fields are; ``days``: the
    local dates of a result time in UTC whose zone is not known (see _zone_days)."""
    context = state.context
    rules = state.rules
    age = _age(
        context.birth_date,
        context.birth_date_latest,
        day,
        context.sex,
        context.duffy_null,
        unborn,
        days,
    )
    profile = age.profiles[analyte]
    issues = _age_issues(age, profile, context, location, state.age_unused)
    chosen, criteria = _criteria(profile, lab, graded, state)
    verdict, bound_issue = _verdict(criteria, bounds, location, analyte, result)
    # rare: significantly low (a critical limit is at most the LU threshold, Settings), maybe
    # below a critical limit the range judged by holds, which is not LL (Criteria._code)
    if verdict is not None and verdict.code == "LU":
        held = _critical_held(criteria, verdict, bounds, analyte, location)
        if held is not None:
            issues.append(held)
    if age.youngest != age.step and verdict is not None:
        # A birth date sent as a year or month: judge every younger age it allows too (each age
        # step between its ends: a birth year may span three bands whose ends agree)
        young = profile
        other_range = chosen
        other: Verdict | None = verdict
        for step in range(age.step - 1, age.youngest - 1, -1):
            young = rules.profile(analyte, step, context.sex, context.duffy_null)
            other_range, other_criteria = _criteria(young, lab, graded, state)
            other, _ = _verdict(other_criteria, bounds, location, analyte, result)
            if other is None or _written(other) != _written(verdict):
                break
        if other_range != chosen or other is None or _applied(other) != _applied(verdict):
            if other is None or _written(other) != _written(verdict):
                issues.append(
                    _issue(
                        Severity.WARNING,
                        "age-imprecise",
                        location,
                        f"not flagged: {_span_said(context, age)}, and the age-dependent rules "
                        f"differ within {_that_span(context, age)}",
                    )
                )
                return _Judged(None, None, None, issues)
            # the same code at every age of the span: judged, saying which age's range is cited
            issues.append(
                _imprecise_agreed_issue(
                    (profile, chosen, verdict), (young, other_range, other), age, context, location
                )
            )
    if lab is not None and not profile.adult and lab.adults:
        at = _range_at(result) if result is not None else location
        issues.append(_adults_range_issue(lab, chosen, profile, context=context, day=day, at=at))
    elif lab is not None and profile.adult and lab.children:
        # a birth year or month whose last possible day makes the patient a child: may be 18
        maybe = age.youngest != age.step and not (
            rules.profile(analyte, age.youngest, context.sex, context.duffy_null).adult
        )
        at = _range_at(result) if result is not None else location
        issues.append(
            _children_range_issue(lab, chosen, age, context=context, day=day, at=at, maybe=maybe)
        )
    if bound_issue is not None:
        issues.append(bound_issue)
    return _Judged(chosen, verdict, criteria, issues)


def _critical_held(
    criteria: Criteria,
    verdict: Verdict,
    bounds: tuple[Point, Point],
    analyte: Analyte,
    location: str,
) -> Issue | None:
    """flag.critical-within-range: the value (or the bound that decided it, its high end) is
    below the critical low, but not below the low limit of the range it is judged by, so not
    LL. The value is quoted as sent: '<2,900', not 2,900."""
    low_end, point = bounds
    is_below = under(point)
    limit = criteria.critical_below
    if not is_below(limit) or not criteria.critical_held(is_below):
        return None
    low = criteria.reference.low
    assert low is not None  # held: the range has one
    return _issue(
        Severity.WARNING,
        "critical-within-range",
        location,
        f"{analyte.value.upper()} "
        f"{_fmt(point[0]) if low_end == point else _bounds_text(low_end, point)} cells/µL is "
        f"below the critical low of {_fmt(limit)} cells/µL (Settings.critical_low) but not "
        f"below {_fmt(low)} cells/µL, "
        f"the low limit of the range it is judged by ({criteria.citation}): a critical low "
        f"is a degree of low, so it is {verdict.code} ({verdict.rule}), not LL",
    )


def _written(verdict: Verdict) -> tuple[str, Coding | None, str, int | None]:
    """What of a verdict reaches the output: the code, finding, severity and CTCAE grade."""
    return verdict.code, verdict.finding, verdict.severity, verdict.grade


def _applied(verdict: Verdict) -> tuple[object, ...]:
    """What of a verdict says which rule gave it, beside what reaches the output: not the words
    of its citation (a child's LU cites the adult guideline saying it is applied to children,
    the same rule at the same threshold)."""
    return *_written(verdict), verdict.rule, verdict.threshold


def _imprecise_agreed_issue(
    oldest: tuple[Profile, NormalizedRange, Verdict],
    youngest: tuple[Profile, NormalizedRange, Verdict],
    age: _Age,
    context: PatientContext,
    location: str,
) -> Issue:
    (first, first_why), (last, last_why) = (
        (profile.range.age.describe(), f"{verdict.rule}, {range_named(chosen)}")
        for profile, chosen, verdict in (oldest, youngest)
    )
    code = oldest[2].code
    days = age.days
    on_last = "" if days is None else f" with the result on {days.last}"
    on_first = "" if days is None else f" with the result on {days.first}"
    return _issue(
        Severity.INFORMATION,
        "age-imprecise-agreed",
        location,
        f"{_span_said(context, age)}, and the age-dependent rules differ within "
        f"{_that_span(context, age)}, but give the same code {code} at either end: judged by "
        f"the rules of ages {first}, as born on {context.birth_date}{on_last} ({first_why}); "
        f"as born on {age.latest or context.birth_date}{on_first}, those of ages {last} give "
        f"{code} too ({last_why})",
    )


def _lab_shown(lab: NormalizedRange) -> str:
    """The lab's range as sent, or its limits when it has no text (a FHIR ``low`` and ``high``
    for ``appliesTo`` adults)."""
    if lab.text:
        return quoted(lab.text)
    return f"{_limits_shown(lab.low, lab.high)} cells/µL"


def range_named(chosen: NormalizedRange) -> str:
    """A range an Issue names: whose it is, and its limits in cells/µL."""
    shown = _limits_shown(chosen.low, chosen.high)
    whose = _RANGE_WHOSE.get(chosen.source, chosen.source)
    return f"{whose}, {shown} cells/µL"


_RANGE_WHOSE = {
    "lab": "the lab's range",
    "default": "leukoflag's adult range",
    "age-band": "the age band",
    "duffy-null": "the Duffy-null range",
}


def _span_said(context: PatientContext, age: _Age) -> str:
    """Where the span of ages of ``age`` comes from: a birth date sent as a year or month, an
    age sent as a result, a result time in UTC whose local date is not known, or two of them."""
    days = age.days
    spans = []
    if age.latest is not None and age.latest != context.birth_date:
        spans.append(_birth_span_said(context, age.latest))
    if days is not None and days.sent_as_period:
        spans.append(
            f"the result time was sent as {days.time}, so the result's date may be "
            f"{days.first} to {days.last}"
        )
    elif days is not None:
        spans.append(
            f"the result time {days.time} is in UTC and the time zone of the birth date "
            f"{_born(context)} (a local date) is not known (the message time gives no offset "
            "other than UTC, and no default time zone is set), so the result's local date may "
            f"be {days.first} to {days.last}"
        )
    return ", and ".join(spans)


def _that_span(context: PatientContext, age: _Age) -> str:
    """ "that span", or "those spans" of a birth span and a span of local dates."""
    both = age.days is not None and age.latest is not None and age.latest != context.birth_date
    return "those spans" if both else "that span"


def _birth_span_said(context: PatientContext, latest: dt.date | None) -> str:
    """Where the span of birth dates from ``context.birth_date`` to ``latest`` comes from: a
    birth date sent as a year or month, or an age sent as a result."""
    if context.age_sent:
        return f"{context.age_sent} puts the birth date at {context.birth_date} to {latest}"
    return f"the birth date was sent as {context.birth_date} to {latest}"


def _born(context: PatientContext) -> str:
    """The patient's birth date as Issues name it: a year or month sent as its first to last day."""
    latest = context.birth_date_latest
    return f"{context.birth_date}{f' to {latest}' if latest is not None else ''}"


def _adults_range_issue(
    lab: NormalizedRange,
    chosen: NormalizedRange,
    profile: Profile,
    *,
    context: PatientContext,
    day: dt.date | None,
    at: str,
) -> Issue:
    shown = _limits_shown(chosen.low, chosen.high)
    return _issue(
        Severity.WARNING,
        "lab-range-adults",
        at,
        f"the lab's reference range {_lab_shown(lab)} is for adults, and the patient (born "
        f"{_born(context)}) is under 18 on the result date {day}: judged with the age band "
        f"{profile.range.age.describe()}, {shown} cells/µL, instead",
    )


def _children_range_issue(
    lab: NormalizedRange,
    chosen: NormalizedRange,
    age: _Age,
    *,
    context: PatientContext,
    day: dt.date | None,
    at: str,
    maybe: bool,
) -> Issue:
    if age.unknown:
        who = "the patient's age is not known (judged as an adult)"
    else:
        verb = "may be" if maybe else "is"
        who = f"the patient (born {_born(context)}) {verb} 18 or older on the result date {day}"
    return _issue(
        Severity.WARNING,
        "lab-range-children",
        at,
        f"the lab's reference range {_lab_shown(lab)} is for children, and {who}: judged with "
        f"{range_named(chosen)}, instead",
    )


# Patients, days and so ages repeat across the orders of a feed: worked out once per process.
@functools.lru_cache(maxsize=4096)
def _age(  # noqa: PLR0917 - positional: the cache key of every count stays a plain tuple
    birth: dt.date | None,
    latest: dt.date | None,
    day: dt.date | None,
    sex: str,
    duffy_null: bool,
    unborn: str = "",
    days: _LocalDays | None = None,
) -> _Age:
    """The age step on ``day`` of a patient born on ``birth`` (or as late as ``latest``);
    ``unborn`` says why a result of the birth day is before the birth time; ``days``: the local
    dates ``day`` (a UTC date) may be, the zone of the birth date not being known."""
    rules = load_rules()
    step = rules.step(birth, day)
    sent_latest = latest
    if latest is not None and birth is not None and day is not None:
        latest = youngest_birth(birth, latest, day)
    youngest = step if latest is None or latest == birth else rules.step(latest, day)
    if birth is None:
        unknown = "the patient's birth date is not known"
    elif day is None:
        # said of HL7 v2 and FHIR input alike: OBX-14/19 or effective[x]/issued, SPM-17, OBR-7 or
        # the report's effective[x]/issued, MSH-7 or a message Bundle's timestamp
        unknown = (
            "the result has no date (its own time, its specimen's collection, its order's or "
            "report's time, or its message's time)"
        )
    elif day < birth:
        unknown = f"the birth date {birth} is after the result date {day}"
    elif unborn:  # the birth day, before the birth time: as a birth after the result
        unknown = unborn
        step = youngest = rules.adult_step
    elif too_old(latest or birth, day):
        shown = f"{birth} to {latest}" if latest is not None and latest != birth else f"{birth}"
        unknown = placeholder_birth(shown, day)
        step = youngest = rules.adult_step
    else:
        unknown = ""
        if days is not None and birth is not None:
            # the oldest age on the last local date, the youngest on the first (not before the
            # birth date: the blood was drawn after the birth)
            first = max(days.first, birth)
            step = rules.step(birth, days.last)
            if sent_latest is not None:
                latest = youngest_birth(birth, sent_latest, first)
            youngest = rules.step(latest or birth, first)
            days = days._replace(first=first)
    profiles = {analyte: rules.profile(analyte, step, sex, duffy_null) for analyte in Analyte}
    if unknown or days is None or youngest == step:
        return _Age(step, youngest, latest, unknown, MappingProxyType(profiles))
    return _Age(step, youngest, latest, unknown, MappingProxyType(profiles), days)


def _age_issues(
    age: _Age, profile: Profile, context: PatientContext, location: str, unused: str = ""
) -> list[Issue]:
    issues = []
    if context.age_sent:
        issues.append(
            _issue(
                Severity.INFORMATION,
                "age-from-result",
                location,
                f"the patient's birth date is not known: {context.age_sent} puts it at "
                f"{_born(context)}, and the patient is judged as born then",
            )
        )
    if age.unknown:
        issues.append(
            _issue(
                Severity.WARNING,
                "age-unknown",
                location,
                f"{age.unknown}{unused if context.birth_date is None else ''}: judged with "
                "adult ranges and thresholds",
            )
        )
    if context.duffy_null and not profile.adult:
        issues.append(
            _issue(
                Severity.INFORMATION,
                "duffy-null-not-applied",
                location,
                "the patient is declared Duffy-null, but the Duffy-null ranges are adult "
                "ranges; the pediatric age band applies",
            )
        )
    return issues


def _criteria(
    profile: Profile, lab: NormalizedRange | None, graded: bool, state: _OrderState
) -> tuple[NormalizedRange, Criteria]:
    settings = state.settings
    if lab is not None and (lab.children if profile.adult else lab.adults):
        lab = None  # a range the lab gives for adults is not a child's (nor its LLN), and back
    if lab is not None and not profile.duffy_null:
        chosen = lab
        citation = "the lab's reference range, as sent"
    else:
        # Duffy-null (an explicit opt-in) replaces the lab's population range for the patient.
        chosen = profile.supplied
        citation = chosen.citation
    criteria = state.rules.criteria(
        profile,
        reference=chosen,
        citation=citation,
        critical_low=settings.critical_low[profile.analyte],
        lln=lab.low if lab is not None else None,  # CTCAE grade 1 needs the lab's own LLN
        ctcae_version=settings.ctcae_version,
        graded=graded,
    )
    return chosen, criteria


def _verdict(
    criteria: Criteria,
    bounds: tuple[Point, Point],
    location: str,
    analyte: Analyte,
    result: LabResult | None,
) -> tuple[Verdict | None, Issue | None]:
    low, high = bounds
    if low == high:
        return criteria.at(low), None
    at = _value_at(result, "value") if result is not None else location
    name = analyte.value.upper()
    shown = _bounds_text(low, high)
    verdict, agreed = criteria.between(low, high)
    if verdict is None:
        bottom, top = criteria.at(low).code, criteria.at(high).code
        return None, _issue(
            Severity.WARNING,
            "bound-inconclusive",
            at,
            f"not flagged: the {name} value {shown} cells/µL could be {bottom} or {top}",
        )
    # not agreed: the least severe low code is proven, and a more severe one is possible
    extra = (
        "" if agreed else f" or lower (the lowest possible value would be {criteria.at(low).code})"
    )
    return verdict, _issue(
        Severity.INFORMATION,
        "bound-interpreted",
        at,
        f"the {name} value {shown} cells/µL is known only by its limits; every value it allows "
        f"is {verdict.code}{extra}",
    )


def _bounds_text(low: Point, high: Point) -> str:
    if high[0] == INFINITY:
        return f"{'>' if low[1] > 0 else '≥'}{_fmt(low[0])}"
    if low[0] == 0 and low[1] == 0:
        return f"{'<' if high[1] < 0 else '≤'}{_fmt(high[0])}"
    return f"{_fmt(low[0])}–{_fmt(high[0])}"


# --------------------------------------------------------------------------- the sender's flag


def _sender_disagreement(flags: Sequence[Coding], computed: str, location: str) -> Issue | None:
    """The Issue when the sender's flags disagree with the computed code (None: they agree),
    at OBX-8 or the interpretation (the caller moves it to where they were read otherwise)."""
    # the flags are quoted as the input wrote them: OBX-8 repetitions, or interpretation codes
    key = [computed, "~" if _from_hl7v2(location) else ", "]
    for coding in flags:
        # a flag of a system named in HL7 v2 other than table 0078 ('L^Low^99LOC') is the
        # lab's own code, not compared: its system name stands in for the empty system
        system = coding.system or _local_flag_system(coding.system_name)
        key += (system, coding.code, coding.sent or coding.code)
    found = _sender_verdict(*key)
    if found is None:
        return None
    return Issue(found.severity, found.code, _at(location, "flags"), found.text)


def _local_flag_system(name: str) -> str:
    """The system an HL7 v2 flag read without one is compared under: none (table 0078's
    codes) when it names table 0078 or nothing, else the name it gives (``99LOC``)."""
    return "" if not name or name.upper() == "HL70078" else name


# Feeds repeat a handful of flags: the comparison and its text are worked out once per process.
@text_cache(1024, texts=0)
def _sender_verdict(*key: str) -> Issue | None:
    """The Issue, not yet located, when the sender's flags disagree with the computed code:
    ``key`` is the computed code, the separator of the flags as quoted (``~`` for HL7 v2), then
    each flag's system, code and code as sent. None: they agree, or the sender sent no known
    flag."""
    computed, separator = key[0], key[1]
    known = [
        (code.strip(), sent.strip())
        for system, code, sent in zip(key[2::3], key[3::3], key[4::3], strict=True)
        if system in FLAG_SYSTEMS and code.strip() in _SENDER_SIDE
    ]
    if not known:
        return None
    sender = [code for code, _ in known]
    side = _COMPUTED_SIDE[computed]
    same_side = [code for code in sender if _SENDER_SIDE[code] in (side, "abnormal")]
    if side == "normal":
        same_side = [code for code in sender if _SENDER_SIDE[code] == "normal"]
    # a flag repeated thousands of times: its start
    shown = shortened(separator.join([sent for _, sent in known]))
    said = (
        f"the sender flagged {shown}"
        if separator == "~"
        else f"the sender's interpretation is {shown}"
    )
    if not same_side:
        return _issue(
            Severity.WARNING,
            "sender-disagrees",
            "",
            f"{said}; leukoflag computed {computed}",
        )
    if len(same_side) < len(sender):  # N~L, H~L: one flag agreeing does not make the rest agree
        others = [sent for code, sent in known if code not in same_side]
        verb = "disagrees" if len(others) == 1 else "disagree"
        sides = {_SENDER_SIDE[code] for code in sender}
        # A agrees with any low or high flag: only N beside another, or L beside H, contradict
        contradict = ("low" in sides and "high" in sides) or ("normal" in sides and len(sides) > 1)
        return _issue(
            Severity.WARNING,
            "sender-disagrees",
            "",
            f"{said}{', flags that contradict each other' if contradict else ''}; leukoflag "
            f"computed {computed}, which the sender's {shortened(separator.join(others))} {verb} "
            "with",
        )
    levels = {_LEVEL[code] for code in same_side if code in _LEVEL}
    if levels and _LEVEL.get(computed, 0) not in levels:
        return _issue(
            Severity.INFORMATION,
            "sender-disagrees",
            "",
            f"{said}; leukoflag computed {computed} (same side, other level)",
        )
    return None


def _finding(
    location: str,
    analyte: Analyte,
    bounds: tuple[Point, Point],
    judged: _Judged,
    *,
    sender_flags: tuple[str, ...],
    settings: Settings,
    derived: bool = False,
) -> Finding:
    verdict = judged.verdict
    assert verdict is not None
    value, comparator = _shown_value(bounds)
    scale = judged.criteria.ctcae if judged.criteria is not None else None
    graded = verdict.grade is not None and scale is not None
    source, threshold = verdict.source, verdict.threshold
    if verdict.code == "LL" and threshold is not None and threshold != _DEFAULT_CRITICAL[analyte]:
        source = _critical_source(analyte, _fmt(threshold))
    # Positional, in Finding's field order: 16 keyword arguments cost three times as much.
    return _new_finding(
        location,
        analyte,
        value,
        verdict.code,
        verdict.rule,
        verdict.threshold,
        source,
        judged.range,
        comparator,
        verdict.finding,
        verdict.severity,
        verdict.grade,
        settings.ctcae_version if graded else "",
        scale.term if graded and scale is not None else None,
        derived,
        sender_flags,
    )


_DEFAULT_CRITICAL = Settings().critical_low


# Keyed by the limit as shown (Settings keeps equal limits in one form: 750.5, never 750.50).
@functools.lru_cache(maxsize=64)
def _critical_source(analyte: Analyte, limit: str) -> str:
    """The source of an LL threshold the lab set (Settings.critical_low, as :func:`_fmt` shows
    it): the rules file's citation of the default names the default's numbers, not this one."""
    return (
        f"the lab's critical-value policy: Settings.critical_low {analyte.value.upper()} < "
        f"{limit}/µL (leukoflag's default is {_fmt(_DEFAULT_CRITICAL[analyte])}/µL, from "
        "typical hospital laboratory critical-value lists)"
    )


def _shown_value(bounds: tuple[Point, Point]) -> tuple[Decimal, str]:
    """The value a Finding reports: the number, or the bound that decided it."""
    low, high = bounds
    if low == high:
        return low[0], ""
    if high[0] == INFINITY:
        return low[0], ">" if low[1] > 0 else ">="
    return high[0], "<" if high[1] < 0 else "<="


# --------------------------------------------------------------------------- times


def _result_time(result: LabResult, state: _OrderState) -> Timestamp | None:
    return drawn(
        result.effective,
        lambda: _candidate_specimens(result, state),
        state.order.effective,
        result.analysis_time,
    )


def drawn(
    effective: Timestamp | None,
    specimens: Callable[[], Iterable[Specimen]],
    order_time: Timestamp | None,
    analysed: Timestamp | None,
) -> Timestamp | None:
    """OBX-14, else the first collection of ``specimens`` (the result's own, else its order's),
    else OBR-7, else OBX-19: the age is the patient's when the blood was drawn (what
    ``effective`` says), not when the lab analysed it, which may be a day or more later (a
    neonate drawn on day 6 and analysed on day 7 is judged at day 6). Also the FHIR reader's,
    which chooses a range restricted by ``age`` by the day the rules judge age on."""
    if effective is not None:
        return effective
    for specimen in specimens():
        if specimen.collected is not None:
            return specimen.collected
    if order_time is not None:
        return order_time
    return analysed


def _before_birth(result: LabResult, state: _OrderState) -> str:
    """Why ``result`` was taken before the patient's birth time (born 10:00, drawn 07:00 the same
    day), which its date alone does not show; else ""."""
    born = state.context.birth_time
    if born is None:
        return ""
    return born_after(born, _result_time(result, state) or result.issued)


def born_after(born: dt.datetime, stamp: Timestamp | None) -> str:
    """Why a result of time ``stamp`` was taken before the birth time ``born``, else "" (also
    the FHIR reader's, which chooses a range restricted by ``age`` as the rules judge age)."""
    if stamp is None or "T" not in stamp.fhir:
        return ""
    at = moment(stamp.fhir)
    if at is None or at.tzinfo is None or at >= born:
        return ""
    return f"the birth time {born.isoformat()} is after the result time {stamp.fhir}"


def _result_day(result: LabResult, state: _OrderState) -> dt.date | None:
    # FHIR's issued dates a result with no other time, as MSH-7 does (the fallback day)
    return _stamp_day(_result_time(result, state) or result.issued, state, result.issued)


def _stamp_day(
    stamp: Timestamp | None, state: _OrderState, issued: Timestamp | None = None
) -> dt.date | None:
    """The day of a result's time for the patient's age: in the offset of the birth time when
    PID-7 gave one (a neonate born 01:30-05:00 is 6 days old at 03:00Z seven days later); of a
    time sent in UTC and a birth date without time (a local date), in the zone of the message's
    local times (see _local_zone), when it is known; else the date as written. ``issued``: when
    the result was issued (see _period)."""
    if stamp is None:
        return state.fallback_day
    if len(stamp.fhir) < _FULL_DATE:  # a month or year: its last day (its days: _period_days)
        return _period(stamp, state, issued)[1]
    context = state.context
    zone = context.birth_zone
    if (
        zone is None
        and stamp.fhir.endswith(_UTC)
        and context.birth_date is not None
        and not context.age_sent  # a birth span counted from the age's own time
    ):
        zone = _local_zone(context, state.settings)
    return stamp.day if zone is None else age_day(stamp, zone)


# The endings of a FHIR time in UTC ("-00:00": in UTC, the local offset not known, RFC 3339)
_UTC = ("Z", "+00:00", "-00:00")
# The widest offsets a local time may have (UTC-12:00 to UTC+14:00, as FHIR's dateTime allows)
_WEST = dt.timedelta(hours=-12)
_EAST = dt.timedelta(hours=14)


def _local_zone(context: PatientContext, settings: Settings) -> dt.tzinfo | None:
    """The zone of the message's local times, which a birth date without time is a date of."""
    sent = context.message_time
    return _zone_of(sent.fhir if sent is not None else "", settings.default_timezone)


@functools.lru_cache(maxsize=256)
def _zone_of(sent: str, default: str | None) -> dt.tzinfo | None:
    """The zone of a message sent at ``sent`` (MSH-7, a message Bundle's timestamp): its offset,
    unless UTC (a system's clock, not the place's), or the ``default`` zone when it has that
    offset then (its daylight-saving changes counted: a draw before the change is of the offset
    in force at the draw); else the ``default`` zone (Settings.default_timezone); else None."""
    zone = zoneinfo.ZoneInfo(default) if default is not None else None
    at = moment(sent) if "T" in sent and not sent.endswith(_UTC) else None
    if at is None or at.tzinfo is None:
        return zone
    try:
        if zone is not None and at.astimezone(zone).utcoffset() == at.utcoffset():
            return zone
    except OverflowError:  # past year 9999 in the default zone: the offset as sent
        pass
    return at.tzinfo


def _result_days(
    stamp: Timestamp | None, state: _OrderState, issued: Timestamp | None = None
) -> _LocalDays | None:
    """The dates a result time may be, when it is not one known date (see _LocalDays): of a
    time sent as a month or year (``issued``: see _period), or in UTC when the zone of the
    birth date is not known."""
    if stamp is None:
        return None
    if len(stamp.fhir) < _FULL_DATE:
        return _period_days(stamp, state, issued)
    return _zone_days(stamp, state) if stamp.fhir.endswith(_UTC) else None


# A FHIR date with its day ("2026-11-24"); a shorter one is a month or a year
_FULL_DATE = 10


def _period(
    stamp: Timestamp, state: _OrderState, issued: Timestamp | None
) -> tuple[dt.date, dt.date]:
    """The first and last day a result time sent as a month or year (OBX-14 '202611', an
    effectiveDateTime '2026') may be: not after the message's day (MSH-7), nor the day the
    result was issued (FHIR ``issued``) or its order's results reported (OBR-22), on or before
    each of which the blood was drawn, when that day is within it."""
    first, last = birth_span(stamp)
    reported = state.order.issued
    for bound in (
        state.fallback_day,
        issued.day if issued is not None else None,
        reported.day if reported is not None else None,
    ):
        if bound is not None and first <= bound < last:
            last = bound
    return first, last


def _period_days(
    stamp: Timestamp, state: _OrderState, issued: Timestamp | None
) -> _LocalDays | None:
    """Of a result time sent as a month or year, the days it may be when the patient may be
    near an age edge of the rules then (a birth date known, not from an age sent); else None."""
    context = state.context
    birth = context.birth_date
    if birth is None or context.age_sent:
        return None
    first, last = _period(stamp, state, issued)
    # a patient past every edge from the first day on (most adults): one age step
    if (first - (context.birth_date_latest or birth)).days > state.rules.past_every_edge:
        return None
    return _LocalDays(first, last, stamp.fhir, sent_as_period=True)


def _zone_days(stamp: Timestamp | None, state: _OrderState) -> _LocalDays | None:
    """Of a result time sent in UTC, when the zone of the patient's birth date (a date without
    time) is not known: the first and last local date it may be (from UTC-12:00 to UTC+14:00),
    when the patient may be near an age edge of the rules then; else None."""
    context = state.context
    birth = context.birth_date
    if (
        stamp is None
        or birth is None
        or context.birth_zone is not None
        or context.age_sent
        or not stamp.fhir.endswith(_UTC)
        # a day either way leaves the patient past every edge (most adults): no zone work
        or (stamp.day - (context.birth_date_latest or birth)).days > state.rules.past_every_edge
        or _local_zone(context, state.settings) is not None
    ):
        return None
    at = moment(stamp.fhir)
    if at is None:
        return None
    try:
        return _LocalDays((at + _WEST).date(), (at + _EAST).date(), stamp.fhir)
    except OverflowError:  # at the ends of the calendar: as written
        return None


def age_day(stamp: Timestamp, zone: dt.tzinfo) -> dt.date:
    """The day of ``stamp`` in the birth time's offset ``zone``, as a patient's age counts it
    (also the FHIR reader's, which chooses a range restricted by ``age`` by that day)."""
    if "T" in stamp.fhir:
        at = moment(stamp.fhir)
        if at is not None and at.tzinfo is not None:
            try:
                return at.astimezone(zone).date()
            except OverflowError:  # past year 9999 or before year 1 in that offset: as written
                pass
    return stamp.day


def moment(fhir_time: str) -> dt.datetime | None:
    """A FHIR dateTime with a time of day as a datetime, a leap second (``:60``, valid in FHIR,
    unknown to datetime) as the second before it; None when it cannot be read."""
    try:
        return dt.datetime.fromisoformat(fhir_time)
    except ValueError:
        if fhir_time[16:19] != ":60":
            return None
    try:
        return dt.datetime.fromisoformat(f"{fhir_time[:17]}59{fhir_time[19:]}")
    except ValueError:
        return None


def birth_span(stamp: Timestamp) -> tuple[dt.date, dt.date]:
    """The first and last possible birth day of a birth date sent as year, month or day."""
    if _BIRTH_DAY.match(stamp.fhir):  # the usual full date: no groups to take apart
        return stamp.day, stamp.day
    match = _BIRTH.match(stamp.fhir)
    if match is None or match.group(3):
        return stamp.day, stamp.day
    year = int(match.group(1))
    if match.group(2) is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(match.group(2))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, 1), following - dt.timedelta(days=1)


# --------------------------------------------------------------------------- corrections


def _set_aside_superseded(
    state: _OrderState,
    evaluations: list[Evaluation],
    across: Mapping[str, tuple[LabResult, ...]],
) -> None:
    """A final or preliminary result replaced by a corrected or amended result of the same code,
    OBX-4 sub-ID, specimen and time, or a preliminary one beside the final one, is not judged and
    not used for a derived ANC: the findings and the report's conclusion describe the results as
    they now stand. So is one that ``across`` names (replaced in another OBR of the order); a
    correction it names is one of several sent under several OBRs (as two in one OBR)."""
    results = state.order.results
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, result in enumerate(results):
        if _scope.recognize(result.code) is not None:
            groups.setdefault(_replacement_key(result, state), []).append(index)
    superseded: set[str] = set()
    for group in groups.values():
        members = group
        if state.deleted:  # OBX-11 D or W after a result deletes it (before: it is replaced)
            members = _withdraw_earlier(group, results, evaluations, superseded)
        replacers, replaced = _replacement(results[i].status for i in members)
        replacing = [
            i for i in members if results[i].status in replacers and _has_value(results[i])
        ]
        if not replacing:
            continue
        by = [results[i] for i in replacing]
        if replaced is _REPLACED and len(by) > 1:  # several corrections of one result
            corrections = [r.location for r in by]
            for result in by:
                state.ambiguous[result.location] = corrections
            for index in replacing[1:]:  # none is picked
                if evaluations[index].analyte is not None:
                    evaluations[index] = _ambiguous(evaluations[index], results[index], by)
        for index in members:
            result = results[index]
            if result.status not in replaced:
                continue
            superseded.add(result.location)
            if evaluations[index].analyte is not None:  # a count: its verdict is set aside
                evaluations[index] = _superseded(evaluations[index], result, by)
    if across:
        for index, result in enumerate(results):
            elsewhere = across.get(result.location)
            if elsewhere is None or result.location in superseded:
                continue
            if elsewhere[0].status is _CANCELLED:  # only put in doubt (_say_cancelled_after)
                continue
            if elsewhere[0].status is _DELETED:  # withdrawn under another OBR of the order
                superseded.add(result.location)
                if evaluations[index].analyte is not None:
                    evaluations[index] = _withdrawn(evaluations[index], result, list(elsewhere))
                continue
            if result.status in _REPLACING:  # one of corrections sent under several OBRs
                state.ambiguous[result.location] = [r.location for r in elsewhere]
                evaluation = evaluations[index]
                if (
                    elsewhere[0] is not result
                    and evaluation.analyte is not None
                    and "flag.correction-ambiguous" not in [i.code for i in evaluation.issues]
                ):
                    evaluations[index] = _ambiguous(evaluation, result, list(elsewhere))
                continue
            superseded.add(result.location)
            if evaluations[index].analyte is not None:
                evaluations[index] = _superseded(evaluations[index], result, list(elsewhere))
    if superseded:
        state.candidates = [c for c in state.candidates if c[0].location not in superseded]


def _has_value(result: LabResult) -> bool:
    """Whether ``result`` holds its value: not an HL7 v2 status change to final whose value was
    sent before (OBX-11 U with an empty OBX-5, ``NoValue("sent-before")``), which stands in for a
    preliminary result of an earlier message and so replaces none of this one (one of this
    message the reader made final already); a FHIR final Observation without value or
    data-absent reason, as leukoflag writes such a U, is read so too."""
    value = result.value
    return type(value) is not NoValue or value.reason != "sent-before"


def _replacement(
    statuses: Iterator[ResultStatus],
) -> tuple[frozenset[ResultStatus], frozenset[ResultStatus]]:
    """Of the results of one code, sub-ID, specimen and time, the statuses that replace and those
    replaced: a correction replaces final and preliminary ones; without one, a final its
    preliminary one."""
    if any(status in _REPLACING for status in statuses):
        return _REPLACING, _REPLACED
    return _FINAL, _PRELIMINARY


def replaced_across_orders(
    orders: Sequence[Order], context: PatientContext, settings: Settings
) -> dict[str, tuple[LabResult, ...]]:
    """The counts that a result of another OBR of the same order replaces, by location, with
    the results replacing them: some labs send an order's preliminary and final results under
    two OBRs of one message. Orders are the same only when their filler order numbers (sent),
    placer order numbers, codes and specimens all are; results as within one order (code, OBX-4
    sub-ID, specimen and time). A correction is named when it is one of several corrections of
    one result sent under several OBRs, with all of them (which one stands is not known), and a
    judged one with the cancelled results sent after it under another OBR (put in doubt). Empty
    for the usual message of one order per filler number."""
    if len(orders) < 2:
        return {}
    found: dict[str, tuple[LabResult, ...]] = {}
    for repeated in _orders_sent_again(orders):
        for members in _results_across(repeated, context, settings):
            replacers, replaced = _replacement(r.status for r in members)
            replacing = [r for r in members if r.status in replacers and _has_value(r)]
            for result in members:
                if result.status in replaced:
                    by = tuple(r for r in replacing if r.order != result.order)
                    if by:
                        found[result.location] = by
            if replaced is _REPLACED and len({r.order for r in replacing}) > 1:
                for result in replacing:
                    found[result.location] = tuple(replacing)
            if any(r.status is _DELETED for r in members):  # rare: D or W under another OBR
                _withdrawn_across(members, found)
            if any(r.status is _CANCELLED for r in members):  # rare: X under another OBR
                _cancelled_across(members, found)
    return found


def _orders_sent_again(orders: Sequence[Order]) -> list[list[Order]]:
    """The orders sent more than once under OBRs of one message: same filler order number
    (sent), placer order number, code and specimens; each list in message order."""
    same: dict[tuple[object, ...], list[Order]] = {}
    for order in orders:
        if order.filler_id is not None and order.filler_id.value and order.results:
            specimens = tuple(specimen_key(s) for s in order.specimens)
            same.setdefault(
                (order.filler_id, order.placer_id, code_key(order.code), specimens), []
            ).append(order)
    return [repeated for repeated in same.values() if len(repeated) > 1]


def _results_across(
    repeated: list[Order], context: PatientContext, settings: Settings
) -> Iterable[list[LabResult]]:
    """The counts and parts of an order sent again, grouped as one result (code, OBX-4 sub-ID,
    specimen and time, as within one order), each group in message order."""
    groups: dict[tuple[object, ...], list[LabResult]] = {}
    for order in repeated:
        state = _OrderState(order, context, settings, None)
        for result in order.results:
            if _scope.recognize(result.code) is not None:
                code, sub_id, _, time = _replacement_key(result, state)
                own = _candidate_specimens(result, state)[:1] if result.specimen else ()
                # the SPM's identity, not its location: each OBR sent again has its own SPM
                specimen = specimen_key(own[0]) if own else ()
                groups.setdefault((code, sub_id, specimen, time), []).append(result)
    return groups.values()


def duplicated_across_orders(
    orders: Sequence[Order],
    context: PatientContext,
    settings: Settings,
    evaluations: Mapping[str, Evaluation],
) -> dict[str, Evaluation]:
    """The evaluations, by location, that gain flag.result-duplicate because a final result (or,
    with no final one, a preliminary one) of another OBR of the same order sent again
    (:func:`replaced_across_orders`) is the same result with another count, none replacing
    another: as within one order, which one stands is not known and each stays judged.
    ``evaluations`` are those of every order of ``orders``. Empty for the usual message."""
    if len(orders) < 2:
        return {}
    said: dict[str, Evaluation] = {}
    for repeated in _orders_sent_again(orders):
        for members in _results_across(repeated, context, settings):
            if len({r.order for r in members}) < 2:
                continue
            statuses = {r.status for r in members if _has_value(r)}
            if statuses & _REPLACING:  # corrections: flag.correction-ambiguous
                continue
            status = ResultStatus.FINAL if ResultStatus.FINAL in statuses else _PRELIMINARY_ONE
            same = [
                (r, e)
                for r in members
                if r.status is status
                and (e := evaluations.get(r.location)) is not None
                and e.quantity is not None
                and not _set_aside_already(e)
            ]
            orders_seen: dict[str, None] = {}  # in message order
            counts: set[NormalizedQuantity | None] = set()  # of the results before: linear
            for index, (result, evaluation) in enumerate(same):
                seen, alike = result.order in orders_seen, counts <= {evaluation.quantity}
                if seen or alike:  # said in its own order, or the count sent again alike
                    orders_seen[result.order] = None
                    counts.add(evaluation.quantity)
                    continue
                # the first ten before it named, and how many more: n results, not n² names
                others = _named(
                    [f"{r.location} ({_count_shown(e)})" for r, e in same[: _LISTED + 1][:index]],
                    index,
                )
                named_orders = _named(list(islice(orders_seen, _LISTED + 1)), len(orders_seen))
                orders_seen[result.order] = None
                counts.add(evaluation.quantity)
                issue = _issue(
                    Severity.WARNING,
                    "result-duplicate",
                    _value_at(result, "value"),
                    f"this {status.value} result ({_count_shown(evaluation)}) and {others}"
                    f"{_sent_again(result, named_orders)} are {status.value} results of the "
                    f"{_same_result(result.location)} with different counts, and none replaces "
                    "another: which one stands is not known; each is judged, so a low one puts "
                    "its finding in the report's conclusion",
                )
                said[result.location] = replace(evaluation, issues=(*evaluation.issues, issue))
    return said


def _withdrawn_across(members: list[LabResult], found: dict[str, tuple[LabResult, ...]]) -> None:
    """Names each judged result of one result's members that an entered-in-error one sent after
    it under another OBR of the order withdraws (OBX-11 D or W, as within one OBR)."""
    for index, result in enumerate(members):
        if result.status in FLAGGABLE:
            later = members[index + 1 :]
            by = tuple(r for r in later if r.status is _DELETED and r.order != result.order)
            if by:
                found[result.location] = by


def _cancelled_across(members: list[LabResult], found: dict[str, tuple[LabResult, ...]]) -> None:
    """Names each judged result of one result's members, not replaced or withdrawn, that a
    cancelled one sent after it under another OBR of the order follows (OBX-11 X, as within one
    OBR): it stays judged, with flag.result-cancelled-after."""
    for index, result in enumerate(members):
        if result.status in FLAGGABLE and result.location not in found:
            later = members[index + 1 :]
            by = tuple(r for r in later if r.status is _CANCELLED and r.order != result.order)
            if by:
                found[result.location] = by


def _replacement_key(result: LabResult, state: _OrderState) -> tuple[object, ...]:
    """What a correction shares with the result it replaces: its time is the draw's (OBX-14,
    else the collection, else OBR-7), never OBX-19, when the analyser ran: a rerun that
    corrects a count, or a deletion sent without OBX-19, is of the same draw."""
    stamp = drawn(
        result.effective, lambda: _candidate_specimens(result, state), state.order.effective, None
    )
    time = utc_instant(stamp.fhir) if stamp is not None else _timeless(result, state)
    return _result_code_key(result.code), result.sub_id, result.specimen, time


def _result_code_key(concept: Concept) -> tuple[tuple[str, str], ...] | str:
    """The code a correction or deletion shares with the result it replaces: a local code is
    the lab's own, its LOINC coding beside it left out, as leukoflag adds one to the local code
    of a count it normalized (not to an entered-in-error one): read back, a FHIR ``WCC`` with
    LOINC 26464-8 and a deleted ``WCC`` without are one result, as the two OBX were. Only a
    LOINC coding that says the count the local code says is left out: a local code a lab sends
    beside each LOINC of its counts (``HEMCNT`` with 6690-2 and with 751-8) is no one count."""
    codings = concept.codings
    if len(codings) > 1:  # rare: a code of one coding is its own key
        local = tuple([c for c in codings if c.code and c.system != _scope.LOINC])
        if local and _same_count(_scope.recognize(concept), Concept(local, concept.text)):
            return tuple([(c.system, c.code) for c in local])
    return code_key(concept)


def _same_count(recognition: _scope.Recognition | None, local: Concept) -> bool:
    """Whether ``local`` (a code's local codings) alone is the count ``recognition`` (of the code
    with its LOINC coding) is, as leukoflag recognized it when it added that LOINC coding."""
    if recognition is None or not recognition.is_count:
        return False
    alone = _scope.recognize(local)
    return alone is not None and alone.is_count and alone.analyte is recognition.analyte


def _timeless(result: LabResult, state: _OrderState) -> str:
    """The time key of a result with no time: ``""``, one for all of its order, as a report ties
    them; but a search's results (no report) of no specimen are each their own draw."""
    if result.specimen or not state.order.gathered:
        return ""
    return result.location.partition(".component[")[0]  # the components of one are one draw


def _from_hl7v2(location: str) -> bool:
    """Whether a location is in an HL7 v2 message (``MSG[1]/…``), not a FHIR item
    (``ITEM[1]/…``): Issue texts name fields in the input's own terms."""
    return location.startswith("MSG[")


def _same_result(location: str) -> str:
    """What a correction shares with the result it replaces, in the input's terms: FHIR has no
    OBX-4 sub-ID."""
    if _from_hl7v2(location):
        return "same code, OBX-4 sub-ID, specimen and time"
    return "same code, specimen and time"


def _superseded(evaluation: Evaluation, result: LabResult, by: list[LabResult]) -> Evaluation:
    replacements = ", ".join(f"{r.location} ({r.status.value})" for r in by)
    return _set_aside(
        evaluation,
        result,
        f"not flagged: this {result.status.value} result is replaced by {replacements}"
        f"{_other_orders(result, by)} of the "
        f"{_same_result(result.location)}; its value is kept without a computed code, and "
        "neither the report's conclusion nor a derived ANC use it",
    )


def _other_orders(result: LabResult, by: list[LabResult]) -> str:
    """Names the OBRs (DiagnosticReports) of ``by`` other than ``result``'s, when
    replaced_across_orders found them: ``''`` for results of ``result``'s own order."""
    if all(r.order == result.order for r in by):
        return ""
    return _sent_again(result, _listed(sorted({r.order for r in by})))


def _sent_again(result: LabResult, orders: str) -> str:
    """`` of MSG[1]/OBR[1], the same order sent again (…),``: ``orders`` named."""
    numbers = "order numbers" if _from_hl7v2(result.location) else "identifiers"
    return (
        f" of {orders}, the same order sent again (same filler and placer {numbers}, code and "
        "specimens),"
    )


def _set_aside(evaluation: Evaluation, result: LabResult, text: str) -> Evaluation:
    """``evaluation`` without its verdict, with flag.result-superseded saying ``text``: a
    replaced or withdrawn result keeps its normalized value only."""
    issue = _issue(Severity.INFORMATION, "result-superseded", _at(result.location, "status"), text)
    kept = [i for i in evaluation.issues if i.code not in _VERDICT_CODES]
    return _new_evaluation(
        evaluation.location,
        evaluation.analyte,
        evaluation.loinc,
        evaluation.quantity,
        evaluation.reference_range,
        issues=(*kept, issue),
    )


def _withdraw_earlier(
    members: list[int],
    results: Sequence[LabResult],
    evaluations: list[Evaluation],
    superseded: set[str],
) -> list[int]:
    """Of one result's members, sets aside each judged one that an entered-in-error one sent
    after it withdraws (table 0085: D deletes it, W posts it as wrong); the others remain."""
    last = max((i for i in members if results[i].status is _DELETED), default=-1)
    remaining = []
    for index in members:
        result = results[index]
        if index > last or result.status not in FLAGGABLE:
            remaining.append(index)
            continue
        superseded.add(result.location)
        if evaluations[index].analyte is not None:
            later = [results[i] for i in members if i > index and results[i].status is _DELETED]
            evaluations[index] = _withdrawn(evaluations[index], result, later)
    return remaining


def _withdrawn(evaluation: Evaluation, result: LabResult, by: list[LabResult]) -> Evaluation:
    """Sets aside the verdict of a result that an entered-in-error result of the same code,
    sub-ID, specimen and time withdraws (OBX-11 D deletes it, W posts it as wrong)."""
    v2 = _from_hl7v2(result.location)
    withdrawing = ", ".join(
        f"{r.location} (entered-in-error"
        + (f", OBX-11 {quoted(r.status_text)})" if v2 and r.status_text else ")")
        for r in by
    )
    return _set_aside(
        evaluation,
        result,
        f"not flagged: this {result.status.value} result is withdrawn by {withdrawing}"
        f"{_other_orders(result, by)} of the "
        f"{_same_result(result.location)}, which says the result is deleted or wrong; its value "
        "is kept without a computed code, and neither the report's conclusion nor a derived ANC "
        "use it",
    )


def _ambiguous(evaluation: Evaluation, result: LabResult, by: list[LabResult]) -> Evaluation:
    """Adds flag.correction-ambiguous to a later one of several corrections of one result: none
    is set aside (a low one reaches the report's conclusion), as which stands is not known."""
    others = ", ".join(f"{r.location} ({r.status.value})" for r in by if r is not result)
    issue = _issue(
        Severity.WARNING,
        "correction-ambiguous",
        _at(result.location, "status"),
        f"this {result.status.value} result and {others} of the {_same_result(result.location)} "
        "each replace the same result: which one stands is not known; none is set aside, so a "
        "low one puts its finding in the report's conclusion",
    )
    return replace(evaluation, issues=(*evaluation.issues, issue))


def _cancelled_after(
    state: _OrderState, across: Mapping[str, tuple[LabResult, ...]]
) -> dict[str, tuple[LabResult, list[LabResult]]]:
    """The cancelled results (OBX-11 X: results cannot be obtained) that follow each result of
    the order of the same code, OBX-4 sub-ID, specimen and time, with the result, by its
    location: in its OBR,
    or under another OBR of the same order (``across``, from replaced_across_orders)."""
    results = state.order.results
    cancelled: dict[tuple[object, ...], list[int]] = {}
    for index, result in enumerate(results):
        if result.status is _CANCELLED and _scope.recognize(result.code) is not None:
            cancelled.setdefault(_replacement_key(result, state), []).append(index)
    found: dict[str, tuple[LabResult, list[LabResult]]] = {}
    if cancelled:
        for index, result in enumerate(results):
            later = [i for i in cancelled.get(_replacement_key(result, state), ()) if i > index]
            if later:  # a cancelled result before it says nothing: it was obtained after all
                found[result.location] = (result, [results[i] for i in later])
    for result in results if across else ():
        elsewhere = across.get(result.location)
        if elsewhere and elsewhere[0].status is _CANCELLED:
            found.setdefault(result.location, (result, []))[1].extend(elsewhere)
    return found


def _cancelled_named(result: LabResult, by: list[LabResult]) -> str:
    """The cancelled results ``by`` that follow ``result``, with their OBX-11 and other OBRs."""
    v2 = _from_hl7v2(result.location)
    named = ", ".join(
        r.location + (f" (OBX-11 {quoted(r.status_text)})" if v2 and r.status_text else "")
        for r in by
    )
    # OBX-11 N (data-absent-reason not-asked) says the result was not sought; X, not obtained
    why = (
        "not asked: the result was not sought"
        if all(r.data_absent_reason == "not-asked" for r in by)
        else "results cannot be obtained"
    )
    return f"{named}, cancelled ({why}),{_other_orders(result, by)}"


def _say_cancelled_after(
    state: _OrderState,
    evaluations: list[Evaluation],
    across: Mapping[str, tuple[LabResult, ...]],
) -> dict[str, tuple[LabResult, list[LabResult]]]:
    """Adds flag.result-cancelled-after to a judged result followed by a cancelled one of the
    same code, OBX-4 sub-ID, specimen and time (OBX-11 X: results cannot be obtained): whether
    the lab withdrew the value is not known, so it stays judged (a low count hidden is the
    worse error), but its finding is seen to be in doubt. Returns what _cancelled_after found."""
    found = _cancelled_after(state, across)
    if not found:
        return found
    for index, result in enumerate(state.order.results):
        evaluation = evaluations[index]
        if evaluation.finding is None or result.location not in found:
            continue
        later = found[result.location][1]
        issue = _issue(
            Severity.WARNING,
            "result-cancelled-after",
            _at(result.location, "status"),
            f"this {result.status.value} result is followed by {_cancelled_named(result, later)} "
            f"of the {_same_result(result.location)}: whether the lab "
            "withdrew it is not known; it is judged as sent, so a low one puts its finding in "
            "the report's conclusion",
        )
        evaluations[index] = replace(evaluation, issues=(*evaluation.issues, issue))
    return found


def _sources_in_doubt(
    derived: list[Evaluation], cancelled: dict[str, tuple[LabResult, list[LabResult]]]
) -> list[Evaluation]:
    """Adds flag.result-cancelled-after to a judged derived ANC of a source (WBC, percent or
    part) followed by a cancelled result: the ANC is in doubt as its source is, and judged as
    it is."""
    marked = []
    for evaluation in derived:
        sources = [s for s in evaluation.derived_from if s in cancelled]
        if evaluation.finding is not None and sources:
            said = "; ".join(
                f"{source} is followed by {_cancelled_named(*cancelled[source])} of the "
                f"{_same_result(source)}"
                for source in sources
            )
            issue = _issue(
                Severity.WARNING,
                "result-cancelled-after",
                evaluation.location,
                f"this ANC is derived from a result that may be withdrawn: {said}; whether the "
                f"lab withdrew {'them' if len(sources) > 1 else 'it'} is not known, so the ANC is "
                "judged as derived, and a low one puts its finding in the report's conclusion",
            )
            marked.append(replace(evaluation, issues=(*evaluation.issues, issue)))
        else:
            marked.append(evaluation)
    return marked


def _say_duplicates(state: _OrderState, evaluations: list[Evaluation]) -> None:
    """Adds flag.result-duplicate to the second and later of several final results (without a
    final one, preliminary results) of one result (same code, OBX-4 sub-ID, specimen and time)
    whose counts differ: none replaces another, so which one stands is not known; each is
    judged, as a low one hidden is the worse error (as for flag.correction-ambiguous)."""
    results = state.order.results
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, result in enumerate(results):
        evaluation = evaluations[index]
        # a count normalized, so judged, unless withdrawn by an entered-in-error one before it
        if evaluation.quantity is not None and not _set_aside_already(evaluation):
            groups.setdefault(_replacement_key(result, state), []).append(index)
    for members in groups.values():
        statuses = {results[i].status for i in members}
        if len(members) < 2 or statuses & _REPLACING:  # corrections: flag.correction-ambiguous
            continue
        status = ResultStatus.FINAL if ResultStatus.FINAL in statuses else ResultStatus.PRELIMINARY
        same = [i for i in members if results[i].status is status]
        counts = {evaluations[i].quantity for i in same}
        if len(same) < 2 or len(counts) < 2:  # one result sent twice alike: nothing in doubt
            continue
        for index in same[1:]:
            result = results[index]
            # the first ten others named, and how many more: n results, not n² names
            others = _named(
                [
                    f"{results[i].location} ({_count_shown(evaluations[i])})"
                    for i in islice((i for i in same if i != index), _LISTED + 1)
                ],
                len(same) - 1,
            )
            issue = _issue(
                Severity.WARNING,
                "result-duplicate",
                _value_at(result, "value"),
                f"this {status.value} result ({_count_shown(evaluations[index])}) and {others} "
                f"are {status.value} results of the {_same_result(result.location)} with "
                "different counts, and none replaces another: which one stands is not known; "
                "each is judged, so a low one puts its finding in the report's conclusion",
            )
            evaluations[index] = replace(
                evaluations[index], issues=(*evaluations[index].issues, issue)
            )


def _set_aside_already(evaluation: Evaluation) -> bool:
    """Whether _set_aside_superseded set ``evaluation`` aside (flag.result-superseded)."""
    return any(issue.code == "flag.result-superseded" for issue in evaluation.issues)


def _count_shown(evaluation: Evaluation) -> str:
    quantity = evaluation.quantity
    assert quantity is not None  # only normalized counts are compared
    return f"{quantity.comparator}{_fmt(quantity.value)} cells/µL"


_DELETED = ResultStatus.ENTERED_IN_ERROR  # OBX-11 D, W: withdraws what it was sent with
_CANCELLED = ResultStatus.CANCELLED  # OBX-11 X: puts in doubt what it was sent after
_REPLACED = frozenset({ResultStatus.FINAL, ResultStatus.PRELIMINARY})
_PRELIMINARY = frozenset({ResultStatus.PRELIMINARY})  # what a final result replaces
_PRELIMINARY_ONE = ResultStatus.PRELIMINARY
_FINAL = frozenset({ResultStatus.FINAL})  # what replaces a preliminary result
# Issues about a computed code, which a result set aside no longer has.
_VERDICT_CODES = frozenset({"flag.sender-disagrees", "flag.bound-interpreted"})


# --------------------------------------------------------------------------- derived ANC


def _derived_ancs(state: _OrderState) -> list[Evaluation]:
    groups: dict[tuple[str, str], dict[str, list[_Part]]] = {}
    for part in _parts(state):
        groups.setdefault((part.specimen, part.time), {}).setdefault(part.kind, []).append(part)
    # two WBCs of one analyte came: a corrected one not used keeps the uncorrected from deriving
    uncorrected_only = _corrected_unused(state, groups) if state.repeated else set()
    evaluations: list[Evaluation] = []
    for key, group in groups.items():
        made = _derive(group)
        if made is None or (key in uncorrected_only and made[1][0].kind == "count"):
            continue
        value, sources, how = made
        number = len(evaluations) + 1
        suffix = "derived" if number == 1 else f"derived-{number}"
        location = f"{state.order.location}/ANC[{suffix}]"
        evaluations.append(_derived_evaluation(location, value, sources, how, state))
    return evaluations


def _parts(state: _OrderState) -> Iterator[_Part]:
    """The candidates that may enter a derived ANC, in result order."""
    ambiguous = state.ambiguous
    for result, recognition, per_ul in state.candidates:
        if ambiguous and result.location in ambiguous:
            continue  # one of several corrections of one result: told only when none is derived
        kind = "count" if per_ul is not None else recognition.kind
        value = per_ul if per_ul is not None else _part_value(result, recognition, state)
        if isinstance(value, str):  # why it is not used: told only when no ANC is derived
            continue
        yield _part(kind, result, value, state)


def _part(kind: str, result: LabResult, value: Decimal, state: _OrderState) -> _Part:
    """``result`` as a part of a derived ANC, with its time and the day the patient's age is of."""
    stamp = _result_time(result, state)
    return _Part(
        kind,
        result,
        result.location,
        value,
        result.specimen,
        utc_instant(stamp.fhir) if stamp is not None else _timeless(result, state),
        _stamp_day(stamp or result.issued, state, result.issued),
        _result_days(stamp or result.issued, state, result.issued),
    )


def _part_value(
    result: LabResult,
    recognition: _scope.Recognition,
    state: _OrderState,
    *,
    withdrawn: bool = False,
) -> Decimal | str:
    """A neutrophil percent (in percent) or ANC part (in cells/µL) that may enter a derived
    ANC, or why it may not (for flag.anc-not-derived): withdrawn, not a plain number, not
    blood, or not in a fitting unit. ``withdrawn``: the value of an entered-in-error part."""
    value = result.value
    if withdrawn:
        if result.status is not ResultStatus.ENTERED_IN_ERROR:
            return "it is not entered-in-error"
    elif result.status not in FLAGGABLE:
        return f"its status is {result.status.value}"
    if state.order.status in ORDER_WITHDRAWN:
        return f"its order is {state.order.status.value}"
    if result.data_absent_reason or isinstance(value, NoValue):
        return "it has no value"
    if not isinstance(value, Number) or not value.value.is_finite():
        # a hand-built Number may hold NaN (readers refuse it)
        return "its value is not a number"
    if value.comparator:
        return f"its value {quoted(value.text)} is known only by a bound"
    blocker = _specimen_issues(result, recognition, state)[0]
    if blocker is not None:
        return f"it is not a result of the patient's blood ({blocker.code})"
    unit = result.unit
    if value.comment:  # a text value naming its unit (120 cells/uL) with the unit field empty
        unit = _unit_in_text(value, unit, Analyte.ANC) or unit
    if recognition.kind in (_scope.SEGMENTED, _scope.BAND):
        if _unitless(unit):
            return "it has no unit (a count's unit is never inferred for a derived ANC)"
        try:
            count = units.normalize(value.value, unit, Analyte.ANC)
        except UnitError:
            return f"its unit {_unit_shown(unit)} is not read as a count per volume"
        meant = _whole_count_meant(count.value_per_ul) if count.factor == 1 else None
        if meant is not None:  # 1.200 /µl: a whole count per µL has no decimals
            return (
                f"its value {quoted(value.text)} in {_unit_shown(unit)}, a unit per µL, is "
                f"written with decimals, which a count of cells is not (it may mean {_fmt(meant)})"
            )
        return count.value_per_ul
    percent = value.value
    if not _unitless(unit):
        try:
            spec = units.resolve_unit(unit, Analyte.ANC)
        except UnitError as error:
            if error.reason == "unknown-unit":
                return f"its unit {_unit_shown(unit)} is not one leukoflag knows"
            # known and refused (another analyte's annotation, /L, a code and text that disagree)
            return f"its unit {_unit_shown(unit)} is refused: {str(error).partition(': ')[2]}"
        if spec.kind not in _PERCENT_KINDS or spec.factor is None:
            return f"its unit {_unit_shown(unit)} is not a percent or a fraction"
        if spec.kind is UnitKind.FRACTION:  # 0.61 of the white cells is 61 %
            if not _ZERO <= percent <= _ONE / spec.factor:
                # over 100 %, checked first: 1e999999999 overflows when scaled
                return (
                    f"{shortened(plain(percent))} {_unit_shown(unit)} is not a fraction from 0 to 1"
                )
            percent = EXACT.multiply(percent, spec.factor).scaleb(2, EXACT)
    elif _ZERO < percent <= _ONE:
        # a fraction (0.45 = 45 %) or a percent (0.45 %): a hundredfold apart, never guessed
        as_percent = percent.scaleb(2, EXACT).normalize(EXACT)
        return (
            f"{plain(percent)} without a unit could be a fraction "
            f"({plain(as_percent)} %) or a percent ({plain(percent)} %)"
        )
    if _ZERO <= percent <= _HUNDRED:
        return percent
    return f"{shortened(plain(percent))} % is not a percent from 0 to 100"


def _withdrawn_ancs(state: _OrderState) -> list[Evaluation]:
    """The ANCs that results now entered-in-error derived when they were sent before (a FHIR
    resend): with the same sources, a derived ANC has the same id, and written entered-in-error
    it withdraws the one written before instead of leaving it standing."""
    withdrawn: list[_Part] = []
    for result in state.order.results:
        if result.status is not ResultStatus.ENTERED_IN_ERROR:
            continue
        recognition = _scope.recognize(result.code)
        if recognition is None or recognition.conflict:
            continue
        if recognition.kind == _scope.COUNT and recognition.analyte is Analyte.WBC:
            value = _withdrawn_count(result, recognition, state)
            kind = "count"
        elif recognition.kind in _PART_KINDS:
            value = _part_value(result, recognition, state, withdrawn=True)
            kind = recognition.kind
        else:
            continue
        if isinstance(value, str):
            continue
        withdrawn.append(_part(kind, result, value, state))
    groups: dict[tuple[str, str], dict[str, list[_Part]]] = {}
    for part in withdrawn:
        groups.setdefault((part.specimen, part.time), {}).setdefault(part.kind, []).append(part)
    usable: dict[tuple[str, str], dict[str, list[_Part]]] = {}
    for part in _parts(state):
        usable.setdefault((part.specimen, part.time), {}).setdefault(part.kind, []).append(part)
    evaluations: list[Evaluation] = []
    for key, group in groups.items():
        for kind, found in usable.get(key, {}).items():
            group.setdefault(kind, found)  # a usable part stands in for a kind none withdrawn
        made = _derive(group)
        if made is None:
            continue
        value, sources, how = made
        if not any(p.result.status is ResultStatus.ENTERED_IN_ERROR for p in sources):
            continue  # derived from usable results alone: the ANC derived above
        number = len(evaluations) + 1
        location = f"{state.order.location}/ANC[withdrawn{'' if number == 1 else f'-{number}'}]"
        derived_from = tuple(part.location for part in sources)
        note = _issue(
            Severity.INFORMATION,
            "anc-withdrawn",
            location,
            f"ANC {_fmt(value)} cells/µL, derived as {how} from {', '.join(derived_from)}, is "
            "entered-in-error with its sources: not flagged, and written entered-in-error (for "
            "FHIR input under the id of the ANC derived from the same sources before, which a "
            "replay of the Bundle withdraws)",
        )
        evaluations.append(
            _new_evaluation(
                location=location,
                analyte=Analyte.ANC,
                loinc=_scope.analyte_table().loinc_to_add[Analyte.ANC],
                quantity=_new_normalized_quantity(value, rewritten=False),  # not sent: derived
                issues=(note,),
                derived_from=derived_from,
            )
        )
    return evaluations


def _withdrawn_count(
    result: LabResult, recognition: _scope.Recognition, state: _OrderState
) -> Decimal | str:
    """The WBC per µL of an entered-in-error count, as a derived ANC would have used it."""
    value = result.value
    if result.data_absent_reason or not isinstance(value, Number) or value.comparator:
        return "not an exact number"
    if _specimen_issues(result, recognition, state)[0] is not None:
        return "not the patient's blood"
    reading = _read_value(result, Analyte.WBC)
    if isinstance(reading, Issue):
        return reading.code
    _, lab_issue = _lab_range(result, Analyte.WBC, state, reading.count)
    if lab_issue is not None and lab_issue.code == _SCALE_SUSPECT:
        return lab_issue.code
    return reading.count.value_per_ul


def _unit_shown(unit: Unit | None) -> str:
    if unit is None:
        return "''"
    return quoted(unit.text or unit.code)


def _derive(group: dict[str, list[_Part]]) -> tuple[Decimal, tuple[_Part, ...], str] | None:
    def one(kind: str) -> _Part | None:
        found = group.get(kind)
        # several of one kind: which one is not known (a correction has set aside what it replaces)
        return found[0] if found and len(found) == 1 else None

    segmented, band = one(_scope.SEGMENTED), one(_scope.BAND)
    if segmented is not None and band is not None:
        neutrophils = EXACT.add(segmented.value, band.value)
        if any(_more_than_wbc(segmented, band, wbc) for wbc in group.get("count", ())):
            return None  # more neutrophils than white cells in the draw: one is wrong
        return (
            _as_judged(neutrophils),  # 1,234 + 56.7: 1,290.7
            (segmented, band),
            "segmented + band neutrophil counts",
        )
    wbc = one("count")
    name = "WBC"
    if wbc is None:
        wbc = _corrected_wbc(group.get("count", ()))
        if wbc is None:
            return None
        name = "WBC corrected for nucleated red cells"  # beside the uncorrected one: rare
    percent = one(_scope.PERCENT)
    if percent is not None:
        return _of(wbc.value, percent.value), (wbc, percent), f"{name} × neutrophils %"
    seg_pct, band_pct = one(_scope.SEGMENTED_PERCENT), one(_scope.BAND_PERCENT)
    if seg_pct is not None and band_pct is not None:
        total = EXACT.add(seg_pct.value, band_pct.value)
        if total > _HUNDRED:  # more than all the white cells: one is wrong (_group_reasons)
            return None
        return (
            _of(wbc.value, total),
            (wbc, seg_pct, band_pct),
            f"{name} × (segmented + band neutrophils %)",
        )
    return None


def _corrected_wbc(found: Sequence[_Part]) -> _Part | None:
    """Of several WBCs of one specimen and time, the only one corrected for nucleated red cells
    (LOINC 33256-9, 12227-5): the differential's percents are of it, not of the uncorrected
    count, which holds the nucleated red cells too. None: no such choice."""
    corrected = [part for part in found if _scope.nrbc_corrected(part.result.code)]
    return corrected[0] if len(found) > 1 and len(corrected) == 1 else None


def _corrected_unused(
    state: _OrderState, groups: dict[tuple[str, str], dict[str, list[_Part]]]
) -> set[tuple[str, str]]:
    """The draws (specimen, time) whose WBC corrected for nucleated red cells was sent but is not
    usable (a bound such as <1.0, cancelled, masked) while an uncorrected one is: the percents
    are of the corrected count, and an ANC of the uncorrected one (holding the nucleated red
    cells too) would be too high."""
    draws: set[tuple[str, str]] = set()
    for result in state.order.results:
        recognition = _scope.recognize(result.code)
        if (
            recognition is not None
            and recognition.kind == _scope.COUNT
            and recognition.analyte is Analyte.WBC
            and _scope.nrbc_corrected(result.code)
        ):
            part = _part("count", result, _ZERO, state)
            draws.add((part.specimen, part.time))
    return {
        key
        for key in draws
        if (found := groups.get(key, {}).get("count"))
        and not any(_scope.nrbc_corrected(part.result.code) for part in found)
    }


def _explain_not_derived(
    state: _OrderState, evaluations: list[Evaluation], orders: Sequence[Order] = ()
) -> None:
    """Adds flag.anc-not-derived to the evaluation of the order's first WBC (else of its first
    percent or part) when the order has a WBC and a neutrophil percent, or a segmented or band
    count, or a percent and another of the patient's ``orders`` a WBC, and no ANC was derived:
    what was considered and why it did not combine."""
    order = state.order
    wbcs = _wbcs_of(order)
    parts = [
        (result, recognition) for result, recognition, per_ul in state.candidates if per_ul is None
    ]
    elsewhere: list[str] = []
    if not wbcs and not any(r.kind in (_scope.SEGMENTED, _scope.BAND) for _, r in parts):
        # a percent without any WBC: nothing to derive from, unless another order holds one
        # (and no ANC measured beside it: then the patient's ANC is known)
        elsewhere = [
            f"WBC {result.location} is of another order, {other.location}"
            for other in orders
            if other is not order and not _holds_anc(other)
            for _, result, _ in _wbcs_of(other)
        ]
        if not elsewhere:
            return
    usable = {result.location for result, _, per_ul in state.candidates if per_ul is not None}
    reasons: list[str] = []
    for index, result, recognition in wbcs:
        if result.location not in usable:
            why = _wbc_refusal(evaluations[index], recognition)
        elif result.location in state.ambiguous:
            why = _undecided(result.location, state)
        else:
            continue
        reasons.append(f"WBC {result.location} is not used ({why})")
    for result, recognition in parts:
        value = _part_value(result, recognition, state)
        if isinstance(value, str):
            why = value
        elif result.location in state.ambiguous:
            why = _undecided(result.location, state)
        else:
            continue
        reasons.append(f"{_PART_NAMES[recognition.kind]} {result.location} is not used ({why})")
    groups: dict[tuple[str, str], dict[str, list[_Part]]] = {}
    for part in _parts(state):
        groups.setdefault((part.specimen, part.time), {}).setdefault(part.kind, []).append(part)
    usable_wbcs = [part for group in groups.values() for part in group.get("count", ())]
    uncorrected_only = _corrected_unused(state, groups) if state.repeated else set()
    for key, group in groups.items():
        reasons.extend(_group_reasons(group, usable_wbcs, bool(wbcs), state))
        if key in uncorrected_only:
            reasons.append(
                f"WBC {_listed([p.location for p in group['count']])} is not corrected for "
                "nucleated red cells, and the differential's percents are of the corrected WBC "
                f"{_describe_time(group['count'][0], state)}, which is not used (an ANC of the "
                "uncorrected count, which holds the nucleated red cells too, would be too high)"
            )
    if elsewhere:
        reasons.append(
            f"{_listed(elsewhere)}, and an ANC is derived only from the results of one order"
        )
    considered = [f"WBC {result.location}" for _, result, _ in wbcs] + [
        f"{_PART_NAMES[recognition.kind]} {result.location}" for result, recognition in parts
    ]
    issue = _issue(
        Severity.INFORMATION,
        "anc-not-derived",
        order.location,
        f"the order has no measured ANC, and none was derived from {_listed(considered)}: "
        f"{_listed(reasons, '; ') or 'they do not combine'}",
    )
    if wbcs:
        index = wbcs[0][0]
    else:
        index = next(i for i, result in enumerate(order.results) if result is parts[0][0])
    evaluation = evaluations[index]
    evaluations[index] = replace(evaluation, issues=(*evaluation.issues, issue))


def _more_than_wbc(segmented: _Part, band: _Part, wbc: _Part) -> bool:
    """Whether a segmented and a band count add up to more than the WBC ``wbc`` however each was
    rounded when written: 0.61 + 0.03 is not more than a WBC written 0.6 (0.55 to 0.65), 0.65 +
    0.06 is."""
    least = EXACT.subtract(
        EXACT.add(segmented.value, band.value),
        EXACT.add(_half_unit(segmented.value), _half_unit(band.value)),
    )
    return least > EXACT.add(wbc.value, _half_unit(wbc.value))


def _half_unit(value: Decimal) -> Decimal:
    """Half a unit of the last digit ``value`` is written with (5 of 6.1E+2, 50 of 6E+2)."""
    exponent = value.as_tuple().exponent
    return _FIVE.scaleb(exponent - 1, EXACT) if isinstance(exponent, int) else _ZERO


_FIVE = Decimal(5)


def _holds_anc(order: Order) -> bool:
    """Whether ``order`` holds a measured ANC count (judged or not)."""
    for result in order.results:
        recognition = _scope.recognize(result.code)
        if recognition is not None and recognition.is_count and recognition.analyte is _ANC:
            return True
    return False


def _wbcs_of(order: Order) -> list[tuple[int, LabResult, _scope.Recognition]]:
    """The WBC counts of ``order`` (judged or not), with their index among its results."""
    wbcs = []
    for index, result in enumerate(order.results):
        recognition = _scope.recognize(result.code)
        if recognition is not None and recognition.is_count and recognition.analyte is Analyte.WBC:
            wbcs.append((index, result, recognition))
    return wbcs


# What the parts of a derived ANC are called in flag.anc-not-derived.
_PART_NAMES = {
    "count": "WBC",
    _scope.PERCENT: "neutrophils %",
    _scope.SEGMENTED_PERCENT: "segmented neutrophils %",
    _scope.BAND_PERCENT: "band neutrophils %",
    _scope.SEGMENTED: "segmented neutrophil count",
    _scope.BAND: "band neutrophil count",
}
_REPLACING = frozenset({ResultStatus.CORRECTED, ResultStatus.AMENDED})
# Statuses that make the order look for a result replaced by another (a correction, or a
# final result beside its preliminary one).
_REVISED = _REPLACING | {ResultStatus.PRELIMINARY}
# Members read on the hot path, once here: in Python 3.11 a member looked up on its enum class
# goes through EnumType.__getattr__'s slot (about 860 instructions, 15 a CBC before).
_ANC, _WBC = Analyte.ANC, Analyte.WBC
_ENTERED_IN_ERROR = ResultStatus.ENTERED_IN_ERROR
_REGISTERED = ReportStatus.REGISTERED
_COUNT = UnitKind.COUNT
_PAIRS = ((_scope.SEGMENTED, _scope.BAND), (_scope.SEGMENTED_PERCENT, _scope.BAND_PERCENT))
_PERCENTS = (_scope.PERCENT, _scope.SEGMENTED_PERCENT, _scope.BAND_PERCENT)
_LISTED = 10  # an order of thousands of results: the first ten of a list, and how many more


def _wbc_refusal(evaluation: Evaluation, recognition: _scope.Recognition) -> str:
    """Why a WBC of the order is not used for a derived ANC (its evaluation says)."""
    if recognition.kind == _scope.ESTIMATE:
        return "an estimate, not a count"
    quantity = evaluation.quantity
    if quantity is not None and quantity.comparator:
        return f"{quantity.comparator}{_fmt(quantity.value)} cells/µL is known only by a bound"
    if quantity is None and evaluation.reference_range is not None:
        return "its value is a range, not one number"
    # the reason it was not judged, not the warning about corrections that may follow it
    stops = [i.code for i in evaluation.issues if i.code != "flag.correction-ambiguous"]
    return f"not judged: {stops[-1]}" if stops else "not judged"


def _undecided(location: str, state: _OrderState) -> str:
    """Why a usable correction is not used: another correction of the same result stands beside
    it (a bound or a masked one too: the lab did not say which one replaced the result)."""
    return (
        f"{_listed(state.ambiguous[location])} each correct the same result, and which one "
        "stands is not known"
    )


def _group_reasons(
    group: dict[str, list[_Part]], wbcs: list[_Part], any_wbc: bool, state: _OrderState
) -> list[str]:
    """Why the usable results of one specimen and time give no ANC."""
    first = next(iter(group.values()))[0]
    when = _describe_time(first, state)
    # FHIR has no OBX-4 sub-ID: the hint names what a correction shares in the input's terms
    one_correction = (
        f"(a corrected result of the {_same_result(first.location)} would replace the others)"
    )
    reasons = [
        f"{len(found)} {_PART_NAMES[kind]} results {when} "
        f"({_listed([p.location for p in found])}): which one to use is not known {one_correction}"
        for kind, found in group.items()
        if len(found) > 1 and (kind != "count" or _corrected_wbc(found) is None)
    ]
    for pair in _PAIRS:
        present = [kind for kind in pair if kind in group]
        if len(present) == 1 and (
            pair[0] != _scope.SEGMENTED_PERCENT or _scope.PERCENT not in group
        ):
            kind = present[0]
            missing = pair[1] if kind == pair[0] else pair[0]
            reasons.append(
                f"{_PART_NAMES[kind]} {_listed([p.location for p in group[kind]])} has no "
                f"{_PART_NAMES[missing]} {when} (both are needed)"
            )
    segmented, band = group.get(_scope.SEGMENTED), group.get(_scope.BAND)
    if segmented is not None and band is not None and len(segmented) == len(band) == 1:
        neutrophils = EXACT.add(segmented[0].value, band[0].value)
        fewer = [p for p in group.get("count", ()) if _more_than_wbc(segmented[0], band[0], p)]
        if fewer:
            reasons.append(
                f"{_PART_NAMES[_scope.SEGMENTED]} {segmented[0].location} and "
                f"{_PART_NAMES[_scope.BAND]} {band[0].location} {when} add up to "
                f"{_fmt(neutrophils)} cells/µL, more than "
                + _listed([f"WBC {p.location} ({_fmt(p.value)} cells/µL)" for p in fewer])
                + ": one of them is wrong"
            )
    seg_pct, band_pct = group.get(_scope.SEGMENTED_PERCENT), group.get(_scope.BAND_PERCENT)
    if (
        seg_pct is not None
        and band_pct is not None
        and len(seg_pct) == len(band_pct) == 1
        and len(group.get(_scope.PERCENT, ())) != 1  # else the neutrophils % is used
        and (total := EXACT.add(seg_pct[0].value, band_pct[0].value)) > _HUNDRED
    ):
        reasons.append(
            f"{_PART_NAMES[_scope.SEGMENTED_PERCENT]} {seg_pct[0].location} and "
            f"{_PART_NAMES[_scope.BAND_PERCENT]} {band_pct[0].location} {when} add up to "
            f"{shortened(plain(total))} %, more than all the white cells: one of them is wrong"
        )
    percents = [
        f"{_PART_NAMES[kind]} {p.location}" for kind in _PERCENTS for p in group.get(kind, ())
    ]
    if (
        percents
        and "count" not in group
        and first.time
        and first.time == _timeless(first.result, state)
    ):
        # a search's result without a time: "no WBC without a time" would deny the one sent
        verb = "has" if len(percents) == 1 else "have"
        reasons.append(
            f"{_listed(percents)} {verb} no WBC of the same draw: a result without a time, "
            "report or specimen is a draw of its own"
        )
    elif percents and "count" not in group and (wbcs or not any_wbc):
        # (WBCs that are none of them usable have said why themselves)
        # a WBC sent before the SPM its percentages follow belongs to no specimen: say so, or
        # "WBC … is at <the same time>" reads as if the WBC were usable
        elsewhere = ", ".join(
            f"WBC {p.location} is {_describe_time(p, state)}"
            + (" of no specimen" if first.specimen and not p.specimen else "")
            for p in wbcs[:_LISTED]
        )
        reasons.append(
            f"{_listed(percents)} {'has' if len(percents) == 1 else 'have'} no usable WBC {when}"
            + (f" ({elsewhere})" if elsewhere else "")
        )
    return reasons


def _describe_time(part: _Part, state: _OrderState) -> str:
    stamp = _result_time(part.result, state)
    when = f"at {stamp.fhir}" if stamp is not None else "without a time"
    return f"{when} of specimen {part.specimen}" if part.specimen else when


def _named(first: list[str], total: int) -> str:
    """``first``, the first of ``total`` items, named as _listed names them (``…, and 7 more``)."""
    if total <= _LISTED:
        return ", ".join(first)
    return ", ".join(first[:_LISTED]) + f", and {total - _LISTED:,} more"


def _listed(items: list[str], separator: str = ", ") -> str:
    if len(items) <= _LISTED:
        return separator.join(items)
    return separator.join(items[:_LISTED]) + f"{separator}and {len(items) - _LISTED:,} more"


def _of(count: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``count``, exactly (see _as_judged)."""
    return _as_judged(EXACT.multiply(count, percent).scaleb(-2, EXACT))


def _as_judged(per_ul: Decimal) -> Decimal:
    """A derived ANC as it is judged and written: exactly the sum or product of the values sent,
    as a count sent with those digits is judged. Rounded to a whole cell it could cross a
    threshold: 3.0 10*3/uL × 49.99 % is 1,499.7 (neutropenia, below 1,500), never 1,500 (N).
    A whole number of cells is written as one (4.0 × 30.0 % is 1200, not 1200.00)."""
    whole = per_ul.quantize(_ONE_CELL, context=EXACT)
    return whole if whole == per_ul else per_ul.normalize(EXACT)


def _derived_evaluation(
    location: str,
    value: Decimal,
    sources: tuple[_Part, ...],
    how: str,
    state: _OrderState,
) -> Evaluation:
    analyte = Analyte.ANC
    point: Point = (value, 0)
    judged = _judge(
        analyte,
        (point, point),
        day=sources[0].day,
        days=sources[0].days,
        lab=None,
        graded=True,
        location=location,
        state=state,
        unborn=_before_birth(sources[0].result, state)
        if state.context.birth_time is not None
        else "",
    )
    derived_from = tuple(part.location for part in sources)
    note = _issue(
        Severity.INFORMATION,
        "anc-derived",
        location,
        f"the order has no measured ANC: ANC {_fmt(value)} cells/µL derived as {how} from "
        f"{', '.join(derived_from)}",
    )
    finding = None
    if judged.verdict is not None:
        finding = _finding(
            location,
            analyte,
            (point, point),
            judged,
            sender_flags=(),
            settings=state.settings,
            derived=True,
        )
    return _new_evaluation(
        location=location,
        analyte=analyte,
        loinc=_scope.analyte_table().loinc_to_add[analyte],
        quantity=_new_normalized_quantity(value, rewritten=False),  # not sent: derived
        reference_range=judged.range,
        finding=finding,
        issues=(note, *judged.issues),
        derived_from=derived_from,
    )
