"""docs/hl7v2.md: coding system names → FHIR URIs (hl7v2/data/coding_systems.toml)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = [
        (code(r.name), code(r.uri), "yes" if r.standard else "no", r.source)
        for r in load_tables().coding_systems.values()
    ]
    rows.append(
        (
            "`HL7nnnn`",
            "`http://terminology.hl7.org/CodeSystem/v2-nnnn`",
            "yes",
            "v2 table 0396: HL7-defined table nnnn (a rule, not a row)",
        )
    )
    return markdown_table(("name", "system", "table 0396", "source"), rows)
