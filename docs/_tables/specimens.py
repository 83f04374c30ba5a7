"""docs/rules.md: the specimen table (flagging/data/specimens.csv)."""

from __future__ import annotations

from _tables._format import table
from leukoflag.flagging._scope import specimen_table

_SYSTEM = {
    "http://terminology.hl7.org/CodeSystem/v2-0487": "HL7 table 0487",
    "http://snomed.info/sct": "SNOMED CT",
    "http://loinc.org": "LOINC (order)",
    "token": "word",
}


def render() -> str:
    rows = (
        (f"`{code}`", _SYSTEM[system], klass, display, source)
        for code, system, klass, display, source in specimen_table().rows
    )
    return table(("code or word", "system", "class", "meaning", "source"), rows)
