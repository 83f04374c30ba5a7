"""The sources legend of docs/units.md, generated from leukoflag/units/data/units.toml."""

from __future__ import annotations

from _tables.units import cell

from leukoflag.units import unit_table


def render() -> str:
    """The short names the `seen` and `source` columns cite."""
    lines = ["| name | source |", "|---|---|"]
    lines.extend(f"| {name} | {cell(text)} |" for name, text in unit_table().sources.items())
    return "\n".join(lines)
