"""FHIR invariants that fhir.resources' models do not check, for every output the tests make.

The models check structure and types; a FHIR validator also enforces the invariants written in
the spec: ``ele-1`` (no empty object, array or string; JSON ``null`` is not FHIR), ``bdl-7``
(each ``fullUrl`` once), ``bdl-3`` (``request`` in a transaction, none in a collection), a
resource's ``fullUrl`` naming its ``id``, each ``urn:uuid:`` reference resolving inside the
Bundle, one ``value[x]`` (its primitive extensions, ``_valueInteger``, count as the value),
``obs-6`` (``dataAbsentReason`` only without a value) and ``obs-3`` (a reference range has a
``low``, ``high`` or ``text``). One walk of the tree: cheap beside the model validation.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["invariant_problems"]

_VALUES = frozenset(
    f"{prefix}value{kind}"
    for prefix in ("", "_")
    for kind in (
        "Quantity",
        "CodeableConcept",
        "String",
        "Boolean",
        "Integer",
        "Range",
        "Ratio",
        "SampledData",
        "Time",
        "DateTime",
        "Period",
        "Attachment",
        "Reference",
    )
)


def invariant_problems(resource: dict[str, Any]) -> list[str]:
    """The invariants ``resource`` (a Bundle or one resource) breaks, each with its path."""
    problems: list[str] = []
    _walk(resource, resource.get("resourceType", "?"), problems)
    if resource.get("resourceType") == "Bundle":
        _bundle(resource, problems)
    return problems


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        if not node:
            problems.append(f"{path}: empty object (ele-1)")
        if node.get("resourceType") == "Observation" or "component" in path.rsplit(".", 1)[-1]:
            _observation(node, path, problems)
        for key, value in node.items():
            if value is None or value in ("", []):
                problems.append(f"{path}.{key}: {value!r} (ele-1)")
            else:
                _walk(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if item is None:
                problems.append(f"{path}[{i}]: null (ele-1)")
            else:
                _walk(item, f"{path}[{i}]", problems)


def _observation(node: dict[str, Any], path: str, problems: list[str]) -> None:
    """An Observation or one of its components."""
    values = sorted({key.lstrip("_") for key in node if key in _VALUES})
    if len(values) > 1:
        problems.append(f"{path}: more than one value[x]: {values}")
    if values and "dataAbsentReason" in node:
        problems.append(f"{path}: {values[0]} and dataAbsentReason (obs-6)")
    for i, entry in enumerate(_listed(node.get("referenceRange"))):
        if isinstance(entry, dict) and not {"low", "high", "text", "normalValue"} & entry.keys():
            problems.append(f"{path}.referenceRange[{i}]: no low, high or text (obs-3)")


def _bundle(bundle: dict[str, Any], problems: list[str]) -> None:
    entries = [e for e in _listed(bundle.get("entry")) if isinstance(e, dict)]
    urls = [e["fullUrl"] for e in entries if isinstance(e.get("fullUrl"), str)]
    repeated = sorted(url for url, times in Counter(urls).items() if times > 1)
    if repeated:
        problems.append(f"Bundle.entry.fullUrl repeated (bdl-7): {repeated}")
    requesting = bundle.get("type") in ("transaction", "batch")
    known = set(urls)
    for i, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        url, rid = entry.get("fullUrl"), resource.get("id")
        if isinstance(url, str) and url.startswith("urn:uuid:") and rid and url[9:] != rid:
            problems.append(f"Bundle.entry[{i}]: fullUrl {url} names another id than {rid}")
        if requesting != ("request" in entry):
            problems.append(f"Bundle.entry[{i}]: request in a {bundle.get('type')} (bdl-3)")
        problems.extend(
            f"Bundle.entry[{i}]: {reference} resolves to no entry"
            for reference in _references(resource)
            if reference.startswith("urn:uuid:") and reference not in known
        )


def _listed(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else nothing (the fuzz tests send any JSON)."""
    return value if isinstance(value, list) else []


def _references(node: Any) -> list[str]:
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            reference = current.get("reference")
            if isinstance(reference, str):
                found.append(reference)
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return found
