"""HL7 v2 and FHIR input through leukoflag.convert: read, normalize, flag, write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fhir_builders import EXPLANATION, LOINC, ORIGINAL_TEXT, PQ, extension, part, resources, target
from fhir_messages import DERIVED_ANC, ONCOLOGY_CBC, PEDIATRIC_LOCAL_CODES, STATUSES, batch, er7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag import fhir
from leukoflag._identifier_types import identifier_types
from leukoflag.fhir._ids import resource_id
from leukoflag.hl7v2._tables import load_tables as hl7v2_tables
from leukoflag.testing import anc, fhir_bundle, loinc, result, ucum, wbc

V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def convert(data: bytes, **options: Any) -> leukoflag.Conversion:
    return leukoflag.convert(data, leukoflag.Settings(**options))


def only_bundle(data: bytes, **options: Any) -> dict[str, Any]:
    conv = convert(data, **options)
    assert conv.rejected == []
    (bundle,) = conv.bundles
    return bundle


def test_oncology_cbc_is_normalized_flagged_and_concluded() -> None:
    conv = convert(ONCOLOGY_CBC)
    (bundle,) = conv.bundles
    wbc, anc, hemoglobin, platelets, specimen_note = resources(bundle, "Observation")
    assert wbc["valueQuantity"]["value"] == Decimal("2400")
    assert extension(wbc["valueQuantity"], PQ)[0]["valueQuantity"] == {
        "value": Decimal("2.4"),
        "unit": "x10^9/L",
    }
    assert wbc["note"] == [{"text": "Repeated on a second analyzer; result confirmed."}]
    assert anc["valueQuantity"]["comparator"] == "<"
    assert extension(anc["valueQuantity"], ORIGINAL_TEXT)[0]["valueString"] == "<0.5 10*3/uL"
    findings = {f.location: f for f in conv.findings}
    for observation, location in ((wbc, "MSG[1]/OBX[1]"), (anc, "MSG[1]/OBX[2]")):
        (interpretation,) = observation["interpretation"]
        assert interpretation["coding"][0]["system"] == V3
        assert interpretation["coding"][0]["code"] == findings[location].code
        assert part(extension(observation, EXPLANATION)[0], "rule") == findings[location].rule
    assert hemoglobin["interpretation"][0]["coding"][0]["code"] == "L"  # the sender's, as sent
    assert platelets["valueQuantity"]["code"] == "10*3/uL"
    assert target(bundle, specimen_note["focus"][0])["resourceType"] == "Specimen"
    report = resources(bundle, "DiagnosticReport")[0]
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == ["84828003", "165517008"]
    assert len(report["result"]) == 5


def test_same_message_converted_twice_is_byte_identical() -> None:
    first = fhir.dumps(only_bundle(ONCOLOGY_CBC))
    assert fhir.dumps(only_bundle(ONCOLOGY_CBC)) == first


def test_local_codes_of_a_child_get_loinc_and_pediatric_rules_and_a_derived_anc() -> None:
    conv = convert(PEDIATRIC_LOCAL_CODES)
    (bundle,) = conv.bundles
    wbc, percent, hemoglobin, derived = resources(bundle, "Observation")
    assert wbc["code"]["coding"][-1]["system"] == LOINC
    assert "pediatric" in part(extension(wbc, EXPLANATION)[0], "rule")
    assert part(extension(wbc, EXPLANATION)[0], "rangeSource") == "lab"
    assert percent["valueQuantity"] == {"value": Decimal("14"), "unit": "%"}
    assert [target(bundle, r)["id"] for r in derived["derivedFrom"]] == [wbc["id"], percent["id"]]
    assert part(extension(derived, EXPLANATION)[0], "derived") is True
    assert hemoglobin["valueQuantity"]["unit"] == "g/L"


def test_corrected_cancelled_deleted_and_preliminary_results() -> None:
    bundle = only_bundle(STATUSES)
    corrected, cancelled, deleted, preliminary = resources(bundle, "Observation")
    assert corrected["status"] == "corrected"
    assert corrected["interpretation"][0]["coding"][0]["system"] == V3
    assert cancelled["status"] == "cancelled"
    assert cancelled["dataAbsentReason"]["coding"][0]["code"] == "not-performed"
    assert deleted["status"] == "entered-in-error"
    assert deleted["valueQuantity"]["unit"] == "10*3/uL"  # not judged: written as sent
    assert extension(deleted, EXPLANATION) == []
    assert preliminary["status"] == "preliminary"
    assert extension(preliminary, EXPLANATION) != []
    assert resources(bundle, "DiagnosticReport")[0]["status"] == "corrected"


def test_a_locally_coded_count_gets_loinc_only_when_normalized() -> None:
    # The LOINC coding belongs to the output contract of a count leukoflag normalized; a count
    # it set aside (deleted, cancelled, text, an unknown unit) is converted as sent, local code
    # only, as a urine count is: a feed selecting 26464-8 finds only the counts judged
    message = er7(
        "MSH|^~\\&|KIDSLAB|MAPLEWOOD|EHR|MAPLEWOOD|20261123161004+0100||ORU^R01|MW-4471-0013|P|2.4",
        "PID|1||MW778120^^^MAPLEWOOD^MR||SOUSA^INES||20250618|F",
        "OBR|1||MW-L-55322|CBC^Full blood count^L|||20261123152000+0100|||||||||||||||"
        "20261123160500+0100|||F",
        "OBX|1|NM|WCC^White cell count^L||5.2|10*9/L|6.0-17.5||||F",
        "OBX|2|NM|WCC^White cell count^L||4.8|10*9/L|6.0-17.5||||D",
        "OBX|3|ST|WCC^White cell count^L||clumped, see smear|10*9/L|6.0-17.5||||F",
        "OBX|4|NM|WCC^White cell count^L||5.0|Gpt/Liter|6.0-17.5||||F",
    )
    judged, deleted, text, unknown_unit = resources(only_bundle(message), "Observation")
    assert [c["code"] for c in judged["code"]["coding"]] == ["WCC", "26464-8"]
    for unjudged in (deleted, text, unknown_unit):
        assert [c["code"] for c in unjudged["code"]["coding"]] == ["WCC"]
        assert extension(unjudged, EXPLANATION) == []


def test_a_locally_coded_fhir_count_not_judged_comes_back_as_sent() -> None:
    sent = (
        b'{"resourceType": "Observation", "status": "cancelled", '
        b'"code": {"coding": [{"system": "http://lab.example.org/codes", "code": "WCC", '
        b'"display": "White cell count"}]}, "effectiveDateTime": "2026-11-23T15:20:00+01:00", '
        b'"valueQuantity": {"value": 5.2, "unit": "10*9/L"}}'
    )
    conv = convert(sent)
    assert [i.code for i in conv.issues] == ["flag.status-not-flaggable"]
    assert conv.bundles == [fhir.loads(sent)]  # no LOINC coding added to a count not judged


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_every_bundle_validates_with_fhir_resources(version: str) -> None:
    for data in (ONCOLOGY_CBC, PEDIATRIC_LOCAL_CODES, STATUSES, DERIVED_ANC):
        bundle = only_bundle(data, fhir_version=version)
        assert fhir.validate(bundle, version) == []


@pytest.mark.parametrize("kind", ["transaction", "collection"])
def test_strict_conversion_accepts_what_leukoflag_writes(kind: str) -> None:
    bundle = only_bundle(ONCOLOGY_CBC, strict=True, bundle_type=kind)
    assert bundle["type"] == kind


def test_batch_gives_one_bundle_per_message() -> None:
    conv = convert(batch(ONCOLOGY_CBC, STATUSES, DERIVED_ANC))
    assert len(conv.bundles) == 3
    assert len({b["id"] for b in conv.bundles}) == 3


def test_truncated_message_is_rejected_and_the_next_one_converted() -> None:
    conv = convert(ONCOLOGY_CBC + b"OBX|6|NM|6690-2^WBC^LN||3.1\r" + STATUSES)
    assert len(conv.bundles) + len(conv.rejected) == 2
    assert len(conv.rejected) == 1


def test_leukoflag_output_read_back_as_fhir_comes_out_unchanged() -> None:
    bundle = only_bundle(ONCOLOGY_CBC)
    again = only_bundle(fhir.dumps(bundle))
    assert fhir.dumps(again) == fhir.dumps(bundle)


def test_derived_anc_output_read_back_is_not_derived_twice() -> None:
    bundle = only_bundle(DERIVED_ANC)
    again = only_bundle(fhir.dumps(bundle))
    assert len(resources(again, "Observation")) == len(resources(bundle, "Observation")) == 3
    assert fhir.dumps(again) == fhir.dumps(bundle)  # the derived ANC and its range as written


CORRECTED_WBC = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124143000-0600||ORU^R01^ORU_R01|LK26112400522|P|2.5.1",
    "PID|1||LK-0099310^^^LAKESIDE^MR||OYELARAN^FUNMI||19900503|F",
    "OBR|1|PL-88411^EHR|FL-20261124-0233^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124142500-0600|||C",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.0|10*3/uL^^UCUM"
    "|4.0-11.0|L|||F|||20261124110000-0600",
    "OBX|2|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.6|10*3/uL^^UCUM"
    "|4.0-11.0|L|||C|||20261124110000-0600",
    "OBX|3|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||41|%^^UCUM"
    "|40-75||||F|||20261124110000-0600",
)


def test_a_corrected_wbc_sent_next_to_its_original_gives_the_derived_anc() -> None:
    conv = convert(CORRECTED_WBC)
    (bundle,) = conv.bundles
    original, corrected, percent, derived = resources(bundle, "Observation")
    assert (original["status"], corrected["status"]) == ("final", "corrected")
    assert [target(bundle, r)["id"] for r in derived["derivedFrom"]] == [
        corrected["id"],
        percent["id"],
    ]
    assert derived["valueQuantity"]["value"] == Decimal("1476")  # 3,600 × 41 %
    assert "flag.anc-not-derived" not in [issue.code for issue in conv.issues]


def test_a_normal_correction_leaves_no_leukopenia_in_the_report_conclusion() -> None:
    # F 2.4 then its correction C 6.4: the report states the corrected, normal WBC
    message = CORRECTED_WBC.replace(b"||3.0|", b"||2.4|").replace(b"||3.6|", b"||6.4|")
    conv = convert(message)
    (bundle,) = conv.bundles
    original, corrected, _, derived = resources(bundle, "Observation")
    assert original["valueQuantity"]["value"] == Decimal("2400")
    assert EXPLANATION not in [e["url"] for e in original.get("extension", ())]
    assert original["interpretation"][0]["coding"][0]["code"] == "L"  # the sender's, as sent
    assert corrected["interpretation"][0]["coding"][0]["code"] == "N"
    assert derived["valueQuantity"]["value"] == Decimal("2624")  # 6,400 × 41 %
    (report,) = resources(bundle, "DiagnosticReport")
    assert "conclusionCode" not in report
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[2]", "MSG[1]/OBR[1]/ANC[derived]"]
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"


def test_two_corrections_of_one_wbc_keep_the_low_one_in_the_conclusion_with_a_warning() -> None:
    # the F 3.0 is corrected twice, to 1.2 and to 6.4: which stands is not known, so the low one
    # stays in conclusionCode and the later correction says the choice is in doubt
    second = (
        b"\rOBX|4|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||6.4"
        b"|10*3/uL^^UCUM|4.0-11.0|N|||C|||20261124110000-0600"
    )
    message = CORRECTED_WBC.replace(b"||3.6|", b"||1.2|").rstrip(b"\r") + second + b"\r"
    conv = convert(message)
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == ["Leukopenia"]  # from the C 1.2; no ANC from two WBCs
    (issue,) = [i for i in conv.issues if i.code == "flag.correction-ambiguous"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[4]-11")
    assert "and MSG[1]/OBX[2] (corrected) of the same code, OBX-4 sub-ID" in issue.text


def test_two_final_wbcs_of_one_result_with_different_counts_keep_the_low_one_and_warn() -> None:
    # OBX 1 F 3.0 and OBX 2 F 5.8, same code, sub-ID and time: neither replaces the other, so
    # the low one stays in conclusionCode and the second says that which one stands is unknown
    message = CORRECTED_WBC.replace(
        b"||3.6|10*3/uL^^UCUM|4.0-11.0|L|||C|", b"||5.8|10*3/uL^^UCUM|4.0-11.0|N|||F|"
    )
    conv = convert(message)
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == ["Leukopenia"]
    assert [f.code for f in conv.findings] == ["L", "N"]
    (issue,) = [i for i in conv.issues if i.code == "flag.result-duplicate"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[2]-5")
    assert issue.text.startswith(
        "this final result (5,800 cells/µL) and MSG[1]/OBX[1] (3,000 cells/µL) are final results "
        "of the same code, OBX-4 sub-ID, specimen and time with different counts"
    )


def test_two_final_wbcs_alike_or_of_different_sub_ids_raise_no_duplicate_warning() -> None:
    alike = CORRECTED_WBC.replace(
        b"||3.6|10*3/uL^^UCUM|4.0-11.0|L|||C|", b"||3.00|10*3/uL^^UCUM|4.0-11.0|L|||F|"
    )
    sub_ids = CORRECTED_WBC.replace(b"^LN||3.0|", b"^LN|1|3.0|").replace(
        b"^LN||3.6|10*3/uL^^UCUM|4.0-11.0|L|||C|", b"^LN|2|5.8|10*3/uL^^UCUM|4.0-11.0|N|||F|"
    )
    for message in (alike, sub_ids):
        conv = convert(message)
        assert "flag.result-duplicate" not in [i.code for i in conv.issues]
        assert len(conv.findings) == 2


def test_a_final_wbc_sent_after_the_one_it_deletes_is_no_duplicate_of_it() -> None:
    # OBX 1 F 3.0, OBX 2 D (the lab deletes it), OBX 3 F 5.8: the new final count is the one
    # that stands; flag.result-duplicate said it and the deleted 3,000 were two final results
    # 'none replaces another', 'each is judged', though the 3,000 was withdrawn and not judged
    deleted = CORRECTED_WBC.replace(
        b"||3.6|10*3/uL^^UCUM|4.0-11.0|L|||C|", b"||3.0|10*3/uL^^UCUM|4.0-11.0|L|||D|"
    ).replace(
        b"OBX|3|NM|770-8",
        b"OBX|3|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.8|10*3/uL^^UCUM"
        b"|4.0-11.0|N|||F|||20261124110000-0600\rOBX|4|NM|770-8",
    )
    conv = convert(deleted)
    (bundle,) = conv.bundles
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[3]", "N"),
        ("MSG[1]/OBR[1]/ANC[derived]", "N"),
    ]
    assert _conclusion(bundle) == []
    codes = [(i.code, i.location) for i in conv.issues if i.code.startswith("flag.result")]
    assert codes == [("flag.result-superseded", "MSG[1]/OBX[1]-11")]


def test_two_final_wbcs_with_different_counts_in_a_fhir_bundle_warn_at_the_second() -> None:
    conv = convert(fhir_bundle([wbc("3.4", flag=[]), wbc("6.1", flag=[])]).encode())
    assert [f.code for f in conv.findings] == ["L", "N"]
    (issue,) = [i for i in conv.issues if i.code == "flag.result-duplicate"]
    assert issue.location == "ITEM[1]/Bundle.entry[4].resource.valueQuantity"
    assert (
        "and ITEM[1]/Bundle.entry[3].resource (3,400 cells/µL) are final results of the same "
        "code, specimen and time" in issue.text
    )


def _searchset_wbc(rid: str, day: str, value: str, status: str = "final") -> dict[str, Any]:
    """A WBC a FHIR server returns from a search: no effective[x], only when it was issued."""
    return {
        "fullUrl": f"https://fhir.northgate.example/Observation/{rid}",
        "resource": {
            "resourceType": "Observation",
            "id": rid,
            "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
            "subject": {"reference": "Patient/pt-5521"},
            "issued": f"2026-11-{day}T09:30:00-05:00",
            "valueQuantity": {"value": Decimal(value), "unit": "10*3/uL", "code": "10*3/uL"},
        },
        "search": {"mode": "match"},
    }


@pytest.mark.parametrize("second_status", ["final", "corrected"])
def test_wbcs_of_a_searchset_without_effective_time_are_not_one_result(
    second_status: str,
) -> None:
    # three draws on three days, no report, no effective[x]: all shared the time key "", so
    # the 21st and 22nd got flag.result-duplicate, or a corrected 21st set aside the 2,400 of
    # the 22nd (not flagged) as if it corrected it
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "fullUrl": "https://fhir.northgate.example/Patient/pt-5521",
                "resource": {
                    "resourceType": "Patient",
                    "id": "pt-5521",
                    "gender": "male",
                    "birthDate": "1958-03-14",
                },
                "search": {"mode": "include"},
            },
            _searchset_wbc("wbc-20", "20", "6.2"),
            _searchset_wbc("wbc-21", "21", "3.1", second_status),
            _searchset_wbc("wbc-22", "22", "2.4"),
        ],
    }
    conv = convert(fhir.dumps(searchset))
    assert [(f.location, f.code) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[1].resource", "N"),
        ("ITEM[1]/Bundle.entry[2].resource", "L"),
        ("ITEM[1]/Bundle.entry[3].resource", "LU"),
    ]
    codes = [i.code for i in conv.issues]
    assert "flag.result-duplicate" not in codes
    assert "flag.result-superseded" not in codes


def test_wbcs_of_a_searchset_without_time_but_of_one_specimen_are_one_result() -> None:
    # the Specimen ties them where no report or time does: which count stands is not known
    entries = [_searchset_wbc("wbc-a", "21", "3.1"), _searchset_wbc("wbc-b", "21", "5.9")]
    for entry in entries:
        entry["resource"]["specimen"] = {"reference": "Specimen/spm-88201"}
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    conv = convert(fhir.dumps(searchset))
    (issue,) = [i for i in conv.issues if i.code == "flag.result-duplicate"]
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.valueQuantity"


def test_no_anc_is_derived_from_a_searchsets_wbc_and_percent_of_different_draws() -> None:
    # WBC 6.2 issued on the 20th, neutrophils 12 % on the 22nd, no effective[x]: an ANC of 744
    # cells/µL (LU, severe neutropenia) was derived from the two as if from one blood sample
    percent = _searchset_wbc("neut-22", "22", "12")
    percent["resource"]["code"] = {"coding": [{"system": "http://loinc.org", "code": "770-8"}]}
    percent["resource"]["valueQuantity"] = {"value": Decimal(12), "unit": "%", "code": "%"}
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [_searchset_wbc("wbc-20", "20", "6.2"), percent],
    }
    conv = convert(fhir.dumps(searchset))
    assert [(f.location, f.code, f.derived) for f in conv.findings] == [
        ("ITEM[1]/Bundle.entry[0].resource", "N", False)
    ]
    (issue,) = [i for i in conv.issues if i.code == "flag.anc-not-derived"]
    assert issue.text.endswith(
        "neutrophils % ITEM[1]/Bundle.entry[1].resource has no WBC of the same draw: a result "
        "without a time, report or specimen is a draw of its own"
    )


def test_an_anc_is_derived_from_the_components_of_one_searchset_observation() -> None:
    panel = _searchset_wbc("cbc-22", "22", "6.2")
    resource = panel["resource"]
    resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]}
    del resource["valueQuantity"]
    resource["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
            "valueQuantity": {"value": Decimal("6.2"), "unit": "10*3/uL", "code": "10*3/uL"},
        },
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "770-8"}]},
            "valueQuantity": {"value": Decimal(12), "unit": "%", "code": "%"},
        },
    ]
    conv = convert(fhir.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [panel]}))
    derived = [f for f in conv.findings if f.derived]
    assert [(f.value_per_ul, f.code) for f in derived] == [(Decimal(744), "LU")]


def test_a_normal_correction_in_a_fhir_bundle_leaves_no_leukopenia_in_the_conclusion() -> None:
    def observation(rid: str, status: str, value: str) -> dict[str, Any]:
        return {
            "fullUrl": f"https://lis.example/fhir/Observation/{rid}",
            "resource": {
                "resourceType": "Observation",
                "id": rid,
                "status": status,
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "subject": {"reference": "Patient/pt-7"},
                "effectiveDateTime": "2026-11-24T08:05:00-05:00",
                "valueQuantity": {"value": Decimal(value), "unit": "10*3/uL", "code": "10*3/uL"},
            },
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "https://lis.example/fhir/Patient/pt-7",
                "resource": {"resourceType": "Patient", "id": "pt-7", "gender": "male"},
            },
            {
                "fullUrl": "https://lis.example/fhir/DiagnosticReport/dr-7",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": "dr-7",
                    "status": "corrected",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                    "result": [
                        {"reference": "Observation/wbc-1"},
                        {"reference": "Observation/wbc-2"},
                    ],
                },
            },
            observation("wbc-1", "final", "2.4"),
            observation("wbc-2", "corrected", "6.4"),
        ],
    }
    conv = convert(fhir.dumps(bundle))
    (output,) = conv.bundles
    report, original, corrected = (e["resource"] for e in output["entry"][1:])
    assert "conclusionCode" not in report
    assert "interpretation" not in original
    assert original["valueQuantity"]["value"] == Decimal("2400")
    assert corrected["interpretation"][0]["coding"][0]["code"] == "N"
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "ITEM[1]/Bundle.entry[2].resource.status"
    # FHIR has no OBX-4 sub-ID: the text names only what an Observation has
    assert "of the same code, specimen and time;" in issue.text
    assert "sub-ID" not in issue.text


def test_two_final_wbcs_in_a_fhir_bundle_say_why_no_anc_without_naming_a_sub_id() -> None:
    def observation(rid: str, code: str, value: str, unit: str) -> dict[str, Any]:
        return {
            "fullUrl": f"https://lis.example/fhir/Observation/{rid}",
            "resource": {
                "resourceType": "Observation",
                "id": rid,
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": "Patient/pt-8"},
                "effectiveDateTime": "2026-11-24T08:05:00-05:00",
                "valueQuantity": {"value": Decimal(value), "unit": unit, "code": unit},
            },
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "https://lis.example/fhir/Patient/pt-8",
                "resource": {"resourceType": "Patient", "id": "pt-8", "gender": "female"},
            },
            {
                "fullUrl": "https://lis.example/fhir/DiagnosticReport/dr-8",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": "dr-8",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                    "result": [
                        {"reference": "Observation/wbc-1"},
                        {"reference": "Observation/wbc-2"},
                        {"reference": "Observation/neut-1"},
                    ],
                },
            },
            observation("wbc-1", "6690-2", "3.1", "10*3/uL"),
            observation("wbc-2", "6690-2", "3.4", "10*3/uL"),
            observation("neut-1", "770-8", "40", "%"),
        ],
    }
    conv = convert(fhir.dumps(bundle))
    (issue,) = [i for i in conv.issues if i.code == "flag.anc-not-derived"]
    # an Observation has no OBX-4 sub-ID: the hint names only what it has
    assert issue.text.endswith(
        "which one to use is not known (a corrected result of the same code, specimen and time "
        "would replace the others)"
    )
    assert "sub-ID" not in issue.text


def test_a_wbc_posted_wrong_writes_the_anc_it_gave_as_entered_in_error() -> None:
    message = DERIVED_ANC.replace(b"|4.0-11.0|L|||F|", b"|4.0-11.0|L|||W|")
    conv = convert(message, strict=True)
    (bundle,) = conv.bundles
    wbc, percent, withdrawn = resources(bundle, "Observation")
    assert wbc["status"] == withdrawn["status"] == "entered-in-error"
    assert [target(bundle, r)["id"] for r in withdrawn["derivedFrom"]] == [wbc["id"], percent["id"]]
    assert withdrawn["valueQuantity"]["value"] == Decimal("1230")  # 3,000 × 41 %
    assert "interpretation" not in withdrawn
    assert conv.findings == []


def _conclusion(bundle: dict[str, Any]) -> list[str]:
    (report,) = resources(bundle, "DiagnosticReport")
    return [c["coding"][0]["display"] for c in report.get("conclusionCode", ())]


def test_a_final_report_holding_a_preliminary_wbc_says_so_at_obr_25() -> None:
    message = DERIVED_ANC.replace(b"|4.0-11.0|L|||F|", b"|4.0-11.0|L|||P|")
    conv = convert(message)
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == ["Leukopenia", "Neutropenia"]  # the lab's low counts
    (issue,) = [i for i in conv.issues if i.code == "flag.report-status-disagrees"]
    assert (issue.severity, issue.location, issue.text) == (
        "warning",
        "MSG[1]/OBR[1]-25",
        (
            "the report is final (OBR-25 'F') but holds the preliminary results MSG[1]/OBX[1] "
            "(OBX-11 'P'), MSG[1]/OBR[1]/ANC[derived] (derived from MSG[1]/OBX[1]); its "
            "conclusionCode is drawn from them as sent, and may change when they are final"
        ),
    )


def test_a_preliminary_wbc_sent_beside_its_final_value_leaves_no_leukopenia() -> None:
    # P 1.6 then F 6.4 of the same WBC in one final report: the final value stands, so the
    # conclusion is not the preliminary leukopenia and nothing says "may change when it is final"
    message = CORRECTED_WBC.replace(b"||3.0|", b"||1.6|").replace(b"|L|||F|", b"|LL|||P|")
    message = message.replace(b"||3.6|", b"||6.4|").replace(b"|L|||C|", b"|N|||F|")
    conv = convert(message.replace(b"|||C\r", b"|||F\r"))
    (bundle,) = conv.bundles
    preliminary, final, _, derived = resources(bundle, "Observation")
    assert (preliminary["status"], final["status"]) == ("preliminary", "final")
    assert final["interpretation"][0]["coding"][0]["code"] == "N"
    assert _conclusion(bundle) == []
    assert derived["valueQuantity"]["value"] == Decimal("2624")  # 6,400 × 41 %
    assert "flag.report-status-disagrees" not in [i.code for i in conv.issues]
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert issue.text.startswith(
        "not flagged: this preliminary result is replaced by MSG[1]/OBX[2] (final) of the same "
        "code, OBX-4 sub-ID, specimen and time"
    )


def test_a_final_report_holding_an_anc_derived_from_a_preliminary_percent_says_so() -> None:
    # The percent is never judged itself, but the ANC derived from it is preliminary and judged:
    # its neutropenia went into the final report's conclusionCode without the warning.
    message = DERIVED_ANC.replace(b"|40-75||||F|", b"|40-75||||P|")
    conv = convert(message)
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == ["Leukopenia", "Neutropenia"]
    (issue,) = [i for i in conv.issues if i.code == "flag.report-status-disagrees"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBR[1]-25",
        (
            "the report is final (OBR-25 'F') but holds the preliminary result "
            "MSG[1]/OBR[1]/ANC[derived] (derived from MSG[1]/OBX[2]); its conclusionCode is "
            "drawn from it as sent, and may change when it is final"
        ),
    )


@pytest.mark.parametrize("sent", ["I", "O", "S"])
def test_a_registered_report_holding_final_results_says_so_at_obr_25(sent: str) -> None:
    message = DERIVED_ANC.replace(b"-0600|||F\r", f"-0600|||{sent}\r".encode())
    conv = convert(message)
    (bundle,) = conv.bundles
    (report,) = resources(bundle, "DiagnosticReport")
    assert report["status"] == "registered"
    assert _conclusion(bundle) == ["Leukopenia", "Neutropenia"]
    (issue,) = [i for i in conv.issues if i.code == "flag.report-status-disagrees"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBR[1]-25",
        (
            f"the report is registered (OBR-25 '{sent}'), which says no result is available "
            "yet, but holds the judged results MSG[1]/OBX[1] (final, OBX-11 'F'), "
            "MSG[1]/OBR[1]/ANC[derived] (derived from MSG[1]/OBX[1], MSG[1]/OBX[2]); its "
            "conclusionCode is drawn from them as sent"
        ),
    )


def test_a_registered_report_whose_only_finding_is_a_derived_anc_says_so_at_obr_25() -> None:
    # Segmented and band counts are never judged themselves: the derived ANC of 400 was the
    # registered report's only judged result, and its Neutropenia went out without the warning.
    message = er7(
        "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124120000-0600||ORU^R01^ORU_R01"
        "|LK26112400412|P|2.5.1",
        "PID|1||LK-0099317^^^LAKESIDE^MR||ABERNETHY^COLM||19720914|M",
        "OBR|1|PL-88407^EHR|FL-20261124-0207^HEMLAB|CBCMD^CBC with manual differential^99LAK"
        "|||20261124110000-0600|||||||||||||||20261124115500-0600|||I",
        "OBX|1|NM|30451-9^Segmented neutrophils [#/volume] in Blood^LN||0.3|10*3/uL^^UCUM"
        "|1.8-7.0||||F|||20261124110000-0600",
        "OBX|2|NM|30229-9^Band neutrophils [#/volume] in Blood^LN||0.1|10*3/uL^^UCUM"
        "|0.0-0.7||||F|||20261124110000-0600",
    )
    conv = convert(message)
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == ["Neutropenia"]  # the ANC of 400 derived from the parts
    (issue,) = [i for i in conv.issues if i.code == "flag.report-status-disagrees"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBR[1]-25",
        (
            "the report is registered (OBR-25 'I'), which says no result is available yet, but "
            "holds the judged result MSG[1]/OBR[1]/ANC[derived] (derived from MSG[1]/OBX[1], "
            "MSG[1]/OBX[2]); its conclusionCode is drawn from it as sent"
        ),
    )


@pytest.mark.parametrize(("report", "result"), [("P", "F"), ("R", "P"), ("F", "F"), ("C", "C")])
def test_report_statuses_that_allow_their_results_raise_nothing(report: str, result: str) -> None:
    message = DERIVED_ANC.replace(b"-0600|||F\r", f"-0600|||{report}\r".encode()).replace(
        b"|4.0-11.0|L|||F|", f"|4.0-11.0|L|||{result}|".encode()
    )
    conv = convert(message)
    assert "flag.report-status-disagrees" not in [i.code for i in conv.issues]
    assert _conclusion(conv.bundles[0]) == ["Leukopenia", "Neutropenia"]


@pytest.mark.parametrize(
    ("report", "result", "text"),
    [
        (
            "final",
            "preliminary",
            (
                "the report is final but holds the preliminary result "
                "ITEM[1]/Bundle.entry[2].resource; its conclusionCode is drawn from it as sent, "
                "and may change when it is final"
            ),
        ),
        (
            "registered",
            "final",
            (
                "the report is registered, which says no result is available yet, but holds the "
                "judged result ITEM[1]/Bundle.entry[2].resource (final); its conclusionCode is "
                "drawn from it as sent"
            ),
        ),
    ],
)
def test_a_fhir_report_whose_status_disagrees_with_its_results_says_so(
    report: str, result: str, text: str
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "https://lis.example/fhir/Patient/pt-9",
                "resource": {"resourceType": "Patient", "id": "pt-9", "gender": "female"},
            },
            {
                "fullUrl": "https://lis.example/fhir/DiagnosticReport/dr-9",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": "dr-9",
                    "status": report,
                    "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                    "result": [{"reference": "Observation/wbc-9"}],
                },
            },
            {
                "fullUrl": "https://lis.example/fhir/Observation/wbc-9",
                "resource": {
                    "resourceType": "Observation",
                    "id": "wbc-9",
                    "status": result,
                    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                    "subject": {"reference": "Patient/pt-9"},
                    "effectiveDateTime": "2026-11-24T08:05:00-05:00",
                    "valueQuantity": {
                        "value": Decimal("2.9"),
                        "unit": "10*3/uL",
                        "code": "10*3/uL",
                    },
                },
            },
        ],
    }
    conv = convert(fhir.dumps(bundle))
    (output,) = conv.bundles
    assert output["entry"][1]["resource"]["conclusionCode"][0]["coding"][0]["code"] == "84828003"
    (issue,) = [i for i in conv.issues if i.code == "flag.report-status-disagrees"]
    assert (issue.location, issue.text) == ("ITEM[1]/Bundle.entry[1].resource.status", text)


def test_a_fhir_sender_interpretation_is_quoted_in_fhir_terms() -> None:
    conv = convert(fhir_bundle([wbc("1.5", flag=["L", "L"])]).encode())
    (found,) = [i for i in conv.issues if i.code == "flag.sender-disagrees"]
    assert found.text == (
        "the sender's interpretation is L, L; leukoflag computed LL (same side, other level)"
    )


def test_an_unusable_percent_says_at_the_order_why_no_anc_was_derived() -> None:
    message = DERIVED_ANC.replace(b"||41|%^^UCUM", b"||41|{fraction}")
    conv = convert(message)
    assert len(resources(conv.bundles[0], "Observation")) == 2
    (issue,) = [issue for issue in conv.issues if issue.code == "flag.anc-not-derived"]
    assert issue.location == "MSG[1]/OBR[1]"
    assert issue.text.endswith(
        "neutrophils % MSG[1]/OBX[2] is not used (its unit '{fraction}' is not one leukoflag knows)"
    )


def test_a_neutrophil_percent_sent_in_a_count_unit_is_said_in_hl7v2_and_fhir_alike() -> None:
    # 770-8 with '10*3/uL': probably an ANC under the percent's code; it was out of scope unsaid
    message = DERIVED_ANC.replace(b"||41|%^^UCUM|40-75", b"||1.2|10*3/uL^^UCUM|1.8-7.7")
    sent = result(loinc("770-8"), "1.2", ucum("10*3/uL"), reference_range="1.8-7.7", flag=None)
    for data, location, wbc_at in (
        (message, "MSG[1]/OBX[2]-6", "MSG[1]/OBX[1]"),
        (
            fhir_bundle([wbc("3.0"), sent]).encode(),
            "ITEM[1]/Bundle.entry[4].resource.valueQuantity",
            "ITEM[1]/Bundle.entry[3].resource",
        ),
    ):
        conv = convert(data)
        (issue,) = [i for i in conv.issues if i.code == "flag.percent-count-unit"]
        assert (issue.severity.value, issue.location) == ("warning", location)
        assert issue.text.startswith("not flagged: LOINC 770-8 is a percent or fraction of the")
        # the WBC alone is judged: the percent gives neither a finding nor a derived ANC
        (finding,) = conv.findings
        assert (finding.location, finding.value_per_ul) == (wbc_at, Decimal(3000))


def test_a_neutrophil_percent_above_100_without_a_wbc_is_said_at_its_value() -> None:
    # only flag.anc-not-derived named it, and only when the order had a WBC
    message = DERIVED_ANC.replace(b"||41|%^^UCUM", b"||141|%^^UCUM").replace(
        b"OBX|1|NM|6690-2", b"OBX|1|NM|718-7"
    )
    conv = convert(message)
    (issue,) = [i for i in conv.issues if i.code.startswith("flag.")]
    assert (issue.code, issue.severity.value, issue.location) == (
        "flag.percent-implausible",
        "warning",
        "MSG[1]/OBX[2]-5",
    )
    assert "its value 141 '%' is not from 0 to 100" in issue.text


# --------------------------------------------------------------------------- invariants

CODES = [
    "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN",
    "751-8^Neutrophils [#/volume] in Blood by Automated count^LN",
    "770-8^Neutrophils/100 leukocytes in Blood^LN",
    "718-7^Hemoglobin [Mass/volume] in Blood^LN",
    "WBC^White blood cells^L",
    "5821-4^Leukocytes [#/area] in Urine sediment by Microscopy high power field^LN",
    "",
]
VALUES = [
    ("NM", "3.1"),
    ("NM", "0.42"),
    ("NM", "12500"),
    ("NM", "-1"),
    ("SN", "<^0.5"),
    ("SN", ">^20"),
    ("SN", "^1.0^-^2.0"),
    ("SN", "^1^:^128"),
    ("ST", "see comment"),
    ("ST", "***.**"),
    ("NM", ""),
    ("CWE", "POS^Positive^L"),
    ("NM", "1.5e3"),
]
UNITS = ["K/uL", "10*3/uL^^UCUM", "x10\\S\\9/L", "/uL", "%", "g/dL^^UCUM", "", "furlongs", "G/L"]
STATUS = ["F", "C", "P", "X", "D", "I", "", "Z", "U"]  # U: may make a P before it final
FLAGS = ["", "L", "H", "L~A", "AC", "LL"]
RANGES = ["", "4.0-11.0", ">1.5", "<11", "1500-8000", "see table"]

_obx = st.tuples(
    st.sampled_from(CODES),
    st.sampled_from(VALUES),
    st.sampled_from(UNITS),
    st.sampled_from(RANGES),
    st.sampled_from(FLAGS),
    st.sampled_from(STATUS),
    st.booleans(),  # after an SPM
)
_message = st.tuples(
    st.booleans(),  # has PID
    st.sampled_from(["19700101", "2025", "20260301", ""]),
    st.lists(_obx, min_size=0, max_size=6),
)


def _er7(n: int, with_pid: bool, birth: str, observations: list[tuple[Any, ...]]) -> str:
    segments = [
        f"MSH|^~\\&|PROPLAB|PROPFAC|EHR|PROPFAC|20261124101522-0600||ORU^R01^ORU_R01|P{n:05d}|P|2.5.1"
    ]
    if with_pid:
        segments.append(f"PID|1||PT{n}^^^PROPFAC^MR||TEST^PATIENT||{birth}|F")
    segments.append(f"OBR|1|PL{n}|FL{n}|58410-2^CBC panel^LN|||20261124093000-0600")
    after = [o for o in observations if o[6]]
    before = [o for o in observations if not o[6]]
    ordered = before + ([None] if after else []) + after
    k = 0
    for observation in ordered:
        if observation is None:
            segments.append("SPM|1|SPX^PROPLAB||BLD^Whole blood^HL70487")
            continue
        k += 1
        code, (kind, value), unit, reference, flags, status, _ = observation
        segments.append(f"OBX|{k}|{kind}|{code}||{value}|{unit}|{reference}|{flags}|||{status}")
    return "\r".join(segments) + "\r"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(_message, min_size=1, max_size=3))
def test_every_message_is_a_bundle_or_rejected_and_every_obx_an_observation_or_issue(
    messages: list[tuple[bool, str, list[tuple[Any, ...]]]],
) -> None:
    data = "".join(_er7(n, *spec) for n, spec in enumerate(messages, start=1)).encode()
    conv = convert(data)
    assert len(conv.bundles) + len(conv.rejected) == len(messages)
    rejected = {r.index for r in conv.rejected}
    accepted = [n for n in range(1, len(messages) + 1) if n not in rejected]
    assert len(accepted) == len(conv.bundles)
    for n, bundle in zip(accepted, conv.bundles, strict=True):
        key = ("v2", "PROPLAB", "PROPFAC", f"P{n:05d}", "20261124101522-0600")
        written = {o["id"] for o in resources(bundle, "Observation")}
        for k in range(1, len(messages[n - 1][2]) + 1):
            location = f"MSG[{n}]/OBX[{k}]"
            as_observation = resource_id(key, "Observation", f"OBX[{k}]") in written
            as_issue = any(i.location.startswith(location) for i in conv.issues)
            assert as_observation or as_issue, location
        for observation in resources(bundle, "Observation"):
            computed = [
                c
                for i in observation.get("interpretation", ())
                for c in i["coding"]
                if extension(observation, EXPLANATION)
            ]
            assert len(computed) <= 1  # at most one computed code per result


def test_raw_line_feed_in_a_comment_reaches_the_observation_note() -> None:
    # The lab's note typed on two lines, sent without \.br\ in a CRLF message: the note keeps
    # both lines and the WBC after it is still flagged.
    data = ONCOLOGY_CBC.replace(b"\r", b"\r\n").replace(
        b"Repeated on a second analyzer; result confirmed.",
        b"Repeated on a second analyzer;\nresult confirmed.",
    )
    conv = convert(data)
    (bundle,) = conv.bundles
    wbc = resources(bundle, "Observation")[0]
    assert wbc["note"] == [{"text": "Repeated on a second analyzer;\nresult confirmed."}]
    assert b'"text":"Repeated on a second analyzer;\\nresult confirmed."' in fhir.dumps(bundle)
    assert wbc["valueQuantity"]["value"] == Decimal("2400")
    raw_breaks = [i for i in conv.issues if i.code == "hl7v2.line-break-raw"]
    assert [i.location for i in raw_breaks] == ["MSG[1]/NTE[1]-3"]
    assert not [i for i in conv.issues if i.code == "hl7v2.line-not-segment"]


def test_hl7_explicit_null_fields_are_left_out_not_written_as_two_quotes() -> None:
    # "" is HL7's explicit null (the value was deleted): a sender clearing the name, visit
    # number, unit, range and flag. Written as text it named the patient '""' and gave the
    # glucose the unit '""' and a flag '""'.
    data = er7(
        "MSH|^~\\&|CHEMLAB|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01|RV-1120|P|2.5.1",
        'PID|1||RV-2231^^^RIVERTON^MR||""||19610304|""',
        'PV1|1|O|""||||""||||||||||||""',
        "OBR|1|PL-1^EHR|FL-1^CHEMLAB|24323-8^Comprehensive metabolic panel^LN|||20261124093000-0600"
        '|||||||||""||||||20261124101000-0600|||F',
        'OBX|1|NM|2345-7^Glucose^LN||96|""|""|""|||F|||20261124093000-0600||""',
        'NTE|1||""',
    )
    for version in ("R4", "R5"):
        bundle = only_bundle(data, fhir_version=version, strict=True)
        assert '\\"\\"' not in fhir.dumps(bundle).decode()
        (patient,) = resources(bundle, "Patient")
        assert "name" not in patient
        assert "gender" not in patient
        (encounter,) = resources(bundle, "Encounter")
        assert {"identifier", "participant", "location"}.isdisjoint(encounter)
        (request,) = resources(bundle, "ServiceRequest")
        assert "requester" not in request
        (glucose,) = resources(bundle, "Observation")
        assert glucose["valueQuantity"] == {"value": Decimal("96")}
        assert {"referenceRange", "interpretation", "performer", "note"}.isdisjoint(glucose)


@pytest.mark.parametrize(
    ("obx_18", "identifier", "display"),
    [
        ("XN-4411", {"value": "XN-4411"}, "XN-4411"),
        (
            "XN-4411^SYSMEX",
            {"value": "XN-4411", "assigner": {"display": "SYSMEX"}},
            "XN-4411 (SYSMEX)",
        ),
        (
            "XN-4411^SYSMEX^1.2.840.114257.1.1^ISO",
            {
                "system": "urn:oid:1.2.840.114257.1.1",
                "value": "XN-4411",
                "assigner": {"display": "SYSMEX"},
            },
            "XN-4411 (SYSMEX)",
        ),
    ],
)
def test_obx_18_device_identifier_is_written_as_sent_not_as_its_display(
    obx_18: str, identifier: dict[str, Any], display: str
) -> None:
    # the identifier value was 'XN-4411 (SYSMEX)': a receiver matching analyzers by their
    # identifier found none
    data = er7(
        "MSH|^~\\&|HEMLAB|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01|RV-1121|P|2.5.1",
        "PID|1||RV-2231^^^RIVERTON^MR||ODUYA^GRACE||19610304|F",
        "OBR|1|PL-2^EHR|FL-2^HEMLAB|58410-2^CBC panel - Blood^LN|||20261124093000-0600",
        f"OBX|1|NM|6690-2^Leukocytes^LN||6.1|10*3/uL|4.0-11.0|N|||F|||20261124093000-0600||||{obx_18}",
    )
    for version in ("R4", "R5"):
        (wbc,) = resources(only_bundle(data, fhir_version=version, strict=True), "Observation")
        assert wbc["device"] == {"identifier": identifier, "display": display}


@pytest.mark.parametrize(
    ("sent", "written", "display"),
    [("L<", "LU", "Significantly low"), ("H>", "HU", "Significantly high")],
)
def test_deprecated_significantly_low_and_high_flags_are_written_as_lu_and_hu(
    sent: str, written: str, display: str
) -> None:
    # L< is the deprecated spelling of LU (flagging already reads it so); it was written as a
    # code without system, which no EHR can read, with two warnings.
    data = er7(
        "MSH|^~\\&|CHEMLAB|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01|RV-1121|P|2.5.1",
        "PID|1||RV-2231^^^RIVERTON^MR||OKAFOR^ADA||19610304|F",
        "OBR|1|PL-1^EHR|FL-1^CHEMLAB|24323-8^Comprehensive metabolic panel^LN|||20261124093000-0600"
        "|||||||||||||||20261124101000-0600|||F",
        f"OBX|1|NM|2345-7^Glucose^LN||96|mg/dL^^UCUM|70-100|{sent}~A|||F",
    )
    conv = convert(data, strict=True)
    (bundle,) = conv.bundles
    (glucose,) = resources(bundle, "Observation")
    assert [i["coding"] for i in glucose["interpretation"]] == [
        [
            {
                "system": V3,
                "code": written,
                "display": display,
            }
        ],
        [{"system": V3, "code": "A", "display": "Abnormal"}],
    ]
    assert not [
        i for i in conv.issues if i.code.endswith(("flag-unknown", "interpretation-unknown"))
    ]


V2_0078_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0078"


@pytest.mark.parametrize("flag", sorted(hl7v2_tables().interpretation))
def test_a_table_0078_flag_is_reported_unmapped_exactly_when_written_outside_v3(
    flag: str,
) -> None:
    # MS and VS were written as v3-ObservationInterpretation codes while the reader's Issue said
    # they had no v3 equivalent: the report and the Bundle contradicted each other.
    data = er7(
        "MSH|^~\\&|MICRO|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01|RV-1187|P|2.5.1",
        "PID|1||RV-2231^^^RIVERTON^MR||OKAFOR^ADA||19610304|F",
        "OBR|1|PL-7^EHR|FL-7^MICRO|29576-6^Bacterial susceptibility panel^LN|||20261124093000-0600"
        "|||||||||||||||20261124101000-0600|||F",
        f"OBX|1|SN|18906-8^Ciprofloxacin [Susceptibility]^LN||<=^0.25|ug/mL^^UCUM||{flag}|||F",
    )
    conv = convert(data, strict=True)
    (bundle,) = conv.bundles
    (result,) = resources(bundle, "Observation")
    ((coding,),) = [i["coding"] for i in result["interpretation"]]
    unmapped = [i for i in conv.issues if i.code == "hl7v2.flag-unmapped"]
    assert coding["system"] in (V3, V2_0078_SYSTEM)
    assert bool(unmapped) == (coding["system"] == V2_0078_SYSTEM)


def wbc_observation(value: str) -> bytes:
    """A FHIR WBC Observation whose value is the JSON number ``value`` as written."""
    return (
        b'{"resourceType":"Observation","id":"wbc-huge","status":"final","code":{"coding":'
        b'[{"system":"http://loinc.org","code":"6690-2"}]},"valueQuantity":{"value":'
        + value.encode()
        + b',"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}'
    )


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("1e999999999", b'"value":1E+999999999,'),  # not a billion digits
        ("99999999999999999999999", b'"value":99999999999999999999999,'),  # beyond 64 bits
    ],
)
def test_absurd_fhir_numbers_are_implausible_and_written_back_exactly(
    sent: str, written: bytes
) -> None:
    conv = convert(wbc_observation(sent))
    (output,) = conv.bundles
    assert "valueQuantity" in output
    assert [i.code for i in conv.issues if i.code.startswith("units.")] == ["units.implausible"]
    (issue,) = [i for i in conv.issues if i.code == "units.implausible"]
    assert len(issue.text) < 300
    assert written in fhir.dumps(output)


def test_a_fhir_count_sent_with_an_exponent_keeps_it_in_the_original_quantity() -> None:
    # 4.5e3 /uL: two significant figures as sent; the kept original must not become 4500
    data = wbc_observation("4.5e3").replace(b"10*3/uL", b"/uL")
    conv = convert(data)
    (output,) = conv.bundles
    text = fhir.dumps(output)
    assert b'"valueQuantity":{"value":4.5E+3,"unit":"/uL"' in text  # the PQ translation
    assert output["valueQuantity"]["value"] == Decimal(4500)
    assert '"valueQuantity":{"value":4500,"unit":"cells/µL"'.encode() in text  # computed: plain


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [
        ({"value": 4500}, {"value": 11000}, "'4500-11000'"),
        ({"value": 40, "unit": "%"}, {"value": 75, "unit": "%"}, "'40-75 %'"),
        ({"value": 1.8, "unit": "10*12/L"}, None, "'>=1.8 10*12/L'"),  # a red-cell unit
    ],
)
def test_unusable_fhir_range_without_text_is_quoted_by_its_limits(
    low: dict[str, Any], high: dict[str, Any] | None, shown: str
) -> None:
    # A FHIR referenceRange rarely has a text: the Issue names the limits that were refused,
    # not an empty quote.
    reference_range: dict[str, Any] = {"low": low}
    if high is not None:
        reference_range["high"] = high
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "valueQuantity": {"value": 2.4, "unit": "10*3/uL"},
        "referenceRange": [reference_range],
    }
    conv = convert(fhir.dumps(observation))
    (issue,) = (i for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert issue.text.startswith(f"the lab's reference range {shown} is not used (")


def test_loinc_named_by_its_oid_is_written_as_loinc_and_recognized_as_loinc() -> None:
    # A LIS that writes LOINC's OID in OBX-3.3 instead of LN.
    message = (
        b"MSH|^~\\&|HEMATRAK|ELMHURST|EHR|ELMHURST|20261206091500-0500||ORU^R01^ORU_R01|"
        b"HT-55012|P|2.5.1\r"
        b"PID|1||EL330912^^^ELMHURST^MR||PRAGER^ILSE||19580214|F\r"
        b"OBR|1|PO8871|HT8871|58410-2^CBC^2.16.840.1.113883.6.1|||20261206074000-0500||||||||||"
        b"||||||20261206090000-0500|||F\r"
        b"OBX|1|NM|6690-2^WBC^2.16.840.1.113883.6.1||2.6|10*3/uL^^UCUM|4.0-10.5|L|||F\r"
    )
    conv = convert(message)
    (bundle,) = conv.bundles
    (wbc,) = resources(bundle, "Observation")
    assert wbc["code"]["coding"] == [{"system": LOINC, "code": "6690-2", "display": "WBC"}]
    assert resources(bundle, "DiagnosticReport")[0]["code"]["coding"][0]["system"] == LOINC
    (finding,) = conv.findings
    assert (finding.code, finding.value_per_ul) == ("LU", Decimal("2.6E+3"))


def test_units_sent_only_as_the_alternate_are_written_and_used_for_flagging() -> None:
    # A LIS that fills only OBX-6.4-6 (its "standard unit" slot), leaving OBX-6.1-3 empty.
    message = (
        b"MSH|^~\\&|HEMATRAK|ELMHURST|EHR|ELMHURST|20261206093000-0500||ORU^R01^ORU_R01|"
        b"HT-55013|P|2.5.1\r"
        b"PID|1||EL330912^^^ELMHURST^MR||PRAGER^ILSE||19580214|F\r"
        b"OBR|1|PO8872|HT8872|58410-2^CBC^LN|||20261206074000-0500\r"
        b"OBX|1|NM|6690-2^WBC^LN||7|^^^10*9/L^10*9/L^UCUM|4.0-10.5||||F\r"
        b"OBX|2|NM|718-7^Hemoglobin^LN||13.5|^^^g/dL^g/dL^UCUM|12.0-15.5||||F\r"
    )
    conv = convert(message)
    (bundle,) = conv.bundles
    wbc, hemoglobin = resources(bundle, "Observation")
    assert hemoglobin["valueQuantity"] == {
        "value": Decimal("13.5"),
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    }
    assert wbc["valueQuantity"]["value"] == Decimal("7E+3")
    (finding,) = conv.findings
    assert finding.code == "N"
    assert [i.location for i in conv.issues if i.code == "hl7v2.unit-alternate"] == [
        "MSG[1]/OBX[1]-6",
        "MSG[1]/OBX[2]-6",
    ]
    assert not [i for i in conv.issues if i.code.startswith("units.")]


# A lab that repeats the OBR, with the same placer and filler order numbers, for the final
# results: the preliminary ones came first under their own OBR (OBR-25 P).
REPEATED_OBR = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124150000-0600||ORU^R01^ORU_R01|LK26112400611|P|2.5.1",
    "PID|1||LK-0099310^^^LAKESIDE^MR||OYELARAN^FUNMI||19900503|F",
    "ORC|RE|PL-88420^EHR|FL-20261124-0240^HEMLAB",
    "OBR|1|PL-88420^EHR|FL-20261124-0240^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124113000-0600|||P",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||1.6|10*3/uL^^UCUM"
    "|4.0-11.0|LL|||P|||20261124110000-0600",
    "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||12|%^^UCUM"
    "|40-75|L|||P|||20261124110000-0600",
    "ORC|RE|PL-88420^EHR|FL-20261124-0240^HEMLAB",
    "OBR|2|PL-88420^EHR|FL-20261124-0240^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124145500-0600|||F",
    "OBX|3|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||6.4|10*3/uL^^UCUM"
    "|4.0-11.0|N|||F|||20261124110000-0600",
    "OBX|4|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||41|%^^UCUM"
    "|40-75||||F|||20261124110000-0600",
)


def _conclusions(bundle: dict[str, Any]) -> list[list[str]]:
    return [
        [c["coding"][0]["display"] for c in report.get("conclusionCode", ())]
        for report in resources(bundle, "DiagnosticReport")
    ]


def test_a_final_under_a_repeated_obr_of_the_same_order_sets_aside_the_preliminary() -> None:
    conv = convert(REPEATED_OBR)
    (bundle,) = conv.bundles
    assert _conclusions(bundle) == [[], []]  # no preliminary leukopenia or neutropenia
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[3]", "MSG[1]/OBR[2]/ANC[derived]"]
    assert [f.code for f in conv.findings] == ["N", "N"]
    derived = resources(bundle, "Observation")[-1]
    assert derived["valueQuantity"]["value"] == Decimal("2624")  # 6,400 × 41 %, the final pair
    issues = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert [i.location for i in issues] == ["MSG[1]/OBX[1]-11"]
    assert issues[0].text.startswith(
        "not flagged: this preliminary result is replaced by MSG[1]/OBX[3] (final) of "
        "MSG[1]/OBR[2], the same order sent again (same filler and placer order numbers, code "
        "and specimens), of the same code, OBX-4 sub-ID, specimen and time;"
    )


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"|FL-20261124-0240^HEMLAB|58410-2", b"|FL-20261124-0251^HEMLAB|58410-2", "filler"),
        (b"|PL-88420^EHR|", b"|PL-88431^EHR|", "placer"),
        (b"|58410-2^CBC panel - Blood", b"|57021-8^CBC W Auto Differential panel - Blood", "code"),
        (b"|FL-20261124-0240^HEMLAB", b"|", "no filler order number"),
    ],
)
def test_a_final_under_another_order_leaves_the_preliminary_judged(
    old: bytes, new: bytes, why: str
) -> None:
    # the second ORC and OBR (only) changed: another order (a reflex, an add-on), not this one
    # sent again
    second = REPEATED_OBR.index(b"ORC|", REPEATED_OBR.index(b"ORC|") + 1)
    conv = convert(REPEATED_OBR[:second] + REPEATED_OBR[second:].replace(old, new))
    (bundle,) = conv.bundles
    assert _conclusions(bundle) == [["Leukopenia", "Neutropenia"], []], why
    assert "flag.result-superseded" not in [i.code for i in conv.issues]


# The lab sends its final counts under one OBR, then the WBC again under a second OBR of the
# same order with OBX-11 W: the 1.6 was posted as wrong (a clotted tube).
WITHDRAWN_UNDER_REPEATED_OBR = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124150000-0600||ORU^R01^ORU_R01|LK26112400622|P|2.5.1",
    "PID|1||LK-0099310^^^LAKESIDE^MR||OYELARAN^FUNMI||19900503|F",
    "ORC|RE|PL-88420^EHR|FL-20261124-0240^HEMLAB",
    "OBR|1|PL-88420^EHR|FL-20261124-0240^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124113000-0600|||F",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||1.6|10*3/uL^^UCUM"
    "|4.0-11.0|LL|||F|||20261124110000-0600",
    "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||12|%^^UCUM"
    "|40-75|L|||F|||20261124110000-0600",
    "ORC|RE|PL-88420^EHR|FL-20261124-0240^HEMLAB",
    "OBR|2|PL-88420^EHR|FL-20261124-0240^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124145500-0600|||C",
    "OBX|3|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||1.6|10*3/uL^^UCUM"
    "|4.0-11.0|LL|||W|||20261124110000-0600",
)


def test_an_entered_in_error_result_under_a_repeated_obr_withdraws_the_final_one() -> None:
    # the W under OBR 2 was ignored: the wrong 1.6 gave LL, Leukopenia and Neutropenia (an ANC
    # of 192 derived from it) in conclusionCode
    conv = convert(WITHDRAWN_UNDER_REPEATED_OBR)
    (bundle,) = conv.bundles
    assert _conclusions(bundle) == [[], []]
    assert list(conv.findings) == []
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert issue.text.startswith(
        "not flagged: this final result is withdrawn by MSG[1]/OBX[3] (entered-in-error, "
        "OBX-11 'W') of MSG[1]/OBR[2], the same order sent again (same filler and placer order "
        "numbers, code and specimens), of the same code, OBX-4 sub-ID, specimen and time,"
    )
    wbc = resources(bundle, "Observation")[0]
    assert wbc["valueQuantity"]["value"] == Decimal("1600")
    # the lab's own LL only (as for any result not judged), no leukoflag explanation
    assert [c["code"] for i in wbc["interpretation"] for c in i["coding"]] == ["LL"]
    assert EXPLANATION not in [e["url"] for e in wbc.get("extension", ())]


def test_two_final_wbcs_of_one_order_sent_again_with_different_counts_warn_at_the_second() -> None:
    # the order sent again under OBR 2 with a final WBC of 5.2 for the same draw as OBR 1's
    # final 1.6: two finals, neither replacing the other, gave LL in one report and N in the
    # other with no word that which one stands is not known (within one OBR it is said)
    msh, pid, orc, obr_1, wbc, _, _, obr_2, wrong = WITHDRAWN_UNDER_REPEATED_OBR.rstrip(
        b"\r"
    ).split(b"\r")
    again = wrong.replace(b"||1.6|", b"||5.2|").replace(b"|LL|||W|", b"|N|||F|")
    lines = [msh, pid, orc, obr_1, wbc, orc, obr_2.replace(b"|||C", b"|||F"), again]
    conv = convert(b"\r".join(lines) + b"\r")
    (bundle,) = conv.bundles
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[1]", "LL"),
        ("MSG[1]/OBX[2]", "N"),
    ]
    assert _conclusions(bundle) == [["Leukopenia"], []]  # the low one still concluded
    (issue,) = [i for i in conv.issues if i.code == "flag.result-duplicate"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[2]-5")
    assert issue.text == (
        "this final result (5,200 cells/µL) and MSG[1]/OBX[1] (1,600 cells/µL) of MSG[1]/OBR[1], "
        "the same order sent again (same filler and placer order numbers, code and specimens), "
        "are final results of the same code, OBX-4 sub-ID, specimen and time with different "
        "counts, and none replaces another: which one stands is not known; each is judged, so a "
        "low one puts its finding in the report's conclusion"
    )


def test_one_final_wbc_sent_again_alike_under_a_repeated_obr_raises_no_duplicate() -> None:
    msh, pid, orc, obr_1, wbc, _, _, obr_2, wrong = WITHDRAWN_UNDER_REPEATED_OBR.rstrip(
        b"\r"
    ).split(b"\r")
    again = wrong.replace(b"||1.6|", b"||1.60|").replace(b"|LL|||W|", b"|LL|||F|")
    lines = [msh, pid, orc, obr_1, wbc, orc, obr_2.replace(b"|||C", b"|||F"), again]
    conv = convert(b"\r".join(lines) + b"\r")
    assert [f.code for f in conv.findings] == ["LL", "LL"]
    assert "flag.result-duplicate" not in [i.code for i in conv.issues]


def test_an_entered_in_error_result_under_an_earlier_obr_withdraws_nothing() -> None:
    # the W came first: the final result under the later OBR is what replaces the error
    msh, pid, orc, obr_1, wbc, neut, _, obr_2, wrong = WITHDRAWN_UNDER_REPEATED_OBR.rstrip(
        b"\r"
    ).split(b"\r")
    lines = [
        msh,
        pid,
        orc,
        obr_2.replace(b"OBR|2|", b"OBR|1|"),
        wrong.replace(b"OBX|3|", b"OBX|1|"),
    ]
    lines += [orc, obr_1.replace(b"OBR|1|", b"OBR|2|"), wbc.replace(b"OBX|1|", b"OBX|2|")]
    lines += [neut.replace(b"OBX|2|", b"OBX|3|")]
    conv = convert(b"\r".join(lines) + b"\r")
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[2]", "LL"),
        ("MSG[1]/OBR[2]/ANC[derived]", "LL"),
    ]
    assert "flag.result-superseded" not in [i.code for i in conv.issues]


def test_a_cancelled_result_under_a_repeated_obr_puts_the_final_one_in_doubt() -> None:
    # the WBC sent again under OBR 2 with OBX-11 X (results cannot be obtained): unlike a W under
    # OBR 2, or an X in OBR 1, nothing said the lab may have withdrawn the 1.6 judged LL
    cancelled = WITHDRAWN_UNDER_REPEATED_OBR.replace(b"|LL|||W|", b"|LL|||X|")
    conv = convert(cancelled)
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[1]", "LL"),  # still judged: a low count hidden is the worse error
        ("MSG[1]/OBR[1]/ANC[derived]", "LL"),
    ]
    issue, derived = [i for i in conv.issues if i.code == "flag.result-cancelled-after"]
    # the ANC of 192 derived from the WBC in doubt says so too
    assert derived.location == "MSG[1]/OBR[1]/ANC[derived]"
    assert "MSG[1]/OBX[1] is followed by MSG[1]/OBX[3] (OBX-11 'X')" in derived.text
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert issue.text.startswith(
        "this final result is followed by MSG[1]/OBX[3] (OBX-11 'X'), cancelled (results cannot "
        "be obtained), of MSG[1]/OBR[2], the same order sent again (same filler and placer order "
        "numbers, code and specimens), of the same code, OBX-4 sub-ID, specimen and time:"
    )
    assert "flag.result-superseded" not in [i.code for i in conv.issues]


def test_a_cancelled_result_under_an_earlier_obr_puts_nothing_in_doubt() -> None:
    # the X came first: the final result under the later OBR was obtained after all
    msh, pid, orc, obr_1, wbc, neut, _, obr_2, wrong = WITHDRAWN_UNDER_REPEATED_OBR.rstrip(
        b"\r"
    ).split(b"\r")
    lines = [msh, pid, orc, obr_2.replace(b"OBR|2|", b"OBR|1|")]
    lines += [wrong.replace(b"OBX|3|", b"OBX|1|").replace(b"|LL|||W|", b"|LL|||X|")]
    lines += [orc, obr_1.replace(b"OBR|1|", b"OBR|2|"), wbc.replace(b"OBX|1|", b"OBX|2|")]
    lines += [neut.replace(b"OBX|2|", b"OBX|3|")]
    conv = convert(b"\r".join(lines) + b"\r")
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[2]", "LL"),
        ("MSG[1]/OBR[2]/ANC[derived]", "LL"),
    ]
    assert "flag.result-cancelled-after" not in [i.code for i in conv.issues]


@pytest.mark.parametrize(
    "collected_again",
    [
        b"20261124110000-0600",  # as sent the first time
        b"202611241100-0600",  # to the minute
        b"20261124170000+0000",  # the same moment in UTC
    ],
)
def test_a_repeated_obr_whose_specimen_gives_its_collection_time_otherwise_is_the_same_order(
    collected_again: bytes,
) -> None:
    # each OBR followed by the tube's SPM: the second's SPM-17 says the same moment written
    # otherwise, and was taken for another specimen (the preliminary leukopenia, neutropenia
    # reached conclusionCode)
    def spm(collected: bytes) -> bytes:
        return b"SPM|1|SP-26-77120^HEMLAB||BLD^Whole blood^HL70487|||||||||||||" + collected

    lines = REPEATED_OBR.rstrip(b"\r").split(b"\r")
    second = [i for i, line in enumerate(lines) if line.startswith(b"ORC|")][1]
    lines[second:second] = [spm(b"20261124110000-0600")]  # after the first OBR's results
    lines.append(spm(collected_again))
    conv = convert(b"\r".join(lines) + b"\r")
    (bundle,) = conv.bundles
    assert _conclusions(bundle) == [[], []]
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[3]", "MSG[1]/OBR[2]/ANC[derived]"]
    issues = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert [i.location for i in issues] == ["MSG[1]/OBX[1]-11"]


def _with_order_status(status: bytes) -> bytes:
    orc = b"ORC|RE|PL-88310^EHR|FL-20261124-0091^HEMLAB|"
    assert orc + b"\r" in ONCOLOGY_CBC
    return ONCOLOGY_CBC.replace(orc + b"\r", orc + b"|" + status + b"\r")


@pytest.mark.parametrize(
    ("orc_5", "status"),
    [
        (b"", "completed"),  # none sent: OBR-25 F says the order is done
        (b"CA", "revoked"),  # the order was cancelled: no longer 'completed' from OBR-25
        (b"DC", "revoked"),
        (b"HD", "on-hold"),
        (b"IP", "active"),
        (b"CM", "completed"),
        (b"ca^Canceled^HL70038", "revoked"),  # in lower case, as a coded value
    ],
)
def test_the_order_status_orc_5_gives_the_service_request_status(orc_5: bytes, status: str) -> None:
    conv = convert(_with_order_status(orc_5))
    (bundle,) = conv.bundles
    (request,) = resources(bundle, "ServiceRequest")
    assert request["status"] == status
    (report,) = resources(bundle, "DiagnosticReport")
    assert report["status"] == "final"  # OBR-25, whatever the order's status
    # the code read; its text and table, sent as if ORC-5 (an ID) were a CWE, are said so
    coded = ["MSG[1]/ORC[1]-5.2", "MSG[1]/ORC[1]-5.3"] if b"^" in orc_5 else []
    assert [i.location for i in conv.issues if "ORC[1]-5" in i.location] == coded


def test_an_unknown_order_status_leaves_the_service_request_status_to_obr_25() -> None:
    conv = convert(_with_order_status(b"ZZ"))
    (bundle,) = conv.bundles
    (request,) = resources(bundle, "ServiceRequest")
    assert request["status"] == "completed"
    (issue,) = [i for i in conv.issues if "ORC[1]-5" in i.location]
    assert (issue.severity, issue.code, issue.location, issue.text) == (
        "warning",
        "hl7v2.order-status-unknown",
        "MSG[1]/ORC[1]-5",
        "ORC-5 'ZZ' is not an order status of table 0038: ServiceRequest.status follows OBR-25",
    )


def test_two_corrections_under_repeated_obrs_of_one_order_are_ambiguous() -> None:
    # the final WBC 3.0 of the first OBR is corrected under two more OBRs of the same order, to
    # 6.4 and to 1.2: as within one OBR, the final is set aside and the later correction is in
    # doubt (its low finding stays in conclusionCode)
    def order(n: int, status: str, value: str) -> tuple[str, ...]:
        obr = (
            f"OBR|{n}|PL-88420^EHR|FL-20261124-0240^HEMLAB|58410-2^CBC panel - Blood by "
            "Automated count^LN|||20261124110000-0600|||||||||||||||20261124145500-0600|||"
        )
        obx = (
            f"OBX|{n}|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||{value}"
            f"|10*3/uL^^UCUM|4.0-11.0||||{status}|||20261124110000-0600"
        )
        return ("ORC|RE|PL-88420^EHR|FL-20261124-0240^HEMLAB", obr + status, obx)

    header = REPEATED_OBR.split(b"\rORC|", 1)[0].decode().split("\r")
    conv = convert(
        er7(*header, *order(1, "F", "3.0"), *order(2, "C", "6.4"), *order(3, "C", "1.2"))
    )
    (bundle,) = conv.bundles
    assert _conclusions(bundle) == [[], [], ["Leukopenia"]]
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[2]", "MSG[1]/OBX[3]"]
    (superseded,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert superseded.location == "MSG[1]/OBX[1]-11"
    (ambiguous,) = [i for i in conv.issues if i.code == "flag.correction-ambiguous"]
    assert (ambiguous.location, ambiguous.severity) == ("MSG[1]/OBX[3]-11", "warning")
    assert "and MSG[1]/OBX[2] (corrected) of the same code" in ambiguous.text


@pytest.mark.parametrize(("sent", "build"), [("3.8", wbc), ("0.9", anc)])
def test_a_fhir_count_per_microlitre_written_with_decimals_is_not_judged(
    sent: str, build: Any
) -> None:
    # valueQuantity 3.8 '/uL' was a WBC of 3.8 cells/µL: LL, CTCAE grade 4 and a leukopenia
    conv = convert(fhir_bundle([build(sent, ucum("/uL"), flag=[])]).encode())
    assert conv.findings == []
    (found,) = [i for i in conv.issues if i.code == "flag.scale-suspect"]
    assert found.location == "ITEM[1]/Bundle.entry[3].resource.valueQuantity"
    assert "a count per µL is a whole number of cells" in found.text
    (observation,) = resources(conv.bundles[0], "Observation")
    assert observation["valueQuantity"]["value"] == Decimal(sent)
    assert "interpretation" not in observation
    assert "conclusionCode" not in resources(conv.bundles[0], "DiagnosticReport")[0]


@pytest.mark.parametrize(
    ("sent", "build", "judged", "severity"),
    [("1250.5", anc, "L", "mild"), ("3999.5", wbc, "L", "")],
)
def test_a_fhir_count_per_microlitre_with_a_fraction_no_thousandfold_explains_is_judged(
    sent: str, build: Any, judged: str, severity: str
) -> None:
    # a calculated ANC of 1250.5 '/uL' was left unjudged as if it might mean 1,250,500 cells/µL
    conv = convert(fhir_bundle([build(sent, ucum("/uL"), flag=[])]).encode())
    (finding,) = conv.findings
    assert (finding.value_per_ul, finding.code, finding.severity) == (
        Decimal(sent),
        judged,
        severity,
    )
    assert "flag.scale-suspect" not in [i.code for i in conv.issues]
    (observation,) = resources(conv.bundles[0], "Observation")
    assert observation["interpretation"][0]["coding"][0]["code"] == judged


V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _identified(pid: str, pv1: str) -> bytes:
    return er7(
        "MSH|^~\\&|HEMLAB|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01|RV-1203|P|2.5.1",
        pid,
        pv1,
        "OBR|1|PL-7^EHR|FL-7^HEMLAB|58410-2^CBC panel - Blood^LN|||20261124093000-0600",
        "OBX|1|NM|6690-2^Leukocytes^LN||6.1|10*3/uL|4.0-11.0|N|||F",
    )


def test_identifier_types_outside_table_0203_are_written_as_text_not_as_v2_0203_codes() -> None:
    # LOCALMRN, MRN and VISITNO were written as v2-0203 codes, which a terminology validator
    # refuses as unknown codes of that system
    data = _identified(
        (
            "PID|1|77120^^^STATE^LOCALMRN|RV-2231^^^RIVERTON^MR~A-5567^^^COUNTY^MRN~~91-44^^^RIVERTON^SS"
            "||ODUYA^GRACE||19610304|F"
        ),
        "PV1|1|O|HEM^^^RIVERTON||||||||||||||||V-3391^^^RIVERTON^VISITNO",
    )
    for version in ("R4", "R5"):
        conv = convert(data, fhir_version=version, strict=True)
        (bundle,) = conv.bundles
        (patient,) = resources(bundle, "Patient")
        assert [(i["value"], i["type"]) for i in patient["identifier"]] == [
            ("RV-2231", {"coding": [{"system": V2_0203, "code": "MR"}]}),
            ("A-5567", {"text": "MRN"}),
            ("91-44", {"coding": [{"system": V2_0203, "code": "SS"}]}),
            ("77120", {"text": "LOCALMRN"}),
        ]
        (encounter,) = resources(bundle, "Encounter")
        assert [(i["value"], i["type"]) for i in encounter["identifier"]] == [
            ("V-3391", {"text": "VISITNO"})
        ]
        unknown = [
            (i.severity.value, i.location, i.text)
            for i in conv.issues
            if i.code == "hl7v2.identifier-type-unknown"
        ]
        assert unknown == [
            (
                "warning",
                "MSG[1]/PID[1]-3[2].5",
                (
                    "PID-3[2].5 identifier type 'MRN' is not in HL7 table 0203: written as the "
                    "type's text, without a v2-0203 coding"
                ),
            ),
            (
                "warning",
                "MSG[1]/PID[1]-2.5",
                (
                    "PID-2.5 identifier type 'LOCALMRN' is not in HL7 table 0203: written as the "
                    "type's text, without a v2-0203 coding"
                ),
            ),
            (
                "warning",
                "MSG[1]/PV1[1]-19.5",
                (
                    "PV1-19.5 identifier type 'VISITNO' is not in HL7 table 0203: written as the "
                    "type's text, without a v2-0203 coding"
                ),
            ),
        ]


def test_an_identifier_type_in_lower_case_is_written_as_its_table_0203_code() -> None:
    data = _identified(
        "PID|1||RV-2231^^^RIVERTON^mr~40-1187^^^RIVERTON^Pi||ODUYA^GRACE||19610304|F",
        "PV1|1|O|HEM^^^RIVERTON||||||||||||||||~V-3391^^^RIVERTON^vn",
    )
    conv = convert(data)  # not strict: PV1-19 does not repeat, a padded one is read all the same
    (bundle,) = conv.bundles
    (patient,) = resources(bundle, "Patient")
    assert [i["type"] for i in patient["identifier"]] == [
        {"coding": [{"system": V2_0203, "code": "MR"}], "text": "mr"},
        {"coding": [{"system": V2_0203, "code": "PI"}], "text": "Pi"},
    ]
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["identifier"][0]["type"] == {
        "coding": [{"system": V2_0203, "code": "VN", "display": "Visit number"}],
        "text": "vn",
    }
    assert [
        (i.severity.value, i.location, i.text)
        for i in conv.issues
        if i.code == "hl7v2.identifier-type-case"
    ] == [
        (
            "information",
            "MSG[1]/PID[1]-3.5",
            (
                "PID-3.5 identifier type 'mr' is table 0203's MR in other case: written as MR, "
                "with 'mr' as its text"
            ),
        ),
        (
            "information",
            "MSG[1]/PID[1]-3[2].5",
            (
                "PID-3[2].5 identifier type 'Pi' is table 0203's PI in other case: written as PI, "
                "with 'Pi' as its text"
            ),
        ),
        (
            "information",
            "MSG[1]/PV1[1]-19[2].5",
            (
                "PV1-19[2].5 identifier type 'vn' is table 0203's VN in other case: written as VN, "
                "with 'vn' as its text"
            ),
        ),
    ]
    assert not [i for i in conv.issues if i.code == "hl7v2.identifier-type-unknown"]


def test_table_0203_holds_every_code_of_the_hl7apy_copy_it_cites_and_the_newer_ones() -> None:
    from hl7apy.v2_8_2.tables import TABLES  # the copy the data file cites

    copied = {c for c in TABLES["HL70203"][1] if c.isupper() and " " not in c}
    codes = identifier_types()
    assert copied <= codes
    assert {"PLAC", "FILL", "PGN", "FGN"} <= codes
    assert not {"MRN", "LOCALMRN", "VISITNO"} & codes


# A lab spelling sent as a UCUM code: K/uL is kelvin per µL in UCUM.
_K_PER_UL_AS_UCUM = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124120000-0600||ORU^R01^ORU_R01|LK26112400455|P|2.5.1",
    "PID|1||LK-0099310^^^LAKESIDE^MR||OYELARAN^FUNMI||19900503|F",
    "OBR|1|PL-88402^EHR|FL-20261124-0207^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124115500-0600|||F",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|K/uL^^UCUM"
    "|4.0-11.0|L|||F|||20261124110000-0600",
)
UNIT_CODE_SENT = "http://leukoflag.org/fhir/StructureDefinition/unit-code-sent"


def test_a_lab_spelling_sent_as_a_ucum_code_is_not_kept_as_ucum() -> None:
    conv = convert(_K_PER_UL_AS_UCUM)
    (bundle,) = conv.bundles
    (observation,) = resources(bundle, "Observation")
    quantity = observation["valueQuantity"]
    assert (quantity["value"], quantity["code"]) == (Decimal("3100"), "/uL")
    kept = extension(quantity, PQ)[0]["valueQuantity"]
    assert kept == {"value": Decimal("3.1"), "unit": "K/uL"}  # not UCUM code K/uL (kelvin)
    (low_kept,) = extension(observation["referenceRange"][0]["low"], PQ)
    assert low_kept["valueQuantity"] == {"value": Decimal("4.0"), "unit": "K/uL"}
    (issue,) = [i for i in conv.issues if i.code == "units.code-not-ucum"]
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "'K/uL'" in issue.text
    assert "10*3/uL" in issue.text
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"


def test_a_fhir_lab_spelling_coded_as_ucum_keeps_its_code_aside_when_the_text_differs() -> None:
    observation = {
        "resourceType": "Observation",
        "id": "wbc-kul",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "6690-2"}]},
        "valueQuantity": {
            "value": Decimal("3.1"),
            "unit": "thousand per microliter",
            "system": "http://unitsofmeasure.org",
            "code": "K/uL",
        },
    }
    conv = convert(fhir.dumps(observation))
    (flagged,) = conv.bundles
    kept = extension(flagged["valueQuantity"], PQ)[0]["valueQuantity"]
    assert kept == {
        "extension": [{"url": UNIT_CODE_SENT, "valueString": "K/uL"}],
        "value": Decimal("3.1"),
        "unit": "thousand per microliter",
    }
    assert flagged["valueQuantity"]["value"] == Decimal("3100")
    assert [i.location for i in conv.issues if i.code == "units.code-not-ucum"] == [
        "ITEM[1]/Observation.valueQuantity"
    ]
    again = convert(fhir.dumps(flagged))  # read back: the same count, judged the same
    assert again.bundles[0]["valueQuantity"] == flagged["valueQuantity"]


def test_a_ucum_code_with_the_litre_written_l_is_kept_as_ucum() -> None:
    conv = convert(_K_PER_UL_AS_UCUM.replace(b"K/uL^^UCUM", b"10*9/l^^UCUM"))
    (observation,) = resources(conv.bundles[0], "Observation")
    kept = extension(observation["valueQuantity"], PQ)[0]["valueQuantity"]
    assert kept["system"] == "http://unitsofmeasure.org"
    assert kept["code"] == "10*9/l"
    assert not [i for i in conv.issues if i.code == "units.code-not-ucum"]


@pytest.mark.parametrize(
    ("sent", "code", "per_ul"),
    [
        ("10\\S\\9/L^^UCUM", "10^9/L", "3100"),
        ("10\\S\\3/uL^^UCUM", "10^3/uL", "3100"),
        ("10\\S\\3/mm3^^UCUM", "10^3/mm3", "3100"),
        ("10\\S\\9{cells}/L^^UCUM", "10^9{cells}/L", "3100"),
    ],
)
def test_a_ucum_code_with_ten_written_with_a_caret_is_kept_as_ucum(
    sent: str, code: str, per_ul: str
) -> None:
    # UCUM has two codes for 'the number ten for arbitrary powers': 10* and 10^ (ucum-essence,
    # §29), so 10^9/L is a UCUM code, not a lab spelling leukoflag's table had to read
    conv = convert(_K_PER_UL_AS_UCUM.replace(b"K/uL^^UCUM", sent.encode()))
    (observation,) = resources(conv.bundles[0], "Observation")
    assert observation["valueQuantity"]["value"] == Decimal(per_ul)
    kept = extension(observation["valueQuantity"], PQ)[0]["valueQuantity"]
    assert (kept["system"], kept["code"]) == ("http://unitsofmeasure.org", code)
    assert [i.code for i in conv.issues if i.code.startswith("units.")] == []
    # a FHIR valueQuantity coded so: judged, and no Issue about its unit
    quantity = {"value": Decimal("3.1"), "unit": code, "system": kept["system"], "code": code}
    observation = {
        "resourceType": "Observation",
        "id": "wbc-caret",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "6690-2"}]},
        "valueQuantity": quantity,
    }
    again = convert(fhir.dumps(observation))
    assert [(f.value_per_ul, f.code) for f in again.findings] == [(Decimal(per_ul), "L")]
    assert [i.code for i in again.issues if i.code.startswith("units.")] == []


def test_a_micro_sign_sent_in_utf8_under_a_latin1_msh18_is_read_and_the_charset_named() -> None:
    data = _K_PER_UL_AS_UCUM.replace(b"|2.5.1", b"|2.5.1|||AL|NE||8859/1").replace(
        b"|3.1|K/uL^^UCUM|4.0-11.0|", "|3100|cells/µL|4000-11000|".encode()
    )
    conv = convert(data)
    (observation,) = resources(conv.bundles[0], "Observation")
    assert observation["valueQuantity"]["value"] == Decimal("3100")
    assert extension(observation["valueQuantity"], PQ)[0]["valueQuantity"] == {
        "value": Decimal("3100"),
        "unit": "cells/ÂµL",  # the text as read, the charset declared
    }
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    codes = {i.code: i.location for i in conv.issues}
    assert codes["hl7v2.charset-suspect"] == "MSG[1]/MSH[1]-18"
    assert codes["units.unit-charset-repaired"] == "MSG[1]/OBX[1]-6"
    assert "units.unknown-unit" not in codes


@pytest.mark.parametrize(
    ("obx", "why"),
    [
        # a platelet count: out of scope, written as sent
        (b"OBX|1|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||250", "platelets"),
        # a cancelled WBC: not judged, written as sent
        (b"OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1", "X"),
    ],
)
def test_a_lab_spelling_sent_as_a_ucum_code_is_not_ucum_in_a_result_written_as_sent(
    obx: bytes, why: str
) -> None:
    # the value and range of a result written as sent kept code K/uL with the UCUM system
    # (kelvin per µL), while a judged count's kept quantity already dropped it
    message = _K_PER_UL_AS_UCUM.replace(
        b"OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1", obx
    )
    if why == "X":
        message = message.replace(b"|L|||F|||", b"|L|||X|||")
    conv = convert(message)
    (observation,) = resources(conv.bundles[0], "Observation")
    value = Decimal("250") if why == "platelets" else Decimal("3.1")
    assert observation["valueQuantity"] == {"value": value, "unit": "K/uL"}, why
    (sent_range,) = observation["referenceRange"]
    assert sent_range["low"] == {"value": Decimal("4.0"), "unit": "K/uL"}
    assert sent_range["high"] == {"value": Decimal("11.0"), "unit": "K/uL"}
    (issue,) = [i for i in conv.issues if i.code == "units.code-not-ucum"]
    assert issue.location == "MSG[1]/OBX[1]-6"
    assert "the quantity written as sent keeps it as unit text" in issue.text


def test_a_ucum_code_of_a_result_written_as_sent_is_kept_as_ucum() -> None:
    message = _K_PER_UL_AS_UCUM.replace(b"|L|||F|||", b"|L|||X|||").replace(
        b"K/uL^^UCUM", b"10*3/uL^^UCUM"
    )
    (observation,) = resources(convert(message).bundles[0], "Observation")
    assert observation["valueQuantity"]["code"] == "10*3/uL"
    assert observation["valueQuantity"]["system"] == "http://unitsofmeasure.org"


def _wbc_with_range_coded(code: str) -> dict[str, Any]:
    ucum = "http://unitsofmeasure.org"
    return {
        "resourceType": "Observation",
        "id": "wbc-range-kul",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "6690-2"}]},
        "valueQuantity": {
            "value": Decimal("3.1"),
            "unit": "10*3/uL",
            "system": ucum,
            "code": "10*3/uL",
        },
        "referenceRange": [
            {
                "low": {"value": Decimal("4.0"), "unit": code, "system": ucum, "code": code},
                "high": {"value": Decimal("11.0"), "unit": code, "system": ucum, "code": code},
            }
        ],
    }


def test_a_fhir_range_limit_coding_a_lab_spelling_as_ucum_says_so() -> None:
    # the limits' K/uL coded as UCUM were kept as unit text without a word, while the same code
    # on the value gives units.code-not-ucum
    conv = convert(fhir.dumps(_wbc_with_range_coded("K/uL")))
    (flagged,) = conv.bundles
    low = flagged["referenceRange"][0]["low"]
    assert extension(low, PQ)[0]["valueQuantity"] == {"value": Decimal("4.0"), "unit": "K/uL"}
    (issue,) = [i for i in conv.issues if i.code == "units.code-not-ucum"]
    assert issue.location == "ITEM[1]/Observation.referenceRange[0]"
    assert "the reference range's unit code 'K/uL'" in issue.text
    assert [f.code for f in conv.findings] == ["L"]


def test_a_fhir_range_limit_in_a_ucum_code_says_nothing() -> None:
    conv = convert(fhir.dumps(_wbc_with_range_coded("10*3/uL")))
    assert "units.code-not-ucum" not in [i.code for i in conv.issues]


def test_a_fhir_range_coded_as_its_value_is_told_once_at_the_value() -> None:
    observation = _wbc_with_range_coded("K/uL")
    observation["valueQuantity"].update(unit="K/uL", code="K/uL")
    conv = convert(fhir.dumps(observation))
    assert [i.location for i in conv.issues if i.code == "units.code-not-ucum"] == [
        "ITEM[1]/Observation.valueQuantity"
    ]
