"""Use leukoflag as a library: convert a file, read its findings and issues, normalize counts.

Run from the repository root: ``python examples/use_library.py`` (``make demo`` does).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import leukoflag

MESSAGES = Path(__file__).parent / "messages"


def show_conversion(path: Path, settings: leukoflag.Settings) -> None:
    conv = leukoflag.convert_file(path, settings=settings)
    print(f"{path.name}: {len(conv.bundles)} bundle(s), {len(conv.rejected)} rejected")
    for finding in conv.findings:  # one per WBC/ANC result that was judged
        condition = finding.condition.display if finding.condition else "no finding"
        grade = f"CTCAE {finding.ctcae_version} grade {finding.ctcae_grade}"
        print(
            f"  {finding.location}  {finding.analyte.value.upper()}  "
            f"{finding.value_per_ul:,f} cells/µL  {finding.code}  {finding.rule}  {condition}"
            + (f"  {grade}" if finding.ctcae_grade is not None else "")
        )
    for issue in conv.issues:  # everything not mapped, repaired or not judged
        print(f"  {issue.severity:<11} {issue.code}  {issue.location}: {issue.text}")
    for rejected in conv.rejected:  # inputs that gave no Bundle, with the raw bytes kept
        print(f"  rejected item {rejected.index}: {rejected.reason}")
    bundle = conv.bundles[0] if conv.bundles else {}
    types = sorted({entry["resource"]["resourceType"] for entry in bundle.get("entry", [])})
    print(f"  first bundle: {bundle.get('type', '-')} of {', '.join(types) or '-'}")


def show_counts() -> None:
    for value, unit, analyte in [
        ("8.2", "giga.l-1", "wbc"),
        ("3.1", "K/uL", "wbc"),
        ("0.62", "x10^9/L", "anc"),
        ("410", "/mm3", "anc"),
        ("4.1", "10*12/L", "wbc"),  # a red-cell unit on a WBC: refused
    ]:
        try:
            count: Decimal = leukoflag.count_per_ul(value, unit, analyte=analyte)
        except leukoflag.UnitError as exc:
            print(f"  {value} {unit} ({analyte}): not a count: {exc}")  # begins with exc.reason
        else:
            print(f"  {value} {unit} ({analyte}) = {count:,f} cells/µL")


def main() -> None:
    settings = leukoflag.Settings(fhir_version="R4", range_policy="lab")
    for name in ("leukopenic-adult.hl7", "neutropenic-child.hl7", "cbc-panel-bundle.json"):
        show_conversion(MESSAGES / name, settings)
    print("count_per_ul:")
    show_counts()


if __name__ == "__main__":
    main()
