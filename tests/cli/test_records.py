"""What the report counts of one output: Observations and values in cells/µL."""

from __future__ import annotations

from typing import Any

from leukoflag import api
from leukoflag.cli._records import _count_results, record_of
from leukoflag.settings import Settings

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


def test_a_count_sent_in_per_microlitre_but_not_normalized_is_not_counted() -> None:
    # a lab that sends every count in /uL (UCUM): the platelets and lymphocytes are written as
    # sent, not normalized, and neither is a cancelled WBC; the report counted all four
    taken = "20261124081000-0500"
    message = "\r".join(
        (
            r"MSH|^~\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124093000-0500||ORU^R01^ORU_R01|EF-2201|P|2.5",
            "PID|1||MRN200188^^^EASTFIELD^MR||TESTCASE^ROWAN||19750604|F",
            f"OBR|1|EO-2201^EHR|EL-2201^CORELAB|58410-2^CBC panel^LN|||{taken}",
            f"OBX|1|NM|6690-2^Leukocytes^LN||6800|/uL^^UCUM|4500-11000||||F|||{taken}",
            f"OBX|2|NM|777-3^Platelets^LN||245000|/uL^^UCUM|150000-400000||||F|||{taken}",
            f"OBX|3|NM|731-0^Lymphocytes^LN||2100|/uL^^UCUM|1000-4000||||F|||{taken}",
            f"OBX|4|NM|751-8^Neutrophils^LN||3900|/uL^^UCUM|1800-7700||||X|||{taken}",
        )
    )
    outcome = api.convert_v2_message(message.encode() + b"\r", 1, "feed.hl7", Settings())
    record = record_of(outcome)
    assert (record.observations, record.normalized) == (4, 1)
