"""docs/rules.md: CTCAE grade limits per version (rules.toml [[ctcae]])."""

from __future__ import annotations

from _tables._format import cells, table
from leukoflag.flagging._rules import load_rules


def render() -> str:
    rules = load_rules()
    rows = []
    for scale in rules.ctcae.values():
        limits = ["< LLN" if g.below is None else f"< {cells(g.below)}" for g in scale.grades]
        rows.append(
            (
                scale.version,
                f"{scale.term.display} (NCIt {scale.term.code})",
                *limits,
                scale.source,
            )
        )
    grades = table(
        ("grade", "NCIt code", "display"),
        ((str(n), c.code, c.display) for n, c in sorted(rules.grade_codes.items())),
    )
    scale_table = table(
        ("version", "term", "grade 1", "grade 2", "grade 3", "grade 4", "source"), rows
    )
    return (
        scale_table
        + "\nGrade codes (for the FHIR writer, `flagging.ctcae_grade_coding`):\n\n"
        + grades
    )
