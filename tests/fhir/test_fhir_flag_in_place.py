"""FHIR input flagged in place: the output contract on counts, everything else exactly as read."""

from __future__ import annotations

import copy
import io
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir_builders import references

import leukoflag
from leukoflag import fhir, flagging
from leukoflag.fhir import FhirItem
from leukoflag.fhir import _ids as fhir_ids
from leukoflag.model import Evaluation
from leukoflag.settings import Settings

INPUTS = Path(__file__).parent / "inputs"
UCUM = "http://unitsofmeasure.org"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PQ = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
ORIGINAL_TEXT = "http://hl7.org/fhir/StructureDefinition/originalText"
EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"
SENDER = "http://leukoflag.org/fhir/StructureDefinition/sender-interpretation"
RANGE_SOURCE = "http://leukoflag.org/fhir/StructureDefinition/reference-range-source"
CONTRACT = {"valueQuantity", "referenceRange", "interpretation", "extension", "code"}


def convert(name: str, **settings: Any) -> leukoflag.Conversion:
    return leukoflag.convert((INPUTS / name).read_bytes(), Settings(**settings))


def original(name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = fhir.loads((INPUTS / name).read_bytes())
    return parsed


def passed_through(sent: dict[str, Any]) -> leukoflag.Conversion:
    """``sent`` converted: asserts it came back unchanged (JSON-equal) and unflagged."""
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    assert output == sent
    assert conv.findings == []
    return conv


def urls(node: dict[str, Any]) -> list[str]:
    return [e["url"] for e in node.get("extension", ())]


def part(node: dict[str, Any], name: str) -> Any:
    (explained,) = (e for e in node["extension"] if e["url"] == EXPLANATION)
    for sub in explained["extension"]:
        if sub["url"] == name:
            return next(v for k, v in sub.items() if k.startswith("value"))
    return None


def test_count_is_normalized_with_the_sent_quantity_kept_exactly() -> None:
    conv = convert("r4-wbc-observation.json")
    (output,) = conv.bundles
    quantity = output["valueQuantity"]
    assert (quantity["value"], quantity["unit"], quantity["system"], quantity["code"]) == (
        Decimal("2850"),
        "cells/µL",
        UCUM,
        "/uL",
    )
    assert quantity["extension"] == [
        {"url": PQ, "valueQuantity": original("r4-wbc-observation.json")["valueQuantity"]}
    ]
    assert b'"value":2.85,"unit":"10^3/uL"' in fhir.dumps(output)


def test_exactly_one_computed_interpretation_and_the_senders_kept() -> None:
    conv = convert("r4-wbc-observation.json")
    (output,) = conv.bundles
    (finding,) = conv.findings
    assert output["interpretation"] == [
        {"coding": [{"system": V3, "code": finding.code, "display": "Significantly low"}]}
    ]
    assert urls(output) == [EXPLANATION, SENDER]
    assert (
        output["extension"][1]["valueCodeableConcept"]
        == original("r4-wbc-observation.json")["interpretation"][0]
    )
    assert part(output, "rule") == finding.rule
    assert part(output, "rangeSource") == "lab"


def test_lab_range_is_normalized_in_place_keeping_text_and_limits() -> None:
    (output,) = convert("r4-wbc-observation.json").bundles
    (written,) = output["referenceRange"]
    sent = original("r4-wbc-observation.json")["referenceRange"][0]
    assert written["text"] == sent["text"]
    assert (written["low"]["value"], written["high"]["value"]) == (
        Decimal("4500"),
        Decimal("11000"),
    )
    assert written["low"]["extension"] == [{"url": PQ, "valueQuantity": sent["low"]}]


def test_element_ids_of_the_sent_quantity_and_range_limits_stay_on_the_written_ones() -> None:
    # ids a LIS gives elements (for a signature or a Provenance pointing at the value): the
    # normalized elements stand in the sent ones' place, so they keep the ids, not the copies
    sent = original("r4-wbc-observation.json")
    sent["valueQuantity"]["id"] = "wbc-value"
    sent["referenceRange"][0]["low"]["id"] = "wbc-range-low"
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    quantity, low = output["valueQuantity"], output["referenceRange"][0]["low"]
    assert (quantity["id"], quantity["value"]) == ("wbc-value", Decimal("2850"))
    assert (low["id"], low["value"]) == ("wbc-range-low", Decimal("4500"))
    assert "id" not in quantity["extension"][0]["valueQuantity"]
    assert "id" not in low["extension"][0]["valueQuantity"]
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert fhir.dumps(again) == fhir.dumps(output)


UNCERTAINTY = "http://hl7.org/fhir/StructureDefinition/iso21090-uncertainty"


def test_extensions_of_the_sent_quantity_stay_with_it_in_its_translation() -> None:
    # the analyser's standard deviation, in the sent unit (FHIR: same units as the quantity),
    # and a lab's note on its range's low limit: they describe the quantities as sent
    sent = original("r4-wbc-observation.json")
    sent["valueQuantity"]["extension"] = [{"url": UNCERTAINTY, "valueDecimal": Decimal("0.12")}]
    method = {"url": "http://lis.example.org/fhir/range-method", "valueString": "Sysmex XN"}
    sent["referenceRange"][0]["low"]["extension"] = [method]
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    quantity, low = output["valueQuantity"], output["referenceRange"][0]["low"]
    # 0.12 is 0.12 10*3/uL (120 cells/µL): not beside 2,850 cells/µL, where it would be 0.12 cells
    assert (quantity["value"], urls(quantity)) == (Decimal("2850"), [PQ])
    assert quantity["extension"][0]["valueQuantity"] == sent["valueQuantity"]
    # the range limit's extension is not lost: kept with the limit as sent
    assert (low["value"], urls(low)) == (Decimal("4500"), [PQ])
    assert low["extension"][0]["valueQuantity"] == sent["referenceRange"][0]["low"]
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert fhir.dumps(again) == fhir.dumps(output)


def test_everything_but_the_contract_elements_comes_out_unchanged() -> None:
    (output,) = convert("r4-wbc-observation.json").bundles
    sent = original("r4-wbc-observation.json")
    assert {k: v for k, v in output.items() if k not in CONTRACT} == {
        k: v for k, v in sent.items() if k not in CONTRACT
    }
    assert output["code"] == sent["code"]  # a LOINC code needs no LOINC added
    assert list(output)[:3] == ["resourceType", "id", "meta"]


def test_input_without_counts_comes_back_json_equal() -> None:
    bundle = original("bundle-with-patient.json")
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["id"] in ("sm-40517", "sm-plt", "sm-crp")
    ]
    data = fhir.dumps(bundle)
    conv = leukoflag.convert(data)
    assert conv.rejected == []
    assert fhir.dumps(conv.bundles[0]) == data


# An ANC without range or sender flags: leukoflag supplies the range and the only interpretation.
_BARE_ANC = (
    b'{"resourceType": "Observation", "id": "hx-anc-3302", "status": "final", '
    b'"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, '
    b'"valueQuantity": {"value": 0.82, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", '
    b'"code": "10*3/uL"}}'
)


@pytest.mark.parametrize(
    "name", ["r4-wbc-observation.json", "cbc-panel-components.json", "bundle-with-patient.json"]
)
def test_flagging_leukoflag_output_again_changes_nothing(name: str) -> None:
    (first,) = convert(name).bundles
    (second,) = leukoflag.convert(fhir.dumps(first)).bundles
    assert fhir.dumps(second) == fhir.dumps(first)


def test_range_and_interpretation_leukoflag_supplied_are_not_read_back_as_the_senders() -> None:
    (first,) = leukoflag.convert(_BARE_ANC).bundles
    assert urls(first) == [EXPLANATION]  # the sender flagged nothing
    (second,) = leukoflag.convert(fhir.dumps(first)).bundles
    assert urls(second) == [EXPLANATION]  # leukoflag's LU is not taken for a sender's flag
    (supplied,) = second["referenceRange"]  # replaced, not read as the lab's nor doubled
    assert supplied == first["referenceRange"][0]
    assert part(second, "rangeSource") == "default"
    assert fhir.dumps(second) == fhir.dumps(first)


def test_flagged_again_the_senders_flags_are_the_ones_kept_not_leukoflags_code() -> None:
    # the lab said N for a WBC of 3,800 in its 3.5-10.5 range; read back, leukoflag's own L in
    # interpretation was taken for the sender's flag: the finding named L as the sender's and
    # the disagreement went unsaid
    sent = {
        "resourceType": "Observation",
        "id": "wbc-reflag-61",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "effectiveDateTime": "2026-11-24T06:40:00-05:00",
        "valueQuantity": {"value": 3.8, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        "interpretation": [{"coding": [{"system": V3, "code": "N"}]}],
        "referenceRange": [
            {
                "low": {"value": 3.5, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
                "high": {"value": 10.5, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
            }
        ],
    }
    first = leukoflag.convert(fhir.dumps(sent))
    second = leukoflag.convert(fhir.dumps(first.bundles[0]))
    for conv in (first, second):
        (finding,) = conv.findings
        assert (finding.code, finding.sender_flags) == ("L", ("N",))
        (disagrees,) = (i for i in conv.issues if i.code == "flag.sender-disagrees")
        assert disagrees.text == "the sender's interpretation is N; leukoflag computed L"
    assert fhir.dumps(second.bundles[0]) == fhir.dumps(first.bundles[0])


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        ({"status": "cancelled"}, "flag.status-not-flaggable"),
        ({"status": "entered-in-error"}, "flag.status-not-flaggable"),
        ({"valueString": "see comment"}, "flag.value-not-numeric"),
    ],
)
def test_flagged_output_read_back_and_no_longer_judged_loses_leukoflags_code(
    edit: dict[str, str], why: str
) -> None:
    # leukoflag's stored output (a WBC of 2.85 it called LU, with leukopenia and CTCAE grade 2
    # in its explanation) whose result was since cancelled, withdrawn or replaced by a comment:
    # flagged again, the stale LU and explanation stayed on a result nobody judged any more
    (flagged,) = convert("r4-wbc-observation.json").bundles
    assert [c["code"] for c in flagged["interpretation"][0]["coding"]] == ["LU"]
    edited = copy.deepcopy(flagged)
    if "valueString" in edit:
        del edited["valueQuantity"]
    edited.update(edit)
    conv = leukoflag.convert(fhir.dumps(edited))
    assert conv.findings == []
    assert why in [i.code for i in conv.issues]
    (output,) = conv.bundles
    assert urls(output) == []  # neither its explanation nor the sender's flags it kept
    # the sender's own L is its interpretation again, as for a result never judged
    assert output["interpretation"] == [{"coding": [{"system": V3, "code": "L"}]}]


def test_an_interpretation_edited_by_hand_after_flagging_is_recomputed_not_read_as_senders() -> (
    None
):
    # flagged output whose value a user corrected to 6.0 and whose interpretation was set to LL
    # by hand: the count is judged again, and the sender's flag is still the one kept (L)
    (flagged,) = leukoflag.convert(_BARE_ANC).bundles
    edited = copy.deepcopy(flagged)
    edited["valueQuantity"] = {"value": 6.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"}
    edited["extension"].append(
        {"url": SENDER, "valueCodeableConcept": {"coding": [{"system": V3, "code": "L"}]}}
    )
    edited["interpretation"] = [{"coding": [{"system": V3, "code": "LL"}]}]
    conv = leukoflag.convert(fhir.dumps(edited))
    (finding,) = conv.findings
    assert (finding.code, finding.sender_flags) == ("N", ("L",))
    (disagrees,) = (i for i in conv.issues if i.code == "flag.sender-disagrees")
    assert disagrees.text == "the sender's interpretation is L; leukoflag computed N"
    (output,) = conv.bundles
    assert [c["code"] for c in output["interpretation"][0]["coding"]] == ["N"]
    assert part(output, "rule") == "anc-within-range"


_LOW_WBC = {
    "resourceType": "Observation",
    "id": "wbc-edited-4417",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
    "effectiveDateTime": "2026-11-24T06:40:00-05:00",
    "valueQuantity": {"value": 1.5, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
    "referenceRange": [
        {
            "low": {"value": 4.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
            "high": {"value": 11.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        }
    ],
}


def _translation(quantity: dict[str, Any]) -> dict[str, Any]:
    (kept,) = quantity["extension"]
    assert kept["url"] == PQ
    translated: dict[str, Any] = kept["valueQuantity"]
    return translated


def test_a_count_edited_after_flagging_keeps_no_translation_that_contradicts_it() -> None:
    # a user corrected leukoflag's 1,500 cells/µL to 7,500 and left the translation of the
    # value first sent: 1.5 ×10³/µL stood beside 7,500/µL in the output
    (flagged,) = leukoflag.convert(fhir.dumps(_LOW_WBC)).bundles
    edited = copy.deepcopy(flagged)
    edited["valueQuantity"]["value"] = 7500
    conv = leukoflag.convert(fhir.dumps(edited))
    (finding,) = conv.findings
    assert finding.code == "N"
    (output,) = conv.bundles
    assert _translation(output["valueQuantity"]) == {
        "value": 7500,
        "unit": "cells/µL",
        "system": UCUM,
        "code": "/uL",
    }
    (stale,) = (i for i in conv.issues if i.code == "fhir.original-stale")
    assert stale.location == "ITEM[1]/Observation.valueQuantity"
    assert stale.text == (
        "the original kept when leukoflag flagged it before ('1.5 10*3/uL', 1,500 cells/µL) is "
        "not the value now sent, 7,500 cells/µL (edited since?): the value now sent is used, "
        "and kept as the original instead"
    )
    # read back once more, the translation agrees: nothing changes, nothing is said
    again = leukoflag.convert(fhir.dumps(output))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(output)
    assert "fhir.original-stale" not in [i.code for i in again.issues]


def test_a_range_limit_edited_after_flagging_keeps_no_translation_that_contradicts_it() -> None:
    (flagged,) = leukoflag.convert(fhir.dumps(_LOW_WBC)).bundles
    edited = copy.deepcopy(flagged)
    edited["referenceRange"][0]["low"]["value"] = 3000
    conv = leukoflag.convert(fhir.dumps(edited))
    (output,) = conv.bundles
    low, high = output["referenceRange"][0]["low"], output["referenceRange"][0]["high"]
    assert low["value"] == 3000
    assert _translation(low) == {"value": 3000, "unit": "cells/µL", "system": UCUM, "code": "/uL"}
    assert high == flagged["referenceRange"][0]["high"]  # not edited: kept as it was
    (stale,) = (i for i in conv.issues if i.code == "fhir.original-stale")
    assert stale.location == "ITEM[1]/Observation.referenceRange[0].low"
    assert "is not the limit now sent, 3,000 cells/µL" in stale.text


def test_a_limit_of_a_range_per_sex_edited_after_flagging_is_judged_as_now_sent() -> None:
    # a range text per sex gets the man's limits written beside it; a user raised the low to
    # 4,300 cells/µL: read back, the text was read again and the edit silently written over
    # (4,000 judged, 4,200 N)
    patient_url = "urn:uuid:6b1f0e2a-3c1d-4f57-9a55-0c2f3d4e5a61"
    observation: dict[str, Any] = {
        **copy.deepcopy(_LOW_WBC),
        "subject": {"reference": patient_url},
        "valueQuantity": {"value": 4.2, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        "referenceRange": [{"text": "M: 4.0-10.0 F: 4.5-11.0"}],
    }
    patient = {"resourceType": "Patient", "gender": "male", "birthDate": "1968-05-14"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:0d4c2b7e-8f3a-4e61-b2d9-7a1c5e3f9b20", "resource": observation},
            {"fullUrl": patient_url, "resource": patient},
        ],
    }
    (flagged,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    written = flagged["entry"][0]["resource"]["referenceRange"][0]
    assert (written["low"]["value"], _translation(written["low"])["value"]) == (4000, 4.0)
    edited = copy.deepcopy(flagged)
    edited["entry"][0]["resource"]["referenceRange"][0]["low"]["value"] = 4300
    conv = leukoflag.convert(fhir.dumps(edited))
    (finding,) = conv.findings
    assert finding.code == "L"
    (output,) = conv.bundles
    low = output["entry"][0]["resource"]["referenceRange"][0]["low"]
    assert low["value"] == 4300
    assert _translation(low)["value"] == 4300
    (stale,) = (i for i in conv.issues if i.code == "fhir.original-stale")
    assert stale.location == "ITEM[1]/Bundle.entry[0].resource.referenceRange[0].low"
    assert "('4.0 10*3/uL', 4,000 cells/µL) is not the limit now sent, 4,300 cells/µL" in stale.text
    # read back once more, the edited limit is no limit of the text: still read as sent
    again = leukoflag.convert(fhir.dumps(output))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(output)
    assert [i.code for i in again.issues] == []


def test_a_comparator_edited_after_flagging_drops_the_original_text_that_contradicts_it() -> None:
    sent = copy.deepcopy(_LOW_WBC)
    sent["valueQuantity"] = {
        "value": 0.5,
        "comparator": "<",
        "unit": "10*3/uL",
        "system": UCUM,
        "code": "10*3/uL",
    }
    (flagged,) = leukoflag.convert(fhir.dumps(sent)).bundles
    assert flagged["valueQuantity"]["extension"][0]["valueString"] == "<0.5 10*3/uL"
    edited = copy.deepcopy(flagged)
    del edited["valueQuantity"]["comparator"]  # the lab's exact count typed over the bound
    edited["valueQuantity"]["value"] = 420
    conv = leukoflag.convert(fhir.dumps(edited))
    (output,) = conv.bundles
    assert _translation(output["valueQuantity"])["value"] == 420
    (stale,) = (i for i in conv.issues if i.code == "fhir.original-stale")
    assert "('<0.5 10*3/uL', <500 cells/µL) is not the value now sent, 420 cells/µL" in stale.text


def test_derived_anc_read_back_is_kept_as_written() -> None:
    (first,) = convert("cbc-panel-components.json").bundles
    (second,) = leukoflag.convert(fhir.dumps(first)).bundles
    derived = second["component"][-1]
    assert part(derived, "derived") is True
    assert "extension" not in derived["valueQuantity"]  # no translation of cells/µL to itself


def test_flag_in_place_does_not_mutate_the_item() -> None:
    (item,) = fhir.read_items(
        io.BytesIO((INPUTS / "bundle-with-patient.json").read_bytes()),
        source="<test>",
        settings=Settings(),
    )
    assert isinstance(item, FhirItem)
    before = copy.deepcopy(item.resource)
    evaluations = _evaluations(item)
    output, _ = fhir.flag_in_place(item, evaluations, Settings())
    assert item.resource == before
    assert output != before
    # unchanged subtrees are shared, not copied
    assert output["entry"][0] is item.resource["entry"][0]


def _evaluations(item: FhirItem) -> dict[str, Evaluation]:
    settings = Settings()
    found: dict[str, Evaluation] = {}
    for group in item.groups:
        context = flagging.patient_context(group.patient, settings)
        for order in group.orders:
            found.update((e.location, e) for e in flagging.evaluate_order(order, context, settings))
    return found


def test_bundle_report_gets_the_finding_of_its_low_result() -> None:
    conv = convert("bundle-with-patient.json")
    (output,) = conv.bundles
    resources = {e["resource"]["id"]: e["resource"] for e in output["entry"]}
    assert resources["sm-dr-17"]["conclusionCode"] == [
        {
            "extension": [
                {
                    "url": "http://leukoflag.org/fhir/StructureDefinition/computed-conclusion",
                    "valueBoolean": True,
                }
            ],
            "coding": [
                {"system": "http://snomed.info/sct", "code": "165517008", "display": "Neutropenia"}
            ],
        }
    ]
    anc = resources["sm-anc"]
    assert anc["valueQuantity"]["value"] == Decimal("800")
    assert anc["interpretation"][0]["coding"][0]["system"] == V3
    # a 5-year-old patient: the pediatric rules applied
    assert part(anc, "rangeSource") == "age-band"
    sent = {
        e["resource"]["id"]: e["resource"] for e in original("bundle-with-patient.json")["entry"]
    }
    for untouched in ("sm-40517", "sm-sp-99", "sm-plt", "sm-crp"):
        assert resources[untouched] == sent[untouched]
    assert fhir.validate(output, "R4") == []


def test_a_flagged_bundle_gets_no_provenance_and_keeps_its_entries() -> None:
    # docs/fhir-input.md: one Provenance per Bundle is for the Bundles written for HL7 v2
    (output,) = convert("bundle-with-patient.json").bundles
    sent = original("bundle-with-patient.json")
    assert (output["type"], [e["resource"]["resourceType"] for e in output["entry"]]) == (
        sent["type"],
        [e["resource"]["resourceType"] for e in sent["entry"]],
    )
    assert "Provenance" not in {e["resource"]["resourceType"] for e in output["entry"]}


def test_legacy_interpretation_is_written_back_in_the_current_form() -> None:
    conv = convert("stu3-legacy-no-count.json")
    (output,) = conv.bundles
    assert output["interpretation"] == [
        {"coding": [{"system": V3, "code": "H", "display": "High"}]}
    ]
    assert [i.code for i in conv.issues] == ["fhir.legacy-interpretation"]
    assert fhir.validate(output, "R4") == []


def test_legacy_interpretation_of_a_count_moves_to_the_sender_extension_in_current_form() -> None:
    (output,) = convert("stu3-legacy-interpretation.json").bundles
    (sender,) = (e for e in output["extension"] if e["url"] == SENDER)
    assert sender["valueCodeableConcept"] == {
        "coding": [{"system": V3, "code": "L", "display": "Low"}]
    }
    assert len(output["interpretation"]) == 1


@pytest.mark.parametrize(
    ("sent", "written", "display"),
    [("L<", "LU", "Significantly low"), ("H>", "HU", "Significantly high")],
)
def test_legacy_deprecated_significance_flags_are_written_as_their_v3_codes(
    sent: str, written: str, display: str
) -> None:
    # reference/clinical.md: L< is deprecated, use LU; they were written back as v2-0078 "L<",
    # though the docs keep v2-0078 for the five codes v3 lacks and HL7 v2 input writes LU.
    resource = original("stu3-legacy-no-count.json")
    resource["interpretation"]["coding"][0]["code"] = sent
    conv = leukoflag.convert(fhir.dumps(resource))
    (output,) = conv.bundles
    assert output["interpretation"] == [
        {"coding": [{"system": V3, "code": written, "display": display}]}
    ]
    assert [i.code for i in conv.issues] == ["fhir.legacy-interpretation"]
    assert fhir.validate(output, "R4") == []


def test_legacy_deprecated_flag_of_a_count_is_kept_as_lu_in_the_sender_extension() -> None:
    resource = original("stu3-legacy-interpretation.json")
    resource["interpretation"]["coding"][0]["code"] = "L<"
    (output,) = leukoflag.convert(fhir.dumps(resource)).bundles
    (sender,) = (e for e in output["extension"] if e["url"] == SENDER)
    assert sender["valueCodeableConcept"] == {
        "coding": [{"system": V3, "code": "LU", "display": "Significantly low"}]
    }


@pytest.mark.parametrize(
    ("system", "said"),
    [
        ("urn:oid:2.16.840.1.113883.5.83", "the OID"),
        ("http://hl7.org/fhir/ValueSet/observation-interpretation", "the value set URL"),
        ("http://hl7.org/fhir/v3/ObservationInterpretation", "the legacy system"),
        ("urn:oid:2.16.840.1.113883.12.78", "the OID"),
    ],
)
def test_an_interpretation_under_another_name_of_its_system_is_read_as_legacy(
    system: str, said: str
) -> None:
    # the sender's H was passed over as a code of a system not known: no flag.sender-disagrees
    # beside leukoflag's LU for 2,850/uL, and the coding kept under a name FHIR does not use
    resource = original("r4-wbc-observation.json")
    resource["interpretation"] = [{"coding": [{"system": system, "code": "H"}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    assert [(f.code, f.value_per_ul) for f in conv.findings] == [("LU", Decimal("2850"))]
    assert [(i.code, i.location, i.text) for i in conv.issues if i.code != "flag.age-unknown"] == [
        (
            "fhir.legacy-interpretation",
            "ITEM[1]/Observation.interpretation",
            f"interpretation uses {said} {system}; written back as a list in {V3}",
        ),
        (
            "flag.sender-disagrees",
            "ITEM[1]/Observation.interpretation",
            "the sender's interpretation is H; leukoflag computed LU",
        ),
    ]
    (output,) = conv.bundles
    (sender,) = (e for e in output["extension"] if e["url"] == SENDER)
    assert sender["valueCodeableConcept"] == {
        "coding": [{"system": V3, "code": "H", "display": "High"}]
    }
    assert fhir.validate(output, "R4") == []


_UCUM_OID = "urn:oid:2.16.840.1.113883.6.8"


def test_a_ucum_code_under_ucums_oid_is_checked_against_the_unit_text() -> None:
    # under the OID the code was an identifier of a system not known, and the text trusted:
    # 2.85 'K/uL' coded 10*3/mL (2.85 per µL) was judged a WBC of 2,850 (LU)
    resource = original("r4-wbc-observation.json")
    resource["valueQuantity"] = {
        "value": 2.85,
        "unit": "K/uL",
        "system": _UCUM_OID,
        "code": "10*3/mL",
    }
    conv = leukoflag.convert(fhir.dumps(resource))
    assert conv.findings == []
    (issue,) = (i for i in conv.issues if i.code.startswith("units."))
    assert (issue.code, issue.location) == (
        "units.unknown-unit",
        "ITEM[1]/Observation.valueQuantity",
    )
    assert "the UCUM code '10*3/mL'" in issue.text


def test_a_lab_spelling_coded_under_ucums_oid_is_not_kept_as_ucum() -> None:
    # under the OID the quantity kept as sent still claimed UCUM code K/uL (kelvin per µL),
    # though units.code-not-ucum said it was kept without the UCUM system
    resource = original("r4-wbc-observation.json")
    resource["valueQuantity"] = {"value": 3.1, "unit": "K/uL", "system": _UCUM_OID, "code": "K/uL"}
    resource["referenceRange"] = [
        {
            "low": {"value": 4.0, "unit": "K/uL", "system": _UCUM_OID, "code": "K/uL"},
            "high": {"value": 11.0, "unit": "K/uL", "system": _UCUM_OID, "code": "K/uL"},
        }
    ]
    conv = leukoflag.convert(fhir.dumps(resource))
    (finding,) = conv.findings
    assert (finding.value_per_ul, finding.code) == (Decimal("3100"), "L")
    assert "units.code-not-ucum" in [i.code for i in conv.issues]
    (output,) = conv.bundles
    (kept,) = (e["valueQuantity"] for e in output["valueQuantity"]["extension"])
    assert kept == {"value": Decimal("3.1"), "unit": "K/uL"}
    low, high = (
        output["referenceRange"][0][k]["extension"][0]["valueQuantity"] for k in ("low", "high")
    )
    assert (low, high) == (
        {"value": Decimal("4.0"), "unit": "K/uL"},
        {"value": Decimal("11.0"), "unit": "K/uL"},
    )


def test_a_ranges_age_in_ucum_under_ucums_oid_is_read() -> None:
    # the age 1-12 mo coded under UCUM's OID could not be read: the lab's range for infants was
    # passed over (fhir.range-not-applicable) and the girl judged by leukoflag's age band
    resource = original("r4-wbc-observation.json")
    resource["subject"] = {"reference": "#girl"}
    resource["contained"] = [
        {"resourceType": "Patient", "id": "girl", "gender": "female", "birthDate": "2026-06-01"}
    ]
    resource["referenceRange"][0]["low"]["value"] = 6.5
    resource["referenceRange"][0]["age"] = {
        "low": {"value": 1, "system": _UCUM_OID, "code": "mo"},
        "high": {"value": 12, "system": _UCUM_OID, "code": "mo"},
    }
    del resource["referenceRange"][0]["text"]
    conv = leukoflag.convert(fhir.dumps(resource))
    (finding,) = conv.findings
    assert finding.range is not None
    assert (finding.code, finding.range.source, finding.range.low) == ("LU", "lab", Decimal("6500"))
    assert "fhir.range-not-applicable" not in [i.code for i in conv.issues]


def test_panel_component_is_normalized_and_a_derived_anc_component_added() -> None:
    conv = convert("cbc-panel-components.json")
    (output,) = conv.bundles
    wbc, percent, hemoglobin, derived = output["component"]
    sent = original("cbc-panel-components.json")["component"]
    assert wbc["valueQuantity"]["value"] == Decimal("3600")
    assert wbc["referenceRange"][0]["low"]["value"] == Decimal("3900")
    assert percent == sent[1]
    assert hemoglobin == sent[2]
    assert derived["valueQuantity"]["value"] == Decimal("1368")  # 3,600 × 38.0 %
    assert derived["code"]["coding"][0]["code"] == "26499-4"
    assert part(derived, "derived") is True
    assert {f.location for f in conv.findings} == {
        "ITEM[1]/Observation.component[0]",
        "ITEM[1]/Observation/ANC[derived]",
    }
    assert fhir.validate(output, "R4") == []


def _wbc_and_percent_bundle() -> dict[str, Any]:
    """St Mary's Bundle with its ANC replaced by a neutrophil percent: a derived ANC is due."""
    bundle = original("bundle-with-patient.json")
    anc_entry = next(e for e in bundle["entry"] if e["resource"]["id"] == "sm-anc")
    anc_entry["resource"]["code"] = {"coding": [{"system": "http://loinc.org", "code": "770-8"}]}
    anc_entry["resource"]["valueQuantity"] = {
        "value": 12.0,
        "unit": "%",
        "system": UCUM,
        "code": "%",
    }
    return bundle


def test_derived_anc_in_a_bundle_is_a_new_entry_derived_from_its_sources() -> None:
    bundle = _wbc_and_percent_bundle()
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]
    assert added["fullUrl"].startswith("urn:uuid:")
    assert "request" not in added  # a collection Bundle: no transaction requests
    observation = added["resource"]
    assert observation["valueQuantity"]["value"] == Decimal("612")  # 5,100 × 12 %
    assert observation["derivedFrom"] == [
        {"reference": "http://fhir.stmary.example/Observation/sm-wbc"},
        {"reference": "http://fhir.stmary.example/Observation/sm-anc"},
    ]
    # its sources' Patient/sm-40517 and Specimen/sm-sp-99, of the server of their fullUrls: a
    # relative reference in an entry of a urn:uuid fullUrl would have no defined meaning
    assert observation["subject"] == {"reference": "http://fhir.stmary.example/Patient/sm-40517"}
    assert observation["specimen"] == {"reference": "http://fhir.stmary.example/Specimen/sm-sp-99"}
    report = next(e["resource"] for e in output["entry"] if e["resource"]["id"] == "sm-dr-17")
    assert report["result"][-1] == {"reference": added["fullUrl"]}
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    assert again["entry"][-1]["fullUrl"] == added["fullUrl"]  # the same input, the same id


@pytest.mark.parametrize("bundle_type", ["collection", "transaction"])
def test_a_derived_anc_names_its_sources_patient_as_their_server_does(bundle_type: str) -> None:
    # FHIR resolves a relative reference (Patient/sm-40517) in a Bundle against the base of the
    # RESTful fullUrl of the entry holding it; an entry of a urn:uuid fullUrl gives it no defined
    # meaning (R4 bundle.html#references). The derived ANC (urn:uuid) copied its sources'
    # relative subject and specimen, which named St Mary's Patient and Specimen entries only
    # in its sources: a consumer resolving references by the rules found no patient for it.
    bundle = _wbc_and_percent_bundle()
    bundle["type"] = bundle_type
    if bundle_type == "transaction":
        for entry in bundle["entry"]:
            resource = entry["resource"]
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    urls = {entry["fullUrl"] for entry in output["entry"]}
    assert added["subject"]["reference"] == "http://fhir.stmary.example/Patient/sm-40517"
    assert added["specimen"]["reference"] == "http://fhir.stmary.example/Specimen/sm-sp-99"
    assert {added["subject"]["reference"], added["specimen"]["reference"]} <= urls
    # a patient the Bundle does not hold is named as the sources name it
    del bundle["entry"][0]
    (without,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    assert without["entry"][-1]["resource"]["subject"] == {"reference": "Patient/sm-40517"}


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("effectiveInstant", "2026-11-24T06:40:00.000-05:00"),
        ("effectiveTiming", {"event": ["2026-11-24T06:40:00-05:00"]}),
    ],
)
def test_derived_anc_entry_is_dated_as_its_sources_by_any_effective_type(
    key: str, sent: Any
) -> None:
    # sources dated by effectiveInstant or effectiveTiming: the derived ANC was written with no
    # time at all (only effectiveDateTime and effectivePeriod were copied)
    bundle = _wbc_and_percent_bundle()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation":
            for dated in ("effectiveDateTime", "effectivePeriod"):
                resource.pop(dated, None)
            resource[key] = sent
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("612")
    assert added[key] == sent
    assert fhir.validate(output, "R4") == []


def _wbc_and_percent_on_specimens(wbc_specimen: str, percent_specimen: str) -> dict[str, Any]:
    """St Mary's Bundle with a neutrophil % for the ANC, each result on its own specimen."""
    bundle = original("bundle-with-patient.json")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["id"] == "sm-wbc":
            resource["specimen"] = {"reference": wbc_specimen}
        elif resource["id"] == "sm-anc":
            resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "770-8"}]}
            resource["valueQuantity"] = {"value": 12.0, "unit": "%", "system": UCUM, "code": "%"}
            resource["specimen"] = {"reference": percent_specimen}
    return bundle


def test_no_derived_anc_from_results_naming_different_specimens_outside_the_bundle() -> None:
    # The specimens live on the server, not in the Bundle: the references still say they differ.
    bundle = _wbc_and_percent_on_specimens("Specimen/sm-sp-41", "Specimen/sm-sp-42")
    conversion = leukoflag.convert(fhir.dumps(bundle))
    (output,) = conversion.bundles
    assert len(output["entry"]) == len(bundle["entry"])
    assert not [f for f in conversion.findings if f.derived]
    wbc = next(e["resource"] for e in output["entry"] if e["resource"]["id"] == "sm-wbc")
    assert wbc["interpretation"][0]["coding"][0]["code"] == "N"  # still judged as blood


def test_derived_anc_from_results_naming_one_specimen_outside_the_bundle() -> None:
    bundle = _wbc_and_percent_on_specimens(
        "Specimen/sm-sp-41", "https://lis.stmary.example/fhir/Specimen/sm-sp-41/_history/2"
    )
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("612")  # 5,100 × 12 %
    assert added["specimen"] == {"reference": "Specimen/sm-sp-41"}


def test_a_neutrophil_fraction_too_large_for_arithmetic_derives_no_anc() -> None:
    # FHIR JSON may carry any exponent; scaling 1e999999999 to a percent raised decimal.Overflow
    bundle = _wbc_and_percent_on_specimens("Specimen/sm-sp-99", "Specimen/sm-sp-99")
    text = (
        fhir.dumps(bundle)
        .decode()
        .replace(
            '"value":12.0,"unit":"%","system":"http://unitsofmeasure.org","code":"%"',
            '"value":1e999999999,"unit":"1","system":"http://unitsofmeasure.org","code":"1"',
        )
    )
    assert "1e999999999" in text
    conversion = leukoflag.convert(text)
    (output,) = conversion.bundles
    assert len(output["entry"]) == len(bundle["entry"])
    assert not [f for f in conversion.findings if f.derived]
    wbc = next(e["resource"] for e in output["entry"] if e["resource"]["id"] == "sm-wbc")
    assert wbc["interpretation"][0]["coding"][0]["code"] == "N"


@pytest.mark.parametrize(
    ("wbc_status", "written"),
    [("final", "final"), ("corrected", "corrected"), ("amended", "amended")],
)
def test_derived_anc_entry_takes_the_status_of_its_sources(wbc_status: str, written: str) -> None:
    # computed from a corrected WBC, the ANC is corrected too: it was written as final
    bundle = _wbc_and_percent_bundle()
    wbc_entry = next(e for e in bundle["entry"] if e["resource"]["id"] == "sm-wbc")
    wbc_entry["resource"]["status"] = wbc_status
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    assert output["entry"][-1]["resource"]["status"] == written
    assert fhir.validate(output, "R4") == []


def test_a_derived_anc_in_a_batch_is_referenced_where_it_is_put() -> None:
    # A server processes each entry of a batch on its own and resolves no urn:uuid: between
    # them (only a transaction does, R4 http.html#transaction): the report's result named the
    # ANC by its urn:uuid fullUrl, so St Mary's own report, PUT as sent but for that, was refused
    # as holding a reference to nothing. In a batch the ANC is named where it is PUT
    # (Observation/<id>), and names its sources where they are PUT, as the report names them;
    # its patient and specimen as the sources name them (server references).
    bundle = _wbc_and_percent_bundle()
    bundle["type"] = "batch"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]
    assert added["request"] == {"method": "PUT", "url": f"Observation/{added['resource']['id']}"}
    report = next(e["resource"] for e in output["entry"] if e["resource"]["id"] == "sm-dr-17")
    assert report["result"][-1] == {"reference": added["request"]["url"]}
    assert not any(
        reference.startswith("urn:uuid:")
        for entry in output["entry"]
        for reference in references(entry["resource"])
    )
    assert added["resource"]["derivedFrom"] == [
        {"reference": "Observation/sm-wbc"},
        {"reference": "Observation/sm-anc"},
    ]
    assert added["resource"]["subject"] == {"reference": "Patient/sm-40517"}
    assert added["resource"]["specimen"] == {"reference": "Specimen/sm-sp-99"}


def test_derived_anc_entry_keeps_its_id_when_its_sources_are_amended() -> None:
    # A LIS replays the CBC as a transaction, preliminary then amended (WBC 2,400 → 4,600, 12 %
    # → 45 %): the amended Bundle's PUT must replace the neutropenic ANC derived before, not
    # leave it on the server beside a new one under another id.
    def replay(status: str, wbc: int, percent: int) -> dict[str, Any]:
        bundle = _wbc_and_percent_bundle()
        bundle["type"] = "transaction"
        for entry in bundle["entry"]:
            resource = entry["resource"]
            url = f"{resource['resourceType']}/{resource['id']}"
            entry["request"] = {"method": "PUT", "url": url}
            if resource["id"] in ("sm-dr-17", "sm-wbc", "sm-anc"):
                resource["status"] = status
        entries = {entry["resource"]["id"]: entry["resource"] for entry in bundle["entry"]}
        entries["sm-wbc"]["valueQuantity"]["value"] = wbc
        entries["sm-anc"]["valueQuantity"]["value"] = percent
        (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
        derived: dict[str, Any] = output["entry"][-1]
        return derived

    first, amended = replay("preliminary", 2400, 12), replay("amended", 4600, 45)
    assert first["resource"]["valueQuantity"]["value"] == Decimal("288")
    assert first["resource"]["interpretation"][0]["coding"][0]["code"] == "LL"
    assert amended["resource"]["valueQuantity"]["value"] == Decimal("2070")
    assert amended["resource"]["interpretation"][0]["coding"][0]["code"] == "N"
    assert amended["resource"]["status"] == "amended"
    assert amended["resource"]["id"] == first["resource"]["id"]
    assert amended["request"] == first["request"]


def test_derived_anc_entry_is_withdrawn_when_its_sources_are_sent_again_entered_in_error() -> None:
    # The LIS posted the CBC to the wrong patient and replays it with the WBC entered-in-error:
    # the neutropenic ANC derived from it before must not stay on the server as it was.
    def replay(wbc_status: str) -> leukoflag.Conversion:
        bundle = _wbc_and_percent_bundle()
        bundle["type"] = "transaction"
        for entry in bundle["entry"]:
            resource = entry["resource"]
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
            if resource["id"] == "sm-wbc":
                resource["status"] = wbc_status
        return leukoflag.convert(fhir.dumps(bundle))

    (first,), withdrawn = replay("final").bundles, replay("entered-in-error")
    (output,) = withdrawn.bundles
    before, after = first["entry"][-1], output["entry"][-1]
    assert after["resource"]["id"] == before["resource"]["id"]
    assert after["request"] == before["request"]
    assert after["resource"]["status"] == "entered-in-error"
    assert after["resource"]["valueQuantity"] == before["resource"]["valueQuantity"]  # 612
    assert "interpretation" not in after["resource"]
    assert not [f for f in withdrawn.findings if f.derived]
    (issue,) = [i for i in withdrawn.issues if i.code == "flag.anc-withdrawn"]
    assert issue.location.endswith("/ANC[withdrawn]")
    assert fhir.validate(output, "R4") == []


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_derived_anc_read_back_follows_its_source_withdrawn_since(status: str) -> None:
    # leukoflag's stored output (an ANC of 612, LU, derived from the WBC of 5,100 and
    # neutrophils of 12 %) whose WBC was since set entered-in-error or cancelled: flagged
    # again, the ANC was read as a measured one, still final and LU, and its Neutropenia stayed
    # in the report's conclusionCode though nothing it was derived from stands
    (first,) = leukoflag.convert(fhir.dumps(_wbc_and_percent_bundle())).bundles
    before = first["entry"][-1]["resource"]
    assert (before["status"], before["interpretation"][0]["coding"][0]["code"]) == ("final", "LU")
    edited = copy.deepcopy(first)
    wbc = next(e["resource"] for e in edited["entry"] if e["resource"]["id"] == "sm-wbc")
    wbc["status"] = status
    conv = leukoflag.convert(fhir.dumps(edited))
    (output,) = conv.bundles
    after = output["entry"][-1]["resource"]
    assert after["id"] == before["id"]
    assert after["status"] == status
    assert after["valueQuantity"] == before["valueQuantity"]  # 612, as derived
    assert "interpretation" not in after
    assert EXPLANATION not in urls(after)
    report = next(e["resource"] for e in output["entry"] if e["resource"]["id"] == "sm-dr-17")
    assert "conclusionCode" not in report
    assert conv.findings == []
    (said,) = (i for i in conv.issues if i.code == "fhir.derived-status")
    assert said.location.endswith(".status")
    assert said.text.startswith(
        f"the ANC leukoflag derived before, written 'final', is now {status}: its source is "
        f"{status} (ITEM[1]/Bundle.entry["
    )
    assert fhir.validate(output, "R4") == []
    # read back once more, nothing changes: its status is its sources' already
    again = leukoflag.convert(fhir.dumps(output))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(output)


def test_derived_anc_read_back_withdrawn_itself_is_not_revived_by_its_sources() -> None:
    # a user set leukoflag's derived ANC entered-in-error, its WBC and percent still final
    (first,) = leukoflag.convert(fhir.dumps(_wbc_and_percent_bundle())).bundles
    edited = copy.deepcopy(first)
    edited["entry"][-1]["resource"]["status"] = "entered-in-error"
    conv = leukoflag.convert(fhir.dumps(edited))
    (output,) = conv.bundles
    assert output["entry"][-1]["resource"]["status"] == "entered-in-error"
    assert "interpretation" not in output["entry"][-1]["resource"]
    assert "fhir.derived-status" not in [i.code for i in conv.issues]
    assert [f.location for f in conv.findings if f.derived] == []


def test_r5_observation_is_flagged_and_validates_as_r5() -> None:
    conv = convert("r5-anc-observation.json")
    (output,) = conv.bundles
    assert output["valueQuantity"]["value"] == Decimal("420")
    assert output["code"]["coding"][-1]["code"] == "26499-4"  # LOINC added to the local code
    assert output["contained"] == original("r5-anc-observation.json")["contained"]
    assert fhir.validate(output, "R5") == []


def test_comparator_count_keeps_its_text() -> None:
    data = (
        b'{"resourceType": "Observation", "status": "final", '
        b'"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, '
        b'"valueQuantity": {"value": 0.1, "comparator": "<", "unit": "K/uL"}}'
    )
    (output,) = leukoflag.convert(data).bundles
    quantity = output["valueQuantity"]
    assert (quantity["comparator"], quantity["value"]) == ("<", Decimal("100"))
    assert quantity["extension"] == [{"url": ORIGINAL_TEXT, "valueString": "<0.1 K/uL"}]


def test_a_comparator_counts_primitive_extensions_are_kept_or_said() -> None:
    # A lab marks who set the comparator and the unit's source: without a comparator they stay
    # in the PQ translation; with one the original is text only, and they vanished without a word
    def lab(name: str) -> dict[str, Any]:
        url = f"http://lab.example.org/fhir/StructureDefinition/{name}"
        return {"extension": [{"url": url, "valueString": "LIS-7"}]}

    sent = {
        "value": 0.45,
        "_value": lab("verified-by"),
        "comparator": "<",
        "_comparator": lab("below-linearity"),
        "unit": "G/l",
        "_unit": lab("unit-source"),
        "system": UCUM,
        "code": "10*9/L",
    }
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "effectiveDateTime": "2026-03-02T07:40:00Z",
        "valueQuantity": sent,
    }
    conversion = leukoflag.convert(json.dumps(observation))
    (output,) = conversion.bundles
    quantity = output["valueQuantity"]
    assert (quantity["comparator"], quantity["value"]) == ("<", Decimal("450"))
    assert quantity["_comparator"] == lab("below-linearity")  # the comparator is the one sent
    assert quantity["extension"] == [{"url": ORIGINAL_TEXT, "valueString": "<0.45 G/l"}]
    keys = ["extension", "value", "comparator", "_comparator", "unit", "system", "code"]
    assert list(quantity) == keys
    said = [(i.location, i.text) for i in conversion.issues if i.code == "fhir.extension-not-kept"]
    assert said == [
        (
            "ITEM[1]/Observation.valueQuantity._value",
            (
                "the value sent carries extensions "
                "('http://lab.example.org/fhir/StructureDefinition/verified-by'), not kept: "
                "a count with a comparator keeps its original as text only"
            ),
        ),
        (
            "ITEM[1]/Observation.valueQuantity._unit",
            (
                "the unit sent carries extensions "
                "('http://lab.example.org/fhir/StructureDefinition/unit-source'), not kept: "
                "a count with a comparator keeps its original as text only"
            ),
        ),
    ]
    # flagged again, leukoflag's own output keeps the comparator's extensions and says nothing
    again = leukoflag.convert(leukoflag.fhir.dumps(output))
    assert again.bundles == [output]
    assert [i.code for i in again.issues if i.code.startswith("fhir.")] == []


def test_a_count_sent_as_an_integer_keeps_its_extensions_on_the_original_value() -> None:
    # An analyzer interface sends the WBC as valueInteger (cells/µL), its id and the instrument
    # run on the integer (_valueInteger): left behind beside the valueQuantity written in its
    # place, the Observation had two value[x], which FHIR forbids
    run = {
        "id": "wbc-count",
        "extension": [
            {"url": "http://lab.example.org/fhir/StructureDefinition/run", "valueString": "R-88"}
        ],
    }
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "26464-8"}]},
        "effectiveDateTime": "2026-03-02T07:40:00Z",
        "valueInteger": 2100,
        "_valueInteger": run,
    }
    (output,) = leukoflag.convert(json.dumps(observation)).bundles
    assert [key for key in output if key.lstrip("_").startswith("value")] == ["valueQuantity"]
    quantity = output["valueQuantity"]
    assert (quantity["value"], quantity["code"]) == (Decimal("2100"), "/uL")
    assert quantity["extension"] == [{"url": PQ, "valueQuantity": {"value": 2100, "_value": run}}]
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output


def anc_with_comparator(comparator: str, value: str) -> bytes:
    return (
        '{"resourceType": "Observation", "status": "final", '
        '"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, '
        f'"valueQuantity": {{"value": {value}, "comparator": "{comparator}", "unit": "K/uL"}}}}'
    ).encode()


def test_r5_comparator_ad_is_judged_as_at_least() -> None:
    # "ad" (sufficient to achieve): at least 1.8, so never neutropenic
    conversion = leukoflag.convert(anc_with_comparator("ad", "1.8"))
    (output,) = conversion.bundles
    assert output["interpretation"][0]["coding"][0]["code"] == "N"
    (issue,) = [i for i in conversion.issues if i.code == "flag.bound-interpreted"]
    assert "≥1,800 cells/µL" in issue.text


@pytest.mark.parametrize("comparator", ["&lt;", "=", "~"])
def test_a_comparator_fhir_does_not_have_is_malformed(comparator: str) -> None:
    # an XML-escaped "<" from a converter: read as ">=" it made <1.8 (unknown) a normal ANC
    conversion = leukoflag.convert(anc_with_comparator(comparator, "1.8"))
    assert conversion.bundles == []
    (rejected,) = conversion.rejected
    assert rejected.reason == (
        "malformed Observation at ITEM[1]/Observation.valueQuantity.comparator: "
        f"'{comparator}' is not a FHIR comparator (<, <=, >=, > or R5's ad)"
    )


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("0.4", "is a number sent as text, without a unit (a count is read from a quantity only)"),
        ("0,4", "is a number sent as text, without a unit (a count is read from a quantity only)"),
        (
            "1,500",
            (
                "is not read as a number: its comma may separate thousands or be a decimal "
                "comma; the sender should send '1500' (no thousands separator) or '1.500' (a "
                "decimal point): a number has neither in HL7 v2 or FHIR"
            ),
        ),
        ("clotted", "is not a number"),
    ],
)
def test_a_value_string_is_not_flagged_and_the_issue_says_what_it_is(sent: str, why: str) -> None:
    data = (
        '{"resourceType": "Observation", "status": "final", '
        '"code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]}, '
        f'"valueString": "{sent}"}}'
    ).encode()
    conversion = leukoflag.convert(data)
    assert conversion.findings == []
    (issue,) = [i for i in conversion.issues if i.code == "flag.value-not-numeric"]
    assert issue.text == f"not flagged: the WBC value '{sent}' {why}"


def test_a_count_sent_with_a_data_absent_reason_too_is_not_flagged_and_the_issue_says_so() -> None:
    # FHIR allows a value or a dataAbsentReason (obs-6); a LIS sending both gave "no ANC value"
    sent = fhir.loads(_BARE_ANC)
    sent["dataAbsentReason"] = {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}
        ]
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.bundles == [sent]
    (issue,) = [i for i in conv.issues if i.code == "flag.data-absent"]
    assert issue.text == (
        "not flagged: the ANC value was sent with a data-absent reason (error), "
        "which says there is none"
    )


def test_ndjson_outputs_and_rejections_add_up_to_the_lines_read() -> None:
    conv = convert("bulk-export.ndjson")
    assert len(conv.bundles) + len(conv.rejected) == 6
    assert [r.index for r in conv.rejected] == [2, 4, 5]
    assert [o["id"] for o in conv.bundles] == ["bulk-a1", "bulk-a3", "bulk-a6"]
    assert conv.bundles[1] == fhir.loads(
        (INPUTS / "bulk-export.ndjson").read_bytes().splitlines()[3]
    )


def test_strict_validation_checks_flagged_input_in_the_configured_version() -> None:
    assert convert("r4-wbc-observation.json", strict=True).rejected == []
    as_r4 = convert("r5-anc-observation.json", strict=True)
    (rejected,) = as_r4.rejected
    assert rejected.reason.startswith("strict FHIR validation failed: ")
    assert "Specimen" in rejected.reason  # Specimen.role and a CodeableReference body site are R5
    assert convert("r5-anc-observation.json", strict=True, fhir_version="R5").rejected == []


def test_public_names_are_sorted_and_resolve() -> None:
    assert fhir.__all__ == sorted(fhir.__all__)
    assert all(hasattr(fhir, name) for name in fhir.__all__)


def _count(identifier: str, code: str, value: str, unit: str) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{identifier}",
        "resource": {
            "resourceType": "Observation",
            "id": identifier,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            # one draw: without a time, report or specimen each would be a draw of its own
            "effectiveDateTime": "2026-11-24T07:40:00-05:00",
            "valueQuantity": {"value": Decimal(value), "unit": unit, "system": UCUM, "code": unit},
            "extension": [{"url": {"not": "a string"}}],
        },
    }


@pytest.mark.parametrize("bundle_type", [{"coding": "transaction"}, ["batch"], None, 7])
def test_bundle_with_a_malformed_type_or_url_still_gets_its_derived_anc(
    bundle_type: object,
) -> None:
    # A WBC and a neutrophil percent without an ANC: the derived ANC entry looks at
    # Bundle.type (to add a request) and the extension URLs, here not strings.
    bundle = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [
            _count("5b7c3f0e-1d2a-4e8b-9c61-0a4d2e7f8b10", "6690-2", "2.9", "10*3/uL"),
            _count("5b7c3f0e-1d2a-4e8b-9c61-0a4d2e7f8b11", "770-8", "31.0", "%"),
        ],
    }
    conv = leukoflag.convert(fhir.dumps(bundle))
    (output,) = conv.bundles
    derived = output["entry"][-1]
    assert derived["resource"]["valueQuantity"]["value"] == Decimal("899")  # 2,900 × 31.0 %
    assert "request" not in derived
    assert output["type"] == bundle_type


@pytest.mark.parametrize(
    "bundle_type", ["history", "searchset", "transaction-response", "batch-response"]
)
def test_bundle_of_server_responses_gets_no_derived_anc_entry(bundle_type: str) -> None:
    # Every entry of these Bundles records what a server did (bdl-3/bdl-4; a searchset what a
    # search returned): an added entry would claim a response no server gave (in a searchset a
    # match of the search, or a resource the server chose to include), so the ANC is reported only.
    entries = [
        _count("8d2e41f7-3a60-4c1b-9e75-2f0b6a9d1c20", "6690-2", "2.9", "10*3/uL"),
        _count("8d2e41f7-3a60-4c1b-9e75-2f0b6a9d1c21", "770-8", "31.0", "%"),
    ]
    for entry in entries:
        del entry["resource"]["extension"]  # the helper's malformed extension is not the point
        rid = entry["resource"]["id"]
        if bundle_type == "searchset":
            entry["fullUrl"] = f"https://fhir.riverside.example/r4/Observation/{rid}"
            entry["search"] = {"mode": "match"}
            continue
        entry["response"] = {"status": "200 OK", "etag": 'W/"3"'}
        if bundle_type == "history":
            entry["request"] = {"method": "PUT", "url": f"Observation/{rid}"}
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    if bundle_type == "searchset":
        bundle["total"] = 2
    conv = leukoflag.convert(fhir.dumps(bundle))
    (output,) = conv.bundles
    assert len(output["entry"]) == 2
    assert all(
        ("search" if bundle_type == "searchset" else "response") in e for e in output["entry"]
    )
    (derived,) = (f for f in conv.findings if f.derived)
    assert derived.value_per_ul == Decimal("899")  # 2,900 × 31.0 %: still in the findings
    (issue,) = (i for i in conv.issues if i.code == "fhir.derived-not-written")
    assert issue.location == derived.location
    assert f"{bundle_type} Bundle records a server's response" in issue.text


def _history_version(value: str, version: str, status: str = "final") -> dict[str, Any]:
    """An entry of a history Bundle: version ``version`` of Observation/wbc-h7 (a WBC)."""
    return {
        "fullUrl": "https://fhir.riverside.example/r4/Observation/wbc-h7",
        "resource": {
            "resourceType": "Observation",
            "id": "wbc-h7",
            "meta": {"versionId": version},
            "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
            "effectiveDateTime": "2026-11-24T06:40:00-05:00",
            "valueQuantity": {
                "value": Decimal(value),
                "unit": "10*3/uL",
                "system": UCUM,
                "code": "10*3/uL",
            },
        },
        "request": {"method": "PUT", "url": "Observation/wbc-h7"},
        "response": {"status": "200 OK", "etag": f'W/"{version}"'},
    }


def test_a_history_bundle_flags_the_newest_version_of_a_result_only() -> None:
    # a server's _history of a WBC, newest first: version 1 (2.1) was replaced by version 2
    # (6.2), both final; the withdrawn 2.1 was flagged LU and gave a leukopenia finding
    entries = [_history_version("6.2", "2"), _history_version("2.1", "1")]
    sent = {"resourceType": "Bundle", "type": "history", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[0].resource", "N")
    ]
    (output,) = conv.bundles
    assert output["entry"][1] == fhir.loads(fhir.dumps(entries[1]))  # as sent
    (older,) = (i for i in conv.issues if i.code == "fhir.version-superseded")
    assert older.location == "ITEM[1]/Bundle.entry[1].resource"
    assert "Observation/wbc-h7" in older.text
    assert "ITEM[1]/Bundle.entry[0] holds its newest version" in older.text


def test_a_history_bundle_whose_newest_entry_deletes_the_result_flags_no_version() -> None:
    deleted = {
        "fullUrl": "https://fhir.riverside.example/r4/Observation/wbc-h7",
        "request": {"method": "DELETE", "url": "Observation/wbc-h7"},
        "response": {"status": "204 No Content"},
    }
    entries = [deleted, _history_version("2.1", "1")]
    sent = {"resourceType": "Bundle", "type": "history", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    (output,) = conv.bundles
    assert output == fhir.loads(fhir.dumps(sent))
    assert [i.code for i in conv.issues] == ["fhir.version-superseded"]
    assert "ITEM[1]/Bundle.entry[0] records its deletion" in conv.issues[0].text


def _contained_count(
    rid: str, code: str, value: str, unit: str, *, status: str = "final", subject: str | None = None
) -> dict[str, Any]:
    """An Observation of LOINC ``code`` with a UCUM quantity, to be contained in a report."""
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
    }
    if subject is not None:
        observation["subject"] = {"reference": subject}
    observation["valueQuantity"] = {
        "value": Decimal(value),
        "unit": unit,
        "system": UCUM,
        "code": unit,
    }
    return observation


def _cbc_report(
    rid: str, contained: list[dict[str, Any]], subject: str, **more: Any
) -> dict[str, Any]:
    """A CBC DiagnosticReport drawn 2026-11-18 listing its contained #wbc and #neut."""
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "contained": contained,
        "status": more.pop("status", "final"),
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-11-18T07:40:00-05:00",
        **more,
        "result": [{"reference": "#wbc"}, {"reference": "#neut"}],
    }


@pytest.mark.parametrize(
    ("report_status", "wbc_status", "written"),
    [
        ("final", "preliminary", "preliminary"),
        ("partial", "preliminary", "preliminary"),
        ("final", "corrected", "corrected"),
    ],
)
def test_derived_anc_of_contained_results_takes_their_status_not_the_reports(
    report_status: str, wbc_status: str, written: str
) -> None:
    # A report that is final (or partial) with a preliminary WBC contained: the ANC computed from
    # it is preliminary; it was written with the report's status read as "final".
    report = _cbc_report(
        "rv-cbc-2214",
        [
            _contained_count("wbc", "6690-2", "3.2", "10*3/uL", status=wbc_status),
            _contained_count("neut", "770-8", "25.0", "%"),
        ],
        "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a11",
        status=report_status,
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a10", "resource": report},
            {
                "fullUrl": "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a11",
                "resource": {"resourceType": "Patient", "id": "rv-p2"},
            },
        ],
    }
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("800")  # 3,200 × 25.0 %
    assert added["status"] == written


def test_derived_anc_of_results_contained_in_a_report_entry_is_valid_fhir() -> None:
    # The sources are contained in a DiagnosticReport entry: the new Observation takes the
    # report's subject and time, but neither its list of specimens (Observation.specimen is one
    # Reference) nor a derivedFrom naming the report (not an allowed target).
    patient, specimen = (
        "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a01",
        "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a02",
    )
    report = _cbc_report(
        "rv-cbc-2208",
        [
            _contained_count("wbc", "6690-2", "3.2", "10*3/uL"),
            _contained_count("neut", "770-8", "25.0", "%"),
        ],
        patient,
        specimen=[{"reference": specimen}],
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a00", "resource": report},
            {"fullUrl": patient, "resource": {"resourceType": "Patient", "id": "rv-p"}},
            {"fullUrl": specimen, "resource": {"resourceType": "Specimen", "id": "rv-s"}},
        ],
    }
    conv = leukoflag.convert(fhir.dumps(bundle), Settings(strict=True))
    assert conv.rejected == []
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("800")  # 3,200 × 25.0 %
    assert added["subject"] == {"reference": patient}
    assert added["effectiveDateTime"] == "2026-11-18T07:40:00-05:00"
    assert "specimen" not in added
    assert "derivedFrom" not in added
    assert output["entry"][0]["resource"]["result"][-1] == {
        "reference": output["entry"][-1]["fullUrl"]
    }


def test_derived_anc_takes_a_copy_of_the_contained_patient_its_subject_names() -> None:
    # A report sent with its patient and results contained (subject "#pat"): the new entry's
    # subject named "#pat" too, which resolves only against the new Observation's own contained.
    patient = {"resourceType": "Patient", "id": "pat", "birthDate": "1961-04-09", "gender": "male"}
    report = _cbc_report(
        "rv-cbc-2230",
        [
            patient,
            _contained_count("wbc", "6690-2", "3.2", "10*3/uL", subject="#pat"),
            _contained_count("neut", "770-8", "25.0", "%", subject="#pat"),
        ],
        "#pat",
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a20", "resource": report}],
    }
    conv = leukoflag.convert(fhir.dumps(bundle), Settings(strict=True))
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("800")  # 3,200 × 25.0 %
    assert added["subject"] == {"reference": "#pat"}
    assert added["contained"] == [patient]
    assert list(added)[:3] == ["resourceType", "id", "contained"]
    again = leukoflag.convert(fhir.dumps(output))
    assert [i.code for i in again.issues if i.code == "fhir.reference-unresolved"] == []
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(output)


def test_derived_anc_copies_the_contained_resources_its_contained_patient_names_in_turn() -> None:
    # The contained Patient names its managing organization "#org", contained beside it: only the
    # Patient was copied, so the new entry held a "#org" that named nothing in it.
    clinic = {"resourceType": "Organization", "id": "org", "name": "Riverside Oncology Clinic"}
    patient = {
        "resourceType": "Patient",
        "id": "pat",
        "birthDate": "1961-04-09",
        "gender": "male",
        "managingOrganization": {"reference": "#org"},
    }
    report = _cbc_report(
        "rv-cbc-2231",
        [
            {"resourceType": "Organization", "id": "lab", "name": "Riverside Laboratory"},
            clinic,
            patient,
            _contained_count("wbc", "6690-2", "3.2", "10*3/uL", subject="#pat"),
            _contained_count("neut", "770-8", "25.0", "%", subject="#pat"),
        ],
        "#pat",
        performer=[{"reference": "#lab"}],
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:3f1c9a52-77e0-4d2b-a8c4-5e6f70819a21", "resource": report}],
    }
    conv = leukoflag.convert(fhir.dumps(bundle), Settings(strict=True))
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("800")  # 3,200 × 25.0 %
    assert added["contained"] == [clinic, patient]  # not the performing lab, which it never names


def _count_entry(
    rid: str, code: str, value: float, unit: str, *, subject: str, drawn: str | None = None
) -> dict[str, Any]:
    """A Bundle entry of an Observation of LOINC ``code`` with a UCUM quantity."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"urn:uuid:{subject}"},
    }
    if drawn is not None:
        resource["effectiveDateTime"] = drawn
    resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return {"fullUrl": f"urn:uuid:{rid}", "resource": resource}


def test_each_derived_anc_entry_is_listed_by_the_report_of_its_sources() -> None:
    def observation(rid: str, code: str, value: float, unit: str) -> dict[str, Any]:
        return _count_entry(rid, code, value, unit, subject="5b0f2d8e-patient")

    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:5b0f2d8e-patient",
            "resource": {"resourceType": "Patient", "id": "5b0f2d8e-patient", "gender": "male"},
        }
    ]
    for n, (wbc, neutrophils) in enumerate(((7.2, 61), (2.4, 30), (11.5, 82)), start=1):
        entries += [
            observation(f"wbc-{n}", "6690-2", wbc, "10*3/uL"),
            observation(f"neut-{n}", "770-8", neutrophils, "%"),
            {
                "fullUrl": f"urn:uuid:cbc-{n}",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": f"cbc-{n}",
                    "status": "final",
                    "code": {"text": "CBC with differential"},
                    "subject": {"reference": "urn:uuid:5b0f2d8e-patient"},
                    "result": [
                        {"reference": f"urn:uuid:wbc-{n}"},
                        {"reference": f"urn:uuid:neut-{n}"},
                    ],
                },
            },
        ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (written,) = leukoflag.convert(json.dumps(bundle)).bundles
    by_url = {entry["fullUrl"]: entry["resource"] for entry in written["entry"]}
    reports = [r for r in by_url.values() if r["resourceType"] == "DiagnosticReport"]
    expected = [Decimal("7.2") * 610, Decimal("2.4") * 300, Decimal("11.5") * 820]
    for report, anc in zip(reports, expected, strict=True):
        *sources, derived = report["result"]
        assert by_url[derived["reference"]]["derivedFrom"] == sources
        assert by_url[derived["reference"]]["valueQuantity"]["value"] == anc
    assert len({r["result"][-1]["reference"] for r in reports}) == len(expected)


def test_derived_ancs_of_pairs_drawn_at_several_times_are_listed_in_order_by_their_report() -> None:
    # one report of three WBC + neutrophil % pairs, each pair drawn at its own time: three
    # derived ANCs, each appended once to the report's results, the input left as it was
    def observation(rid: str, code: str, value: int, unit: str, drawn: str) -> dict[str, Any]:
        return _count_entry(rid, code, value, unit, subject="7c1e-patient", drawn=drawn)

    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:7c1e-patient",
            "resource": {"resourceType": "Patient", "id": "7c1e-patient", "gender": "female"},
        }
    ]
    results = []
    for n, drawn in enumerate(("06:10", "12:40", "19:05"), start=1):
        when = f"2026-03-14T{drawn}:00-04:00"
        entries += [
            observation(f"wbc-{n}", "6690-2", 2 + n, "10*3/uL", when),
            observation(f"neut-{n}", "770-8", 40 + n, "%", when),
        ]
        results += [{"reference": f"urn:uuid:wbc-{n}"}, {"reference": f"urn:uuid:neut-{n}"}]
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-series",
        "status": "final",
        "code": {"text": "CBC series"},
        "subject": {"reference": "urn:uuid:7c1e-patient"},
        "result": results,
    }
    entries.append({"fullUrl": "urn:uuid:cbc-series", "resource": report})
    raw = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    (item,) = fhir.read_items(io.BytesIO(raw.encode()), source="<test>", settings=Settings())
    assert isinstance(item, FhirItem)
    before = copy.deepcopy(item.resource)
    output, _ = fhir.flag_in_place(item, _evaluations(item), Settings())
    assert item.resource == before
    derived = output["entry"][len(entries) :]
    written = output["entry"][len(entries) - 1]["resource"]["result"]
    assert written == [*results, *({"reference": e["fullUrl"]} for e in derived)]
    assert [e["resource"]["valueQuantity"]["value"] for e in derived] == [
        Decimal(3000 * 41) / 100,
        Decimal(4000 * 42) / 100,
        Decimal(5000 * 43) / 100,
    ]
    assert [e["resource"]["effectiveDateTime"] for e in derived] == [
        "2026-03-14T06:10:00-04:00",
        "2026-03-14T12:40:00-04:00",
        "2026-03-14T19:05:00-04:00",
    ]


# A LIS marking a count as not the patient's own measurement (a modifier FHIR requires a reader
# to understand before it acts on the resource): made up for these tests.
_NOT_MEASURED = {
    "url": "http://lis.example/fhir/StructureDefinition/simulated",
    "valueBoolean": True,
}


def test_observation_with_a_modifier_extension_is_passed_through_unflagged() -> None:
    sent = original("r4-wbc-observation.json")
    sent["modifierExtension"] = [_NOT_MEASURED]
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.modifier-extension-unknown", "ITEM[1]/Observation.modifierExtension")
    ]
    assert "'http://lis.example/fhir/StructureDefinition/simulated'" in conv.issues[0].text


def test_component_with_a_modifier_extension_is_passed_through_and_the_others_flagged() -> None:
    sent = original("cbc-panel-components.json")
    sent["component"][1]["modifierExtension"] = [_NOT_MEASURED]  # the neutrophil %
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    wbc, percent, hemoglobin = output["component"]  # no ANC derived from the % set aside
    assert wbc["valueQuantity"]["value"] == Decimal("3600")
    assert [f.location for f in conv.findings] == ["ITEM[1]/Observation.component[0]"]
    assert (percent, hemoglobin) == (sent["component"][1], sent["component"][2])
    (issue,) = [i for i in conv.issues if i.code.startswith("fhir.")]
    assert (issue.code, issue.location) == (
        "fhir.modifier-extension-unknown",
        "ITEM[1]/Observation.component[1].modifierExtension",
    )


def test_a_modifier_extension_on_the_value_quantity_sets_the_component_aside() -> None:
    # not FHIR (a Quantity has no modifierExtension), but it speaks of the very value judged: it
    # was ignored, and the WBC flagged as if the LIS had said nothing
    sent = original("cbc-panel-components.json")
    sent["component"][0]["valueQuantity"]["modifierExtension"] = [_NOT_MEASURED]
    conv = passed_through(sent)
    (issue,) = [i for i in conv.issues if i.code.startswith("fhir.")]
    assert (issue.code, issue.location) == (
        "fhir.modifier-extension-unknown",
        "ITEM[1]/Observation.component[0].valueQuantity.modifierExtension",
    )
    assert "'http://lis.example/fhir/StructureDefinition/simulated'" in issue.text


@pytest.mark.parametrize(
    ("at", "what", "why"),
    [
        # The report orders its results (their patient, time and conclusion): its modifier was
        # ignored, the ANC in it flagged and Neutropenia added to its conclusionCode
        (2, "report", "the results it lists unread and unflagged"),
        # The patient's birth date chose the 4-year-old's bands: its modifier was ignored and the
        # ANC of 800 flagged, with a Neutropenia conclusion added to the report
        (0, "patient", "the results of this patient unread and unflagged"),
        # The specimen decides control material, body fluid and collection time: its modifier was
        # ignored and the ANC of 800 flagged LU, as if it were the 5-year-old's blood
        (1, "specimen", "naming it as their specimen, focus or encounter unread and unflagged"),
    ],
)
def test_a_resource_with_a_modifier_extension_and_the_results_it_governs_are_passed_through(
    at: int, what: str, why: str
) -> None:
    sent = original("bundle-with-patient.json")
    sent["entry"][at]["resource"]["modifierExtension"] = [_NOT_MEASURED]
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        (
            "fhir.modifier-extension-unknown",
            f"ITEM[1]/Bundle.entry[{at}].resource.modifierExtension",
        )
    ]
    assert f"may change what this {what} means" in conv.issues[0].text
    assert conv.issues[0].text.endswith(why)


# A lab's own rules for reading its resources, which FHIR makes a modifier element of every
# resource: made up for these tests
_LAB_RULES = "http://lis.example/fhir/rules/research-estimates"


def test_a_bundle_with_implicit_rules_is_passed_through_with_its_results() -> None:
    # a Bundle's one modifier element (it has no modifierExtension): its counts were flagged
    sent = {"implicitRules": _LAB_RULES, **original("bundle-with-patient.json")}
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.implicit-rules-unknown", "ITEM[1]/Bundle.implicitRules")
    ]
    assert "may change what this Bundle means" in conv.issues[0].text


def test_an_observation_with_implicit_rules_is_passed_through_unflagged() -> None:
    # it was flagged as if the rules it names said nothing
    sent = {"implicitRules": _LAB_RULES, **original("r4-wbc-observation.json")}
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.implicit-rules-unknown", "ITEM[1]/Observation.implicitRules")
    ]
    assert conv.issues[0].text.endswith("passed through unread and unflagged")


@pytest.mark.parametrize(
    ("at", "what", "why"),
    [
        # the report, patient and specimen were read (and the ANC flagged) as if the rules
        # said nothing
        (2, "report", "the results it lists unread and unflagged"),
        (0, "patient", "the results of this patient unread and unflagged"),
        (1, "specimen", "naming it as their specimen, focus or encounter unread and unflagged"),
    ],
)
def test_a_resource_with_implicit_rules_and_the_results_it_governs_are_passed_through(
    at: int, what: str, why: str
) -> None:
    sent = original("bundle-with-patient.json")
    resource = sent["entry"][at]["resource"]
    sent["entry"][at]["resource"] = {"implicitRules": _LAB_RULES, **resource}
    conv = passed_through(sent)
    said = [i for i in conv.issues if i.code.startswith("fhir.")]
    assert [(i.code, i.location) for i in said] == [
        ("fhir.implicit-rules-unknown", f"ITEM[1]/Bundle.entry[{at}].resource.implicitRules")
    ]
    assert said[0].text.startswith(
        f"implicitRules '{_LAB_RULES}' may change what this {what} means (FHIR makes it a "
        "modifier element), and leukoflag does not know those rules: "
    )
    assert said[0].text.endswith(why)


def _discharge_document(**composition: Any) -> dict[str, Any]:
    """A document Bundle (a discharge summary: its Composition first) holding the patient of
    bundle-with-patient.json and her WBC and ANC; ``composition``: elements set on it."""
    sent = original("bundle-with-patient.json")
    summary = {
        "resourceType": "Composition",
        "id": "sm-dc-4471",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
        "subject": {"reference": "Patient/sm-40517"},
        "date": "2026-11-24T16:00:00+00:00",
        "author": [{"display": "St Mary's Hospital"}],
        "title": "Discharge summary",
        "section": [{"title": "Results", "entry": [{"reference": "DiagnosticReport/sm-dr-17"}]}],
        **composition,
    }
    first = {"fullUrl": "http://fhir.stmary.example/Composition/sm-dc-4471", "resource": summary}
    return {
        **sent,
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.UUID(int=7)}"},
        "timestamp": "2026-11-24T16:00:00+00:00",
        "entry": [first, *sent["entry"]],
    }


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_the_results_of_a_withdrawn_document_are_passed_through(status: str) -> None:
    # a discharge summary withdrawn after it was sent: its WBC and ANC were flagged and
    # Leukopenia added to its report's conclusion, as if the document stood
    sent = _discharge_document(status=status)
    conv = passed_through(sent)
    assert [(i.code, i.location, i.severity) for i in conv.issues] == [
        (
            "fhir.document-withdrawn",
            "ITEM[1]/Bundle.entry[0].resource.status",
            leukoflag.Severity.INFORMATION,
        )
    ]
    assert conv.issues[0].text.startswith(f"the document's Composition is {status}, ")


def test_the_results_of_a_document_with_a_modifier_extension_are_passed_through() -> None:
    sent = _discharge_document(modifierExtension=[_NOT_MEASURED])
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.modifier-extension-unknown", "ITEM[1]/Bundle.entry[0].resource.modifierExtension")
    ]
    assert "may change what this document means" in conv.issues[0].text


def test_the_results_of_a_message_whose_header_has_a_modifier_extension_are_passed_through() -> (
    None
):
    sent = original("bundle-with-patient.json")
    header = {
        "resourceType": "MessageHeader",
        "id": "sm-mh-4471",
        "modifierExtension": [_NOT_MEASURED],
        "eventCoding": {"system": "http://example.org/events", "code": "lab-result"},
        "source": {"endpoint": "http://fhir.stmary.example/lis"},
    }
    sent = {
        **sent,
        "type": "message",
        "timestamp": "2026-11-24T16:00:00+00:00",
        "entry": [
            {"fullUrl": "http://fhir.stmary.example/MessageHeader/sm-mh-4471", "resource": header},
            *sent["entry"],
        ],
    }
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.modifier-extension-unknown", "ITEM[1]/Bundle.entry[0].resource.modifierExtension")
    ]
    assert "may change what this message means" in conv.issues[0].text


def test_the_results_of_a_final_document_are_flagged() -> None:
    conv = leukoflag.convert(fhir.dumps(_discharge_document()))
    assert conv.findings != []
    assert "fhir.document-withdrawn" not in [i.code for i in conv.issues]


def test_a_result_listed_by_a_report_with_a_modifier_extension_is_not_read_through_another() -> (
    None
):
    # the same WBC listed again by a second report, read first or last: never flagged
    sent = original("bundle-with-patient.json")
    report = sent["entry"][2]
    qualified = {**report["resource"], "id": "sm-dr-17b", "modifierExtension": [_NOT_MEASURED]}
    for entries in (
        [*sent["entry"], {"resource": qualified}],
        [{"resource": qualified}, *sent["entry"]],
    ):
        conv = leukoflag.convert(fhir.dumps({**sent, "entry": entries}))
        assert conv.findings == []
        (output,) = conv.bundles
        assert output["entry"] == entries


def test_a_patient_with_a_modifier_extension_leaves_another_patients_results_flagged() -> None:
    patients = [
        {
            "fullUrl": f"urn:uuid:{pid}",
            "resource": {"resourceType": "Patient", "id": pid, "gender": "female", **extra},
        }
        for pid, extra in (
            ("7c41-patient-a", {"modifierExtension": [_NOT_MEASURED]}),
            ("7c41-patient-b", {}),
        )
    ]
    counts = [
        _count_entry(f"wbc-{p}", "6690-2", 2.1, "10*3/uL", subject=f"7c41-patient-{p}")
        for p in ("a", "b")
    ]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": [*patients, *counts]}
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[3].resource"]
    assert output["entry"][2] == fhir.loads(fhir.dumps(counts[0]))  # as sent
    assert output["entry"][3]["resource"]["valueQuantity"]["value"] == Decimal("2100")


def test_the_members_of_a_panel_a_report_lists_are_of_the_reports_order() -> None:
    # DiagnosticReport.result names the CBC panel, whose counts are its hasMember (as US Core
    # lab feeds send them): the counts were read as results no report lists, so the report got
    # no conclusionCode and the derived ANC was not added to it
    subject = "9d2e-patient"
    panel = {
        "resourceType": "Observation",
        "id": "cbc-9d2e",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": f"urn:uuid:{subject}"},
        "effectiveDateTime": "2026-11-24T06:40:00-05:00",
        "hasMember": [{"reference": "urn:uuid:wbc-9d2e"}, {"reference": "urn:uuid:neut-9d2e"}],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-9d2e",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": f"urn:uuid:{subject}"},
        "effectiveDateTime": "2026-11-24T06:40:00-05:00",
        "result": [{"reference": "urn:uuid:cbc-9d2e"}],
    }
    drawn = "2026-11-24T06:40:00-05:00"
    entries = [
        {
            "fullUrl": f"urn:uuid:{subject}",
            "resource": {"resourceType": "Patient", "id": subject, "gender": "male"},
        },
        {"fullUrl": "urn:uuid:dr-9d2e", "resource": report},
        {"fullUrl": "urn:uuid:cbc-9d2e", "resource": panel},
        _count_entry("wbc-9d2e", "6690-2", 2.4, "10*3/uL", subject=subject, drawn=drawn),
        _count_entry("neut-9d2e", "770-8", 30, "%", subject=subject, drawn=drawn),
    ]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    written = output["entry"][1]["resource"]
    assert [c["coding"][0]["code"] for c in written["conclusionCode"]] == [
        "84828003",  # Leukopenia
        "165517008",  # Neutropenia
    ]
    derived = output["entry"][-1]
    assert derived["resource"]["valueQuantity"]["value"] == Decimal("720")  # 2,400 × 30 %
    assert written["result"] == [
        {"reference": "urn:uuid:cbc-9d2e"},
        {"reference": derived["fullUrl"]},
    ]
    assert output["entry"][2] == fhir.loads(fhir.dumps(entries[2]))  # the panel as sent


def test_a_panels_contained_members_a_report_lists_are_read_once_and_derive_the_anc() -> None:
    # a CBC panel holding its counts as contained Observations, its hasMember naming them by
    # #id: each count was read twice (contained, and as a member), and the order's duplicate
    # WBC and neutrophil % silently derived no ANC
    drawn = "2026-11-24T06:40:00-05:00"
    members = [
        _count_entry(rid, code, value, unit, subject="4f1a-patient", drawn=drawn)["resource"]
        for rid, code, value, unit in (
            ("wbc-4f1a", "6690-2", 3.0, "10*3/uL"),
            ("neut-4f1a", "770-8", 40, "%"),
        )
    ]
    panel = {
        "resourceType": "Observation",
        "id": "cbc-4f1a",
        "contained": members,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "urn:uuid:4f1a-patient"},
        "effectiveDateTime": drawn,
        "hasMember": [{"reference": "#wbc-4f1a"}, {"reference": "#neut-4f1a"}],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-4f1a",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "urn:uuid:4f1a-patient"},
        "effectiveDateTime": drawn,
        "result": [{"reference": "urn:uuid:cbc-4f1a"}],
    }
    patient = {"resourceType": "Patient", "id": "4f1a-patient", "gender": "female"}
    entries = [
        {"fullUrl": "urn:uuid:4f1a-patient", "resource": patient},
        {"fullUrl": "urn:uuid:dr-4f1a", "resource": report},
        {"fullUrl": "urn:uuid:cbc-4f1a", "resource": panel},
    ]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (item,) = fhir.read_items(io.BytesIO(fhir.dumps(sent)), source="<test>", settings=Settings())
    assert isinstance(item, FhirItem)
    (group,) = item.groups
    (order,) = group.orders
    assert [r.location for r in order.results] == [
        "ITEM[1]/Bundle.entry[2].resource",
        "ITEM[1]/Bundle.entry[2].resource.contained[0]",
        "ITEM[1]/Bundle.entry[2].resource.contained[1]",
    ]
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    derived = output["entry"][-1]
    assert derived["resource"]["valueQuantity"]["value"] == Decimal("1200")  # 3,000 × 40 %
    assert output["entry"][1]["resource"]["result"] == [
        {"reference": "urn:uuid:cbc-4f1a"},
        {"reference": derived["fullUrl"]},
    ]
    assert [f.code for f in conv.findings] == ["L", "L"]  # leukopenia, then the ANC's neutropenia


def test_a_panel_that_is_its_own_member_is_read_once() -> None:
    panel = {
        "resourceType": "Observation",
        "id": "cbc-loop",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "hasMember": [{"reference": "Observation/cbc-loop"}, {"reference": "Observation/wbc-l"}],
    }
    wbc = _count_entry("wbc-l", "6690-2", 2.4, "10*3/uL", subject="loop-patient")
    wbc["fullUrl"] = "https://lis.example/fhir/Observation/wbc-l"
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-loop",
        "status": "final",
        "code": {"text": "CBC"},
        "result": [{"reference": "Observation/cbc-loop"}],
    }
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": report}, {"resource": panel}, wbc],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[2].resource"]
    (output,) = conv.bundles
    assert [c["coding"][0]["code"] for c in output["entry"][0]["resource"]["conclusionCode"]] == [
        "84828003"
    ]


def test_a_result_focused_on_a_specimen_with_a_modifier_extension_is_passed_through() -> None:
    # focus without specimen (the result is about the specimen); the other WBC is flagged
    specimen = {
        "resourceType": "Specimen",
        "id": "qc-lot-7731",
        "type": {"text": "Whole blood"},
        "modifierExtension": [_NOT_MEASURED],
    }
    focused = _count_entry("wbc-qc", "6690-2", 2.1, "10*3/uL", subject="3e8a-patient")
    focused["resource"]["focus"] = [{"reference": "Specimen/qc-lot-7731"}]
    other = _count_entry("wbc-own", "6690-2", 2.1, "10*3/uL", subject="3e8a-patient")
    entries = [{"resource": specimen}, focused, other]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[2].resource"]
    (output,) = conv.bundles
    assert output["entry"][1] == fhir.loads(fhir.dumps(focused))  # as sent


def test_a_result_whose_specimen_collection_has_a_modifier_extension_is_passed_through() -> None:
    # the collection's time dates a neonate's count (its age, its range) and is read for the
    # verdict: a modifier there (a time estimated, a heel stick redrawn) was ignored and the
    # WBC judged as usual
    estimated = {
        "url": "http://lis.example/fhir/StructureDefinition/collection-time-estimated",
        "valueBoolean": True,
    }
    specimen = {
        "resourceType": "Specimen",
        "id": "sp-heel-0412",
        "type": {"text": "Capillary blood"},
        "collection": {
            "collectedDateTime": "2026-11-25T06:10:00Z",
            "modifierExtension": [estimated],
        },
    }
    patient = {"resourceType": "Patient", "id": "0412-patient", "birthDate": "2026-11-22"}
    drawn = _count_entry("wbc-heel", "6690-2", 4.1, "10*3/uL", subject="0412-patient")
    drawn["resource"]["specimen"] = {"reference": "urn:uuid:sp-heel-0412"}
    other = _count_entry("wbc-vein", "6690-2", 4.1, "10*3/uL", subject="0412-patient")
    other["resource"]["effectiveDateTime"] = "2026-11-25T09:30:00Z"
    entries = [
        {"fullUrl": "urn:uuid:0412-patient", "resource": patient},
        {"fullUrl": "urn:uuid:sp-heel-0412", "resource": specimen},
        drawn,
        other,
    ]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[3].resource"]
    (output,) = conv.bundles
    assert output["entry"][2] == fhir.loads(fhir.dumps(drawn))  # as sent
    (issue,) = [i for i in conv.issues if i.code == "fhir.modifier-extension-unknown"]
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.collection.modifierExtension"
    assert issue.text.startswith(
        "modifierExtension 'http://lis.example/fhir/StructureDefinition/collection-time-estimated'"
        " may change what this specimen's collection means"
    )


def test_a_report_whose_specimen_has_a_modifier_extension_is_passed_through_with_its_results() -> (
    None
):
    # the counts name no specimen of their own: the report's is theirs
    sent = original("bundle-with-patient.json")
    for entry in sent["entry"][3:5]:
        del entry["resource"]["specimen"]
    report = sent["entry"][2]["resource"]
    report["specimen"] = [{"reference": "Specimen/sm-sp-99"}]
    sent["entry"][1]["resource"]["modifierExtension"] = [_NOT_MEASURED]
    conv = passed_through(sent)
    assert [i.location for i in conv.issues] == [
        "ITEM[1]/Bundle.entry[1].resource.modifierExtension"
    ]


def test_the_results_of_an_encounter_with_a_modifier_extension_are_passed_through() -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "enc-5521",
        "status": "finished",
        "class": {"code": "AMB"},
        "modifierExtension": [_NOT_MEASURED],
    }
    counts = [
        _count_entry(f"wbc-{n}", "6690-2", 2.1, "10*3/uL", subject="5521-patient") for n in (1, 2)
    ]
    counts[0]["resource"]["encounter"] = {"reference": "Encounter/enc-5521"}
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:enc-5521", "resource": encounter},
            *counts,
            {
                "fullUrl": "urn:uuid:5521-patient",
                "resource": {"resourceType": "Patient", "id": "5521-patient", "gender": "male"},
            },
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[2].resource"]
    assert [(i.code, i.location) for i in conv.issues if i.code.startswith("fhir.")] == [
        ("fhir.modifier-extension-unknown", "ITEM[1]/Bundle.entry[0].resource.modifierExtension")
    ]
    assert "may change what this encounter means" in conv.issues[0].text


def test_an_entry_with_a_modifier_extension_is_read_as_if_its_resource_had_it() -> None:
    # Bundle.entry is a BackboneElement: its modifier was ignored (the count flagged); on the
    # Patient's entry the patient's results were judged with its birth date all the same
    for at, what in ((3, "this entry"), (0, "this patient"), (1, "this specimen")):
        sent = original("bundle-with-patient.json")
        sent["entry"][at]["modifierExtension"] = [_NOT_MEASURED]
        conv = leukoflag.convert(fhir.dumps(sent))
        assert [(i.code, i.location) for i in conv.issues if i.code.startswith("fhir.")] == [
            ("fhir.modifier-extension-unknown", f"ITEM[1]/Bundle.entry[{at}].modifierExtension")
        ]
        assert f"may change what {what} means" in conv.issues[0].text
        (output,) = conv.bundles
        assert output["entry"][at] == sent["entry"][at]
        if at == 3:  # the WBC set aside; the ANC of the same report still flagged
            assert [f.location for f in conv.findings] == ["ITEM[1]/Bundle.entry[4].resource"]
        else:
            assert (output, conv.findings) == (sent, [])


def test_an_entry_with_a_modifier_extension_still_resolves_so_no_other_patient_is_guessed() -> None:
    # the 5-year-old's Patient entry set aside: references to it still resolve to it, so her
    # results are not judged with no birth date (as an adult's)
    sent = original("bundle-with-patient.json")
    sent["entry"][0]["modifierExtension"] = [_NOT_MEASURED]
    del sent["entry"][2]  # no report: the counts are read through their own subject
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    assert not [i for i in conv.issues if i.code == "flag.age-unknown"]


def test_a_hash_reference_in_a_contained_resource_copied_into_a_derived_anc_names_its_source() -> (
    None
):
    # "#" is the resource that contains the one referring (here: the encounter was for this
    # WBC); copied as it was into the derived ANC it named the ANC instead
    drawn = "2026-09-03T07:15:00+02:00"
    wbc = _count_entry("wbc-8c1f", "6690-2", 3.0, "10*3/uL", subject="8c1f-patient", drawn=drawn)
    wbc["resource"]["contained"] = [
        {
            "resourceType": "Encounter",
            "id": "enc",
            "status": "finished",
            "class": {"code": "AMB"},
            "reasonReference": [{"reference": "#"}],
        }
    ]
    wbc["resource"]["encounter"] = {"reference": "#enc"}
    percent = _count_entry("neut-8c1f", "770-8", 41, "%", subject="8c1f-patient", drawn=drawn)
    sent = {"resourceType": "Bundle", "type": "collection", "entry": [wbc, percent]}
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    derived = output["entry"][2]["resource"]
    assert derived["valueQuantity"]["value"] == Decimal("1230")
    (encounter,) = derived["contained"]
    assert encounter["reasonReference"] == [{"reference": "urn:uuid:wbc-8c1f"}]
    assert derived["encounter"] == {"reference": "#enc"}
    assert output["entry"][0]["resource"]["contained"] == wbc["resource"]["contained"]


def test_a_hash_reference_names_the_containing_resource_and_is_not_reported_unresolved() -> None:
    # a contained result whose specimen is "#": its container, the report, is no Specimen
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-hash",
        "status": "final",
        "code": {"text": "WBC"},
        "contained": [
            {
                "resourceType": "Observation",
                "id": "wbc",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "valueQuantity": {
                    "value": 2.1,
                    "unit": "10*3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                },
                "specimen": {"reference": "#"},
            }
        ],
        "result": [{"reference": "#wbc"}],
    }
    conv = leukoflag.convert(fhir.dumps(report))
    assert [f.location for f in conv.findings] == ["ITEM[1]/DiagnosticReport.contained[0]"]
    assert [i.code for i in conv.issues if i.code.startswith("fhir.")] == []


def test_a_report_without_subject_orders_its_results_for_the_patient_they_name() -> None:
    # DiagnosticReport.subject is 0..1 in R4: the report's results were judged with no patient,
    # so the 6-month-old's WBC of 5.0 (below her 6.0-17.5 band) was normal for an adult
    infant = {
        "resourceType": "Patient",
        "id": "4b7c-infant",
        "gender": "female",
        "birthDate": "2025-11-10",
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-4b7c",
        "status": "final",
        "code": {"text": "CBC"},
        "result": [{"reference": "urn:uuid:wbc-4b7c"}],
    }
    wbc = _count_entry(
        "wbc-4b7c", "6690-2", 5.0, "10*3/uL", subject="4b7c-infant", drawn="2026-05-02T08:00:00Z"
    )
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:4b7c-infant", "resource": infant},
            {"fullUrl": "urn:uuid:dr-4b7c", "resource": report},
            wbc,
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    (finding,) = conv.findings
    assert (finding.location, finding.code) == ("ITEM[1]/Bundle.entry[2].resource", "L")
    assert not [i for i in conv.issues if i.code == "flag.age-unknown"]
    (output,) = conv.bundles
    assert [c["coding"][0]["code"] for c in output["entry"][1]["resource"]["conclusionCode"]] == [
        "84828003"
    ]


# the mother's WBC (entry 3) listed by her newborn's report (entry 2)
_MOTHERS_WBC_ON_THE_BABYS_REPORT = (
    "the subject is the Patient at ITEM[1]/Bundle.entry[0].resource, but the "
    "DiagnosticReport at ITEM[1]/Bundle.entry[2].resource that lists this Observation is "
    "of the Patient at ITEM[1]/Bundle.entry[1].resource: whose result it is is not known, "
    "so it is passed through unread and unflagged"
)


def test_a_result_of_another_patient_than_its_report_is_passed_through_unflagged() -> None:
    # a newborn's CBC report that lists the mother's WBC too (posted to the wrong report): it was
    # judged as the 6-day-old's, her normal 7.0 flagged L below the first-month band
    mother = {
        "resourceType": "Patient",
        "id": "m-88",
        "gender": "female",
        "birthDate": "1994-02-14",
    }
    baby = {"resourceType": "Patient", "id": "b-88", "gender": "male", "birthDate": "2026-05-01"}
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-b-88",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": {"reference": "urn:uuid:b-88"},
        "result": [{"reference": "urn:uuid:wbc-m-88"}, {"reference": "urn:uuid:wbc-b-88"}],
    }
    drawn = "2026-05-07T06:10:00Z"
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:m-88", "resource": mother},
            {"fullUrl": "urn:uuid:b-88", "resource": baby},
            {"fullUrl": "urn:uuid:dr-b-88", "resource": report},
            _count_entry("wbc-m-88", "6690-2", 7.0, "10*3/uL", subject="m-88", drawn=drawn),
            _count_entry("wbc-b-88", "6690-2", 7.0, "10*3/uL", subject="b-88", drawn=drawn),
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[4].resource", "L")
    ]
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert (mismatch.severity, mismatch.location) == (
        leukoflag.Severity.WARNING,
        "ITEM[1]/Bundle.entry[3].resource.subject",
    )
    assert mismatch.text == _MOTHERS_WBC_ON_THE_BABYS_REPORT
    (output,) = conv.bundles
    assert output["entry"][3] == sent["entry"][3]


@pytest.mark.parametrize(
    ("report_subject", "wbc_subject"),
    [
        # the report names the newborn as a transaction does, the WBC the mother by her entry
        ({"reference": "Patient?identifier=http://hosp.example/mrn|NB-0042"}, "urn:uuid:m-91"),
        (
            {"identifier": {"system": "http://hosp.example/mrn", "value": "NB-0042"}},
            "urn:uuid:m-91",
        ),
        # the report names the newborn by its entry, the WBC the mother by a search
        (
            {"reference": "urn:uuid:b-91"},
            "Patient?identifier=http%3A%2F%2Fhosp.example%2Fmrn%7CM-5531",
        ),
    ],
)
def test_a_result_of_another_patient_named_by_identifier_is_passed_through_unflagged(
    report_subject: dict[str, Any], wbc_subject: str
) -> None:
    # a subject sent by identifier was not compared: the mother's normal 7.0 was judged as her
    # 4-day-old's, L below the first-month band, with no fhir.subject-mismatch
    mrn = "http://hosp.example/mrn"
    mother = {
        "resourceType": "Patient",
        "identifier": [{"system": mrn, "value": "M-5531"}],
        "gender": "female",
        "birthDate": "1994-05-02",
    }
    baby = {
        "resourceType": "Patient",
        "identifier": [{"system": mrn, "value": "NB-0042"}],
        "gender": "female",
        "birthDate": "2026-11-20",
    }
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": report_subject,
        "result": [{"reference": "urn:uuid:wbc-m-91"}],
    }
    wbc = _count_entry("wbc-m-91", "6690-2", 7.0, "10*3/uL", subject="-", drawn="2026-11-24")
    wbc["resource"]["subject"] = {"reference": wbc_subject}
    sent = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:m-91", "resource": mother, "request": {"method": "POST"}},
            {"fullUrl": "urn:uuid:b-91", "resource": baby, "request": {"method": "POST"}},
            {"fullUrl": "urn:uuid:dr-b-91", "resource": report, "request": {"method": "POST"}},
            {**wbc, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert (mismatch.location, mismatch.text) == (
        "ITEM[1]/Bundle.entry[3].resource.subject",
        _MOTHERS_WBC_ON_THE_BABYS_REPORT,
    )
    (output,) = conv.bundles
    assert output["entry"][3] == sent["entry"][3]


def test_a_result_named_by_the_identifier_of_its_reports_patient_is_judged() -> None:
    # one Patient named two ways (the report by its entry, the WBC by a search): no mismatch
    child = {
        "resourceType": "Patient",
        "identifier": [{"system": "http://hosp.example/mrn", "value": "NB-0042"}],
        "gender": "female",
        "birthDate": "2026-11-20",
    }
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": {"reference": "urn:uuid:b-92"},
        "result": [{"reference": "urn:uuid:wbc-b-92"}],
    }
    wbc = _count_entry("wbc-b-92", "6690-2", 7.0, "10*3/uL", subject="-", drawn="2026-11-24")
    wbc["resource"]["subject"] = {"reference": "Patient?identifier=http://hosp.example/mrn|NB-0042"}
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:b-92", "resource": child},
            {"fullUrl": "urn:uuid:dr-b-92", "resource": report},
            wbc,
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "L")
    ]
    assert not [i for i in conv.issues if i.code == "fhir.subject-mismatch"]


def test_a_subject_naming_a_patient_outside_the_item_is_known_by_its_identifier() -> None:
    # the EHR's reference named no Patient of the file, and its identifier beside it was not
    # looked at: the 6-month-old's WBC of 5.0 was judged N by adult rules (flag.age-unknown)
    infant = {
        "resourceType": "Patient",
        "identifier": [{"system": "http://hosp.example/mrn", "value": "NB-0077"}],
        "gender": "female",
        "birthDate": "2026-05-10",
    }
    wbc = _count_entry("wbc-77", "6690-2", 5.0, "10*3/uL", subject="-", drawn="2026-11-24")
    wbc["resource"]["subject"] = {
        "reference": "https://ehr.example/fhir/Patient/77",
        "identifier": {"system": "http://hosp.example/mrn", "value": "NB-0077"},
    }
    entries = [{"fullUrl": "urn:uuid:nb-0077", "resource": infant}, wbc]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "L", "wbc-leukopenia-pediatric")
    ]
    assert not [i for i in conv.issues if i.code == "flag.age-unknown"]


def _report_and_contained_copy(copy: dict[str, Any]) -> dict[str, Any]:
    """A Bundle of a 4-day-old girl (MRN NB-0042), her CBC report, and a WBC of 7.0 K/uL that
    the report lists, whose subject is the Patient ``copy`` it contains (``#pt``)."""
    girl = {
        "resourceType": "Patient",
        "id": "nb-0042",
        "identifier": [{"system": "http://hosp.example/mrn", "value": "NB-0042"}],
        "gender": "female",
        "birthDate": "2026-11-20",
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-nb-0042",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": {"reference": "Patient/nb-0042"},
        "result": [{"reference": "Observation/wbc-nb-0042"}],
    }
    wbc = _count_entry("wbc-nb-0042", "6690-2", 7.0, "10*3/uL", subject="-", drawn="2026-11-24")
    wbc["fullUrl"] = "https://lis.example/fhir/Observation/wbc-nb-0042"
    wbc["resource"]["contained"] = [copy]
    wbc["resource"]["subject"] = {"reference": "#pt"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "https://lis.example/fhir/Patient/nb-0042", "resource": girl},
            {
                "fullUrl": "https://lis.example/fhir/DiagnosticReport/cbc-nb-0042",
                "resource": report,
            },
            wbc,
        ],
    }


@pytest.mark.parametrize(
    "copy",
    [
        {
            "resourceType": "Patient",
            "id": "pt",
            "identifier": [{"system": "http://hosp.example/mrn", "value": "NB-0042"}],
            "gender": "female",
            "birthDate": "2026-11-20",
        },
        # a copy with fewer details, and another identifier beside the shared one
        {
            "resourceType": "Patient",
            "id": "pt",
            "identifier": [
                {"system": "http://hosp.example/visit", "value": "V-88120"},
                {"system": "http://hosp.example/mrn", "value": "NB-0042"},
            ],
        },
    ],
)
def test_a_result_whose_contained_patient_carries_its_reports_patients_mrn_is_judged(
    copy: dict[str, Any],
) -> None:
    # the contained copy of the report's Patient was another Patient by id: the newborn's WBC
    # of 7.0 went out unflagged under fhir.subject-mismatch
    conv = leukoflag.convert(fhir.dumps(_report_and_contained_copy(copy)))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "L")
    ]
    assert not [i for i in conv.issues if i.code == "fhir.subject-mismatch"]


@pytest.mark.parametrize(
    "copy",
    [
        # her mother, by her own MRN
        {
            "resourceType": "Patient",
            "id": "pt",
            "identifier": [{"system": "http://hosp.example/mrn", "value": "M-5531"}],
            "gender": "female",
            "birthDate": "1994-05-02",
        },
        # the same number in another register
        {
            "resourceType": "Patient",
            "id": "pt",
            "identifier": [{"system": "http://other-hosp.example/mrn", "value": "NB-0042"}],
        },
        # no identifier: a twin has the same birth date and gender
        {"resourceType": "Patient", "id": "pt", "gender": "female", "birthDate": "2026-11-20"},
        # her MRN, but another birth date: which is hers is not known
        {
            "resourceType": "Patient",
            "id": "pt",
            "identifier": [{"system": "http://hosp.example/mrn", "value": "NB-0042"}],
            "birthDate": "1994-05-02",
        },
        # the report's Patient's id, but contained: a name inside the WBC only (its mother)
        {
            "resourceType": "Patient",
            "id": "nb-0042",
            "identifier": [{"system": "http://hosp.example/mrn", "value": "M-5531"}],
            "birthDate": "1994-05-02",
        },
    ],
)
def test_a_result_whose_contained_patient_is_not_its_reports_patient_is_a_mismatch(
    copy: dict[str, Any],
) -> None:
    sent = _report_and_contained_copy(copy)
    sent["entry"][2]["resource"]["subject"] = {"reference": f"#{copy['id']}"}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert mismatch.location == "ITEM[1]/Bundle.entry[2].resource.subject"
    assert "the Patient at ITEM[1]/Bundle.entry[2].resource.contained[0]" in mismatch.text
    (output,) = conv.bundles
    assert output["entry"][2] == sent["entry"][2]


@pytest.mark.parametrize(
    "reference",
    ["Patient/123", "Patient/123/_history/2", "http://server.example/fhir/Patient/123"],
)
def test_a_reference_resolves_to_an_entry_known_by_its_restful_full_url_only(
    reference: str,
) -> None:
    # a search or export that writes fullUrl but leaves out Patient.id: the relative reference
    # named nothing, and the 6-month-old's WBC of 5.0 was judged normal for an adult
    infant = {"resourceType": "Patient", "gender": "female", "birthDate": "2025-11-10"}
    wbc = _count_entry("wbc-123", "6690-2", 5.0, "10*3/uL", subject="-", drawn="2026-05-02")
    wbc["resource"]["subject"] = {"reference": reference}
    wbc["fullUrl"] = "http://server.example/fhir/Observation/wbc-123"
    entries = [{"fullUrl": "http://server.example/fhir/Patient/123", "resource": infant}, wbc]
    sent = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "L")
    ]


def test_a_report_without_subject_listing_two_patients_results_orders_neither() -> None:
    # R4 allows a report without subject: its results then said whose they are, and of two
    # patients none was known, so one order derived an ANC of 1,000 from the girl's WBC and the
    # man's neutrophil %, written as hers with Neutropenia in the report, her 5.0 judged N as
    # an adult's
    drawn = "2026-11-24T08:00:00Z"
    girl = {"resourceType": "Patient", "id": "a-17", "gender": "female", "birthDate": "2026-05-10"}
    man = {"resourceType": "Patient", "id": "b-17", "gender": "male", "birthDate": "1960-05-10"}
    wbc = _count_entry("wbc-a-17", "6690-2", 5.0, "10*3/uL", subject="a-17", drawn=drawn)
    neutrophils = _count_entry("neut-b-17", "770-8", 20, "%", subject="b-17", drawn=drawn)
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-17",
        "status": "final",
        "code": {"text": "CBC with differential"},
        "effectiveDateTime": drawn,
        "result": [{"reference": "urn:uuid:wbc-a-17"}, {"reference": "urn:uuid:neut-b-17"}],
    }
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:a-17", "resource": girl},
            {"fullUrl": "urn:uuid:b-17", "resource": man},
            {"fullUrl": "urn:uuid:cbc-17", "resource": report},
            wbc,
            neutrophils,
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[3].resource", "L", "wbc-leukopenia-pediatric")
    ]
    (output,) = conv.bundles
    assert len(output["entry"]) == 5  # no derived ANC
    assert output["entry"][2] == sent["entry"][2]  # no conclusionCode
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert (mismatch.severity, mismatch.location) == (
        leukoflag.Severity.WARNING,
        "ITEM[1]/Bundle.entry[2].resource.result",
    )
    assert mismatch.text == (
        "the DiagnosticReport has no subject, and the results it lists are of 2 Patients of the "
        "item (ITEM[1]/Bundle.entry[0].resource, ITEM[1]/Bundle.entry[1].resource): its order is "
        "not one patient's, so it is passed through unchanged (no conclusionCode), and its "
        "results are read as those no report lists, each by its own subject"
    )


def _mrn_7731(rid: str) -> dict[str, Any]:
    """A man of 68 (MRN 7731), as each system sending his counts copies him."""
    return {
        "resourceType": "Patient",
        "id": rid,
        "identifier": [{"system": "http://hosp.example/mrn", "value": "MRN-7731"}],
        "gender": "male",
        "birthDate": "1958-03-02",
    }


def _counts_naming_copies_of_7731(
    copies: str, drawn: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """His WBC of 3.1 K/uL and neutrophils of 30 % drawn at ``drawn``, each naming its own copy
    of him: a contained ``#pt`` ("contained"), or a Patient entry each ("entries", returned)."""
    wbc = _count_entry("wbc-7731", "6690-2", 3.1, "10*3/uL", subject="-", drawn=drawn)
    neutrophils = _count_entry("neut-7731", "770-8", 30, "%", subject="-", drawn=drawn)
    patients: list[dict[str, Any]] = []
    for n, entry in enumerate((wbc, neutrophils), start=1):
        if copies == "contained":
            entry["resource"]["contained"] = [_mrn_7731("pt")]
            entry["resource"]["subject"] = {"reference": "#pt"}
        else:
            patients.append({"fullUrl": f"urn:uuid:pt-{n}", "resource": _mrn_7731(f"pt-{n}")})
            entry["resource"]["subject"] = {"reference": f"urn:uuid:pt-{n}"}
    return wbc, neutrophils, patients


@pytest.mark.parametrize("copies", ["contained", "entries"])
def test_a_report_without_subject_listing_copies_of_one_patient_is_his_order(copies: str) -> None:
    # his WBC and neutrophils each name a copy of him (one MRN): read as two patients, the
    # report went out unchanged and the derived ANC of 930 (significantly low) was lost
    drawn = "2026-11-24T08:00:00Z"
    wbc, neutrophils, patients = _counts_naming_copies_of_7731(copies, drawn)
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-7731",
        "status": "final",
        "code": {"text": "CBC with differential"},
        "effectiveDateTime": drawn,
        "result": [{"reference": "urn:uuid:wbc-7731"}, {"reference": "urn:uuid:neut-7731"}],
    }
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:cbc-7731", "resource": report},
            *patients,
            wbc,
            neutrophils,
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location.rsplit("/", 1)[-1], f.code, f.rule) for f in conv.findings] == [
        (f"Bundle.entry[{len(patients) + 1}].resource", "L", "wbc-leukopenia-adult"),
        ("ANC[derived]", "LU", "anc-significantly-low"),
    ]
    assert not [i for i in conv.issues if i.code in {"fhir.subject-mismatch", "flag.age-unknown"}]
    (output,) = conv.bundles
    assert [c["coding"][0]["code"] for c in output["entry"][0]["resource"]["conclusionCode"]] == [
        "84828003",
        "165517008",
    ]


@pytest.mark.parametrize("copies", ["contained", "entries"])
def test_results_no_report_lists_naming_copies_of_one_patient_are_his_order(copies: str) -> None:
    # his WBC and neutrophils, drawn together, each name a copy of him (one MRN): read as two
    # patients' results, two orders, and the derived ANC of 930 (significantly low) was lost
    drawn = "2026-11-24T08:00:00Z"
    wbc, neutrophils, patients = _counts_naming_copies_of_7731(copies, drawn)
    sent = {"resourceType": "Bundle", "type": "collection", "entry": [*patients, wbc, neutrophils]}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        (f"ITEM[1]/Bundle.entry[{len(patients)}].resource", "L", "wbc-leukopenia-adult"),
        ("ITEM[1]/Bundle/ANC[derived]", "LU", "anc-significantly-low"),
    ]
    (output,) = conv.bundles
    (derived,) = output["entry"][len(sent["entry"]) :]
    assert derived["resource"]["valueQuantity"]["value"] == 930


def test_results_no_report_lists_of_two_patients_sharing_an_mrn_value_stay_two_orders() -> None:
    # one MRN value under two hospitals' systems: two men, so no ANC of one's WBC and the
    # other's neutrophils
    drawn = "2026-11-24T08:00:00Z"
    wbc = _count_entry("wbc-7731", "6690-2", 3.1, "10*3/uL", subject="pt-1", drawn=drawn)
    neutrophils = _count_entry("neut-7731", "770-8", 30, "%", subject="pt-2", drawn=drawn)
    other = _mrn_7731("pt-2")
    other["identifier"][0]["system"] = "http://other-hosp.example/mrn"
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:pt-1", "resource": _mrn_7731("pt-1")},
            {"fullUrl": "urn:uuid:pt-2", "resource": other},
            wbc,
            neutrophils,
        ],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "L")
    ]


HOSP_A = "https://hosp-a.example/fhir"
HOSP_B = "https://hosp-b.example/fhir"


def _two_servers_bundle() -> dict[str, Any]:
    """A collection gathered from two servers, each with its own Patient/123: a girl of 6
    months at hospital A, a man of 66 at hospital B, each with a WBC of 5.0 K/uL naming its
    patient by a relative reference."""
    girl = {"resourceType": "Patient", "id": "123", "gender": "female", "birthDate": "2026-05-10"}
    man = {"resourceType": "Patient", "id": "123", "gender": "male", "birthDate": "1960-05-10"}
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{HOSP_A}/Patient/123", "resource": girl},
        {"fullUrl": f"{HOSP_B}/Patient/123", "resource": man},
    ]
    for base, rid in ((HOSP_A, "wbc-a-77"), (HOSP_B, "wbc-b-77")):
        wbc = _count_entry(rid, "6690-2", 5.0, "10*3/uL", subject="-", drawn="2026-11-24")
        wbc["resource"]["subject"] = {"reference": "Patient/123"}
        wbc["fullUrl"] = f"{base}/Observation/{rid}"
        entries.append(wbc)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_a_relative_reference_names_the_patient_of_its_own_server() -> None:
    # Patient/123 named the first entry of that Type/id: the man's WBC of 5.0 was judged L as
    # the girl's; FHIR resolves a relative reference against its entry's fullUrl base
    conv = leukoflag.convert(fhir.dumps(_two_servers_bundle()))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "L", "wbc-leukopenia-pediatric"),
        ("ITEM[1]/Bundle.entry[3].resource", "N", "wbc-within-range"),
    ]


@pytest.mark.parametrize("reference", [f"{HOSP_B}/Patient/123", f"{HOSP_B}/Patient/123/_history/4"])
def test_an_absolute_reference_names_no_other_servers_patient(reference: str) -> None:
    # hospital B's Patient/123 was taken for hospital A's, the only one in the Bundle: the man's
    # WBC of 5.0 was judged L by the age band of a girl of 6 months
    sent = _two_servers_bundle()
    del sent["entry"][1]
    sent["entry"][2]["resource"]["subject"] = {"reference": reference}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "L", "wbc-leukopenia-pediatric"),
        ("ITEM[1]/Bundle.entry[2].resource", "N", "wbc-within-range"),
    ]
    (unknown,) = [i for i in conv.issues if i.code == "flag.age-unknown"]
    assert unknown.location == "ITEM[1]/Bundle.entry[2].resource"


def test_anc_derived_at_two_servers_from_results_of_one_id_gets_an_id_of_its_own() -> None:
    # A collection gathered from two servers, whose results have the same ids (a WBC
    # Observation/wbc-77 and a neutrophil % Observation/neut-77 at each): both derived ANCs were
    # named by Type/id alone, so they got one id and one fullUrl (bdl-7), and a receiver kept
    # one patient's ANC. Each is named by its sources' fullUrls then; a Bundle of one server
    # keeps the id named by Type/id (a resend still PUTs over the ANC derived before).
    sent = _two_servers_bundle()
    for base, value, neutrophils in ((HOSP_A, 5.0, 12), (HOSP_B, 3.0, 30)):
        for rid, code, sent_value, unit in (
            ("wbc-77", "6690-2", value, "10*3/uL"),
            ("neut-77", "770-8", neutrophils, "%"),
        ):
            entry = _count_entry(rid, code, sent_value, unit, subject="-", drawn="2026-11-24")
            entry["resource"]["subject"] = {"reference": "Patient/123"}
            entry["fullUrl"] = f"{base}/Observation/{rid}"
            sent["entry"].append(entry)
    del sent["entry"][2:4]  # the WBCs of the helper, of other ids
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    girls, mans = output["entry"][6:]
    assert girls["fullUrl"] != mans["fullUrl"]
    assert girls["resource"]["id"] != mans["resource"]["id"]
    assert girls["resource"]["valueQuantity"]["value"] == Decimal("600")  # 5,000 × 12 %
    assert girls["resource"]["derivedFrom"] == [
        {"reference": f"{HOSP_A}/Observation/wbc-77"},
        {"reference": f"{HOSP_A}/Observation/neut-77"},
    ]
    assert mans["resource"]["valueQuantity"]["value"] == Decimal("900")  # 3,000 × 30 %
    assert mans["resource"]["derivedFrom"] == [
        {"reference": f"{HOSP_B}/Observation/wbc-77"},
        {"reference": f"{HOSP_B}/Observation/neut-77"},
    ]
    # hospital A's Bundle alone: the ANC is named by its sources' Type/id, as before
    alone = {**sent, "entry": [sent["entry"][0], *sent["entry"][2:4]]}
    (one_server,) = leukoflag.convert(fhir.dumps(alone)).bundles
    assert one_server["entry"][-1]["resource"]["id"] == str(
        uuid.uuid5(
            fhir_ids.NAMESPACE,
            '["fhir-derived","Observation/wbc-77","Observation/neut-77","Observation",'
            '"ANC[derived]"]',
        )
    )


def test_a_relative_reference_passing_over_another_schemes_entry_says_so() -> None:
    # the lab's server writes its own entries under https, its Patient under http: strict
    # resolution names no Patient, and the girl's WBC of 5.0 was judged N by adult rules with
    # nothing saying the Patient sent was passed over
    girl = {"resourceType": "Patient", "id": "p9", "gender": "female", "birthDate": "2026-05-10"}
    wbc = _count_entry("w1", "6690-2", 5.0, "K/uL", subject="-", drawn="2026-11-24")
    wbc["resource"]["subject"] = {"reference": "Patient/p9"}
    wbc["fullUrl"] = "https://fhir.lab.example/R4/Observation/w1"
    sent = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "http://fhir.lab.example/R4/Patient/p9", "resource": girl}, wbc],
    }
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "N", "wbc-within-range")
    ]
    (passed,) = [i for i in conv.issues if i.code == "fhir.reference-unresolved"]
    assert (passed.severity, passed.location) == (
        leukoflag.Severity.WARNING,
        "ITEM[1]/Bundle.entry[1].resource.subject",
    )
    assert passed.text == (
        "reference 'Patient/p9' names no entry of its own server, "
        "https://fhir.lab.example/R4 (the base of the fullUrl of the entry it is in): "
        "ITEM[1]/Bundle.entry[0].resource, sent as http://fhir.lab.example/R4/Patient/p9, is "
        "another server's Patient/p9 and is not taken for it, as FHIR resolves references (the "
        "same server written with another scheme or host?)"
    )


def test_a_relative_reference_naming_its_own_servers_entry_says_nothing() -> None:
    conv = leukoflag.convert(fhir.dumps(_two_servers_bundle()))
    assert not [i for i in conv.issues if i.code == "fhir.reference-unresolved"]


def test_a_report_listing_another_servers_result_of_a_patient_of_one_id_is_a_mismatch() -> None:
    # hospital A's CBC of its girl (Patient/123) lists hospital B's WBC of 5.0 of its man (also
    # Patient/123): one id was read as one patient, and the man's count was judged L by the age
    # band of a girl of 6 months
    sent = _two_servers_bundle()
    del sent["entry"][2]  # hospital A's own WBC
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-a-77",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": {"reference": "Patient/123"},
        "result": [{"reference": f"{HOSP_B}/Observation/wbc-b-77"}],
    }
    sent["entry"].insert(2, {"fullUrl": f"{HOSP_A}/DiagnosticReport/cbc-a-77", "resource": report})
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert mismatch.location == "ITEM[1]/Bundle.entry[3].resource.subject"
    assert mismatch.text.startswith(
        "the subject is the Patient at ITEM[1]/Bundle.entry[1].resource, but the "
        "DiagnosticReport at ITEM[1]/Bundle.entry[2].resource that lists this Observation is of "
        "the Patient at ITEM[1]/Bundle.entry[0].resource"
    )


def test_a_report_without_subject_listing_two_servers_patients_of_one_id_is_no_order() -> None:
    # a report without subject lists hospital A's WBC of 5.0 (its girl, Patient/123) and
    # hospital B's neutrophils of 30 % (its man, also Patient/123): read as one patient's order,
    # it derived an ANC of 1500 from a girl's WBC and a man's differential
    sent = _two_servers_bundle()
    neutrophils = sent["entry"][3]["resource"]
    neutrophils["code"]["coding"][0]["code"] = "770-8"
    neutrophils["valueQuantity"] = {"value": 30, "unit": "%", "system": UCUM, "code": "%"}
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-77",
        "status": "final",
        "code": {"text": "CBC with differential"},
        "result": [
            {"reference": f"{HOSP_A}/Observation/wbc-a-77"},
            {"reference": f"{HOSP_B}/Observation/wbc-b-77"},
        ],
    }
    sent["entry"].append({"fullUrl": "urn:uuid:cbc-77", "resource": report})
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "L", "wbc-leukopenia-pediatric")
    ]
    (mismatch,) = [i for i in conv.issues if i.code == "fhir.subject-mismatch"]
    assert mismatch.location == "ITEM[1]/Bundle.entry[4].resource.result"
    (output,) = conv.bundles
    assert len(output["entry"]) == len(sent["entry"])  # no derived ANC
    assert "conclusionCode" not in output["entry"][4]["resource"]


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ({"reference": "Device/xn-analyzer-2"}, "Device"),  # a QC run on the analyzer
        ({"reference": "https://lis.example/fhir/Group/ward-7/_history/3"}, "Group"),
        ({"type": "Location", "display": "Ward 7 water supply"}, "Location"),
    ],
)
def test_a_result_whose_subject_is_not_a_patient_is_passed_through_unflagged(
    subject: dict[str, str], kind: str
) -> None:
    # it was judged as an adult patient's whose birth date is not known (flag.age-unknown)
    sent = original("r4-wbc-observation.json")
    sent["subject"] = subject
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.subject-not-patient", "ITEM[1]/Observation.subject")
    ]
    assert f"the subject is a {kind}" in conv.issues[0].text


def test_the_results_a_report_about_a_group_lists_are_passed_through_unflagged() -> None:
    sent = original("bundle-with-patient.json")
    group = {"resourceType": "Group", "id": "sm-pool-3", "type": "person", "actual": True}
    sent["entry"].append(
        {"fullUrl": "http://fhir.stmary.example/Group/sm-pool-3", "resource": group}
    )
    sent["entry"][2]["resource"]["subject"] = {"reference": "Group/sm-pool-3"}
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.subject-not-patient", "ITEM[1]/Bundle.entry[2].resource.subject")
    ]


def test_a_subject_of_unknown_type_outside_the_item_is_still_a_patient_not_known() -> None:
    sent = original("r4-wbc-observation.json")
    sent["subject"] = {"reference": "urn:uuid:6f0c52a4-0d3b-4a55-9d0e-2b8f6a1c7e90"}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Observation"]


def _cord_blood_bundle(focus: dict[str, str]) -> dict[str, Any]:
    """A mother's record (born 1994) holding her newborn son (born 2026-11-29) and a WBC of
    7,000/uL drawn the next day, its subject the mother and its ``focus`` as given: N for an
    adult, low for a newborn."""
    mother: dict[str, Any] = {"resourceType": "Patient", "id": "mh-mother", "gender": "female"}
    mother["birthDate"] = "1994-02-11"
    mother["identifier"] = [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "M-20417"}]
    son = {"resourceType": "Patient", "id": "mh-son", "gender": "male", "birthDate": "2026-11-29"}
    wbc = _count_entry(
        "mh-cord-wbc", "6690-2", 7.0, "10*3/uL", subject="mh-mother", drawn="2026-11-30T07:10:00Z"
    )
    wbc["resource"]["focus"] = [focus]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:mh-mother", "resource": mother},
            {"fullUrl": "urn:uuid:mh-son", "resource": son},
            wbc,
        ],
    }


@pytest.mark.parametrize(
    ("focus", "kind"),
    [
        ({"reference": "urn:uuid:mh-son"}, "Patient"),  # her newborn, in the Bundle
        ({"reference": "Patient/mh-twin-b"}, "Patient"),  # a twin, on the server
        ({"reference": "RelatedPerson/mh-donor-4"}, "RelatedPerson"),
        ({"type": "Group", "display": "twins of mh-mother"}, "Group"),
        (
            {
                "type": "Patient",
                "identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "M-20418"},
            },
            "Patient",
        ),
    ],
)
def test_a_result_whose_focus_is_another_person_is_passed_through_unflagged(
    focus: dict[str, str], kind: str
) -> None:
    # the newborn's WBC of 7,000 in his mother's record was judged N by her adult range
    sent = _cord_blood_bundle(focus)
    conv = passed_through(sent)
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.focus-not-subject", "ITEM[1]/Bundle.entry[2].resource.focus[0]")
    ]
    assert conv.issues[0].text.startswith(f"the focus is a {kind}")


@pytest.mark.parametrize(
    "focus",
    [
        {"reference": "urn:uuid:mh-mother"},  # the subject itself
        {
            "type": "Patient",
            "identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "M-20417"},
        },
        {"reference": "Specimen/mh-cbc-tube-1"},
        {"reference": "Condition/mh-postpartum-sepsis"},
    ],
)
def test_a_result_whose_focus_is_its_subject_or_no_person_is_judged(
    focus: dict[str, str],
) -> None:
    conv = leukoflag.convert(fhir.dumps(_cord_blood_bundle(focus)))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "N")
    ]
    assert "fhir.focus-not-subject" not in [i.code for i in conv.issues]


@pytest.mark.parametrize(
    ("focus", "at", "why"),
    [
        # focus is 0..*: a lone Reference (an XML-to-JSON singleton) or a reference's text was
        # read as no focus, so the newborn's WBC of 7,000 was judged N by his mother's range
        ({"reference": "urn:uuid:mh-son"}, "focus", "is not a list of References"),
        (["urn:uuid:mh-son"], "focus[0]", "'urn:uuid:mh-son' is not a Reference (a JSON object)"),
        ([{"reference": ["urn:uuid:mh-son"]}], "focus[0].reference", "not a string"),
    ],
)
def test_a_result_whose_focus_is_not_a_list_of_references_is_malformed(
    focus: Any, at: str, why: str
) -> None:
    sent = _cord_blood_bundle({"reference": "urn:uuid:mh-son"})
    sent["entry"][2]["resource"]["focus"] = focus
    conv = passed_through(sent)
    (said,) = conv.issues
    assert (said.code, said.location) == (
        "fhir.observation-malformed",
        f"ITEM[1]/Bundle.entry[2].resource.{at}",
    )
    assert why in said.text


def _cord_blood_panel(focus: dict[str, str], *, report: bool) -> dict[str, Any]:
    """The mother's record of :func:`_cord_blood_bundle` with the WBC of 7,000/uL and a
    neutrophil % of 30 sent as the hasMember members of a CBC panel whose ``focus`` is as given
    (the members without one of their own), listed by a report or by none."""
    sent = _cord_blood_bundle(focus)
    wbc = sent["entry"].pop()["resource"]
    del wbc["focus"]
    neutrophils = _count_entry("mh-cord-neut", "770-8", 30, "%", subject="mh-mother")
    panel = _count_entry("mh-cord-cbc", "58410-2", 0, "", subject="mh-mother")["resource"]
    del panel["valueQuantity"]
    panel["effectiveDateTime"] = wbc["effectiveDateTime"]
    panel["focus"] = [focus]
    panel["hasMember"] = [
        {"reference": "urn:uuid:mh-cord-wbc"},
        {"reference": "urn:uuid:mh-cord-neut"},
    ]
    if report:
        listing = {
            "resourceType": "DiagnosticReport",
            "id": "mh-cord-report",
            "status": "final",
            "code": {"text": "Cord blood CBC"},
            "subject": {"reference": "urn:uuid:mh-mother"},
            "result": [{"reference": "urn:uuid:mh-cord-cbc"}],
        }
        sent["entry"].append({"fullUrl": "urn:uuid:mh-cord-report", "resource": listing})
    sent["entry"] += [
        {"fullUrl": "urn:uuid:mh-cord-cbc", "resource": panel},
        {"fullUrl": "urn:uuid:mh-cord-wbc", "resource": wbc},
        neutrophils,
    ]
    return sent


@pytest.mark.parametrize("report", [False, True])
def test_the_members_of_a_panel_whose_focus_is_another_person_are_passed_through(
    report: bool,
) -> None:
    # the panel was set aside but its members judged as the mother's: the newborn's WBC of
    # 7,000 N by her adult range, and an ANC derived from his cells (members contained in the
    # panel were already set aside with it)
    sent = _cord_blood_panel({"reference": "urn:uuid:mh-son"}, report=report)
    conv = passed_through(sent)
    first = 3 if report else 2
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.focus-not-subject", f"ITEM[1]/Bundle.entry[{first}].resource.focus[0]"),
        ("fhir.focus-not-subject", f"ITEM[1]/Bundle.entry[{first + 1}].resource"),
        ("fhir.focus-not-subject", f"ITEM[1]/Bundle.entry[{first + 2}].resource"),
    ]
    assert conv.issues[1].text.startswith(
        f"the focus of the panel whose member it is (ITEM[1]/Bundle.entry[{first}].resource"
        ".focus[0]) is a Patient ('urn:uuid:mh-son'), not the subject"
    )


def _control_panel(subject: dict[str, str]) -> dict[str, Any]:
    """An analyzer's CBC panel of ``subject`` (a pooled control's Group, or a Patient) whose
    members, a WBC of 2.1 x10^3/uL and neutrophils of 20 %, send no subject of their own."""
    panel = _count_entry("qc-cbc", "58410-2", 0, "", subject="unused")["resource"]
    del panel["valueQuantity"]
    panel["subject"] = subject
    panel["effectiveDateTime"] = "2026-11-30T07:15:00-05:00"
    panel["hasMember"] = [{"reference": "urn:uuid:qc-wbc"}, {"reference": "urn:uuid:qc-neut"}]
    members = [
        _count_entry("qc-wbc", "6690-2", 2.1, "10*3/uL", subject="unused"),
        _count_entry("qc-neut", "770-8", 20, "%", subject="unused"),
    ]
    for member in members:
        del member["resource"]["subject"]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:qc-cbc", "resource": panel}, *members],
    }


def test_the_members_of_a_panel_whose_subject_is_not_a_patient_are_passed_through() -> None:
    # the panel (a pooled control, subject a Group) was set aside, but its members, sent without
    # a subject, were judged as an adult's of unknown age: the WBC of 2,100 L, an ANC of 420
    sent = fhir.dumps(_control_panel({"reference": "Group/hematology-control-lot-7"}))
    conv = leukoflag.convert(sent)
    (output,) = conv.bundles
    assert output == fhir.loads(sent)
    assert conv.findings == []
    assert [(i.code, i.location) for i in conv.issues] == [
        ("fhir.subject-not-patient", "ITEM[1]/Bundle.entry[0].resource.subject"),
        ("fhir.subject-not-patient", "ITEM[1]/Bundle.entry[1].resource"),
        ("fhir.subject-not-patient", "ITEM[1]/Bundle.entry[2].resource"),
    ]
    assert conv.issues[1].text.startswith(
        "the Observation has no subject, and the subject of the panel whose member it is "
        "(ITEM[1]/Bundle.entry[0].resource.subject) is a Group "
        "('Group/hematology-control-lot-7'), not a patient"
    )


def test_a_member_with_a_subject_of_its_own_does_not_follow_its_panel() -> None:
    sent = _control_panel({"reference": "Group/hematology-control-lot-7"})
    sent["entry"][1]["resource"]["subject"] = {"reference": "Patient/p-4410"}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "LU")
    ]


def _panel_naming_the_patient(layout: str) -> dict[str, Any]:
    """A girl of 5 months (born 2026-06-20) and her CBC panel drawn 2026-11-30, whose subject
    names her; its WBC of 5,000/uL (low at her age, normal for an adult) and neutrophils of 25 %
    (an ANC of 1,250: normal under 1 year, low for an adult) are hasMember members sent without
    a subject or time of their own. ``layout``: the members as entries after the panel, before
    it, contained in it, or as entries of a panel a DiagnosticReport without subject lists."""
    return _girls_cbc_panel(
        "ps",
        born="2026-06-20",
        drawn="2026-11-30T09:40:00-05:00",
        neutrophils=25,
        members_name_her=False,
        contained=layout == "contained",
        members_first=layout == "members-first",
        report="without-subject" if layout == "report" else None,
    )


def _girls_cbc_panel(
    prefix: str,
    *,
    born: str,
    drawn: str,
    neutrophils: int,
    members_name_her: bool,
    contained: bool,
    members_first: bool = False,
    report: str | None = None,
) -> dict[str, Any]:
    """A girl born ``born`` and her CBC panel drawn ``drawn`` (its subject her), whose WBC of
    5,000/uL and ``neutrophils`` % are hasMember members with no time of their own, naming her
    or not, contained in the panel or entries before or after it; ``report``: a
    DiagnosticReport ``"with-subject"`` or ``"without-subject"`` lists the panel."""
    members = [
        _count_entry(f"{prefix}-wbc", "6690-2", 5.0, "10*3/uL", subject=f"{prefix}-girl"),
        _count_entry(f"{prefix}-neut", "770-8", neutrophils, "%", subject=f"{prefix}-girl"),
    ]
    resources = [member["resource"] for member in members]
    if not members_name_her:
        for resource in resources:
            del resource["subject"]
    her = {"reference": f"urn:uuid:{prefix}-girl"}
    panel: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{prefix}-panel",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": her,
        "effectiveDateTime": drawn,
    }
    girl = {"resourceType": "Patient", "id": f"{prefix}-girl", "gender": "female"}
    girl["birthDate"] = born
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{prefix}-girl", "resource": girl}]
    if report is not None:
        listing = {
            "resourceType": "DiagnosticReport",
            "id": f"{prefix}-report",
            "status": "final",
            "code": {"text": "CBC with differential"},
            "result": [{"reference": f"urn:uuid:{prefix}-panel"}],
        }
        if report == "with-subject":
            listing["subject"] = dict(her)
        entries.append({"fullUrl": f"urn:uuid:{prefix}-report", "resource": listing})
    panel_entries = [{"fullUrl": f"urn:uuid:{prefix}-panel", "resource": panel}]
    if contained:
        panel["contained"] = resources
        panel["hasMember"] = [{"reference": f"#{r['id']}"} for r in resources]
        return {"resourceType": "Bundle", "type": "collection", "entry": entries + panel_entries}
    panel["hasMember"] = [{"reference": f"urn:uuid:{r['id']}"} for r in resources]
    member_entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    if members_first:
        entries += member_entries + panel_entries
    else:
        entries += panel_entries + member_entries
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


@pytest.mark.parametrize("layout", ["panel-first", "members-first", "contained", "report"])
def test_the_members_of_a_panel_without_a_subject_of_their_own_are_its_patients(
    layout: str,
) -> None:
    # members sent as entries were of no patient: the girl's WBC of 5,000 judged N by adult
    # ranges (flag.age-unknown), the ANC of 1,250 derived from them judged by the adult
    # threshold, written without a subject (read back: nobody's), and a report listing the
    # panel without a subject of its own concluded nothing of hers
    conv = leukoflag.convert(fhir.dumps(_panel_naming_the_patient(layout)))
    assert [(f.analyte.value, f.code, f.rule, f.derived) for f in conv.findings] == [
        ("wbc", "L", "wbc-leukopenia-pediatric", False),
        ("anc", "N", "anc-within-range", True),
    ]
    assert conv.findings[1].value_per_ul == Decimal("1250")  # 5,000 × 25 %
    assert "flag.age-unknown" not in [i.code for i in conv.issues]
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1250")
    assert added["subject"] == {"reference": "urn:uuid:ps-girl"}
    assert added["effectiveDateTime"] == "2026-11-30T09:40:00-05:00"
    if layout == "report":
        report = output["entry"][1]["resource"]
        assert report["conclusionCode"][0]["coding"][0]["code"] == "84828003"  # Leukopenia
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output  # read back, the derived ANC is hers, judged at the same age


def test_a_member_naming_its_own_subject_is_read_by_it_not_by_its_panels() -> None:
    sent = _panel_naming_the_patient("panel-first")
    mother = {"resourceType": "Patient", "id": "ps-mother", "gender": "female"}
    mother["birthDate"] = "1994-02-11"
    sent["entry"].append({"fullUrl": "urn:uuid:ps-mother", "resource": mother})
    sent["entry"][2]["resource"]["subject"] = {"reference": "urn:uuid:ps-mother"}  # the WBC
    conv = leukoflag.convert(fhir.dumps(sent))
    # the mother's WBC of 5,000 is normal; the girl's neutrophils have no WBC of hers: no ANC
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "N", "wbc-within-range")
    ]


def test_a_member_two_panels_of_different_patients_name_is_passed_through() -> None:
    # the WBC was read as the first panel's patient's whatever the second said, an ANC derived
    # from it and the other patient's neutrophils
    sent = _panel_naming_the_patient("panel-first")
    brother = {"resourceType": "Patient", "id": "ps-brother", "gender": "male"}
    brother["birthDate"] = "2019-08-03"
    other = copy.deepcopy(sent["entry"][1])  # a second panel, of her brother, names her WBC
    other["fullUrl"] = "urn:uuid:ps-panel-2"
    other["resource"].update(id="ps-panel-2", subject={"reference": "urn:uuid:ps-brother"})
    other["resource"]["hasMember"] = [{"reference": "urn:uuid:ps-wbc"}]
    sent["entry"] += [other, {"fullUrl": "urn:uuid:ps-brother", "resource": brother}]
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []  # her neutrophils alone: nothing to judge, no ANC
    (mismatch,) = (i for i in conv.issues if i.code == "fhir.subject-mismatch")
    assert mismatch.location == "ITEM[1]/Bundle.entry[2].resource"
    assert mismatch.text == (
        "the Observation has no subject, and the panels whose member it is name different "
        "subjects (ITEM[1]/Bundle.entry[1].resource.subject, "
        "ITEM[1]/Bundle.entry[4].resource.subject): whose result it is is not known, so it is "
        "passed through unread and unflagged"
    )
    (output,) = conv.bundles
    assert output["entry"][2] == fhir.loads(fhir.dumps(sent["entry"][2]))


def test_a_member_of_a_panel_of_another_patient_than_its_report_is_passed_through() -> None:
    # the panel was set aside (fhir.subject-mismatch) but its members, sent without a subject,
    # were judged as the report's patient's
    sent = _panel_naming_the_patient("report")
    mother = {"resourceType": "Patient", "id": "ps-mother", "gender": "female"}
    mother["birthDate"] = "1994-02-11"
    sent["entry"].append({"fullUrl": "urn:uuid:ps-mother", "resource": mother})
    sent["entry"][1]["resource"]["subject"] = {"reference": "urn:uuid:ps-mother"}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []
    assert [(i.code, i.location) for i in conv.issues if i.code.startswith("fhir.")] == [
        ("fhir.subject-mismatch", "ITEM[1]/Bundle.entry[2].resource.subject"),
        ("fhir.subject-mismatch", "ITEM[1]/Bundle.entry[3].resource"),
        ("fhir.subject-mismatch", "ITEM[1]/Bundle.entry[4].resource"),
    ]
    assert conv.issues[1].text.startswith(
        "the Observation has no subject, and that of the panel whose member it is "
        "(ITEM[1]/Bundle.entry[2].resource.subject) is the Patient at "
        "ITEM[1]/Bundle.entry[0].resource, but the DiagnosticReport"
    )


@pytest.mark.parametrize("container", ["panel", "report"])
def test_a_contained_member_naming_another_patient_than_its_container_is_passed_through(
    container: str,
) -> None:
    # a member contained in the girl's panel (or in a panel without subject her report lists)
    # naming her mother was read with the panel's order: the mother's WBC of 5,000 judged L by
    # the girl's infant band and an ANC of 1,250 derived from it and the girl's neutrophils
    sent = _girls_cbc_panel(
        "ps",
        born="2026-06-20",
        drawn="2026-11-30T09:40:00-05:00",
        neutrophils=25,
        members_name_her=True,
        contained=True,
        report="with-subject" if container == "report" else None,
    )
    mother = {"resourceType": "Patient", "id": "ps-mother", "gender": "female"}
    mother["birthDate"] = "1994-02-11"
    sent["entry"].append({"fullUrl": "urn:uuid:ps-mother", "resource": mother})
    panel_at = 2 if container == "report" else 1
    panel = sent["entry"][panel_at]["resource"]
    if container == "report":
        del panel["subject"]  # the report names the girl
    panel["contained"][0]["subject"] = {"reference": "urn:uuid:ps-mother"}  # the WBC
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.findings == []  # her neutrophils alone: nothing to judge, no ANC
    (mismatch,) = (i for i in conv.issues if i.code == "fhir.subject-mismatch")
    at = f"ITEM[1]/Bundle.entry[{panel_at}].resource"
    named_by = at if container == "panel" else "ITEM[1]/Bundle.entry[1].resource"
    assert mismatch.location == f"{at}.contained[0].subject"
    assert mismatch.text == (
        f"the subject is the Patient at ITEM[1]/Bundle.entry[{panel_at + 1}].resource, but the "
        f"Observation at {at} that contains this Observation is read as of the Patient at "
        f"ITEM[1]/Bundle.entry[0].resource ({named_by}.subject): whose result it is is not "
        "known, so it is passed through unread and unflagged"
    )
    (output,) = conv.bundles
    assert output == fhir.loads(fhir.dumps(sent))  # passed through as sent


def _report_naming_the_patient(contained: bool) -> dict[str, Any]:
    """The girl of 5 months' CBC report drawn 2026-11-30, whose subject names her (a Patient
    entry, or ``contained`` in the report), listing her WBC of 5,000/uL and neutrophils of 25 %
    as entries sent without a subject of their own."""
    members = [
        _count_entry("rs-wbc", "6690-2", 5.0, "10*3/uL", subject="unused", drawn=_DRAWN)[
            "resource"
        ],
        _count_entry("rs-neut", "770-8", 25, "%", subject="unused", drawn=_DRAWN)["resource"],
    ]
    for member in members:
        del member["subject"]
    girl = {"resourceType": "Patient", "id": "rs-girl", "gender": "female"}
    girl["birthDate"] = "2026-06-20"
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": "rs-report"}
    entries: list[dict[str, Any]] = []
    if contained:
        report["contained"] = [girl]
        report["subject"] = {"reference": "#rs-girl"}
    else:
        entries.append({"fullUrl": "urn:uuid:rs-girl", "resource": girl})
        report["subject"] = {"reference": "urn:uuid:rs-girl"}
    report.update(status="final", code={"text": "CBC with differential"})
    report["result"] = [{"reference": f"urn:uuid:{m['id']}"} for m in members]
    entries.append({"fullUrl": "urn:uuid:rs-report", "resource": report})
    entries += [{"fullUrl": f"urn:uuid:{m['id']}", "resource": m} for m in members]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


_DRAWN = "2026-11-30T09:40:00-05:00"


@pytest.mark.parametrize("contained", [False, True], ids=["patient-entry", "patient-contained"])
def test_an_anc_derived_from_a_reports_results_without_a_subject_is_its_patients(
    contained: bool,
) -> None:
    # the results were judged as the report's patient's (her WBC of 5,000 L by her infant
    # band), but the ANC of 1,250 derived from them was written without a subject: read back,
    # nobody's, judged by the adult threshold (L) with flag.age-unknown
    conv = leukoflag.convert(fhir.dumps(_report_naming_the_patient(contained)))
    assert [(f.analyte.value, f.code, f.derived) for f in conv.findings] == [
        ("wbc", "L", False),
        ("anc", "N", True),
    ]
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1250")
    if contained:  # a #id names only a resource of its own: the report's Patient, copied
        assert added["subject"] == {"reference": "#rs-girl"}
        assert [c["id"] for c in added["contained"]] == ["rs-girl"]
    else:
        assert added["subject"] == {"reference": "urn:uuid:rs-girl"}
    assert fhir.validate(output, "R4") == []
    again = leukoflag.convert(fhir.dumps(output))
    assert "flag.age-unknown" not in [i.code for i in again.issues]
    assert list(again.bundles) == [output]  # read back, the ANC is hers, judged at her age


@pytest.mark.parametrize("girl", ["entry", "contained"])
def test_an_anc_derived_from_members_of_a_panel_a_report_contains_is_the_panels_patients(
    girl: str,
) -> None:
    # the report (no subject) contains the panel naming the girl, its WBC and neutrophils sent
    # as entries: judged as hers, but the ANC of 1,250 was written without a subject, as only a
    # panel that is an entry was looked up
    sent = _panel_naming_the_patient("panel-first")
    patient_entry, panel_entry, *members = sent["entry"]
    panel = panel_entry["resource"]
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": "ps-report"}
    report["contained"] = [panel]
    if girl == "contained":  # a #id in the contained panel names a resource of the report
        report["contained"].insert(0, patient_entry["resource"])
        panel["subject"] = {"reference": "#ps-girl"}
    report.update(status="final", code={"text": "CBC with differential"})
    report["result"] = [{"reference": "#ps-panel"}]
    sent["entry"] = [{"fullUrl": "urn:uuid:ps-report", "resource": report}, *members]
    if girl == "entry":
        sent["entry"].insert(0, patient_entry)
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.analyte.value, f.code, f.derived) for f in conv.findings] == [
        ("wbc", "L", False),
        ("anc", "N", True),
    ]
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1250")
    if girl == "contained":
        assert added["subject"] == {"reference": "#ps-girl"}
        assert [c["id"] for c in added["contained"]] == ["ps-girl"]
    else:
        assert added["subject"] == {"reference": "urn:uuid:ps-girl"}
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output  # read back, the derived ANC is hers, judged at her age


@pytest.mark.parametrize("holder", ["panel", "report"])
def test_an_anc_derived_from_results_without_a_subject_takes_the_visit_of_its_patient(
    holder: str,
) -> None:
    # the ANC of 1,250 took the subject of the panel (or report) naming the girl, but not its
    # encounter: the lab's results of her clinic visit, and leukoflag's ANC of none, though
    # sources a report contains give it the report's encounter
    sent = _panel_naming_the_patient("panel-first")
    naming = 1
    if holder == "report":
        sent = _report_naming_the_patient(contained=False)
    visit: dict[str, Any] = {"resourceType": "Encounter", "id": "ps-visit", "status": "finished"}
    visit["class"] = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
    }
    sent["entry"][naming]["resource"]["encounter"] = {"reference": "urn:uuid:ps-visit"}
    sent["entry"].insert(1, {"fullUrl": "urn:uuid:ps-visit", "resource": visit})
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.analyte.value, f.code, f.derived) for f in conv.findings] == [
        ("wbc", "L", False),
        ("anc", "N", True),
    ]
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1250")
    assert added["encounter"] == {"reference": "urn:uuid:ps-visit"}
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output


def test_an_anc_derived_from_results_without_a_subject_keeps_the_sources_own_visit() -> None:
    sent = _panel_naming_the_patient("panel-first")
    sent["entry"][1]["resource"]["encounter"] = {"reference": "Encounter/ps-admission"}
    sent["entry"][2]["resource"]["encounter"] = {"reference": "Encounter/ps-clinic"}  # the WBC
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    added = output["entry"][-1]["resource"]
    assert added["subject"] == {"reference": "urn:uuid:ps-girl"}
    assert added["encounter"] == {"reference": "Encounter/ps-clinic"}


def test_an_anc_derived_from_members_of_a_panel_set_aside_takes_no_visit_of_it() -> None:
    # the panel's visit has a modifierExtension (a simulated encounter): the panel is set aside,
    # its members sent as entries still judged as the girl's; given that encounter, the ANC was
    # set aside read back and derived again as a second entry
    sent = _panel_naming_the_patient("panel-first")
    visit: dict[str, Any] = {"resourceType": "Encounter", "id": "ps-visit", "status": "finished"}
    visit["modifierExtension"] = [
        {"url": "https://lis.example/fhir/StructureDefinition/simulated", "valueBoolean": True}
    ]
    sent["entry"][1]["resource"]["encounter"] = {"reference": "urn:uuid:ps-visit"}
    sent["entry"].append({"fullUrl": "urn:uuid:ps-visit", "resource": visit})
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    added = output["entry"][-1]["resource"]
    assert added["subject"] == {"reference": "urn:uuid:ps-girl"}
    assert "encounter" not in added
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output


@pytest.mark.parametrize("girl", ["entry", "contained"])
def test_an_anc_derived_from_members_of_a_report_contained_panel_takes_its_visit(
    girl: str,
) -> None:
    # the panel contained in the report names the girl and a visit the report contains (#id):
    # the ANC carries a copy of it, as a #id names only a resource of its own
    sent = _panel_naming_the_patient("panel-first")
    patient_entry, panel_entry, *members = sent["entry"]
    panel = panel_entry["resource"]
    visit: dict[str, Any] = {"resourceType": "Encounter", "id": "ps-visit", "status": "finished"}
    visit["class"] = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
    }
    report: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": "ps-report"}
    report["contained"] = [visit, panel]
    panel["encounter"] = {"reference": "#ps-visit"}
    if girl == "contained":
        report["contained"].insert(0, patient_entry["resource"])
        panel["subject"] = {"reference": "#ps-girl"}
    report.update(status="final", code={"text": "CBC with differential"})
    report["result"] = [{"reference": "#ps-panel"}]
    sent["entry"] = [{"fullUrl": "urn:uuid:ps-report", "resource": report}, *members]
    if girl == "entry":
        sent["entry"].insert(0, patient_entry)
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1250")
    assert added["encounter"] == {"reference": "#ps-visit"}
    copied = ["ps-girl", "ps-visit"] if girl == "contained" else ["ps-visit"]
    assert [c["id"] for c in added["contained"]] == copied
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output


def test_the_members_of_a_panel_whose_focus_is_its_subject_are_judged() -> None:
    conv = leukoflag.convert(
        fhir.dumps(_cord_blood_panel({"reference": "urn:uuid:mh-mother"}, report=False))
    )
    assert [(f.location, f.code, f.derived) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[3].resource", "N", False),
        ("ITEM[1]/Bundle/ANC[derived]", "N", True),
    ]
    assert "fhir.focus-not-subject" not in [i.code for i in conv.issues]


def test_a_focus_naming_the_subjects_type_and_id_outside_the_item_is_the_subject() -> None:
    sent = original("r4-wbc-observation.json")
    sent["subject"] = {"reference": "Patient/rv-88213"}
    sent["focus"] = [{"reference": "https://ehr.riverside.example/fhir/Patient/rv-88213"}]
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Observation"]
    assert "fhir.focus-not-subject" not in [i.code for i in conv.issues]


def _lab_document(*, with_report: bool) -> dict[str, Any]:
    """A document Bundle (Composition first) of a WBC and a neutrophil %, with or without the
    DiagnosticReport that lists them (the Composition's section names it, or the results)."""
    drawn = "2026-06-11T09:30:00+01:00"
    counts = [
        _count_entry("wbc-d41", "6690-2", 3.0, "10*3/uL", subject="d41-patient", drawn=drawn),
        _count_entry("neut-d41", "770-8", 41, "%", subject="d41-patient", drawn=drawn),
    ]
    listed = [{"reference": e["fullUrl"]} for e in counts]
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr-d41",
        "status": "final",
        "code": {"text": "CBC"},
        "subject": {"reference": "urn:uuid:d41-patient"},
        "result": listed,
    }
    composition = {
        "resourceType": "Composition",
        "id": "doc-d41",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
        "subject": {"reference": "urn:uuid:d41-patient"},
        "date": "2026-06-11T10:05:00+01:00",
        "author": [{"display": "Riverside Hospital Laboratory"}],
        "title": "Laboratory report",
        "section": [
            {"entry": [{"reference": "urn:uuid:dr-d41"}] if with_report else listed},
        ],
    }
    patient = {"resourceType": "Patient", "id": "d41-patient", "gender": "female"}
    entries = [
        {"fullUrl": "urn:uuid:doc-d41", "resource": composition},
        {"fullUrl": "urn:uuid:d41-patient", "resource": patient},
        *counts,
    ]
    if with_report:
        entries.append({"fullUrl": "urn:uuid:dr-d41", "resource": report})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:doc-d41"},
        "type": "document",
        "timestamp": "2026-06-11T10:05:00+01:00",
        "entry": entries,
    }


def test_a_document_gets_no_derived_anc_entry_that_nothing_in_it_references() -> None:
    # FHIR: a document holds only the Composition and what it references; the ANC was appended
    # as an entry that nothing references
    sent = _lab_document(with_report=False)
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    assert len(output["entry"]) == len(sent["entry"])
    (derived,) = [f for f in conv.findings if f.location.endswith("ANC[derived]")]
    assert derived.value_per_ul == Decimal("1230")
    (issue,) = [i for i in conv.issues if i.code == "fhir.derived-not-written"]
    assert "document Bundle" in issue.text


def test_a_document_whose_report_lists_the_sources_gets_the_derived_anc_in_its_result() -> None:
    sent = _lab_document(with_report=True)
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    derived = output["entry"][-1]
    assert derived["resource"]["valueQuantity"]["value"] == Decimal("1230")
    assert output["entry"][-2]["resource"]["result"][-1] == {"reference": derived["fullUrl"]}


_NARRATIVE = '<div xmlns="http://www.w3.org/1999/xhtml">WBC 2.85 10^3/uL (normal)</div>'


def test_a_flagged_count_whose_narrative_is_not_rewritten_says_so() -> None:
    # the LIS's generated narrative still reads "normal" beside leukoflag's LU: a reader of the
    # narrative was not told it may contradict the flagged values
    sent = original("r4-wbc-observation.json")
    sent["text"] = {"status": "generated", "div": _NARRATIVE}
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    assert output["text"] == sent["text"]  # kept as sent
    (stale,) = (i for i in conv.issues if i.code == "fhir.narrative-not-updated")
    assert (stale.severity.value, stale.location) == ("warning", "ITEM[1]/Observation.text")
    assert "status 'generated'" in stale.text


def test_a_narrative_of_a_result_left_as_sent_raises_nothing() -> None:
    sent = original("r4-wbc-observation.json")
    sent["status"] = "registered"  # not flagged: nothing it shows changes
    sent["text"] = {"status": "generated", "div": _NARRATIVE}
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.bundles == [fhir.loads(fhir.dumps(sent))]
    assert "fhir.narrative-not-updated" not in [i.code for i in conv.issues]


def test_a_report_narrative_is_said_when_leukoflag_adds_to_its_conclusion() -> None:
    bundle = original("bundle-with-patient.json")
    (report,) = (e for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport")
    report["resource"]["text"] = {"status": "generated", "div": _NARRATIVE}
    conv = leukoflag.convert(fhir.dumps(bundle))
    at = bundle["entry"].index(report)
    assert f"ITEM[1]/Bundle.entry[{at}].resource.text" in [
        i.location for i in conv.issues if i.code == "fhir.narrative-not-updated"
    ]


def test_a_narrative_made_from_flagged_output_read_back_unchanged_raises_nothing() -> None:
    # a FHIR server stored leukoflag's output and generated its narrative from it: flagged
    # again, nothing changes, so the narrative cannot now contradict the values it shows
    (flagged,) = leukoflag.convert(fhir.dumps(original("bundle-with-patient.json"))).bundles
    stored = copy.deepcopy(flagged)
    for entry in stored["entry"]:
        if entry["resource"]["resourceType"] in ("Observation", "DiagnosticReport"):
            entry["resource"]["text"] = {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">WBC 2,850 cells/µL (LU)</div>',
            }
    again = leukoflag.convert(fhir.dumps(stored))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(stored)
    assert "fhir.narrative-not-updated" not in [i.code for i in again.issues]


def test_derived_anc_entry_keeps_the_effective_instant_of_its_sources() -> None:
    # an analyser interface stamps each result with effectiveInstant, not effectiveDateTime
    bundle = _wbc_and_percent_bundle()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["id"] in {"sm-wbc", "sm-anc"}:
            resource["effectiveInstant"] = "2026-11-24T15:20:07.310+00:00"
            del resource["effectiveDateTime"]
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("612")  # 5,100 × 12 %
    assert added["effectiveInstant"] == "2026-11-24T15:20:07.310+00:00"
    assert "effectiveDateTime" not in added
    assert fhir.validate(output, "R4") == []


def test_derived_anc_entry_keeps_the_effective_timing_of_its_sources() -> None:
    bundle = _wbc_and_percent_bundle()
    timing = {"event": ["2026-11-24T15:20:00+00:00"]}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["id"] in {"sm-wbc", "sm-anc"}:
            resource["effectiveTiming"] = timing
            del resource["effectiveDateTime"]
    (output,) = leukoflag.convert(fhir.dumps(bundle)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("612")  # 5,100 × 12 %
    assert added["effectiveTiming"] == timing
    assert fhir.validate(output, "R4") == []


def _panel_dating_its_members(*, contained: bool, report: bool) -> dict[str, Any]:
    """A girl of 6 months (born 2026-06-01) and her CBC panel drawn 2026-11-30, its WBC of
    5,000/uL (low at her age, normal for an adult) and neutrophils of 30 % sent as hasMember
    members with no time of their own: entries, or contained in the panel; ``report``: a
    DiagnosticReport without a time lists the panel."""
    return _girls_cbc_panel(
        "cbc",
        born="2026-06-01",
        drawn="2026-11-30T08:15:00+01:00",
        neutrophils=30,
        members_name_her=True,
        contained=contained,
        report="with-subject" if report else None,
    )


@pytest.mark.parametrize("contained", [False, True])
@pytest.mark.parametrize("report", [False, True])
def test_a_panels_time_dates_its_members_sent_without_one(contained: bool, report: bool) -> None:
    # the members had no date: the girl's WBC of 5,000 was judged N by adult ranges
    # (flag.age-unknown), and without a report no ANC was derived (each its own draw)
    sent = _panel_dating_its_members(contained=contained, report=report)
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.analyte.value, f.code, f.rule, f.derived) for f in conv.findings] == [
        ("wbc", "L", "wbc-leukopenia-pediatric", False),
        ("anc", "N", "anc-within-range", True),
    ]
    assert conv.findings[1].value_per_ul == Decimal("1500")  # 5,000 × 30 %
    assert "flag.age-unknown" not in [i.code for i in conv.issues]
    (output,) = conv.bundles
    added = output["entry"][-1]["resource"]
    assert added["effectiveDateTime"] == "2026-11-30T08:15:00+01:00"
    assert fhir.validate(output, "R4") == []
    (again,) = leukoflag.convert(fhir.dumps(output)).bundles
    assert again == output  # read back, the derived ANC is dated as it was judged


def test_a_derived_anc_of_members_a_panel_dates_is_dated_also_when_they_send_issued() -> None:
    # the panel's time was written only where the first source had no issued: a LIS that
    # stamps each member with issued gave the derived ANC no effective[x] at all
    sent = _panel_dating_its_members(contained=False, report=False)
    for entry in sent["entry"][2:]:
        entry["resource"]["issued"] = "2026-11-30T10:05:00+01:00"
    (output,) = leukoflag.convert(fhir.dumps(sent)).bundles
    added = output["entry"][-1]["resource"]
    assert added["valueQuantity"]["value"] == Decimal("1500")  # 5,000 × 30 %
    assert added["effectiveDateTime"] == "2026-11-30T08:15:00+01:00"
    assert added["issued"] == "2026-11-30T10:05:00+01:00"
    assert list(added).index("effectiveDateTime") < list(added).index("issued")
    assert fhir.validate(output, "R4") == []


def test_a_members_own_time_wins_over_its_panels() -> None:
    sent = _panel_dating_its_members(contained=False, report=False)
    for entry in sent["entry"][2:]:
        # drawn the day before she was born: of unknown age, whatever the panel says
        entry["resource"]["effectiveDateTime"] = "2026-05-31"
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.code, f.rule) for f in conv.findings if not f.derived] == [("N", "wbc-within-range")]


@pytest.mark.parametrize(
    ("times", "sent"),
    [
        (
            {"effectiveDateTime": "2026-11-30", "effectivePeriod": {"start": "2026-05-20"}},
            "effectiveDateTime, effectivePeriod",
        ),
        (
            {
                "effectiveInstant": "2026-05-20T08:00:00Z",
                "effectiveTiming": {"event": ["2026-11-30"]},
            },
            "effectiveInstant, effectiveTiming",
        ),
    ],
)
def test_an_observation_with_two_effective_choices_is_malformed(
    times: dict[str, Any], sent: str
) -> None:
    # the first of them was read without a word: the girl's WBC of 5,000 judged L at 6 months,
    # or N as drawn before her birth, by whichever the reader looked at first
    bundle = _panel_dating_its_members(contained=False, report=False)
    bundle["entry"][2]["resource"].update(times)  # her WBC
    conv = leukoflag.convert(fhir.dumps(bundle))
    assert [f.location for f in conv.findings] == []  # no WBC: nor a derived ANC
    assert [(i.code, i.location, i.text) for i in conv.issues if i.severity.value == "error"] == [
        (
            "fhir.observation-malformed",
            "ITEM[1]/Bundle.entry[2].resource",
            (
                f"more than one effective[x]: {sent}: this Observation is passed through unread "
                "and unflagged"
            ),
        )
    ]
    (output,) = conv.bundles
    assert output["entry"][2] == fhir.loads(fhir.dumps(bundle["entry"][2]))


def test_a_panel_with_two_effective_choices_dates_none_of_its_members() -> None:
    # the members took the panel's first time: the girl's WBC judged L by her age at one of them
    bundle = _panel_dating_its_members(contained=False, report=False)
    bundle["entry"][1]["resource"]["effectivePeriod"] = {"start": "2026-05-20T08:15:00+01:00"}
    conv = leukoflag.convert(fhir.dumps(bundle))
    assert [(i.code, i.location) for i in conv.issues if i.code.startswith("fhir.")] == [
        ("fhir.observation-malformed", "ITEM[1]/Bundle.entry[1].resource")
    ]
    assert [(f.location, f.code, f.rule) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[2].resource", "N", "wbc-within-range")
    ]
    assert "flag.age-unknown" in [i.code for i in conv.issues]


@pytest.mark.parametrize("holder", ["report", "specimen"])
def test_a_report_or_specimen_sending_its_time_as_two_choices_dates_nothing(holder: str) -> None:
    # the first choice looked at dated the girl's undated WBC of 5,000 without a word: judged L
    # at 6 months by 2026-11-30, whichever of the two times the lab meant
    sent = _panel_dating_its_members(contained=False, report=True)
    del sent["entry"][2]["resource"]["effectiveDateTime"]  # the panel's
    times = {
        "DateTime": "2026-11-30T08:15:00+01:00",
        "Period": {"start": "2026-05-20T08:15:00+01:00"},
    }
    if holder == "report":
        sent["entry"][1]["resource"].update({f"effective{k}": v for k, v in times.items()})
        where = "ITEM[1]/Bundle.entry[1].resource.effectivePeriod"
        said = "effective[x] is sent twice, as effectiveDateTime and effectivePeriod"
    else:
        collection = {f"collected{k}": v for k, v in times.items()}
        tube = {"resourceType": "Specimen", "id": "cbc-tube", "collection": collection}
        sent["entry"].append({"fullUrl": "urn:uuid:cbc-tube", "resource": tube})
        for entry in sent["entry"][3:5]:
            entry["resource"]["specimen"] = {"reference": "urn:uuid:cbc-tube"}
        where = "ITEM[1]/Bundle.entry[5].resource.collection.collectedPeriod"
        said = "collected[x] is sent twice, as collectedDateTime and collectedPeriod"
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [(f.analyte.value, f.code, f.rule) for f in conv.findings if not f.derived] == [
        ("wbc", "N", "wbc-within-range")
    ]
    (repeated,) = (i for i in conv.issues if i.code == "fhir.key-repeated")
    assert repeated.location == where
    assert repeated.text.startswith(said)
    assert "flag.age-unknown" in [i.code for i in conv.issues]


def test_a_focus_naming_the_subjects_identifier_outside_the_item_is_the_subject() -> None:
    sent = original("r4-wbc-observation.json")
    mrn = {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "RV-88213"}
    sent["subject"] = {"type": "Patient", "identifier": mrn}
    sent["focus"] = [{"type": "Patient", "identifier": mrn}]
    conv = leukoflag.convert(fhir.dumps(sent))
    assert [f.location for f in conv.findings] == ["ITEM[1]/Observation"]
    assert "fhir.focus-not-subject" not in [i.code for i in conv.issues]


_SIGNATURE = {
    "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.5"}],
    "when": "2026-11-24T16:45:00+00:00",
    "who": {"display": "St Mary's laboratory director"},
    "sigFormat": "application/jose",
    "data": "ZXlKaGJHY2lPaUpGVXpJMU5pSjkuLnNpZ25lZA==",
}


def test_a_signed_bundle_that_flagging_changed_says_its_signature_no_longer_verifies() -> None:
    # the signature was kept without a word: a verifier refused the flagged Bundle, or one
    # trusting it took leukoflag's changes for the lab's signed content
    sent = original("bundle-with-patient.json")
    sent["signature"] = _SIGNATURE
    conv = leukoflag.convert(fhir.dumps(sent))
    (output,) = conv.bundles
    assert output["signature"] == _SIGNATURE  # kept as sent: leukoflag signs nothing
    (said,) = [i for i in conv.issues if i.code == "fhir.signature-invalidated"]
    assert said.location == "ITEM[1]/Bundle.signature"
    again = leukoflag.convert(fhir.dumps(output))  # its own output: what was signed is unchanged
    assert "fhir.signature-invalidated" not in [i.code for i in again.issues]


def test_a_signed_bundle_without_counts_says_nothing_of_its_signature() -> None:
    sent = original("bundle-with-patient.json")
    sent["entry"] = sent["entry"][:2]  # the Patient and the Specimen only
    sent["signature"] = _SIGNATURE
    conv = leukoflag.convert(fhir.dumps(sent))
    assert conv.bundles == [sent]
    assert "fhir.signature-invalidated" not in [i.code for i in conv.issues]


def test_an_interpretation_code_v3_does_not_have_is_said_and_not_compared() -> None:
    # interpretation XYZ under v3-ObservationInterpretation was passed through without a word,
    # where HL7 v2's OBX-8 'XYZ' gets hl7v2.flag-unknown
    resource = original("r4-wbc-observation.json")
    resource["interpretation"] = [{"coding": [{"system": V3, "code": "XYZ"}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    (unknown,) = [i for i in conv.issues if i.code == "fhir.interpretation-code-unknown"]
    assert unknown.location == "ITEM[1]/Observation.interpretation[0].coding[0].code"
    assert "'XYZ'" in unknown.text
    assert "flag.sender-disagrees" not in {i.code for i in conv.issues}


@pytest.mark.parametrize(("sent", "disagrees"), [("h", True), ("lu", False)])
def test_an_interpretation_code_in_lower_case_is_read_in_upper_case_and_compared(
    sent: str, disagrees: bool
) -> None:
    # v3-ObservationInterpretation is case-sensitive: 'h' is none of its codes, and was passed
    # through silently, not compared with the computed LU (HL7 v2 reads OBX-8 'h' as H)
    resource = original("r4-wbc-observation.json")
    resource["interpretation"] = [{"coding": [{"system": V3, "code": sent}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    (case,) = [i for i in conv.issues if i.code == "fhir.interpretation-code-case"]
    assert case.location == "ITEM[1]/Observation.interpretation[0].coding[0].code"
    assert f"'{sent}'" in case.text
    assert f"'{sent.upper()}'" in case.text
    (finding,) = conv.findings
    assert finding.code == "LU"
    disagreement = [i for i in conv.issues if i.code == "flag.sender-disagrees"]
    assert bool(disagreement) is disagrees
    if disagrees:
        assert disagreement[0].text == "the sender's interpretation is h; leukoflag computed LU"


def test_an_interpretation_code_sent_without_a_system_is_read_as_table_0078s() -> None:
    # a coding without a system is compared as table 0078's ('H' is): 'h' was neither compared
    # with the computed LU nor said, and 'XYZ' passed through without a word
    resource = original("r4-wbc-observation.json")
    resource["interpretation"] = [{"coding": [{"code": "h"}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    (case,) = [i for i in conv.issues if i.code == "fhir.interpretation-code-case"]
    assert case.location == "ITEM[1]/Observation.interpretation[0].coding[0].code"
    assert "'h'" in case.text
    assert "'H'" in case.text
    (disagreement,) = [i for i in conv.issues if i.code == "flag.sender-disagrees"]
    assert disagreement.text == "the sender's interpretation is h; leukoflag computed LU"
    resource["interpretation"] = [{"coding": [{"code": "XYZ"}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    (unknown,) = [i for i in conv.issues if i.code == "fhir.interpretation-code-unknown"]
    assert unknown.location == "ITEM[1]/Observation.interpretation[0].coding[0].code"
    assert "'XYZ'" in unknown.text
    assert "flag.sender-disagrees" not in {i.code for i in conv.issues}


def test_an_interpretation_code_sent_with_blanks_around_it_is_compared_without_a_word() -> None:
    # 'H ' was said to be 'kept as sent, and not compared' (at the interpretation, not its
    # code) while flag.sender-disagrees compared it as H: read as H, as HL7 v2 trims OBX-8
    resource = original("r4-wbc-observation.json")
    resource["interpretation"] = [{"coding": [{"system": V3, "code": "H "}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    codes = [i.code for i in conv.issues]
    assert "fhir.interpretation-code-unknown" not in codes
    (disagreement,) = [i for i in conv.issues if i.code == "flag.sender-disagrees"]
    assert disagreement.text == "the sender's interpretation is H; leukoflag computed LU"
    resource["interpretation"] = [{"coding": [{"system": V3, "code": " h"}]}]
    conv = leukoflag.convert(fhir.dumps(resource))
    (case,) = [i for i in conv.issues if i.code == "fhir.interpretation-code-case"]
    assert case.location == "ITEM[1]/Observation.interpretation[0].coding[0].code"
    assert "flag.sender-disagrees" in {i.code for i in conv.issues}
