"""What makes two results, codes, specimens or times the same, as keys.

The HL7 v2 reader (which result an OBX-11 U makes final, which OBRs send one order again) and
flagging (which results are one result: corrections, duplicates, a derived ANC's parts) compare
them alike: times as moments (08:05:00-05:00, 13:05:00Z and 08:05:00.000-05:00 are one time),
codes by their codings, specimens wherever they are sent.
"""

from __future__ import annotations

import datetime as dt

from leukoflag.model import Concept, Specimen

__all__ = ["code_key", "specimen_key", "utc_instant"]


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


def code_key(concept: Concept) -> tuple[tuple[str, str], ...] | str:
    """What makes two codes the same: their codings' systems and codes, else their text."""
    return tuple([(c.system, c.code) for c in concept.codings if c.code]) or concept.text


def specimen_key(specimen: Specimen) -> tuple[object, ...]:
    """What makes two SPM segments (or OBR-15) the same specimen, wherever they are sent: the
    moment of collection, as results' times are compared, not how it was written."""
    collected = specimen.collected
    when = utc_instant(collected.fhir) if collected is not None else ""
    return specimen.identifier, specimen.type, specimen.source_site, when
