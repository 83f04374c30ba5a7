"""docs/hl7v2.md: SPM-11 roles and control specimen types (hl7v2/data/v2_tables.toml)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    tables = load_tables()
    roles = (
        (f"SPM-11 {code(r.code)}", r.display, "yes" if r.control else "no", r.source)
        for r in tables.specimen_role.values()
    )
    kinds = (
        (
            f"SPM-4/OBR-15 {'code' if r.kind == 'code' else 'word'} {code(r.code)}",
            "control material",
            "yes",
            r.source,
        )
        for r in tables.control_types
    )
    return markdown_table(("value", "meaning", "is_control", "source"), (*roles, *kinds))
