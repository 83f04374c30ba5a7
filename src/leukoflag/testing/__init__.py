"""Testing toolkit for EHR pipelines: message builders and assertions (no pytest needed).

The pytest plugin (:mod:`leukoflag.testing.plugin`, registered through the ``pytest11`` entry
point) adds the fixtures ``leukoflag_convert``, ``leukoflag_settings`` and
``hl7_message_builder``. See ``docs/testing.md``.
"""

from __future__ import annotations

from leukoflag.testing.builders import (
    DEFAULT_COLLECTED,
    Code,
    FhirResource,
    Hl7Batch,
    OrderSpec,
    OruMessage,
    PatientSpec,
    ResultSpec,
    anc,
    batch,
    fhir_bundle,
    local_code,
    loinc,
    ndjson,
    observation,
    order,
    oru_message,
    patient,
    result,
    snomed,
    to_mllp,
    ucum,
    wbc,
)

__all__ = [
    "DEFAULT_COLLECTED",
    "Code",
    "FhirResource",
    "Hl7Batch",
    "OrderSpec",
    "OruMessage",
    "PatientSpec",
    "ResultSpec",
    "anc",
    "batch",
    "fhir_bundle",
    "local_code",
    "loinc",
    "ndjson",
    "observation",
    "order",
    "oru_message",
    "patient",
    "result",
    "snomed",
    "to_mllp",
    "ucum",
    "wbc",
]
