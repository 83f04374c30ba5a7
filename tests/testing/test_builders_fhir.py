from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leukoflag import fhir
from leukoflag.testing import (
    DEFAULT_COLLECTED,
    Code,
    anc,
    assert_no_data_loss,
    convert_message,
    fhir_bundle,
    local_code,
    loinc,
    ndjson,
    observation,
    panel_observation,
    patient,
    result,
    wbc,
)
from leukoflag.testing.builders import LEGACY_INTERPRETATION


def test_observation_defaults_to_a_normal_blood_wbc() -> None:
    obs = observation()
    assert obs["resourceType"] == "Observation"
    assert obs["status"] == "final"
    assert obs["code"]["coding"] == [
        {
            "system": "http://loinc.org",
            "code": "6690-2",
            "display": "Leukocytes [#/volume] in Blood by Automated count",
        }
    ]
    assert obs["valueQuantity"] == {
        "value": Decimal("7.2"),
        "unit": "10*9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    }
    assert obs["effectiveDateTime"] == "2026-11-24T08:30:00-05:00"
    assert obs["referenceRange"][0]["text"] == "4.0-11.0"
    assert obs["interpretation"][0]["coding"][0]["code"] == "N"


def test_observation_contains_its_patient_and_specimen() -> None:
    obs = observation(wbc(3.2))
    contained = {r["resourceType"]: r for r in obs["contained"]}
    assert obs["subject"] == {"reference": "#patient"}
    assert contained["Patient"]["birthDate"] == "1980-03-14"
    assert contained["Patient"]["gender"] == "female"
    assert obs["specimen"] == {"reference": "#specimen"}
    assert contained["Specimen"]["type"]["coding"][0]["code"] == "BLD"


def test_observation_can_reference_its_patient_instead() -> None:
    obs = observation(wbc(3.2), contained_patient=False, specimen=None)
    assert "contained" not in obs
    assert obs["subject"]["reference"].startswith("Patient/")
    assert "specimen" not in obs


def test_json_keeps_decimals_exactly() -> None:
    obs = observation(wbc("8.20"))
    text = obs.json()
    assert '"value":8.20,' in text
    assert json.loads(text)["valueQuantity"]["value"] == 8.2
    assert obs.encode() == text.encode()


def test_same_call_gives_the_same_resource_and_id() -> None:
    assert observation(anc("<0.5")).json() == observation(anc("<0.5")).json()
    assert observation(wbc(3.2))["id"] != observation(wbc(3.3))["id"]
    assert fhir_bundle().json() == fhir_bundle().json()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "<0.5",
            {
                "valueQuantity": {
                    "comparator": "<",
                    "value": Decimal("0.5"),
                    "unit": "10*9/L",
                    "system": "http://unitsofmeasure.org",
                    "code": "10*9/L",
                }
            },
        ),
        ("1:128", {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 128}}}),
        ("see comment", {"valueString": "see comment"}),
    ],
)
def test_value_kinds(value: str, expected: dict[str, Any]) -> None:
    obs = observation(anc(value, flag=None))
    kinds = {k: v for k, v in obs.items() if k.startswith("value")}
    assert kinds == expected


def test_range_value_is_a_value_range() -> None:
    obs = observation(wbc("1.0-2.0", "K/uL"))
    assert obs["valueRange"] == {
        "low": {"value": Decimal("1.0"), "unit": "K/uL"},
        "high": {"value": Decimal("2.0"), "unit": "K/uL"},
    }


def test_cancelled_result_without_value_has_a_data_absent_reason() -> None:
    obs = observation(wbc(None, status="X"))
    assert obs["status"] == "cancelled"
    assert obs["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert "valueQuantity" not in obs


def test_statuses_map_to_fhir() -> None:
    assert observation(wbc(status="C"))["status"] == "corrected"
    assert observation(wbc(status="D"))["status"] == "entered-in-error"
    assert observation(wbc(status="amended"))["status"] == "amended"


def test_local_code_gets_a_local_system_uri() -> None:
    obs = observation(wbc(code=[local_code("WBC", "White cell count"), loinc("26464-8")]))
    systems = [c["system"] for c in obs["code"]["coding"]]
    assert systems == ["http://example.org/fhir/CodeSystem/99lab", "http://loinc.org"]
    assert obs["code"]["text"] == "White cell count"


def test_sender_flag_in_the_legacy_interpretation_system() -> None:
    obs = observation(wbc(3.2), interpretation_system=LEGACY_INTERPRETATION)
    assert obs["interpretation"] == [
        {"coding": [{"system": "http://hl7.org/fhir/v2/0078", "code": "L", "display": "Low"}]}
    ]


def test_bundle_links_patient_specimen_report_and_observations() -> None:
    bundle = fhir_bundle([wbc(3.2), anc(1.2)], patient=patient(mrn="Z9"))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Specimen", "DiagnosticReport", "Observation", "Observation"]
    urls = {e["fullUrl"] for e in bundle["entry"]}
    report = bundle["entry"][2]["resource"]
    assert {r["reference"] for r in report["result"]} <= urls
    for entry in bundle["entry"][3:]:
        assert entry["resource"]["subject"]["reference"] in urls
        assert entry["resource"]["specimen"]["reference"] in urls
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    assert bundle["entry"][0]["resource"]["identifier"][0]["value"] == "Z9"
    assert "request" not in bundle["entry"][0]


def test_editing_one_resource_of_a_bundle_leaves_the_others_as_built() -> None:
    # the Specimen, report and Observations shared one subject dict and one specimen dict: a
    # test pointing one Observation at another patient or specimen moved them all
    bundle = fhir_bundle([wbc(3.2), anc(1.2)])
    patient_url, specimen_url = (e["fullUrl"] for e in bundle["entry"][:2])
    wbc_observation = bundle["entry"][3]["resource"]
    wbc_observation["subject"]["reference"] = "Patient/elsewhere"
    wbc_observation["specimen"]["reference"] = "Specimen/elsewhere"
    specimen, report, _, anc_observation = (e["resource"] for e in bundle["entry"][1:])
    assert specimen["subject"] == {"reference": patient_url}
    assert report["subject"] == {"reference": patient_url}
    assert report["specimen"] == [{"reference": specimen_url}]
    assert anc_observation["subject"] == {"reference": patient_url}
    assert anc_observation["specimen"] == {"reference": specimen_url}


def test_transaction_bundle_entries_carry_requests() -> None:
    bundle = fhir_bundle(bundle_type="transaction", report=False)
    assert [e["request"]["url"] for e in bundle["entry"]] == [
        "Patient",
        "Specimen",
        "Observation",
        "Observation",
    ]
    with pytest.raises(ValueError, match="bundle_type"):
        fhir_bundle(bundle_type="document")


def test_bundle_timestamp_is_an_instant_or_left_out() -> None:
    # Bundle.timestamp is an instant (to the second, with offset): a date is not valid there
    assert fhir_bundle()["timestamp"] == "2026-11-24T09:26:00-05:00"
    on_a_date = fhir_bundle([wbc(3.2)], collected=DEFAULT_COLLECTED.date())
    assert "timestamp" not in on_a_date
    assert on_a_date["entry"][3]["resource"]["effectiveDateTime"] == "2026-11-24"
    assert fhir.validate(dict(on_a_date), "R4") == []
    no_offset = fhir_bundle([wbc(3.2)], collected="202611240830")
    assert "timestamp" not in no_offset
    assert fhir.validate(dict(no_offset), "R5") == []


def test_patient_parts_left_empty_are_left_out_of_the_fhir_patient() -> None:
    # a newborn registered before naming, a feed that sends no MRN: FHIR has no empty strings
    newborn = patient(mrn="", family="Okafor", given="", birth_date="20261121")
    obs = observation(wbc(3.2), patient=newborn)
    contained = obs["contained"][0]
    assert contained["name"] == [{"family": "Okafor"}]
    assert "identifier" not in contained
    assert fhir.validate(dict(obs), "R4") == []
    bundle = fhir_bundle([wbc(3.2)], patient=patient(family="", given=["", "Lin"]))
    assert bundle["entry"][0]["resource"]["name"] == [{"given": ["Lin"]}]
    assert fhir.validate(dict(bundle), "R5") == []


def test_a_result_named_by_text_alone_has_no_empty_coding() -> None:
    # OBX-3 "^Smear comment" has no code: the FHIR result is named by code.text alone
    comment = result(Code("", "Smear comment"), "Toxic granulation seen")
    obs = observation(comment)
    assert obs["code"] == {"text": "Smear comment"}
    assert fhir.validate(dict(obs), "R4") == []
    conversion = convert_message(obs, strict=True)
    assert conversion.rejected == []
    assert_no_data_loss(conversion)
    panel = panel_observation([wbc(3.2), comment])
    assert panel["component"][1]["code"] == {"text": "Smear comment"}
    assert fhir.validate(dict(panel), "R5") == []


def test_an_empty_unit_is_no_unit() -> None:
    obs = observation(wbc(3.2, ""))
    assert obs["valueQuantity"] == {"value": Decimal("3.2")}
    assert fhir.validate(dict(obs), "R4") == []


def test_a_report_without_results_has_no_empty_result_list() -> None:
    # an order registered before any result: FHIR JSON allows no empty array
    bundle = fhir_bundle([])
    report = bundle["entry"][2]["resource"]
    assert report["resourceType"] == "DiagnosticReport"
    assert "result" not in report
    assert "[]" not in bundle.json()


def test_two_equal_results_get_different_ids_in_one_bundle() -> None:
    bundle = fhir_bundle([wbc(3.2), wbc(3.2)])
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_built_resources_are_valid_fhir(version: str) -> None:
    specs = [wbc(3.2), anc("<0.5", flag="LL"), wbc(None, status="X"), wbc("1.0-2.0")]
    assert fhir.validate(dict(fhir_bundle(specs)), version) == []
    assert fhir.validate(dict(fhir_bundle(specs, bundle_type="transaction")), version) == []
    for spec in specs:
        assert fhir.validate(dict(observation(spec)), version) == []


def test_panel_observation_carries_each_result_as_a_component() -> None:
    panel = panel_observation([wbc(3.2), anc("<0.5", flag="LL"), wbc(None, status="X")])
    assert panel["code"]["coding"][0]["code"] == "57021-8"
    assert "valueQuantity" not in panel
    assert "dataAbsentReason" not in panel
    first, second, third = panel["component"]
    assert set(first) == {"code", "valueQuantity", "interpretation", "referenceRange"}
    assert first["valueQuantity"]["value"] == Decimal("3.2")
    assert second["valueQuantity"]["comparator"] == "<"
    assert third["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert fhir.validate(dict(panel), "R4") == []
    assert fhir.validate(dict(panel), "R5") == []
    with pytest.raises(ValueError, match="at least one result"):
        panel_observation([])


def test_a_panel_refuses_what_a_component_cannot_carry_rather_than_drop_it() -> None:
    # Observation.component has no note and no effective[x]: the smear comment and the WBC's
    # own time were dropped without a word, the panel written at the collection time alone
    smear = wbc(3.2, notes="Smear reviewed: toxic granulation")
    with pytest.raises(ValueError, match=r"panel_observation: result 1 \(6690-2\) has notes"):
        panel_observation([smear, anc(1.0)])
    later = anc(1.0, observed=DEFAULT_COLLECTED + timedelta(hours=2))
    with pytest.raises(ValueError, match=r"result 2 \(751-8\) was observed at 20261124103000-0500"):
        panel_observation([wbc(3.2), later])
    # the collection time written otherwise is the panel's own time: kept
    same = wbc(3.2, observed=DEFAULT_COLLECTED.astimezone(UTC))
    panel = panel_observation([same, anc(1.0)])
    assert panel["effectiveDateTime"] == "2026-11-24T08:30:00-05:00"
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [
        Decimal("3.2"),
        Decimal("1.0"),
    ]


@pytest.mark.parametrize(
    ("results", "refused"),
    [
        ([wbc(7.2), anc(1.0, status="C")], r"result 2 \(751-8\) is corrected, the panel final"),
        ([wbc(3.2, status="P"), anc(1.0)], r"result 2 \(751-8\) is final, the panel preliminary"),
        ([wbc(None, status="X"), anc(1.0)], r"result 2 \(751-8\) is final, the panel cancelled"),
    ],
)
def test_a_panel_refuses_a_result_status_other_than_the_panels(
    results: list[Any], refused: str
) -> None:
    # a component has no status: the corrected ANC was written final in a final panel, the
    # final ANC preliminary or cancelled, without a word (a correction feed's test then
    # found no corrected result, and leukoflag judged no ANC under a cancelled panel)
    with pytest.raises(ValueError, match=refused):
        panel_observation(results)


def test_a_panel_keeps_a_result_without_value_whose_absence_says_its_status() -> None:
    # a cancelled, not asked or deleted result has no value: its component's dataAbsentReason
    # carries that, as observation() writes it
    panel = panel_observation(
        [wbc(3.2), anc(None, status="X"), result(loinc("26511-6"), None, status="N")]
    )
    assert panel["status"] == "final"
    reasons = [
        c.get("dataAbsentReason", {}).get("coding", [{}])[0].get("code") for c in panel["component"]
    ]
    assert reasons == [None, "not-performed", "not-asked"]


def test_ndjson_writes_one_resource_per_line() -> None:
    text = ndjson(observation(wbc(3.2)), observation(anc(1.2)))
    lines = text.splitlines()
    assert len(lines) == 2
    assert text.endswith("\n")
    assert [fhir.loads(line)["code"]["coding"][0]["code"] for line in lines] == ["6690-2", "751-8"]


def test_output_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = (
        "import hashlib\n"
        "from leukoflag.testing import *\n"
        "parts = [oru_message(results=[wbc(3.2, 'x10^3/uL'), anc('<0.5')], specimen='urine')"
        ".text.encode(), fhir_bundle([wbc(3.2), anc(1.2)]).encode(), observation().encode(),"
        " batch(oru_message(), oru_message(version='2.3')).text.encode()]\n"
        "print(hashlib.sha256(b'|'.join(parts)).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_a_code_value_is_a_codeable_concept() -> None:
    morphology = result(
        local_code("NEUMOR", "Neutrophil morphology", "99CLB"),
        Code("TOXGR", "Toxic granulation present", "99CLB"),
    )
    obs = observation(morphology)
    assert obs["valueCodeableConcept"] == {
        "coding": [
            {
                "system": "http://example.org/fhir/CodeSystem/99clb",
                "code": "TOXGR",
                "display": "Toxic granulation present",
            }
        ],
        "text": "Toxic granulation present",
    }
    assert "valueQuantity" not in obs
    assert "interpretation" not in obs
