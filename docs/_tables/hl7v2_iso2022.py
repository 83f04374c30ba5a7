"""docs/hl7v2.md: MSH-18 sets switched by ISO 2022 escape sequences → codecs (charsets.toml)."""

from __future__ import annotations

from _tables._hl7v2 import code, markdown_table
from leukoflag.hl7v2._tables import load_tables


def render() -> str:
    rows = (
        (", ".join(code(name) for name in sorted(r.sets)), code(r.codec), r.source)
        for r in load_tables().iso2022
    )
    return markdown_table(("MSH-18 sets (any of)", "read as", "source"), rows)
