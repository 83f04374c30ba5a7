"""Builders of realistic lab messages for tests: HL7 v2 ORU^R01 text and FHIR Observations/Bundles.

A one-line call gives a complete, valid message with sensible, deterministic defaults::

    msg = oru_message(patient=patient(birth_date="20190302"), results=[wbc(3.2, "10*9/L")])
    msg.text      # "MSH|^~\\&|…\\rPID|…\\rPV1|…\\rORC|…\\rOBR|…\\rOBX|…\\rSPM|…\\r"
    msg.mllp()    # the same, encoded in its MSH-18 charset, in an MLLP frame

The same result descriptions (:func:`wbc`, :func:`anc`, :func:`result`) render as FHIR with
:func:`observation` and :func:`fhir_bundle`.

Every value is escaped with the message's own delimiters (a ``^`` in a unit is written
``\\S\\``, a control character ``\\Xhh\\``), so a builder never produces invalid HL7: what
cannot be written validly (a bad delimiter set, a text value in an NM result; text the
MSH-18 charset cannot carry, when encoded) raises ``ValueError``. The same call always gives
the same text: timestamps default to :data:`DEFAULT_COLLECTED` and steps after it, the
message control id is a digest of the content, FHIR ids are UUIDv5 of the content. Standard
library only.

This module is the namespace the ``hl7_message_builder`` fixture returns.
"""

from __future__ import annotations

from leukoflag.testing._fhir import (
    LEGACY_INTERPRETATION,
    V3_INTERPRETATION,
    FhirResource,
    fhir_bundle,
    ndjson,
    observation,
    panel_observation,
)
from leukoflag.testing._specs import (
    ANC_LOINC,
    CBC_LOINC,
    COUNT_UNIT,
    DEFAULT_COLLECTED,
    DEFAULT_PATIENT,
    WBC_LOINC,
    Code,
    OrderSpec,
    PatientResultSpec,
    PatientSpec,
    ResultSpec,
    ZSegmentSpec,
    anc,
    local_code,
    loinc,
    order,
    patient,
    patient_result,
    result,
    snomed,
    ucum,
    wbc,
    z_segment,
)
from leukoflag.testing._v2 import Hl7Batch, OruMessage, batch, oru_message, to_mllp

__all__ = [
    "ANC_LOINC",
    "CBC_LOINC",
    "COUNT_UNIT",
    "DEFAULT_COLLECTED",
    "DEFAULT_PATIENT",
    "LEGACY_INTERPRETATION",
    "V3_INTERPRETATION",
    "WBC_LOINC",
    "Code",
    "FhirResource",
    "Hl7Batch",
    "OrderSpec",
    "OruMessage",
    "PatientResultSpec",
    "PatientSpec",
    "ResultSpec",
    "ZSegmentSpec",
    "anc",
    "batch",
    "fhir_bundle",
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
