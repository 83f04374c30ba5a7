"""The UCUM codes table of docs/units.md, generated from leukoflag/units/data/units.toml."""

from __future__ import annotations

from _tables.units import cell

from leukoflag.units import unit_table


def render() -> str:
    """Every UCUM code the spellings map to, with its documented factor and source."""
    table = unit_table()
    lines = [
        "| UCUM code | data kind | factor | meaning | source |",
        "|---|---|---|---|---|",
    ]
    for entry in table.ucum.values():
        factor = "—" if entry.factor is None else format(entry.factor, ",f")
        lines.append(
            f"| `{entry.code}` | {entry.kind.value} | {factor} | {cell(entry.meaning)} | "
            f"{cell(entry.source)} |"
        )
    return "\n".join(lines)
