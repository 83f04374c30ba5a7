"""What the report counts of one output: Observations, and the values leukoflag rewrote to
cells/µL."""

from __future__ import annotations

from typing import Any

from leukoflag import api, fhir
from leukoflag.cli._records import _count_observations, record_of
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
    assert _count_observations(bundle) == 4


def test_a_resource_without_observations_counts_nothing() -> None:
    assert _count_observations({"resourceType": "DiagnosticReport", "valueQuantity": PER_UL}) == 0


def test_arrays_sent_as_other_json_types_count_nothing() -> None:
    # FHIR input is passed through as read: a number where contained or entry belongs used to
    # raise TypeError here, after the item was converted (a traceback in leukoflag convert).
    observation = _observation(valueQuantity=PER_UL, contained=1.5, component={"code": {}})
    assert _count_observations(observation) == 1
    assert _count_observations({"resourceType": "Bundle", "type": "collection", "entry": 7}) == 0


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


def _wbc(quantity: dict[str, Any]) -> bytes:
    observation = _observation(
        id="wbc-3101",
        code={"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        subject={"reference": "Patient/p-3101"},
        effectiveDateTime="2026-11-24T08:10:00-05:00",
        valueQuantity=quantity,
    )
    return fhir.dumps(observation)


def test_a_fhir_count_sent_in_cells_per_microlitre_is_not_counted_as_normalized() -> None:
    # the lab's own cells/µL (UCUM /uL) is written as sent: nothing was normalized
    outcome = api.convert_fhir_line(_wbc(PER_UL), 1, "lab.ndjson", Settings())
    assert outcome.output is not None
    assert (outcome.output["valueQuantity"]["value"], outcome.normalized) == (3100, 0)
    assert (record_of(outcome).observations, record_of(outcome).normalized) == (1, 0)


def test_a_fhir_count_normalized_once_is_not_counted_again_when_read_back() -> None:
    first = api.convert_fhir_line(_wbc(K_PER_UL), 1, "lab.ndjson", Settings())
    assert first.output is not None
    assert (first.output["valueQuantity"]["value"], first.normalized) == (3100, 1)
    again = api.convert_fhir_line(fhir.dumps(first.output), 1, "out.ndjson", Settings())
    assert again.output == first.output
    assert (again.normalized, record_of(again).normalized) == (0, 0)


def test_a_fhir_count_whose_unit_string_changes_is_counted() -> None:
    # value the same, but the unit written is cells/µL, not the '/uL' sent
    sent = {**PER_UL, "unit": "/uL"}
    outcome = api.convert_fhir_line(_wbc(sent), 1, "lab.ndjson", Settings())
    assert outcome.output is not None
    assert outcome.output["valueQuantity"]["unit"] == "cells/µL"
    assert outcome.normalized == 1
