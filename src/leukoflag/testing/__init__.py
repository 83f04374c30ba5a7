"""Testing toolkit for EHR pipelines: message builders and assertions (pytest not needed).

The pytest plugin (:mod:`leukoflag.testing.plugin`, registered through the ``pytest11`` entry
point) adds the fixtures ``leukoflag_convert``, ``leukoflag_settings`` and
``hl7_message_builder``. See ``docs/testing.md``.

pytest imports this package in every run wherever leukoflag is installed (the plugin lives in
it), so every name is imported on first use: loading the plugin loads neither the builders nor
the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leukoflag._lazy import lazy_attributes

if TYPE_CHECKING:
    from leukoflag.testing.assertions import (
        Output,
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
        PatientResultSpec,
        PatientSpec,
        ResultSpec,
        ZSegmentSpec,
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
        patient_result,
        result,
        snomed,
        to_mllp,
        ucum,
        wbc,
        z_segment,
    )
    from leukoflag.testing.conversion import (
        Convertible,
        RecordedConversion,
        convert_message,
    )

__all__ = [
    "DEFAULT_COLLECTED",
    "Code",
    "Convertible",
    "FhirResource",
    "Hl7Batch",
    "OrderSpec",
    "OruMessage",
    "Output",
    "PatientResultSpec",
    "PatientSpec",
    "RecordedConversion",
    "ResultSpec",
    "ZSegmentSpec",
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
    "patient_result",
    "result",
    "snomed",
    "to_mllp",
    "ucum",
    "wbc",
    "z_segment",
]

_LAZY = {
    "Code": "leukoflag.testing.builders",
    "Convertible": "leukoflag.testing.conversion",
    "DEFAULT_COLLECTED": "leukoflag.testing.builders",
    "FhirResource": "leukoflag.testing.builders",
    "Hl7Batch": "leukoflag.testing.builders",
    "OrderSpec": "leukoflag.testing.builders",
    "OruMessage": "leukoflag.testing.builders",
    "Output": "leukoflag.testing.assertions",
    "PatientResultSpec": "leukoflag.testing.builders",
    "PatientSpec": "leukoflag.testing.builders",
    "RecordedConversion": "leukoflag.testing.conversion",
    "ResultSpec": "leukoflag.testing.builders",
    "ZSegmentSpec": "leukoflag.testing.builders",
    "anc": "leukoflag.testing.builders",
    "assert_count_per_ul": "leukoflag.testing.assertions",
    "assert_flagged": "leukoflag.testing.assertions",
    "assert_no_data_loss": "leukoflag.testing.assertions",
    "assert_not_flagged": "leukoflag.testing.assertions",
    "assert_valid_fhir": "leukoflag.testing.assertions",
    "batch": "leukoflag.testing.builders",
    "convert_message": "leukoflag.testing.conversion",
    "fhir_bundle": "leukoflag.testing.builders",
    "find_observations": "leukoflag.testing.assertions",
    "local_code": "leukoflag.testing.builders",
    "loinc": "leukoflag.testing.builders",
    "ndjson": "leukoflag.testing.builders",
    "observation": "leukoflag.testing.builders",
    "order": "leukoflag.testing.builders",
    "oru_message": "leukoflag.testing.builders",
    "panel_observation": "leukoflag.testing.builders",
    "patient": "leukoflag.testing.builders",
    "patient_result": "leukoflag.testing.builders",
    "result": "leukoflag.testing.builders",
    "snomed": "leukoflag.testing.builders",
    "to_mllp": "leukoflag.testing.builders",
    "ucum": "leukoflag.testing.builders",
    "wbc": "leukoflag.testing.builders",
    "z_segment": "leukoflag.testing.builders",
}


if not TYPE_CHECKING:  # type checkers see the imports above; the names resolve on first use
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
