"""FHIR writer (Bundles as plain dicts) and reader (Observation, Bundle, NDJSON; flag in place).

Contract used by :mod:`leukoflag.api`:

* ``write_bundle(message, evaluations, settings)`` — one Bundle (plain dict) per message, and the
  Issues found while writing.
* ``read_items(stream, source=, settings=)`` — one ``FhirItem`` or ``Rejected`` per input item
  (a JSON document, an element of a JSON array, or an NDJSON line), streaming.
* ``split_items(stream)``, ``read_line(raw, index=, source=)``, ``read_document(document,
  source=)`` — the same in two steps, for ``--jobs``: the items of a stream unparsed (NDJSON
  lines, or one ``Document``), then the items of one line or one document; ``read_items`` is
  exactly their composition.
* ``flag_in_place(item, evaluations, settings)`` — the item's resource with in-scope results
  normalized and interpreted, everything else unchanged; and the Issues found.
* ``validate(resource, fhir_version)`` — fhir.resources check of the resource and of every
  ``entry.resource`` / ``contained`` resource with its own model class, plus the required code
  bindings the models do not check; an empty list when valid.

And the serializer every other step uses: ``dumps(resource) -> bytes`` (exact decimals, plain
notation; ``dumps(resource, newline=True)`` is one NDJSON line) and ``loads(data)`` (numbers with
a fraction or exponent become ``Decimal``). ``docs/output.md`` is the output contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from leukoflag.fhir._bindings import check_bindings
from leukoflag.fhir._flag import flag_in_place as _flag_in_place
from leukoflag.fhir._json import dumps, loads
from leukoflag.fhir._read import Document, FhirItem, read_document, read_line, split_items
from leukoflag.fhir._read import read_items as _read_items
from leukoflag.fhir._write import write_bundle as _write_bundle
from leukoflag.model import Evaluation, Issue, Message, Rejected
from leukoflag.settings import Settings

__all__ = [
    "Document",
    "FhirItem",
    "dumps",
    "flag_in_place",
    "loads",
    "read_document",
    "read_items",
    "read_line",
    "split_items",
    "validate",
    "write_bundle",
]

_VERSIONS = ("R4", "R5")  # what validate checks against


def write_bundle(
    message: Message, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """One Bundle for ``message`` (``settings.bundle_type``, ``settings.fhir_version``) and the
    Issues found while writing; ``evaluations`` are flagging's, keyed by result location.

    The Bundle is a JSON tree of its own: each of its dicts and lists is new and used once in it,
    so the caller may change it in place."""
    return _write_bundle(message, evaluations, settings)


def read_items(
    stream: BinaryIO, *, source: str, settings: Settings
) -> Iterator[FhirItem | Rejected]:
    """One :class:`FhirItem` or :class:`~leukoflag.model.Rejected` per item of ``stream``.

    ``settings`` is accepted for symmetry with the HL7 v2 reader; reading FHIR needs none.
    """
    del settings
    return _read_items(stream, source=source)


def flag_in_place(
    item: FhirItem, evaluations: Mapping[str, Evaluation], settings: Settings
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """``item.resource`` with its in-scope results per the output contract; everything else as
    read. The input JSON is not mutated (changed containers are copies; unchanged subtrees are
    the item's own), and what is added is new, shared with nothing leukoflag keeps."""
    return _flag_in_place(item, evaluations, settings)


def validate(resource: dict[str, Any], fhir_version: str) -> list[str]:
    """Problems in ``resource`` for ``fhir_version`` (``R4`` → fhir.resources R4B models, ``R5``):
    model validation of it and of each resource inside it, and required code bindings.
    Raises ``ValueError`` for another ``fhir_version``."""
    if fhir_version not in _VERSIONS:
        raise ValueError(f"fhir_version: 'R4' or 'R5', got {fhir_version!r}")
    from leukoflag.fhir._fhir_resources import validate_models  # noqa: PLC0415 - slow import

    return [*validate_models(resource, fhir_version), *check_bindings(resource, fhir_version)]
