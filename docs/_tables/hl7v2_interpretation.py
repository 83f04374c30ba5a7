"""docs/hl7v2.md: OBX-8 → interpretation (hl7v2/data/v2_tables.toml, table_0078)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (
            code(r.code),
            r.display,
            code(r.interpretation) if r.interpretation else "none: kept as `HL70078`",
            r.source,
        )
        for r in load_tables().interpretation.values()
    )
    return markdown_table(("OBX-8", "meaning", "v3 interpretation", "source"), rows)
