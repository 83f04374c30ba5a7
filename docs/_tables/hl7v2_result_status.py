"""docs/hl7v2.md: OBX-11 → Observation.status (hl7v2/data/v2_tables.toml, table_0085)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (
            code(r.code),
            r.display,
            code(r.status.value),
            code(r.data_absent_reason),
            r.source,
        )
        for r in load_tables().result_status.values()
    )
    return markdown_table(("OBX-11", "meaning", "status", "data-absent-reason", "source"), rows)
