"""Tables of docs/units.md, generated from leukoflag/units/data/units.toml."""

from __future__ import annotations

from leukoflag.units import UnitKind, resolve_unit, unit_table


def code(text: str) -> str:
    """A markdown code span that survives table pipes and backticks."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return (
        f"{fence} {text} {fence}"
        if text.strip() != text or "`" in text
        else f"{fence}{text}{fence}"
    )


def cell(text: str) -> str:
    """Plain table text: no pipes, no emphasis from UCUM's * or from _."""
    for char in "\\|*_":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def render() -> str:
    """Every spelling of the data file, in file order."""
    table = unit_table()
    lines = [
        "| spelling | UCUM | to cells/µL | kind | any case | seen |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.rows:
        spec = resolve_unit(row.spelling)  # what leukoflag actually does with it
        factor = f"×{spec.factor:,f}" if spec.kind is UnitKind.COUNT else "refused"
        lines.append(
            f"| {code(row.spelling)} | {code(row.ucum)} | {factor} | {spec.kind.value} | "
            f"{'yes' if row.fold else 'no'} | {cell(row.seen)} |"
        )
    return "\n".join(lines)
