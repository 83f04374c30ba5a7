"""What makes two results, codes, specimens or times the same, as keys.

The HL7 v2 reader (which result an OBX-11 U makes final, which OBRs send one order again) and
flagging (which results are one result: corrections, duplicates, a derived ANC's parts) compare
them alike: times as moments (08:05:00-05:00, 13:05:00Z and 08:05:00.000-05:00 are one time),
codes by their codings, specimens wherever they are sent.
"""

from __future__ import annotations

import datetime as dt

from leukoflag.model import Concept, Specimen, Timestamp

__all__ = ["code_key", "specimen_key", "time_after", "utc_instant"]

_SECONDS_OFFSET = len("2026-11-24T08:30:00-05:00")  # a time to the second with its offset


def utc_instant(fhir_time: str) -> str:
    """A FHIR dateTime with a time of day and an offset as its UTC instant; a date, a time
    without offset (never read in the machine's zone: the same input, the same key) or one
    whose UTC instant is past year 9999 or before year 1, as written."""
    if "T" not in fhir_time:
        return fhir_time
    try:
        moment = dt.datetime.fromisoformat(fhir_time)
    except ValueError:
        return fhir_time
    if moment.tzinfo is None:
        return fhir_time
    try:
        return moment.astimezone(dt.UTC).isoformat()
    except OverflowError:
        return fhir_time


def time_after(time: Timestamp, other: Timestamp) -> bool:
    """Whether ``time`` is known to be after ``other``: both with a time of day and an offset
    compared as instants (the usual two, to the second in one offset, as text), else by their
    days when either is a date (a month or a year is its first day: '2026-11' is not after
    '2026-11-24'); a time without offset, or one not read, is not known to be."""
    first, second = time.fhir, other.fhir
    if len(first) == len(second) == _SECONDS_OFFSET and first[19:] == second[19:]:
        return first > second
    if "T" not in first or "T" not in second:
        return time.day > other.day
    try:
        one, two = dt.datetime.fromisoformat(first), dt.datetime.fromisoformat(second)
    except ValueError:  # a leap second, :60
        return False
    if one.tzinfo is None or two.tzinfo is None:
        return False
    return one > two


def code_key(concept: Concept) -> tuple[tuple[str, str], ...] | str:
    """What makes two codes the same: their codings' systems and codes, else their text."""
    return tuple([(c.system, c.code) for c in concept.codings if c.code]) or concept.text


def specimen_key(specimen: Specimen) -> tuple[object, ...]:
    """What makes two SPM segments (or OBR-15) the same specimen, wherever they are sent: the
    moment of collection, as results' times are compared, not how it was written."""
    collected = specimen.collected
    when = utc_instant(collected.fhir) if collected is not None else ""
    return specimen.identifier, specimen.type, specimen.source_site, when
