"""leukoflag.fhir.validate on JSON that is not valid FHIR: what it finds, and where it says."""

from __future__ import annotations

from typing import Any

import pytest

from leukoflag import fhir

VERSIONS = ("R4", "R5")


def _wbc() -> dict[str, Any]:
    """An R4/R5 WBC Observation as an EHR feed would send it: valid in both versions."""
    return {
        "resourceType": "Observation",
        "id": "wbc-20260301-0800",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "6690-2",
                    "display": "Leukocytes [#/volume] in Blood by Automated count",
                }
            ],
            "text": "WBC",
        },
        "subject": {"reference": "Patient/mrn-100871"},
        "effectiveDateTime": "2026-03-01T08:00:00-05:00",
        "issued": "2026-03-01T09:12:44-05:00",
        "valueQuantity": {
            "value": 3200,
            "unit": "/uL",
            "system": "http://unitsofmeasure.org",
            "code": "/uL",
        },
        "referenceRange": [{"low": {"value": 4000}, "high": {"value": 11000}}],
    }


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": "feed-7781",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "resource": r}
            for n, r in enumerate(resources)
        ],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_the_sample_observation_is_valid(version: str) -> None:
    assert fhir.validate(_wbc(), version) == []
    assert fhir.validate(_bundle(_wbc()), version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_problem_inside_an_array_is_named_by_its_element_path(version: str) -> None:
    # the models' own problems said 'code.coding.0.code' while the bindings' said
    # 'code.coding[0].code' and the entries 'entry[0].resource': one path style for all
    obs = _wbc()
    obs["code"]["coding"][0]["code"] = "6690-2 "  # a code has no trailing space
    obs["referenceRange"][0]["low"]["value"] = True
    problems = fhir.validate(_bundle(obs), version)
    where = [p.split(": ", 1)[0] for p in problems]
    assert "Bundle.entry[0].resource (Observation).code.coding[0].code" in where
    assert "Bundle.entry[0].resource (Observation).referenceRange[0].low.value" in where
    assert not [p for p in problems if ".0." in p.split(": ", 1)[0]]
