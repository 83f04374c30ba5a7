"""docs/hl7v2.md: ORC-5 → ServiceRequest.status (hl7v2/data/v2_tables.toml, table_0038)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (code(r.code), r.display, code(r.status), r.source)
        for r in load_tables().order_status.values()
    )
    return markdown_table(("ORC-5", "meaning", "status", "source"), rows)
