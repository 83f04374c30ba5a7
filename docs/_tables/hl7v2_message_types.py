"""docs/hl7v2.md: the message types read (hl7v2/data/v2_tables.toml, message_types)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = ((code(r.code), r.display, r.source) for r in load_tables().message_types.values())
    return markdown_table(("MSH-9", "meaning", "source"), rows)
