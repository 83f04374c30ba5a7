"""docs/output.md: the parts of the interpretation-explanation extension, as the writer builds them.

The table is made from an explanation the writer builds for a finding with every field set, so a
part added to the code without a meaning here fails the docs build (KeyError).
"""

from __future__ import annotations

from decimal import Decimal

from _tables._format import table
from leukoflag.fhir import _elements
from leukoflag.model import Analyte, Coding, Finding, NormalizedRange, ReferenceRange

MEANING = {
    "rule": "id of the rule that decided the code (see [Rules](rules.md))",
    "value": "the value judged, cells/µL, with its comparator when the value was a bound",
    "threshold": "the limit that decided the code, cells/µL",
    "thresholdSource": (
        "the citation of that limit, from the rules data file (a critical low set in "
        "`Settings.critical_low` is named as the lab's policy)"
    ),
    "rangeSource": "`lab` (the sender's range), `default`, `age-band` or `duffy-null`",
    "rangeSex": (
        "`male` or `female`: the lab's range gives one range per sex, and this sex's was used "
        "(absent when their union judged a patient neither male nor female)"
    ),
    "rangeSexLabel": (
        "with `rangeSex`: the label that sex's range was written under, as sent, and the "
        "language(s) it was read in (`M (Spanish, Portuguese)`: `M` beside `H` names women)"
    ),
    "range": "the reference range judged with, cells/µL",
    "rangeCitation": "the citation of a range leukoflag supplied",
    "finding": "SNOMED CT 84828003 Leukopenia or 165517008 Neutropenia, when low",
    "severity": "neutropenia severity: `mild`, `moderate`, `severe`, `profound`",
    "ctcaeGrade": "NCIt code of the CTCAE grade (C41338 grade 1 … C41337 grade 4)",
    "ctcaeVersion": "CTCAE version of the grade (`5.0`, `6.0`; `Settings.ctcae_version`)",
    "ctcaeTerm": "NCIt code of the CTCAE term (C143948 WBC decreased, C143704 neutrophil count decreased)",
    "derived": "`true` for an ANC leukoflag derived (WBC × neutrophil %, segmented + band)",
}


def _everything() -> Finding:
    sent = ReferenceRange("H 1,5-8,5 M 1,8-7,7", sex_label="H", sex_language="Spanish")
    chosen = NormalizedRange(
        Decimal(1500), Decimal(8500), "age-band", citation="Iowa", sex="male", limits_sent=sent
    )
    return Finding(
        location="MSG[1]/OBR[1]/ANC[derived]",
        analyte=Analyte.ANC,
        value_per_ul=Decimal(420),
        code="LL",
        rule="anc-critical-low",
        threshold=Decimal(500),
        threshold_source="lab policy",
        range=chosen,
        comparator="<",
        condition=Coding("165517008", "Neutropenia", "http://snomed.info/sct"),
        severity="severe",
        ctcae_grade=4,
        ctcae_version="5.0",
        ctcae_term=Coding("C143704", "Neutrophil count decreased"),
        derived=True,
    )


def render() -> str:
    parts = _elements.explanation(_everything())["extension"]
    rows = []
    for part in parts:
        kind = next(key for key in part if key.startswith("value"))
        rows.append((f"`{part['url']}`", f"`{kind}`", MEANING[part["url"]]))
    return table(("part (url)", "type", "meaning"), rows)
