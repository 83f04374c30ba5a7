"""docs/output.md, docs/fhir-input.md and docs/issues.md stay true to the code."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import leukoflag
from leukoflag import fhir
from leukoflag.fhir import _elements

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SOURCE = ROOT / "src" / "leukoflag" / "fhir"
V2_NAMED = "http://leukoflag.org/fhir/CodeSystem/v2-named/"


def _tables() -> None:
    if str(DOCS) not in sys.path:
        sys.path.insert(0, str(DOCS))


def _codes_in_source() -> set[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in SOURCE.glob("*.py"))
    raised = set(re.findall(r'\.issue\(\s*Severity\.\w+,\s*"([a-z-]+)"', text))
    raised |= set(re.findall(r'Issue\(\s*Severity\.\w+,\s*"(fhir\.[a-z-]+)"', text))
    return {code if code.startswith("fhir.") else f"fhir.{code}" for code in raised}


def test_every_fhir_issue_code_is_documented_and_every_documented_one_is_raised() -> None:
    page = (DOCS / "issues.md").read_text(encoding="utf-8")
    section = page.split("## fhir", 1)[1]
    documented = set(re.findall(r"`(fhir\.[a-z-]+)`", section))
    assert _codes_in_source() == documented


def test_every_leukoflag_extension_is_documented() -> None:
    page = (DOCS / "output.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"http://leukoflag\.org/fhir/StructureDefinition/[a-z-]+", page))
    written = {
        _elements.EXPLANATION,
        _elements.SENDER_INTERPRETATION,
        _elements.RANGE_SOURCE,
        _elements.SOURCE_MESSAGE,
        _elements.UNIT_CODE_SENT,
        _elements.UNIT_ALTERNATE_SENT,
        _elements.UNIT_ORIGINAL_TEXT_SENT,
        _elements.COMPUTED_CONCLUSION,
    }
    assert documented == written


def test_generated_example_is_a_valid_bundle_with_the_contract_in_it() -> None:
    _tables()
    from _tables import fhir_example, fhir_extensions

    bundle = fhir_example.bundle()
    assert fhir.validate(bundle, "R4") == []
    rendered = fhir_example.render()
    assert '"code": "26464-8"' in rendered  # LOINC added to the local WBC code
    wbc = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    local = wbc["code"]["coding"][0]
    assert (local["code"], local["system"]) == ("WBC", f"{V2_NAMED}99LKS")
    # the note beside the coding says which system it was written with, not "no system"
    assert "`v2-named/99LKS`" in rendered
    assert "no system" not in rendered
    assert "iso21090-PQ-translation" in rendered
    assert "originalText" in rendered
    parts = fhir_extensions.render()
    for name in fhir_extensions.MEANING:
        assert f"`{name}`" in parts


def _row_of_output_page(starting: str) -> str:
    page = (DOCS / "output.md").read_text(encoding="utf-8")
    (row,) = [line for line in page.splitlines() if line.startswith(starting)]
    return row


def test_the_issues_documented_for_a_value_that_is_not_a_number_are_the_ones_raised() -> None:
    row = _row_of_output_page("| a value that is not a number")
    documented = set(re.findall(r"`((?:hl7v2|fhir|flag)\.[a-z-]+)`", row))
    raised: set[str] = set()
    for value_type, value in (("NM", "NaN"), ("NM", "Infinity"), ("SN", "<^NaN")):
        conversion = leukoflag.convert(
            "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01"
            "|NG24-000200|P|2.5.1\r"
            "PID|1||MRN100871^^^NORTHGATE^MR||OKAFOR^DANIEL^C||19610719|M\r"
            "OBR|1|ORD55390^EHR|LAB88190^CORELAB|58410-2^CBC panel^LN|||20261124080500-0500\r"
            f"OBX|1|{value_type}|6690-2^Leukocytes^LN||{value}|K/uL|4.0-11.0||||F\r"
        )
        (observation,) = [
            e["resource"]
            for e in conversion.bundles[0]["entry"]
            if e["resource"]["resourceType"] == "Observation"
        ]
        assert observation["valueString"] == value.replace("^", "")
        raised |= {issue.code for issue in conversion.issues}
    assert documented <= raised
