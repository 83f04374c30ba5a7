"""Scope, reference ranges, interpretation codes, CTCAE grades and findings.

Contract used by :mod:`leukoflag.api`:

* ``patient_context(patient, settings, message_time)`` — birth date, sex and the Duffy-null
  opt-in; the message's time, whose offset names the zone of a birth date without time.
* ``evaluate_order(order, context, settings, fallback_day=, replaced=, orders=)`` — one
  Evaluation per ``order.results`` item in the same order, then any derived ANC evaluations
  (``orders=``: the patient's orders, where an age sent as a result may be found).
* ``replaced_across_orders(orders, context, settings)`` — of one patient's orders, the results
  that another OBR of the same order replaces, withdraws or follows with a cancelled one
  (``replaced=`` of each ``evaluate_order``).
* ``duplicated_across_orders(orders, context, settings, evaluations)`` — after every
  ``evaluate_order`` of one patient's orders: the evaluations that gain ``flag.result-duplicate``
  because the same order sent again under another OBR holds the same result with another count.

For the FHIR writer: ``ctcae_grade_coding(grade)`` gives the NCIt coding of a CTCAE grade. For
the FHIR reader, which chooses among a lab's age-specific ranges as the rules judge age:
``birth_span(birth_date)``, the first and last possible birth day of a birth date sent as a year,
month or day, ``youngest_birth(first, last, day)``, the latest of them for a result of ``day``,
and ``too_old(birth, day)``, whether that birth date is a placeholder (over ``OLDEST_AGE`` years);
``drawn(...)``, the time a result is dated by for the patient's age, ``moment(fhir_time)``, a
birth time as a datetime, ``age_day(stamp, zone)``, a result's day in the birth time's offset,
and ``born_after(born, stamp)``, why a result is before the birth time; for its Issues,
``range_named(range)``: whose a range is, with its limits.

The tables (``data/analytes.csv``, ``data/specimens.csv``, ``data/rules.toml``) are read once per
process, on first use; ``docs/rules.md`` documents every rule and is generated from them.
"""

from __future__ import annotations

from leukoflag._construct import constructor
from leukoflag.flagging._evaluate import (
    OLDEST_AGE,
    age_day,
    birth_span,
    born_after,
    drawn,
    duplicated_across_orders,
    evaluate_order,
    moment,
    range_named,
    replaced_across_orders,
    too_old,
    youngest_birth,
)
from leukoflag.flagging._rules import load_rules
from leukoflag.model import Coding, Patient, PatientContext, Timestamp
from leukoflag.settings import Settings

# Made once: a constructor() call is a cache look-up of about 900 instructions (29 a CBC).
_new_patient_context = constructor(PatientContext)

__all__ = [
    "OLDEST_AGE",
    "age_day",
    "birth_span",
    "born_after",
    "ctcae_grade_coding",
    "drawn",
    "duplicated_across_orders",
    "evaluate_order",
    "moment",
    "patient_context",
    "range_named",
    "replaced_across_orders",
    "too_old",
    "youngest_birth",
]

_GENDERS = frozenset({"male", "female", "other", "unknown"})


def patient_context(
    patient: Patient | None, settings: Settings, message_time: Timestamp | None = None
) -> PatientContext:
    """What the rules need to know about ``patient`` (None: a result without a PID).

    A birth date sent to year or month precision keeps both its first and last possible day; a
    birth time, its offset. ``message_time`` (MSH-7, a message Bundle's timestamp): its offset
    names the zone a result time sent in UTC is counted in for a birth date without time.
    Duffy-null status comes only from ``settings.duffy_null`` (identifiers as sent, bare or
    ``system|value``; ``"*"`` for every patient): it is never inferred.
    """
    if patient is None:
        return PatientContext(duffy_null=settings.is_duffy_null(()))
    earliest = latest = zone = birth_time = None
    if patient.birth_date is not None:
        earliest, latest = birth_span(patient.birth_date)
        if "T" in patient.birth_date.fhir:  # a birth time (with its offset, when known)
            born = moment(patient.birth_date.fhir)
            zone = born.tzinfo if born is not None else None
            birth_time = born if zone is not None else None
    sex = patient.sex.strip().lower()
    # Most conversions declare no Duffy-null patient: the identifiers are not even spelled.
    duffy_null = bool(settings.duffy_null) and settings.is_duffy_null(_identifiers(patient))
    # Once per patient of every message: the fast constructor, positional (field order).
    return _new_patient_context(
        earliest,
        sex if sex in _GENDERS else "unknown",
        duffy_null,
        latest if latest != earliest else None,
        zone,
        birth_time,
        "",
        message_time,
    )


def _identifiers(patient: Patient) -> tuple[str, ...]:
    """The patient's identifiers as ``settings.duffy_null`` may name them: bare and
    ``system|value`` or ``assigner|value``."""
    identifiers: list[str] = []
    for identifier in patient.identifiers:
        value = identifier.value.strip()
        if not value:
            continue
        identifiers.append(value)
        namespaces = (identifier.system, identifier.assigner)
        identifiers.extend(f"{namespace}|{value}" for namespace in namespaces if namespace)
    return tuple(identifiers)


def ctcae_grade_coding(grade: int) -> Coding:
    """The NCIt coding of CTCAE ``grade`` (1–5); raises KeyError for any other number."""
    return load_rules().grade_codes[grade]
