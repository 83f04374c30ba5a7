"""Adapter to fhir.resources: model validation of what leukoflag writes.

Imported lazily (only :func:`leukoflag.fhir.validate` imports this module, and this module imports
fhir.resources inside the function), never on the conversion hot path. R4 output is checked with
the R4B models (``fhir.resources.R4B``), R5 output with the default R5 models.

Each resource is checked with its own model class; a Bundle's ``entry.resource`` and any
``contained`` resource are taken out of their parent and checked separately, so every problem is
reported once, at its own path.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["validate_models"]

_PACKAGES = {"R4": "fhir.resources.R4B", "R4B": "fhir.resources.R4B", "R5": "fhir.resources"}


def validate_models(resource: dict[str, Any], fhir_version: str) -> list[str]:
    """Problems fhir.resources finds in ``resource`` and the resources inside it."""
    package = importlib.import_module(_PACKAGES[fhir_version])
    problems: list[str] = []
    _check(resource, resource.get("resourceType", "?"), package, problems)
    return problems


def _check(resource: Any, path: str, package: Any, problems: list[str]) -> None:
    from pydantic import ValidationError  # noqa: PLC0415 - fhir.resources brings pydantic

    if not isinstance(resource, dict):
        problems.append(f"{path}: not a JSON object")
        return
    kind = resource.get("resourceType")
    try:
        model = package.get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError, TypeError):
        problems.append(f"{path}: unknown resourceType {kind!r}")
        return
    shell = dict(resource)
    inner: list[tuple[str, Any]] = []
    contained = shell.pop("contained", None)
    if isinstance(contained, list):
        inner.extend((f"{path}.contained[{i}]", r) for i, r in enumerate(contained))
    entries = shell.get("entry")
    if kind == "Bundle" and isinstance(entries, list):
        stripped = []
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and "resource" in entry:
                inner.append((f"{path}.entry[{i}].resource", entry["resource"]))
                stripped.append({k: v for k, v in entry.items() if k != "resource"})
            else:
                stripped.append(entry)
        shell["entry"] = stripped
    label = path if path == kind else f"{path} ({kind})"  # a nested resource names its type
    try:
        model.model_validate(shell)
    except ValidationError as exc:
        for error in exc.errors():
            where = _element_path(error["loc"])
            problems.append(
                f"{label}.{where}: {error['msg']}" if where else f"{label}: {error['msg']}"
            )
    for inner_path, inner_resource in inner:
        _check(inner_resource, inner_path, package, problems)


def _element_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as the element path the rest of leukoflag writes
    (``code.coding[0].code``, as Bundle entries and code bindings are named)."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path
