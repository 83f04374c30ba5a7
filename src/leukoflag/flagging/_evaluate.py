"""One order's results → evaluations: scope, status, value, unit, range, code, finding.

Order of questions for each result (the first "no" ends it, with an Issue when the result looked
like a count): is it a WBC/ANC count (analyte table)? from peripheral blood of the patient
(specimen, order, control material)? with a status that may be flagged? with a value? a number?
in cells/µL (units)? plausible? Then: which range, which rules, which code, does the sender agree.
After all results: a derived ANC when the order has none (WBC × neutrophil %, or segmented + band
neutrophil counts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from leukoflag import units
from leukoflag.errors import UnitError
from leukoflag.flagging import _scope
from leukoflag.flagging._rules import (
    INFINITY,
    Criteria,
    Point,
    Profile,
    RangeLimits,
    Rules,
    Subject,
    Verdict,
    load_rules,
)
from leukoflag.model import (
    Analyte,
    CodedResult,
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

__all__ = ["evaluate_order"]

# V2-to-FHIR IG / FHIR: final, amended, corrected and preliminary results carry values to judge.
FLAGGABLE = frozenset(
    {ResultStatus.FINAL, ResultStatus.AMENDED, ResultStatus.CORRECTED, ResultStatus.PRELIMINARY}
)
ORDER_WITHDRAWN = frozenset({ReportStatus.CANCELLED, ReportStatus.ENTERED_IN_ERROR})
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FLAG_SYSTEMS = frozenset(
    {
        "",
        V3_INTERPRETATION,
        "http://terminology.hl7.org/CodeSystem/v2-0078",
        "http://hl7.org/fhir/v2/0078",  # older FHIR: accepted on input
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
_BIRTH = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_PERCENT_UNITS = frozenset({("%",), ("percent",), ("pct",), ("%", "wbc"), ("%", "leukocytes")})
_ONE_CELL = Decimal(1)
_HUNDRED = Decimal(100)


def _at(location: str, what: str) -> str:
    """The location of one field of a result: ``MSG[1]/OBX[3]-6`` for HL7 v2."""
    if _V2_RESULT.search(location):
        return location + _V2_FIELD[what]
    return location


def _issue(severity: Severity, code: str, location: str, text: str) -> Issue:
    return Issue(severity, f"flag.{code}", location, text)


def _fmt(value: Decimal) -> str:
    """A cells/µL value for Issue texts: ``3,999`` or ``1,234.5``."""
    if value == INFINITY:
        return "∞"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,f}"


# --------------------------------------------------------------------------- the order


@dataclass(slots=True)
class _Part:
    """A result that may go into a derived ANC (all checked: blood, flaggable, exact number)."""

    kind: str  # count (a WBC), percent, segmented-percent, band-percent, segmented, band
    location: str
    value: Decimal  # cells/µL, or a percent
    specimen: str
    time: str
    day: dt.date | None


@dataclass(slots=True)
class _OrderState:
    order: Order
    context: PatientContext
    settings: Settings
    fallback_day: dt.date | None
    rules: Rules
    specimens: dict[str, Specimen]
    parts: list[_Part] = field(default_factory=list)
    measured_anc: bool = False


def evaluate_order(
    order: Order,
    context: PatientContext,
    settings: Settings,
    *,
    fallback_day: dt.date | None = None,
) -> tuple[Evaluation, ...]:
    state = _OrderState(
        order=order,
        context=context,
        settings=settings,
        fallback_day=fallback_day,
        rules=load_rules(),
        specimens={s.location: s for s in order.specimens},
    )
    evaluations = [_evaluate_result(result, state) for result in order.results]
    if not state.measured_anc and state.parts:
        evaluations.extend(_derived_ancs(state))
    return tuple(evaluations)


def _evaluate_result(result: LabResult, state: _OrderState) -> Evaluation:
    location = result.location
    recognition = _scope.recognize(result.code)
    if recognition is None:
        return Evaluation(location)  # not a count leukoflag knows: simply not in scope
    if recognition.conflict:
        return Evaluation(
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
        return Evaluation(
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
    if kind in _scope.EXCLUDING:
        return Evaluation(location)
    if recognition.is_count and recognition.analyte is Analyte.ANC:
        state.measured_anc = True
    if not recognition.is_count:
        _collect_part(result, recognition, state)  # percents and ANC parts are never flagged
        return Evaluation(location)
    analyte = recognition.analyte
    assert analyte is not None  # a count row always names its analyte (checked when loaded)
    return _evaluate_count(result, analyte, recognition, state)


def _evaluate_count(
    result: LabResult,
    analyte: Analyte,
    recognition: _scope.Recognition,
    state: _OrderState,
) -> Evaluation:
    location = result.location
    loinc = None if recognition.via == "loinc" else _scope.analyte_table().loinc_to_add[analyte]
    name = analyte.value.upper()
    blocker = _not_patient_blood(result, recognition, state)
    if blocker is not None:
        return Evaluation(location, issues=(blocker,))
    issues: list[Issue] = []
    unrecognized = _unrecognized_specimen(result, state)
    if unrecognized is not None:
        issues.append(unrecognized)
    stop = _status_problem(result, state.order)
    if stop is None:
        stop = _value_problem(result, name)
    if stop is not None:
        return Evaluation(location, analyte, loinc, issues=(*issues, stop))
    normalized = _normalize_value(result, analyte, state.rules)
    if normalized.bounds is None:
        assert normalized.stop is not None
        return Evaluation(location, analyte, loinc, issues=(*issues, normalized.stop))
    if normalized.note is not None:
        issues.append(normalized.note)
    bounds, quantity = normalized.bounds, normalized.quantity
    exact = quantity is not None and not quantity.comparator
    if recognition.kind == _scope.COUNT and analyte is Analyte.WBC and exact:
        assert quantity is not None
        _collect(state, result, "count", quantity.value)
    day = _result_day(result, state)
    lab, lab_issue = _lab_range(result, analyte, state, normalized.factor)
    if lab_issue is not None:
        issues.append(lab_issue)
    judged = _judge(
        analyte,
        bounds,
        day=day,
        lab=lab,
        graded=recognition.kind == _scope.COUNT,
        location=location,
        state=state,
    )
    issues.extend(judged.issues)
    if judged.verdict is None:
        return Evaluation(location, analyte, loinc, quantity, judged.range, issues=tuple(issues))
    sender = _sender_flags(result)
    disagreement = _compare_sender(sender, judged.verdict.code, location)
    if disagreement is not None:
        issues.append(disagreement)
    finding = _finding(
        location,
        analyte,
        bounds,
        judged,
        sender_flags=tuple(c.code for c in result.sender_flags),
        settings=state.settings,
    )
    return Evaluation(location, analyte, loinc, quantity, judged.range, finding, tuple(issues))


# --------------------------------------------------------------------------- scope checks


def _candidate_specimens(result: LabResult, state: _OrderState) -> tuple[Specimen, ...]:
    if result.specimen:
        found = state.specimens.get(result.specimen)
        return (found,) if found is not None else ()
    return state.order.specimens


def _not_patient_blood(
    result: LabResult, recognition: _scope.Recognition, state: _OrderState
) -> Issue | None:
    """Why this count is not a count of the patient's peripheral blood (None: it is)."""
    location = result.location
    specimens = _candidate_specimens(result, state)
    control = next((s for s in specimens if s.is_control), None)
    if control is not None:
        return _issue(
            Severity.INFORMATION,
            "control-material",
            location,
            f"not flagged: specimen {control.location} is control or calibration material",
        )
    classes: dict[str, list[str]] = {}
    for specimen in specimens:
        klass = _scope.specimen_class(specimen.type)
        if klass:
            classes.setdefault(klass, []).append(_describe_specimen(specimen))
    source = state.order.specimen_source
    klass = _scope.specimen_class(source)
    if klass and source is not None:
        classes.setdefault(klass, []).append(f"OBR-15 {_concept_text(source)}")
    if _scope.NOT_BLOOD in classes:
        where = ", ".join(classes[_scope.NOT_BLOOD])
        if _scope.BLOOD in classes:
            return _issue(
                Severity.WARNING,
                "specimen-ambiguous",
                location,
                f"not flagged: the order's specimens disagree ({where} is not blood, "
                f"{', '.join(classes[_scope.BLOOD])} is)",
            )
        return _issue(
            Severity.INFORMATION,
            "specimen-not-blood",
            location,
            f"not flagged: the specimen is not peripheral blood ({where})",
        )
    if recognition.via != "loinc" and _scope.specimen_class(state.order.code) == _scope.NOT_BLOOD:
        # A local code or text says "WBC" but the order is a urinalysis, CSF count …
        return _issue(
            Severity.INFORMATION,
            "order-not-blood",
            location,
            f"not flagged: {recognition.matched} was recognized from a local code or text, and "
            f"its order {_concept_text(state.order.code)} is not a blood test",
        )
    return None


def _unrecognized_specimen(result: LabResult, state: _OrderState) -> Issue | None:
    specimens = _candidate_specimens(result, state)
    concepts = [s.type for s in specimens if s.type is not None]
    if state.order.specimen_source is not None:
        concepts.append(state.order.specimen_source)
    if not concepts or any(_scope.specimen_class(c) for c in concepts):
        return None
    names = ", ".join(_concept_text(c) for c in concepts)
    return _issue(
        Severity.INFORMATION,
        "specimen-unrecognized",
        result.location,
        f"specimen type {names} is not in leukoflag's specimen table; judged as blood from the "
        "result code",
    )


def _describe_specimen(specimen: Specimen) -> str:
    return f"{specimen.location} {_concept_text(specimen.type)}".strip()


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
        sent = f" (sent as {result.status_text!r})" if result.status_text else ""
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


def _value_problem(result: LabResult, name: str) -> Issue | None:
    location = _at(result.location, "value")
    if result.data_absent_reason:
        return _issue(
            Severity.INFORMATION,
            "data-absent",
            location,
            f"not flagged: no {name} value (data absent: {result.data_absent_reason})",
        )
    value = result.value
    if isinstance(value, NoValue):
        shown = f" {value.text!r}" if value.text else ""
        return _issue(
            Severity.INFORMATION,
            "data-absent",
            location,
            f"not flagged: no {name} value ({value.reason}{shown})",
        )
    if isinstance(value, Text | CodedResult | Ratio):
        shown = value.text if isinstance(value, Text | Ratio) else _concept_words(value.concept)
        return _issue(
            Severity.INFORMATION,
            "value-not-numeric",
            location,
            f"not flagged: the {name} value {shown!r} is not a number",
        )
    return None


# --------------------------------------------------------------------------- values and units


@dataclass(frozen=True, slots=True)
class _Normalized:
    """A value in cells/µL as bounds (None: not normalized, ``stop`` says why)."""

    bounds: tuple[Point, Point] | None
    quantity: NormalizedQuantity | None = None
    stop: Issue | None = None
    factor: Decimal | None = None  # set when the unit was missing and units inferred it
    note: Issue | None = None  # says that the unit was inferred


def _normalize_value(result: LabResult, analyte: Analyte, rules: Rules) -> _Normalized:
    """The value's bounds in cells/µL and the quantity to write, or the Issue that stops it."""
    value = result.value
    unit = result.unit
    location = result.location
    if isinstance(value, Number):
        if _unitless(unit):
            return _inferred(value, analyte, location, rules)
        converted, problem = _per_ul(value.value, unit, analyte, location, rules)
        if converted is None:
            return _Normalized(None, stop=problem)
        quantity = NormalizedQuantity(converted, value.comparator)
        return _Normalized(_comparator_bounds(converted, value.comparator), quantity)
    assert isinstance(value, NumberRange)
    ends: list[Decimal | None] = []
    for end in (value.low, value.high):
        if end is None:
            ends.append(None)
            continue
        converted, problem = _per_ul(end, unit, analyte, location, rules)
        if converted is None:
            return _Normalized(None, stop=problem)
        ends.append(converted)
    low, high = ends
    if (low is None and high is None) or (low is not None and high is not None and low > high):
        return _Normalized(
            None,
            stop=_issue(
                Severity.WARNING,
                "value-not-numeric",
                _at(location, "value"),
                f"not flagged: the range value {value.text!r} has no usable limits",
            ),
        )
    lower: Point = (low if low is not None else Decimal(0), 0)
    upper: Point = (high if high is not None else INFINITY, 0)
    return _Normalized((lower, upper))


def _unitless(unit: Unit | None) -> bool:
    return unit is None or not (unit.text.strip() or unit.code.strip())


def _inferred(value: Number, analyte: Analyte, location: str, rules: Rules) -> _Normalized:
    """A number sent without unit: units infers one only when the magnitude is unambiguous."""
    name = analyte.value.upper()
    if value.value < 0:
        return _Normalized(None, stop=_per_ul(value.value, None, analyte, location, rules)[1])
    try:
        converted = units.count_per_ul(value.value, None, analyte.value)
    except UnitError as exc:
        return _Normalized(
            None,
            stop=_issue(
                Severity.WARNING,
                "unit-missing",
                _at(location, "unit"),
                f"not flagged: the {name} value {value.text or value.value} was sent without a "
                f"unit ({exc})",
            ),
        )
    if value.value == 0 or converted < 0 or converted > rules.plausible_max:
        return _Normalized(
            None,
            stop=_issue(
                Severity.WARNING,
                "unit-missing",
                _at(location, "unit"),
                f"not flagged: the {name} value {value.text or value.value} was sent without a "
                "unit, and none can be inferred for it",
            ),
        )
    factor = converted / value.value
    shown = "cells/µL" if factor == 1 else f"×{_fmt(factor)} cells/µL"
    note = _issue(
        Severity.WARNING,
        "unit-inferred",
        _at(location, "unit"),
        f"the {name} value {value.text or value.value} was sent without a unit; leukoflag.units "
        f"inferred {shown} from its magnitude",
    )
    quantity = NormalizedQuantity(converted, value.comparator)
    return _Normalized(
        _comparator_bounds(converted, value.comparator), quantity, factor=factor, note=note
    )


def _comparator_bounds(value: Decimal, comparator: str) -> tuple[Point, Point]:
    zero: Point = (Decimal(0), 0)
    infinite: Point = (INFINITY, 0)
    if comparator == "<":
        return zero, (value, -1)
    if comparator == "<=":
        return zero, (value, 0)
    if comparator == ">":
        return (value, 1), infinite
    if comparator == ">=":
        return (value, 0), infinite
    return (value, 0), (value, 0)


def _per_ul(
    value: Decimal, unit: Unit | None, analyte: Analyte, location: str, rules: Rules
) -> tuple[Decimal | None, Issue | None]:
    """``value`` in cells/µL, or the Issue saying why not."""
    name = analyte.value.upper()
    if value < 0:
        return None, _issue(
            Severity.WARNING,
            "value-implausible",
            _at(location, "value"),
            f"not flagged: a {name} cannot be negative ({value})",
        )
    if unit is None or _unitless(unit):
        return None, _issue(
            Severity.WARNING,
            "unit-missing",
            _at(location, "unit"),
            f"not flagged: the {name} value {value} was sent without a unit",
        )
    try:
        converted = units.count_per_ul(value, unit, analyte.value)
    except UnitError as exc:
        code = "value-implausible" if exc.reason == "implausible" else "unit-unusable"
        where = "value" if code == "value-implausible" else "unit"
        return None, _issue(
            Severity.WARNING, code, _at(location, where), f"not flagged: {name}: {exc}"
        )
    if converted < 0 or converted > rules.plausible_max:
        return None, _issue(
            Severity.WARNING,
            "value-implausible",
            _at(location, "value"),
            f"not flagged: {name} {_fmt(converted)} cells/µL is outside 0–"
            f"{_fmt(rules.plausible_max)} (a mislabelled unit?)",
        )
    return converted, None


# --------------------------------------------------------------------------- ranges


def _lab_range(
    result: LabResult, analyte: Analyte, state: _OrderState, factor: Decimal | None
) -> tuple[NormalizedRange | None, Issue | None]:
    """The lab's range in cells/µL (None: absent, ignored by policy, or unusable + Issue)."""
    sent = result.reference_range
    if sent is None or state.settings.range_policy == "default":
        return None, None
    location = _at(result.location, "range")
    if sent.low is None and sent.high is None:
        return None, _lab_range_issue(location, sent, "it has no numeric limits")
    unit = sent.unit if not _unitless(sent.unit) else result.unit
    limits: list[Decimal | None] = []
    for limit in (sent.low, sent.high):
        if limit is None:
            limits.append(None)
        elif not _unitless(unit):
            try:
                limits.append(units.count_per_ul(limit, unit, analyte.value))
            except UnitError as exc:
                return None, _lab_range_issue(location, sent, str(exc))
        elif factor is not None:  # the value's unit was inferred: the range shares it
            limits.append(limit * factor)
        else:
            return None, _lab_range_issue(location, sent, "neither it nor the value has a unit")
    low, high = limits
    rules = state.rules
    if low is not None and high is not None and low >= high:
        return None, _lab_range_issue(location, sent, "its low limit is not below its high limit")
    if (low is not None and low > rules.lab_low_at_most) or (
        high is not None and high < rules.lab_high_at_least
    ):
        shown = f"{_fmt(low) if low is not None else ''}–{_fmt(high) if high is not None else ''}"
        return None, _lab_range_issue(
            location,
            sent,
            f"{shown} cells/µL is not a plausible {analyte.value.upper()} range "
            "(sent in another unit than the value?)",
        )
    return NormalizedRange(low, high, "lab", text=sent.text), None


def _lab_range_issue(location: str, sent: ReferenceRange, why: str) -> Issue:
    return _issue(
        Severity.WARNING,
        "lab-range-unusable",
        location,
        f"the lab's reference range {sent.text!r} is not used ({why}); leukoflag's default "
        "range applies",
    )


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True, slots=True)
class _Judged:
    range: NormalizedRange | None
    verdict: Verdict | None
    criteria: Criteria | None
    issues: tuple[Issue, ...]


def _judge(
    analyte: Analyte,
    bounds: tuple[Point, Point],
    *,
    day: dt.date | None,
    lab: NormalizedRange | None,
    graded: bool,
    location: str,
    state: _OrderState,
) -> _Judged:
    context = state.context
    rules = state.rules
    subject = Subject(context.birth_date, day, context.sex, context.duffy_null)
    profile = rules.profile(analyte, subject)
    issues = list(_age_issues(subject, context, location, profile))
    chosen, criteria = _criteria(profile, lab, graded, state)
    verdict, bound_issue = _verdict(criteria, bounds, location, analyte)
    latest = context.birth_date_latest
    if latest is not None and latest != context.birth_date and verdict is not None:
        # A birth date sent as a year or month: judge the youngest possible age too.
        young = Subject(latest, day, context.sex, context.duffy_null)
        other_range, other_criteria = _criteria(rules.profile(analyte, young), lab, graded, state)
        other, _ = _verdict(other_criteria, bounds, location, analyte)
        if (other_range, other) != (chosen, verdict):
            issues.append(
                _issue(
                    Severity.WARNING,
                    "age-imprecise",
                    location,
                    f"not flagged: the birth date was sent as {_birth_span(context)}, and the "
                    "age-dependent rules differ within that span",
                )
            )
            return _Judged(None, None, None, tuple(issues))
    if bound_issue is not None:
        issues.append(bound_issue)
    return _Judged(chosen, verdict, criteria, tuple(issues))


def _criteria(
    profile: Profile, lab: NormalizedRange | None, graded: bool, state: _OrderState
) -> tuple[NormalizedRange, Criteria]:
    rules = state.rules
    settings = state.settings
    analyte = profile.analyte
    if lab is not None and not profile.duffy_null:
        chosen = lab
        citation = "the lab's reference range, as sent"
    else:
        # Duffy-null (an explicit opt-in) replaces the lab's population range for the patient.
        default = profile.range
        chosen = NormalizedRange(default.low, default.high, default.kind, citation=default.citation)
        citation = default.citation
    criteria = rules.criteria(
        profile,
        reference=RangeLimits(chosen.low, chosen.high, citation),
        critical_low=settings.critical_low_for(analyte.value),
        lln=lab.low if lab is not None else None,  # CTCAE grade 1 needs the lab's own LLN
        ctcae_version=settings.ctcae_version,
        graded=graded,
    )
    return chosen, criteria


def _verdict(
    criteria: Criteria, bounds: tuple[Point, Point], location: str, analyte: Analyte
) -> tuple[Verdict | None, Issue | None]:
    low, high = bounds
    if low == high:
        return criteria.at(low), None
    name = analyte.value.upper()
    shown = _bounds_text(low, high)
    verdict, agreed = criteria.between(low, high)
    if verdict is None:
        bottom, top = criteria.at(low).code, criteria.at(high).code
        return None, _issue(
            Severity.WARNING,
            "bound-inconclusive",
            _at(location, "value"),
            f"not flagged: the {name} value {shown} cells/µL could be {bottom} or {top}",
        )
    extra = "" if agreed else f" (the lowest possible value would be {criteria.at(low).code})"
    return verdict, _issue(
        Severity.INFORMATION,
        "bound-interpreted",
        _at(location, "value"),
        f"the {name} value {shown} cells/µL is known only by its limits; every value it allows "
        f"is {verdict.code}{extra}",
    )


def _bounds_text(low: Point, high: Point) -> str:
    if high[0] == INFINITY:
        return f"{'>' if low[1] > 0 else '≥'}{_fmt(low[0])}"
    if low[0] == 0 and low[1] == 0:
        return f"{'<' if high[1] < 0 else '≤'}{_fmt(high[0])}"
    return f"{_fmt(low[0])}–{_fmt(high[0])}"


def _age_issues(
    subject: Subject, context: PatientContext, location: str, profile: Profile
) -> Iterable[Issue]:
    if subject.birth is None:
        why = "the patient's birth date is not known"
    elif subject.on is None:
        why = "the result has no date (OBX-14, OBX-19, specimen collection, OBR-7, MSH-7)"
    elif subject.on < subject.birth:
        why = f"the birth date {subject.birth} is after the result date {subject.on}"
    else:
        why = ""
    if why:
        yield _issue(
            Severity.WARNING,
            "age-unknown",
            location,
            f"{why}: judged with adult ranges and thresholds",
        )
    if context.duffy_null and not profile.adult:
        yield _issue(
            Severity.INFORMATION,
            "duffy-null-not-applied",
            location,
            "the patient is declared Duffy-null, but the Duffy-null ranges are adult ranges; "
            "the pediatric age band applies",
        )


def _birth_span(context: PatientContext) -> str:
    return f"{context.birth_date} to {context.birth_date_latest}"


# --------------------------------------------------------------------------- the sender's flag


def _sender_flags(result: LabResult) -> list[str]:
    return [
        c.code.strip()
        for c in result.sender_flags
        if c.system in FLAG_SYSTEMS and c.code.strip() in _SENDER_SIDE
    ]


def _compare_sender(sender: Sequence[str], computed: str, location: str) -> Issue | None:
    if not sender:
        return None
    side = _COMPUTED_SIDE[computed]
    same_side = [code for code in sender if _SENDER_SIDE[code] in (side, "abnormal")]
    if side == "normal":
        same_side = [code for code in sender if _SENDER_SIDE[code] == "normal"]
    shown = "~".join(sender)
    if not same_side:
        return _issue(
            Severity.WARNING,
            "sender-disagrees",
            _at(location, "flags"),
            f"the sender flagged {shown}; leukoflag computed {computed}",
        )
    levels = {_LEVEL[code] for code in same_side if code in _LEVEL}
    if levels and _LEVEL.get(computed, 0) not in levels:
        return _issue(
            Severity.INFORMATION,
            "sender-disagrees",
            _at(location, "flags"),
            f"the sender flagged {shown}; leukoflag computed {computed} (same side, other level)",
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
    return Finding(
        location=location,
        analyte=analyte,
        value_per_ul=value,
        code=verdict.code,
        rule=verdict.rule,
        threshold=verdict.threshold,
        threshold_source=verdict.source,
        range=judged.range,
        comparator=comparator,
        condition=verdict.finding,
        severity=verdict.severity,
        ctcae_grade=verdict.grade,
        ctcae_version=settings.ctcae_version if graded else "",
        ctcae_term=scale.term if graded and scale is not None else None,
        derived=derived,
        sender_flags=sender_flags,
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
    """OBX-14, else OBX-19, else the specimen's collection, else OBR-7."""
    if result.effective is not None:
        return result.effective
    if result.analysis_time is not None:
        return result.analysis_time
    for specimen in _candidate_specimens(result, state):
        if specimen.collected is not None:
            return specimen.collected
    return state.order.effective


def _result_day(result: LabResult, state: _OrderState) -> dt.date | None:
    stamp = _result_time(result, state)
    return stamp.day if stamp is not None else state.fallback_day


def birth_span(stamp: Timestamp) -> tuple[dt.date, dt.date]:
    """The first and last possible birth day of a birth date sent as year, month or day."""
    match = _BIRTH.match(stamp.fhir)
    if match is None or match.group(3):
        return stamp.day, stamp.day
    year = int(match.group(1))
    if match.group(2) is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(match.group(2))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, 1), following - dt.timedelta(days=1)


# --------------------------------------------------------------------------- derived ANC


def _collect(state: _OrderState, result: LabResult, kind: str, value: Decimal) -> None:
    stamp = _result_time(result, state)
    state.parts.append(
        _Part(
            kind=kind,
            location=result.location,
            value=value,
            specimen=result.specimen,
            time=stamp.fhir if stamp is not None else "",
            day=stamp.day if stamp is not None else state.fallback_day,
        )
    )


def _collect_part(result: LabResult, recognition: _scope.Recognition, state: _OrderState) -> None:
    """Keep a neutrophil percent or ANC part that could enter a derived ANC."""
    kind = recognition.kind
    if kind not in (
        _scope.PERCENT,
        _scope.SEGMENTED_PERCENT,
        _scope.BAND_PERCENT,
        _scope.SEGMENTED,
        _scope.BAND,
    ):
        return
    value = result.value
    if result.status not in FLAGGABLE or state.order.status in ORDER_WITHDRAWN:
        return
    if result.data_absent_reason or not isinstance(value, Number) or value.comparator:
        return
    if _not_patient_blood(result, recognition, state) is not None:
        return
    if kind in (_scope.SEGMENTED, _scope.BAND):
        converted, problem = _per_ul(
            value.value, result.unit, Analyte.ANC, result.location, state.rules
        )
        if converted is None or problem is not None:
            return
        _collect(state, result, kind, converted)
        return
    unit = result.unit
    spelled = unit.text or unit.code if unit is not None else ""
    if spelled and _scope.name_key(spelled, noise=frozenset()) not in _PERCENT_UNITS:
        return
    if not Decimal(0) <= value.value <= _HUNDRED:
        return
    _collect(state, result, kind, value.value)


def _derived_ancs(state: _OrderState) -> list[Evaluation]:
    groups: dict[tuple[str, str], dict[str, list[_Part]]] = {}
    for part in state.parts:
        groups.setdefault((part.specimen, part.time), {}).setdefault(part.kind, []).append(part)
    evaluations: list[Evaluation] = []
    for group in groups.values():
        made = _derive(group)
        if made is None:
            continue
        value, sources, how = made
        number = len(evaluations) + 1
        suffix = "derived" if number == 1 else f"derived-{number}"
        location = f"{state.order.location}/ANC[{suffix}]"
        evaluations.append(_derived_evaluation(location, value, sources, how, state))
    return evaluations


def _derive(group: dict[str, list[_Part]]) -> tuple[Decimal, tuple[_Part, ...], str] | None:
    def one(kind: str) -> _Part | None:
        found = group.get(kind, [])
        return found[0] if len(found) == 1 else None

    segmented, band = one(_scope.SEGMENTED), one(_scope.BAND)
    if segmented is not None and band is not None:
        return (
            segmented.value + band.value,
            (segmented, band),
            "segmented + band neutrophil counts",
        )
    wbc = one("count")
    if wbc is None:
        return None
    percent = one(_scope.PERCENT)
    if percent is not None:
        return _of(wbc.value, percent.value), (wbc, percent), "WBC × neutrophils %"
    seg_pct, band_pct = one(_scope.SEGMENTED_PERCENT), one(_scope.BAND_PERCENT)
    if seg_pct is not None and band_pct is not None:
        return (
            _of(wbc.value, seg_pct.value + band_pct.value),
            (wbc, seg_pct, band_pct),
            "WBC × (segmented + band neutrophils %)",
        )
    return None


def _of(count: Decimal, percent: Decimal) -> Decimal:
    """``percent`` % of ``count``, to the whole cell/µL (finer digits would be invented)."""
    return (count * percent / _HUNDRED).quantize(_ONE_CELL)


def _derived_evaluation(
    location: str,
    value: Decimal,
    sources: tuple[_Part, ...],
    how: str,
    state: _OrderState,
) -> Evaluation:
    analyte = Analyte.ANC
    day = sources[0].day
    point: Point = (value, 0)
    judged = _judge(
        analyte, (point, point), day=day, lab=None, graded=True, location=location, state=state
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
    return Evaluation(
        location=location,
        analyte=analyte,
        loinc=_scope.analyte_table().loinc_to_add[analyte],
        quantity=NormalizedQuantity(value),
        reference_range=judged.range,
        finding=finding,
        issues=(note, *judged.issues),
        derived_from=derived_from,
    )
