"""docs/hl7v2.md: OBR-25 → DiagnosticReport.status (hl7v2/data/v2_tables.toml, table_0123)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (code(r.code), r.display, code(r.status.value), r.source)
        for r in load_tables().report_status.values()
    )
    return markdown_table(("OBR-25", "meaning", "status", "source"), rows)
