"""Renderings kept between Bundles as templates, and the copies every output gets of them.

The HL7 v2 reader returns one object per distinct field text (an OBX-3 code, an OBX-7 range, an
OBX-8 flag list), and a feed repeats those fields in every message. Their FHIR renderings are
kept by the identity of the object: the cache holds the object itself, so its id cannot be
reused while the entry lives. What is kept is a *template*, never handed out: every call returns
a fresh copy of it (``fresh``), because every output is a tree of its own that its user may
change in place (see ``docs/output.md``). The copiers below are written for the few small
shapes the writer keeps (Coding, CodeableConcept, reference range), which is much cheaper than
a general deep copy; :func:`fresh_json` is the general one, for the rare paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from leukoflag._cache import LONGEST_KEY

__all__ = [
    "by_identity",
    "fresh_concept",
    "fresh_identifier",
    "fresh_json",
    "fresh_range",
    "too_long",
]

K = TypeVar("K")
C = TypeVar("C")
T = TypeVar("T")
V = TypeVar("V")


def by_identity(
    render: Callable[[K, C], T | None], fresh: Callable[[T], V], limit: int = 4096
) -> Callable[[K, C], V | None]:
    """``fresh(render(obj, context))``, with ``render`` remembered by the identity of ``obj``
    for ``limit`` objects: the rendering is the template, each call gets its own copy (a
    rendering of nothing, None, stays None).

    ``context`` is a second object the rendering depends on (the unit of a range as sent): an
    entry made with another context is rendered again.
    """
    entries: dict[int, tuple[K, C, T | None]] = {}

    def cached(obj: K, context: C) -> V | None:
        entry = entries.get(id(obj))
        if entry is not None and entry[1] is context:
            template = entry[2]
        else:
            template = render(obj, context)
            if not too_long(template):
                if len(entries) >= limit:
                    entries.clear()
                entries[id(obj)] = (obj, context, template)
        return fresh(template) if template is not None else None

    return cached


# Characters of a rendering's repr above which it is not kept: a rendering of the usual fields
# (a LOINC coding, a unit, a range with its text) takes a few hundred; one of fields of
# megabytes, kept by thousands, would hold as many megabytes.
_LONGEST_RENDERING = 8 * LONGEST_KEY


def too_long(rendering: object) -> bool:
    """Whether ``rendering`` (made on a cache miss) holds too much input text to be kept."""
    return len(repr(rendering)) > _LONGEST_RENDERING


def fresh_concept(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of a CodeableConcept whose codings are flat (``system``, ``code``, ``display``…)."""
    codings = template.get("coding")
    if codings is None:  # text only
        return template.copy()
    if len(template) == 1 and len(codings) == 1:  # the common OBX-3: one coding
        return {"coding": [codings[0].copy()]}
    out = template.copy()
    out["coding"] = [coding.copy() for coding in codings]
    return out


def fresh_identifier(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of an Identifier: its ``type`` a CodeableConcept of flat codings, its ``assigner``
    a flat Reference."""
    copied = template.copy()
    kind, assigner = template.get("type"), template.get("assigner")
    if kind is not None:
        copied["type"] = fresh_concept(kind)
    if assigner is not None:
        copied["assigner"] = assigner.copy()
    return copied


def fresh_range(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of a reference range as sent: ``low``/``high`` are flat Quantities."""
    copied = template.copy()
    low, high = template.get("low"), template.get("high")
    if low is not None:
        copied["low"] = low.copy()
    if high is not None:
        copied["high"] = high.copy()
    return copied


def fresh_json(node: Any) -> Any:
    """A deep copy of the dicts and lists of JSON ``node`` (its leaves, all immutable, kept)."""
    if isinstance(node, dict):
        return {key: fresh_json(value) for key, value in node.items()}
    if isinstance(node, list):
        return [fresh_json(value) for value in node]
    return node
