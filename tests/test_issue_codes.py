"""docs/issues.md lists exactly the Issue codes the code can raise, with their severities.

The codes are read from the source, not from a run: every full code written as a string
(``"hl7v2.code-missing"``), every short code given to the fhir and flagging helpers
(``self.issue(Severity.WARNING, "gender-unknown", …)``) and every code built with an f-string,
expanded from the values the code fills in. An f-string code this test does not know fails it,
so a new family (``f"hl7v2.timestamp-{kind}"``) cannot slip past the page.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from leukoflag import units
from leukoflag.hl7v2 import _read, _time
from leukoflag.model import Severity

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "leukoflag"
PREFIXES = ("input", "hl7v2", "units", "flag", "fhir")
FULL_CODE = re.compile(rf"^(?:{'|'.join(PREFIXES)})\.[a-z0-9]+(?:-[a-z0-9]+)*$")
# The package whose helpers prefix a short code (``_issue(…, "age-unknown")`` is flag.age-unknown).
HELPER_PREFIX = {"fhir": "fhir", "flagging": "flag"}
HELPERS = {"issue", "_issue", "Issue"}
NOT_CODES = {"fhir.resources"}  # the FHIR library's package name
UNITS_SEVERITY: dict[str, Severity] = units._SEVERITY
# Each code built with an f-string, as written, and the codes it can give (with severities).
FAMILIES: dict[str, dict[str, set[Severity]]] = {
    "f'hl7v2.timestamp-{kind}'": {
        f"hl7v2.timestamp-{kind}": {
            _read._SEVERITY.get(f"hl7v2.timestamp-{kind}", Severity.WARNING)
        }
        for kind in (
            _time.INVALID,
            _time.TRUNCATED,
            _time.PADDED,
            _time.AMBIGUOUS,
            _time.OFFSET_DROPPED,
        )
    },
    # _implicit_order is called for the segments that can come before any OBR
    "f'hl7v2.{name.lower()}-without-obr'": {
        "hl7v2.obx-without-obr": {Severity.WARNING},
        "hl7v2.spm-without-obr": {Severity.WARNING},
    },
    "f\"units.{error.reason or 'unknown-unit'}\"": {
        f"units.{reason}": {severity} for reason, severity in UNITS_SEVERITY.items()
    },
    # the helpers' own prefixing: their short codes are collected at the calls
    "f'fhir.{code}'": {},
    "f'flag.{code}'": {},
}


def _documented() -> dict[str, set[Severity]]:
    page = (ROOT / "docs" / "issues.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9.-]+)` \| ([a-z /]+?) \|", page, re.MULTILINE)
    return {code: {Severity(s.strip()) for s in severity.split("/")} for code, severity in rows}


def _raised() -> tuple[dict[str, set[Severity]], list[str]]:
    """Codes found in the source with the severities seen beside them, and unknown f-strings."""
    raised: dict[str, set[Severity]] = {}
    unknown: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.parent.name == "testing":
            continue  # the pytest plugin quotes codes in its messages; it raises none
        helper_prefix = HELPER_PREFIX.get(path.parent.name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if FULL_CODE.match(node.value) and node.value not in NOT_CODES:
                    raised.setdefault(node.value, set())
            elif isinstance(node, ast.JoinedStr) and _is_code_fstring(node):
                written = ast.unparse(node)
                if written not in FAMILIES:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {written}")
                for code, severities in FAMILIES.get(written, {}).items():
                    raised.setdefault(code, set()).update(severities)
            elif isinstance(node, ast.Call) and _name(node.func) in HELPERS:
                _helper_call(node.args, helper_prefix, raised)
            elif isinstance(node, ast.Tuple):  # an hl7v2 note: (field, severity, code, text)
                _helper_call(node.elts[1:], None, raised)
    return raised, unknown


def _is_code_fstring(node: ast.JoinedStr) -> bool:
    first = node.values[0] if node.values else None
    return (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and re.match(rf"^(?:{'|'.join(PREFIXES)})\.[a-z0-9-]*$", first.value) is not None
    )


def _name(func: ast.expr) -> str:
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def _helper_call(
    args: list[ast.expr], prefix: str | None, raised: dict[str, set[Severity]]
) -> None:
    if len(args) < 2:
        return
    severity, code = args[0], args[1]
    if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
        return
    if prefix is None and not FULL_CODE.match(code.value):
        return
    name = code.value if "." in code.value or prefix is None else f"{prefix}.{code.value}"
    found = raised.setdefault(name, set())
    if (
        isinstance(severity, ast.Attribute)
        and isinstance(severity.value, ast.Name)
        and severity.value.id == "Severity"
    ):
        found.add(Severity[severity.attr])


def _hl7v2_note_severity(code: str) -> Severity:
    # hl7v2 notes (value, unit, range, flag) take their severity from the reader's table
    return _read._SEVERITY.get(code, Severity.WARNING)


def test_every_issue_code_is_documented_and_every_documented_one_can_be_raised() -> None:
    raised, unknown = _raised()
    assert unknown == [], "a code built with an f-string: add its expansion to FAMILIES"
    documented = _documented()
    assert len(raised) >= 95
    assert sorted(set(raised) - set(documented)) == []
    assert sorted(set(documented) - set(raised)) == []


def test_every_issue_code_has_the_severity_the_page_gives() -> None:
    raised, _ = _raised()
    documented = _documented()
    wrong = []
    for code, seen in sorted(raised.items()):
        severities = seen or ({_hl7v2_note_severity(code)} if code.startswith("hl7v2.") else seen)
        if severities and severities != documented.get(code):
            wrong.append((code, sorted(severities), sorted(documented.get(code, ()))))
    assert wrong == []


def test_the_family_expansions_cover_what_the_code_fills_in() -> None:
    # every kind the hl7v2 time parser returns, and every reason a units refusal is given
    kinds = set(
        re.findall(r'^[A-Z_]+ = "([a-z-]+)"$', (SOURCE / "hl7v2" / "_time.py").read_text(), re.M)
    )
    # "unholdable" (a DTM FHIR cannot hold) is reported as hl7v2.timestamp-invalid
    assert kinds == {
        "invalid",
        "truncated",
        "padded",
        "ambiguous",
        "unholdable",
        "offset-dropped",
    }
    # objects: a reason written as anything but a string must fail the subset check below
    reasons: set[object] = set(units._REASON_OF_KIND.values())
    for path in (SOURCE / "units").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) in {"UnitError", "_Refusal"}:
                given = [k.value for k in node.keywords if k.arg == "reason"]
                if _name(node.func) == "_Refusal":
                    given += node.args[2:3]
                reasons.update(g.value for g in given if isinstance(g, ast.Constant))
    assert len(reasons) >= 9
    assert reasons <= set(UNITS_SEVERITY)
