"""docs/rules.md: every flag rule of rules.toml, in the order the code applies them."""

from __future__ import annotations

from _tables._format import cells, table
from leukoflag.flagging._rules import load_rules
from leukoflag.settings import Settings


def render() -> str:
    rules = load_rules()
    defaults = Settings()
    rows = []
    for analyte, critical in rules.critical_low.items():
        limit = defaults.critical_low_for(analyte.value)
        rows.append(
            (
                f"`{critical.id}`",
                analyte.value.upper(),
                "everyone",
                f'< `Settings.critical_low["{analyte.value}"]` (default {cells(limit)})',
                "LL",
                critical.source,
            )
        )
    for analyte, significant in rules.significantly_low.items():
        rows.append(
            (
                f"`{significant.id}`",
                analyte.value.upper(),
                "everyone",
                f"< {cells(significant.below)}",
                "LU",
                significant.source
                + (
                    f" (under {rules.adult_age.describe()}: {significant.child_source})"
                    if significant.child_source
                    else ""
                ),
            )
        )
    for disease in rules.diseases:
        finding = rules.findings[disease.finding]
        who = disease.age.describe()
        if disease.population == "duffy-null":
            who += ", declared Duffy-null"
        if disease.age.end is None and disease.population == "general":
            who += " (and unknown age)"
        limit = "the age band's low limit" if disease.below is None else cells(disease.below)
        rows.append(
            (
                f"`{disease.id}`",
                disease.analyte.value.upper(),
                who,
                f"< {limit}",
                f"L + {finding.display} (SNOMED CT {finding.code})",
                disease.source,
            )
        )
    for name in ("wbc", "anc"):
        rows.append(
            (
                f"`{name}-below-range`",
                name.upper(),
                "everyone",
                "< range low",
                "L",
                "the range used",
            )
        )
        rows.append(
            (
                f"`{name}-above-range`",
                name.upper(),
                "everyone",
                "> range high",
                "H",
                "the range used",
            )
        )
        rows.append(
            (f"`{name}-within-range`", name.upper(), "everyone", "otherwise", "N", "the range used")
        )
    out = table(("rule", "analyte", "applies to", "value (cells/µL)", "gives", "source"), rows)
    severity = table(
        ("severity", "ANC below (cells/µL)", "source"),
        ((band.name, cells(band.below), band.source) for band in rules.severities),
    )
    sources = table(("source", "citation"), ((f"`{k}`", v) for k, v in rules.sources.items()))
    notes = [
        f"- `{rule.id}`: {rule.note}"
        for rule in (*rules.ranges, *rules.diseases, *rules.significantly_low.values())
        if rule.note
    ]
    return "\n".join(
        (
            out,
            "Notes from the rules file:\n",
            "\n".join(notes) + "\n",
            "#### Neutropenia severity\n",
            "Given with the neutropenia finding: the first band the ANC is below.\n",
            severity,
            "#### Sources\n",
            sources,
        )
    )
