"""Testing toolkit for EHR pipelines: message builders and assertions (pytest not needed).

The pytest plugin (:mod:`leukoflag.testing.plugin`, registered through the ``pytest11`` entry
point) adds the fixtures ``leukoflag_convert``, ``leukoflag_settings`` and
``hl7_message_builder``. See ``docs/testing.md``.
"""

from __future__ import annotations

from leukoflag.testing.assertions import (
    assert_count_per_ul,
    assert_flagged,
    assert_no_data_loss,
    assert_not_flagged,
    assert_valid_fhir,
    find_observations,
)
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
    panel_observation,
    patient,
    result,
    snomed,
    to_mllp,
    ucum,
    wbc,
)
from leukoflag.testing.conversion import RecordedConversion, convert_message

__all__ = [
    "DEFAULT_COLLECTED",
    "Code",
    "FhirResource",
    "Hl7Batch",
    "OrderSpec",
    "OruMessage",
    "PatientSpec",
    "RecordedConversion",
    "ResultSpec",
    "anc",
    "assert_count_per_ul",
    "assert_flagged",
    "assert_no_data_loss",
    "assert_not_flagged",
    "assert_valid_fhir",
    "batch",
    "convert_message",
    "fhir_bundle",
    "find_observations",
    "local_code",
    "loinc",
    "ndjson",
    "observation",
    "order",
    "oru_message",
    "panel_observation",
    "patient",
    "result",
    "snomed",
    "to_mllp",
    "ucum",
    "wbc",
]
