"""The package layout STYLE.md asks for: each third-party library behind one adapter module, and
the code systems that layers not importing each other name twice kept equal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from leukoflag import units
from leukoflag.fhir import _terms
from leukoflag.flagging import _evaluate

SOURCE = Path(__file__).resolve().parents[1] / "src" / "leukoflag"

# pydantic comes with fhir.resources: its ValidationError is caught where the models are used
ADAPTERS = {
    "fhir.resources": "fhir/_fhir_resources.py",
    "hl7apy": "hl7v2/_hl7apy.py",
    "orjson": "fhir/_json.py",
    "pint": "units/_pint.py",
    "pydantic": "fhir/_fhir_resources.py",
}

_MODULE_NAME = re.compile(r"[a-z_]+(\.[A-Za-z0-9_]+)+")


def _library(module: str) -> str | None:
    for library in ADAPTERS:
        if module == library or module.startswith(f"{library}."):
            return library
    return None


def test_each_third_party_library_is_imported_by_its_adapter_module_only() -> None:
    importers: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # a module name for importlib.import_module (fhir.resources.R4B), not prose
                modules = [node.value] if _MODULE_NAME.fullmatch(node.value) else []
            else:
                continue
            for module in modules:
                if library := _library(module):
                    importers.setdefault(library, set()).add(path.relative_to(SOURCE).as_posix())
    assert importers == {library: {adapter} for library, adapter in ADAPTERS.items()}


def test_code_systems_written_in_two_layers_agree() -> None:
    # flagging and units do not import fhir, so they name these systems again: they must not drift
    read_as_flags = {"", _terms.V3_INTERPRETATION, _terms.V2_0078, *_terms.LEGACY_INTERPRETATION}
    assert _evaluate.V3_INTERPRETATION == _terms.V3_INTERPRETATION
    assert read_as_flags == _evaluate.FLAG_SYSTEMS
    assert units.UCUM_SYSTEM == _terms.UCUM
    assert {_terms.UCUM, _terms.UCUM_OID} <= units._UCUM_SYSTEM_NAMES
