"""The refused spellings of docs/units.md, generated from leukoflag/units/data/units.toml."""

from __future__ import annotations

from _tables.units import cell, code

from leukoflag.units import unit_table
from leukoflag.units._table import refused_form


def render() -> str:
    """Every ``[refused]`` row, with the reason given when a spelling of its form is sent."""
    table = unit_table()
    lines = ["| spelling | why | sources |", "|---|---|---|"]
    for row in table.refused_rows:
        why = table.refused[refused_form(row.spelling)].why  # the first row of the form's
        lines.append(f"| {code(row.spelling)} | {cell(why)} | {cell(row.seen)} |")
    return "\n".join(lines)
