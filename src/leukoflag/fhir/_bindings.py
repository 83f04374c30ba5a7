"""Required code bindings checked without fhir.resources (its models check types, not codes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leukoflag.fhir._terms import bindings

__all__ = ["check_bindings"]


def check_bindings(resource: dict[str, Any], fhir_version: str) -> list[str]:
    """Codes in ``resource`` (and every resource inside it) outside their required value set."""
    version = "R4" if fhir_version in ("R4", "R4B") else "R5"
    rules = bindings(version)
    problems: list[str] = []
    for path, kind, node in _resources(resource, resource.get("resourceType", "?")):
        # a nested resource names its type, as the models' problems do (Bundle.entry[0].resource
        # (Patient).gender)
        label = path if path == kind else f"{path} ({kind})"
        for rule in rules:
            if rule.resource not in (kind, "*"):
                continue
            for where, code in _codes(node, rule.path, label):
                if not isinstance(code, str) or code not in rule.codes:
                    problems.append(
                        f"{where}: {code!r} is not in the required value set ({rule.source})"
                    )
    return problems


def _resources(node: Any, path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every resource in ``node``: itself, Bundle entries, contained resources (nested)."""
    if not isinstance(node, dict):
        return
    kind = node.get("resourceType")
    if isinstance(kind, str):
        yield path, kind, node
    for key, value in node.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _resources(item, f"{path}.{key}[{i}]")
        elif isinstance(value, dict):
            yield from _resources(value, f"{path}.{key}")


def _codes(node: Any, steps: tuple[str, ...], path: str) -> Iterator[tuple[str, Any]]:
    if steps and steps[0] == "**":
        yield from _anywhere(node, steps[1], path, top=True)
        return
    if not steps:
        yield path, node
        return
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _codes(item, steps, f"{path}[{i}]")
        return
    if isinstance(node, dict) and steps[0] in node:
        yield from _codes(node[steps[0]], steps[1:], f"{path}.{steps[0]}")


def _anywhere(node: Any, name: str, path: str, *, top: bool = False) -> Iterator[tuple[str, Any]]:
    """Every value of key ``name`` below ``node``, outside nested resources (checked on their
    own)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _anywhere(item, name, f"{path}[{i}]")
    elif isinstance(node, dict):
        if "resourceType" in node and not top:
            return
        for key, value in node.items():
            if key == name:
                yield f"{path}.{key}", value
            else:
                yield from _anywhere(value, name, f"{path}.{key}")
