"""HL7 v2 DTM/TS values → :class:`leukoflag.model.Timestamp` at the precision sent.

v2.5.1 ch. 2A.22: ``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. FHIR ``dateTime`` needs a
zone on any value with a time of day, so a time without an offset takes
``Settings.default_timezone`` (IANA, DST-aware) or is truncated to its date.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from leukoflag.model import Timestamp

__all__ = ["TRUNCATED", "parse_timestamp"]

TRUNCATED = "truncated"
INVALID = "invalid"
_DATE_LENGTHS = (4, 6, 8)
_TIME_LENGTHS = (10, 12, 14)


@functools.lru_cache(maxsize=4096)
def parse_timestamp(text: str, zone: str | None) -> tuple[Timestamp | None, str, str]:
    """``(timestamp, problem kind, problem text)``; kind is ``""``, ``invalid`` or
    ``truncated`` (a time without offset and no default zone: only the date is kept)."""
    value = text.strip()
    offset = ""
    cut = max(value.rfind("+"), value.rfind("-"))
    if cut >= 4:
        value, offset = value[:cut], value[cut:]
    digits, dot, fraction = value.partition(".")
    if not digits.isdigit() or not digits.isascii():
        return None, INVALID, f"{text!r} is not an HL7 v2 date/time (YYYYMMDDHHMMSS±ZZZZ)"
    if len(digits) not in _DATE_LENGTHS and len(digits) not in _TIME_LENGTHS:
        return None, INVALID, f"{text!r} has {len(digits)} digits: not a valid date/time precision"
    if dot and (len(digits) != 14 or not fraction.isdigit() or not fraction.isascii()):
        return None, INVALID, f"{text!r}: fractions of a second need a full HHMMSS time"
    year = int(digits[:4])
    month = int(digits[4:6]) if len(digits) >= 6 else 1
    day = int(digits[6:8]) if len(digits) >= 8 else 1
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None, INVALID, f"{text!r} is not a calendar date"
    if len(digits) in _DATE_LENGTHS:
        if offset:
            return None, INVALID, f"{text!r}: a time-zone offset needs a time of day"
        fhir = digits[:4] + (f"-{digits[4:6]}" if len(digits) >= 6 else "")
        fhir += f"-{digits[6:8]}" if len(digits) == 8 else ""
        return Timestamp(text, fhir, date), "", ""
    hour = int(digits[8:10])
    minute = int(digits[10:12]) if len(digits) >= 12 else 0
    second = int(digits[12:14]) if len(digits) >= 14 else 0
    if hour > 23 or minute > 59 or second > 59:
        return None, INVALID, f"{text!r} is not a valid time of day"
    clock = f"{hour:02d}:{minute:02d}:{second:02d}" + (f".{fraction}" if dot else "")
    iso_date = date.isoformat()
    if offset:
        sign, zone_digits = offset[0], offset[1:]
        if len(zone_digits) != 4 or not zone_digits.isdigit() or not zone_digits.isascii():
            return None, INVALID, f"{text!r}: the offset {offset!r} is not ±HHMM"
        if int(zone_digits[:2]) > 14 or int(zone_digits[2:]) > 59:
            return None, INVALID, f"{text!r}: the offset {offset!r} is out of range"
        zone_text = f"{sign}{zone_digits[:2]}:{zone_digits[2:]}"
        return Timestamp(text, f"{iso_date}T{clock}{zone_text}", date), "", ""
    if zone is None:
        return (
            Timestamp(text, iso_date, date),
            TRUNCATED,
            (
                f"{text!r} has a time but no UTC offset and no default time zone is set: "
                f"kept as the date {iso_date} (FHIR requires a zone on a time)"
            ),
        )
    local = dt.datetime(year, month, day, hour, minute, second, tzinfo=zoneinfo.ZoneInfo(zone))
    delta = local.utcoffset() or dt.timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return Timestamp(text, f"{iso_date}T{clock}{sign}{hours:02d}:{rest:02d}", date), "", ""
