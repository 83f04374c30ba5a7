"""docs/hl7v2.md: MSH-18 names → codecs (hl7v2/data/charsets.toml)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (code(r.name), code(r.codec), "yes" if r.standard else "no (Issue)", r.source)
        for r in load_tables().charsets.values()
    )
    return markdown_table(("MSH-18", "read as", "table 0211", "source"), rows)
