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
    compared as instants (the usual two, to the second in one offset, as text), two dates by
    their days (a month or a year is its first day: '2026-11' is not after '2026-11-24'); a
    date beside a time with an offset by the days that time falls on anywhere, as a date has no
    offset ('2026-11-25' in Tokyo began before '2026-11-24T22:30:00Z': :func:`_day_at`); a
    time without offset, or one not read, is not known to be."""
    first, second = time.fhir, other.fhir
    if len(first) == len(second) == _SECONDS_OFFSET and first[19:] == second[19:]:
        return first > second
    if "T" not in first or "T" not in second:
        if "T" in second:  # a date after a time: after the time's day in every zone
            there = _day_at(second, _LATEST_OFFSET)
            return there is not None and time.day > there
        if "T" in first:  # a time after a date: after its day in every zone
            there = _day_at(first, _EARLIEST_OFFSET)
            return there is not None and there > other.day
        return time.day > other.day
    try:
        one, two = dt.datetime.fromisoformat(first), dt.datetime.fromisoformat(second)
    except ValueError:  # a leap second, :60
        return False
    if one.tzinfo is None or two.tzinfo is None:
        return False
    return one > two


# The offsets of the first and the last zone to begin a day: UTC+14:00 (Line Islands), UTC-12:00.
_LATEST_OFFSET = dt.timedelta(hours=14)
_EARLIEST_OFFSET = dt.timedelta(hours=-12)


def _day_at(fhir_time: str, offset: dt.timedelta) -> dt.date | None:
    """The day the time ``fhir_time`` falls on at UTC ``offset``: with the latest offset the
    last day it is anywhere, with the earliest the first. A date, which has no offset, may be
    the day of any zone, so it is surely after a time only when after the time's day at
    UTC+14:00, and a time surely after a date only when its day at UTC-12:00 is after that
    date. None: the time has no offset, or cannot be read."""
    try:
        moment = dt.datetime.fromisoformat(fhir_time)
    except ValueError:  # a leap second, :60
        return None
    if moment.tzinfo is None:
        return None
    try:
        return (moment.astimezone(dt.UTC) + offset).date()
    except OverflowError:  # within hours of year 1 or 9999
        return None


def code_key(concept: Concept) -> tuple[tuple[str, str], ...] | str:
    """What makes two codes the same: their codings' systems and codes, else their text."""
    return tuple([(c.system, c.code) for c in concept.codings if c.code]) or concept.text


def specimen_key(specimen: Specimen) -> tuple[object, ...]:
    """What makes two SPM segments (or OBR-15) the same specimen, wherever they are sent: the
    moment of collection, as results' times are compared, not how it was written."""
    collected = specimen.collected
    when = utc_instant(collected.fhir) if collected is not None else ""
    return specimen.identifier, specimen.type, specimen.source_site, when
