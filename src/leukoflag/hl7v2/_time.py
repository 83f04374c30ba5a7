"""HL7 v2 DTM/TS values → :class:`leukoflag.model.Timestamp` at the precision sent.

v2.5.1 ch. 2A.22: ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. FHIR ``dateTime`` needs a
zone on any value with a time of day, so a time without an offset takes
``Settings.default_timezone`` (IANA, DST-aware) or is truncated to its date. FHIR has no hour or
minute precision (a time is ``hh:mm:ss``): a time sent to the minute gets ``:00`` seconds, one
sent to the hour ``:00:00`` and a ``padded`` note, since the minutes it shows were not sent.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from leukoflag._cache import text_cache
from leukoflag._construct import constructor
from leukoflag._quote import quoted
from leukoflag.model import Timestamp

__all__ = ["AMBIGUOUS", "OFFSET_DROPPED", "PADDED", "TRUNCATED", "UNHOLDABLE", "parse_timestamp"]

TRUNCATED = "truncated"
INVALID = "invalid"
PADDED = "padded"
# a local time that a daylight-saving change makes occur twice or never
AMBIGUOUS = "ambiguous"
# a date sent with an offset (v2.5.1 2A.22 allows it): a FHIR date has no zone to hold it
OFFSET_DROPPED = "offset-dropped"
# a valid DTM that FHIR dateTime cannot hold (reported as invalid): MSH-7's still keys the ids
UNHOLDABLE = "unholdable"
_DATE_LENGTHS = (4, 6, 8)
_TIME_LENGTHS = (10, 12, 14)
_FRACTION_DIGITS = 9  # FHIR dateTime's most decimals of a second
_OFFSET_MAX = "1400"  # FHIR dateTime's widest offset either way (+14:30 is no zone)


@text_cache(4096)
def parse_timestamp(text: str, zone: str | None) -> tuple[Timestamp | None, str, str]:
    """``(timestamp, problem kind, problem text)``; kind is ``""``, ``invalid``, ``truncated``
    (a time without offset and no default zone: only the date is kept), ``offset-dropped`` (a
    date with an offset: the date is kept without it), ``padded`` (a time
    to the hour, written with ``:00:00``), ``unholdable`` (a valid DTM FHIR dateTime cannot hold:
    an offset beyond ±14:00 up to ±14:59, more than 9 decimals of a second; not read, reported
    as invalid) or ``ambiguous`` (a time without offset that the
    default zone's daylight-saving change makes occur twice or not at all: written with the
    offset before the change; its text also says when the time was to the hour)."""
    value = text.strip()
    offset = ""
    cut = max(value.rfind("+"), value.rfind("-"))
    if cut >= 4:
        value, offset = value[:cut], value[cut:]
    digits, dot, fraction = value.partition(".")
    if not digits.isdigit() or not digits.isascii():
        return None, INVALID, f"{quoted(text)} is not an HL7 v2 date/time (YYYYMMDDHHMMSS±ZZZZ)"
    size = len(digits)
    if size not in _DATE_LENGTHS and size not in _TIME_LENGTHS:
        return None, INVALID, f"{quoted(text)} has {size} digits: not a valid date/time precision"
    if dot and (size != 14 or not fraction.isdigit() or not fraction.isascii()):
        return None, INVALID, f"{quoted(text)}: fractions of a second need a full HHMMSS time"
    if len(fraction) > _FRACTION_DIGITS:
        return (
            None,
            UNHOLDABLE,
            (
                f"{quoted(text)} has {len(fraction)} decimals of a second: FHIR dateTime holds at "
                f"most {_FRACTION_DIGITS}"
            ),
        )
    # The text is ASCII digits from here on: its parts are the FHIR rendering as they stand,
    # and two-digit parts compare as numbers.
    year, month, day = digits[:4], digits[4:6], digits[6:8]
    try:
        date = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None, INVALID, f"{quoted(text)} is not a calendar date"
    new_timestamp = constructor(Timestamp)
    if size in _DATE_LENGTHS:
        fhir = year + (f"-{month}" if month else "") + (f"-{day}" if day else "")
        if offset:
            return _date_with_offset(new_timestamp(text, fhir, date), offset)
        return new_timestamp(text, fhir, date), "", ""
    hour, minute, second = digits[8:10], digits[10:12] or "00", digits[12:14] or "00"
    if hour > "23" or minute > "59" or second > "59":
        return None, INVALID, f"{quoted(text)} is not a valid time of day"
    clock = f"{hour}:{minute}:{second}.{fraction}" if dot else f"{hour}:{minute}:{second}"
    iso_date = f"{year}-{month}-{day}"
    if offset:
        sign, zone_digits = offset[0], offset[1:]
        if len(zone_digits) != 4 or not zone_digits.isdigit() or not zone_digits.isascii():
            return None, INVALID, f"{quoted(text)}: the offset {quoted(offset)} is not ±HHMM"
        if zone_digits > _OFFSET_MAX or zone_digits[2:] > "59":
            # up to +14:59 an HL7 v2 offset, which FHIR cannot hold; beyond, none at all
            beyond_v2 = zone_digits[:2] > "14" or zone_digits[2:] > "59"
            return (
                None,
                INVALID if beyond_v2 else UNHOLDABLE,
                (
                    f"{quoted(text)}: the offset {quoted(offset)} is out of range (FHIR dateTime "
                    "holds -14:00 to +14:00)"
                ),
            )
        zone_text = f"{sign}{zone_digits[:2]}:{zone_digits[2:]}"
        return _padded(new_timestamp(text, f"{iso_date}T{clock}{zone_text}", date), size)
    if zone is None:
        return (
            new_timestamp(text, iso_date, date),
            TRUNCATED,
            (
                f"{quoted(text)} has a time but no UTC offset and no default time zone is set: "
                f"kept as the date {iso_date} (FHIR requires a zone on a time)"
            ),
        )
    zone_info = zoneinfo.ZoneInfo(zone)
    local = dt.datetime.combine(date, dt.time(int(hour), int(minute), int(second)), zone_info)
    delta = local.utcoffset() or dt.timedelta(0)
    fhir = f"{iso_date}T{clock}{_offset(delta)}"
    stamp = new_timestamp(text, fhir, date)
    other = local.replace(fold=1).utcoffset() or dt.timedelta(0)
    if other != delta:  # a daylight-saving change: fold 0 is the offset before it
        return stamp, AMBIGUOUS, _ambiguity(stamp, local, zone, other, size)
    return _padded(stamp, size)


def _date_with_offset(stamp: Timestamp, offset: str) -> tuple[Timestamp | None, str, str]:
    """A date sent with a UTC offset (``19840512-0600``, as some registration systems send
    PID-7): the date is kept, the offset, which a FHIR date cannot hold, only in the note."""
    digits = offset[1:]
    if len(digits) != 4 or not digits.isdigit() or not digits.isascii():
        return None, INVALID, f"{quoted(stamp.text)}: the offset {quoted(offset)} is not ±HHMM"
    if digits[:2] > "14" or digits[2:] > "59":
        return None, INVALID, f"{quoted(stamp.text)}: the offset {quoted(offset)} is out of range"
    return (
        stamp,
        OFFSET_DROPPED,
        (
            f"{quoted(stamp.text)} is a date with a UTC offset, which a FHIR date cannot hold: "
            f"kept as the date {stamp.fhir}, without the offset {quoted(offset)}"
        ),
    )


def _offset(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _ambiguity(
    stamp: Timestamp, local: dt.datetime, zone: str, other: dt.timedelta, size: int
) -> str:
    """Why a local time in a daylight-saving change has no one offset, and which was written."""
    wall = f"{local:%Y-%m-%d %H:%M:%S}"
    used = stamp.fhir[-6:]
    back = local.astimezone(dt.UTC).astimezone(local.tzinfo).replace(tzinfo=None)
    if back == local.replace(tzinfo=None):
        said = (
            f"{wall} occurs twice in {zone} (the clocks go back): written with the offset of "
            f"its first occurrence, {used}; the second is {_offset(other)}"
        )
    else:
        said = (
            f"{wall} does not exist in {zone} (the clocks go forward over it): written with the "
            f"offset in force before the change, {used}"
        )
    hour_only = " (it is precise to the hour: the minutes were not sent)" if size == 10 else ""
    return f"{quoted(stamp.text)} has no UTC offset, and {said}{hour_only}"


def _padded(stamp: Timestamp, size: int) -> tuple[Timestamp, str, str]:
    """A timestamp with a time of day, and the note on one sent to the hour only."""
    if size != _TIME_LENGTHS[0]:
        return stamp, "", ""
    return (
        stamp,
        PADDED,
        (
            f"{quoted(stamp.text)} is precise to the hour, which FHIR dateTime cannot say: written "
            f"as {stamp.fhir} (the minutes were not sent)"
        ),
    )
