"""What the report counts of one output: Observations and values in cells/µL."""

from __future__ import annotations

from typing import Any

from leukoflag.cli._records import _count_results

PER_UL = {"value": 3100, "unit": "cells/µL", "system": "http://unitsofmeasure.org", "code": "/uL"}
K_PER_UL = {
    "value": 3.1,
    "unit": "10*3/uL",
    "system": "http://unitsofmeasure.org",
    "code": "10*3/uL",
}


def _observation(**fields: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", **fields}


def test_bundle_entries_components_and_contained_are_counted() -> None:
    panel = _observation(
        component=[{"valueQuantity": PER_UL}, {"valueQuantity": K_PER_UL}],
        contained=[_observation(valueQuantity=PER_UL)],
    )
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": _observation(valueQuantity=PER_UL)},
            {"resource": _observation(valueQuantity=K_PER_UL)},
            {"resource": panel},
        ],
    }
    assert _count_results(bundle) == (4, 3)


def test_original_value_in_an_extension_is_not_a_normalized_result() -> None:
    original = {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"}
    observation = _observation(
        valueQuantity={**K_PER_UL, "extension": [{**original, "valueQuantity": PER_UL}]},
        extension=[{"url": "x", "extension": [{"url": "value", "valueQuantity": PER_UL}]}],
    )
    assert _count_results(observation) == (1, 0)


def test_a_resource_without_observations_counts_nothing() -> None:
    assert _count_results({"resourceType": "DiagnosticReport", "valueQuantity": PER_UL}) == (0, 0)


def test_arrays_sent_as_other_json_types_count_nothing() -> None:
    # FHIR input is passed through as read: a number where contained or entry belongs used to
    # raise TypeError here, after the item was converted (a traceback in leukoflag convert).
    observation = _observation(valueQuantity=PER_UL, contained=1.5, component={"code": {}})
    assert _count_results(observation) == (1, 1)
    assert _count_results({"resourceType": "Bundle", "type": "collection", "entry": 7}) == (0, 0)
