"""One moment written several ways, as one key.

The HL7 v2 reader (which result a U makes final) and flagging (which results are one result, a
derived ANC's parts) both compare the times results were observed as moments: 08:05:00-05:00,
13:05:00Z and 08:05:00.000-05:00 are one time.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["utc_instant"]


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
