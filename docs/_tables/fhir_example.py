"""docs/output.md: an HL7 v2 message, the Bundle leukoflag writes for it, and what each part is.

Generated at docs build time by converting the message below, so the example cannot drift from
the code; ``tests/fhir/test_fhir_docs.py`` renders it too.
"""

from __future__ import annotations

from typing import Any

import leukoflag
from _tables._format import table
from leukoflag import fhir

MESSAGE = (
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124101522-0600||ORU^R01^ORU_R01|LK26112400317|P"
    "|2.5.1",
    "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO^K||19580212|M",
    "PV1|1|O|INFUSION^BAY 3^^LAKESIDE||||3321^ABERNATHY^LOUISE^^^^MD",
    "ORC|RE|PL-88310^EHR|FL-20261124-0091^HEMLAB",
    "OBR|1|PL-88310^EHR|FL-20261124-0091^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124093000-0600|||||||||3321^ABERNATHY^LOUISE^^^^MD||||||20261124101000-0600|||F",
    "OBX|1|NM|WBC^White cell count^99LKS||2.4|x10\\S\\9/L|4.0-11.0|L|||F|||20261124093000-0600",
    "OBX|2|SN|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||<^0.5|10*3/uL^^UCUM"
    "|1.8-7.7|LL|||F|||20261124093000-0600",
    "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||10.1|g/dL^^UCUM|13.5-17.5|L|||F"
    "|||20261124093000-0600",
    "SPM|1|SP-55102^HEMLAB||BLDV^Blood venous^HL70487|||||||||||||20261124093000-0600",
)


def bundle() -> dict[str, Any]:
    """The example Bundle (R4, transaction)."""
    conversion = leukoflag.convert("\r".join(MESSAGE) + "\r")
    (written,) = conversion.bundles
    return written


_BRIEF = frozenset(("rule", "rangeSource", "finding", "ctcaeGrade"))


def _path(written: dict[str, Any], kind: str, index: int = 0) -> tuple[int, dict[str, Any]]:
    found = [
        (i, e["resource"])
        for i, e in enumerate(written["entry"])
        if e["resource"]["resourceType"] == kind
    ]
    return found[index]


def _show(value: Any) -> str:
    text = fhir.dumps(value).decode()
    return f"`{text}`" if len(text) <= 160 else f"`{text[:157]}…`"


def render() -> str:
    written = bundle()
    wbc_at, wbc = _path(written, "Observation", 0)
    anc_at, anc = _path(written, "Observation", 1)
    hgb_at, hgb = _path(written, "Observation", 2)
    report_at, report = _path(written, "DiagnosticReport")
    provenance_at, provenance = _path(written, "Provenance")
    explanation = next(
        e for e in wbc["extension"] if e["url"].endswith("/interpretation-explanation")
    )
    wbc_path = f"entry[{wbc_at}].resource"
    rows = [
        ("id", _show(written["id"]), "UUIDv5 of the message key (see Ids below)"),
        ("type", _show(written["type"]), "`Settings.bundle_type`; transaction entries are PUTs"),
        (
            f"{wbc_path}.code.coding",
            _show(wbc["code"]["coding"]),
            "the local code as sent (99LKS is a v2 name, no URI: leukoflag's `v2-named/99LKS` "
            "system), LOINC 26464-8 added",
        ),
        (
            f"{wbc_path}.valueQuantity.value",
            _show(wbc["valueQuantity"]["value"]),
            "2.4 × 10⁹/L in cells/µL, exact",
        ),
        (
            f"{wbc_path}.valueQuantity.extension[0].valueQuantity",
            _show(wbc["valueQuantity"]["extension"][0]["valueQuantity"]),
            "the value and unit as sent (`iso21090-PQ-translation`)",
        ),
        (
            f"{wbc_path}.interpretation[0].coding",
            _show(wbc["interpretation"][0]["coding"]),
            "the one code leukoflag computed",
        ),
        (
            f"{wbc_path}.extension[0].extension",
            _show([part for part in explanation["extension"] if part["url"] in _BRIEF]),
            "why (`interpretation-explanation`; every part is listed below)",
        ),
        (
            f"{wbc_path}.extension[1].valueCodeableConcept",
            _show(wbc["extension"][1]["valueCodeableConcept"]),
            "the sender's own flag (OBX-8), kept (`sender-interpretation`)",
        ),
        (
            f"{wbc_path}.referenceRange[0].low",
            _show(wbc["referenceRange"][0]["low"]),
            "the lab's range in cells/µL, each limit as sent kept; `text` as sent",
        ),
        (
            f"entry[{anc_at}].resource.valueQuantity",
            _show(anc["valueQuantity"]),
            "SN `<^0.5`: a comparator; the text as sent is kept as `originalText`",
        ),
        (
            f"entry[{hgb_at}].resource.interpretation",
            _show(hgb["interpretation"]),
            "not a count: value and flags exactly as sent",
        ),
        (
            f"entry[{report_at}].resource.conclusionCode",
            _show(report["conclusionCode"]),
            "the findings of the report's low results",
        ),
        (
            f"entry[{provenance_at}].resource.entity",
            _show(provenance["entity"]),
            "the source message; `target` lists every other entry",
        ),
    ]
    message = "\n".join(MESSAGE)
    return (
        f"```text\n{message}\n```\n\n"
        + table(("JSON path", "value", "what it is"), rows)
        + "\nThe whole Bundle:\n\n```json\n"
        + fhir.dumps(written, pretty=True).decode()
        + "\n```\n"
    )
