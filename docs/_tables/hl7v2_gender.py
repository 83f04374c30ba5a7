"""docs/hl7v2.md: PID-8 → Patient.gender (hl7v2/data/v2_tables.toml, table_0001)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (code(r.code), r.display, code(r.gender), r.source) for r in load_tables().gender.values()
    )
    return markdown_table(("PID-8", "meaning", "gender", "source"), rows)
