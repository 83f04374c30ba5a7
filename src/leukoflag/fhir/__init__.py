"""FHIR writer (Bundles as plain dicts) and reader (Observation, Bundle, NDJSON; flag in place).

Contract used by :mod:`leukoflag.api` (keep these signatures; the FHIR work replaces the
placeholders below):

* ``write_bundle(message, evaluations, settings)`` — one Bundle (plain dict) per message, and the
  Issues found while writing.
* ``read_items(stream, source=, settings=)`` — one ``FhirItem`` or ``Rejected`` per input item
  (a JSON document, or an NDJSON line), streaming.
* ``flag_in_place(item, evaluations, settings)`` — the item's resource with in-scope results
  normalized and interpreted, everything else unchanged; and the Issues found.
* ``validate(resource, fhir_version)`` — fhir.resources check of the resource and of every
  ``entry.resource`` with its own model class; an empty list when valid.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from leukoflag.model import Evaluation, Issue, Message, PatientResult, Rejected
from leukoflag.settings import Settings

__all__ = ["FhirItem", "flag_in_place", "read_items", "validate", "write_bundle"]


@dataclass(frozen=True, slots=True)
class FhirItem:
    """One FHIR input item, parsed: the JSON and the results found in it."""

    index: int
    source: str
    raw: bytes
    resource: dict[str, Any]
    groups: tuple[PatientResult, ...] = ()
    issues: tuple[Issue, ...] = ()

    @property
    def location(self) -> str:
        return f"ITEM[{self.index}]"


def write_bundle(
    message: Message, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    raise NotImplementedError  # placeholder


def read_items(
    stream: BinaryIO, *, source: str, settings: Settings
) -> Iterator[FhirItem | Rejected]:
    raise NotImplementedError  # placeholder


def flag_in_place(
    item: FhirItem, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    raise NotImplementedError  # placeholder


def validate(resource: dict[str, Any], fhir_version: str) -> list[str]:
    raise NotImplementedError  # placeholder
