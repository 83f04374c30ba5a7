"""docs/rules.md: the analyte code table (flagging/data/analytes.csv)."""

from __future__ import annotations

from _tables._format import table
from leukoflag.flagging._scope import LOINC, SNOMED, analyte_table

_SYSTEM = {LOINC: "LOINC", SNOMED: "SNOMED CT", "local": "local code", "text": "text"}


def render() -> str:
    rows = (
        (
            f"`{row.code}`",
            _SYSTEM[row.system],
            row.kind,
            row.analyte.value.upper() if row.analyte else "—",
            row.display,
            row.source,
        )
        for row in analyte_table().rows
    )
    return table(("code or text", "matched as", "kind", "analyte", "meaning", "source"), rows)
