"""docs/rules.md: the reference ranges leukoflag supplies (rules.toml [[range]])."""

from __future__ import annotations

from _tables._format import cells, table
from leukoflag.flagging._rules import load_rules


def render() -> str:
    rules = load_rules()
    rows = (
        (
            f"`{r.id}`",
            r.analyte.value.upper(),
            r.kind,
            "any" if r.sex == "any" else ("unknown or other" if r.sex == "unknown" else r.sex),
            r.age.describe(),
            cells(r.low),
            cells(r.high),
            r.source,
        )
        for r in rules.ranges
    )
    return table(("range", "analyte", "source written", "sex", "age", "low", "high", "cited"), rows)
