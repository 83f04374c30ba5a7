"""One Bundle per HL7 v2 message: resources, references, statuses, values written as sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import pytest
from fhir_builders import (
    ADULT,
    ANC,
    HGB,
    MSG,
    NEUT_PCT,
    UCUM,
    V3,
    VISIT,
    assert_valid,
    day,
    extension,
    flagged,
    lab_range,
    message,
    obr,
    obx,
    one,
    resources,
    spm,
    target,
    ts,
    write,
)
from fhir_messages import er7

import leukoflag
from leukoflag import fhir
from leukoflag.model import (
    CodedResult,
    Coding,
    Concept,
    Identifier,
    Issue,
    NoValue,
    Number,
    NumberRange,
    Ratio,
    ReportStatus,
    ResultStatus,
    Specimen,
    Text,
    Timestamp,
    Unit,
)

V2_0078 = "http://terminology.hl7.org/CodeSystem/v2-0078"
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def _cbc() -> tuple[dict[str, Any], tuple[Issue, ...]]:
    results = (
        obx(1, "3.4", reference=lab_range("4.0-11.0", "4.0", "11.0")),
        obx(
            2,
            "13.1",
            code=HGB,
            unit=Unit("g/dL", "g/dL", UCUM),
            reference=lab_range("12.0-16.0", "12.0", "16.0"),
        ),
        obx(3, "1.1", code=ANC, reference=lab_range("1.5-8.0", "1.5", "8.0"), flags=("L",)),
        obx(4, "32.4", code=NEUT_PCT, unit=Unit("%", "%", UCUM)),
    )
    return flagged(message(obr(*results, specimens=(spm(1),))))


def test_one_bundle_holds_every_resource_of_the_message_and_one_provenance() -> None:
    bundle, _ = _cbc()
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == [
        "Patient",
        "Encounter",
        "ServiceRequest",
        "Specimen",
        "DiagnosticReport",
        "Observation",
        "Observation",
        "Observation",
        "Observation",
        "Provenance",
    ]


def test_every_reference_resolves_inside_the_bundle_and_it_validates() -> None:
    bundle, _ = _cbc()
    assert_valid(bundle, "R4")
    report = one(bundle, "DiagnosticReport")
    assert target(bundle, report["subject"])["resourceType"] == "Patient"
    assert target(bundle, report["basedOn"][0])["resourceType"] == "ServiceRequest"
    assert [target(bundle, r)["resourceType"] for r in report["result"]] == ["Observation"] * 4
    for observation in resources(bundle, "Observation"):
        assert target(bundle, observation["specimen"])["resourceType"] == "Specimen"
        assert target(bundle, observation["encounter"])["resourceType"] == "Encounter"


def test_transaction_entries_put_each_resource_on_its_own_id() -> None:
    bundle, _ = _cbc()
    assert bundle["type"] == "transaction"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{resource['resourceType']}/{resource['id']}",
        }


def test_collection_bundle_has_no_requests() -> None:
    bundle, _ = write(message(obr(obx(1, "6.1"))), bundle_type="collection")
    assert bundle["type"] == "collection"
    assert all("request" not in entry for entry in bundle["entry"])
    assert_valid(bundle)


def test_message_metadata_is_on_the_bundle_and_its_provenance() -> None:
    bundle, _ = _cbc()
    assert bundle["identifier"] == {
        "value": "RVL20261124090241-0042",
        "assigner": {"display": "RIVERSIDE_LIS^RVS_HOSP"},
    }
    assert bundle["timestamp"] == "2026-11-24T09:02:41-05:00"
    provenance = one(bundle, "Provenance")
    assert provenance["recorded"] == "2026-11-24T09:02:41-05:00"
    assert len(provenance["target"]) == len(bundle["entry"]) - 1
    assert provenance["entity"][0]["what"]["identifier"] == {"value": "RVL20261124090241-0042"}
    (source,) = extension(
        provenance, "http://leukoflag.org/fhir/StructureDefinition/source-message"
    )
    fields = {sub["url"]: sub["valueString"] for sub in source["extension"]}
    assert fields["messageType"] == "ORU^R01^ORU_R01"
    assert fields["receivingApplication"] == "EHR"
    assert fields["version"] == "2.5.1"


def test_patient_encounter_order_and_specimen_carry_identifiers_with_systems() -> None:
    bundle, _ = _cbc()
    patient = one(bundle, "Patient")
    assert patient["identifier"][0]["system"] == "urn:oid:2.16.840.1.113883.19.5"
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert patient["name"] == [{"family": "Lindqvist", "given": ["Maren", "J"]}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1979-04-02")
    encounter = one(bundle, "Encounter")
    assert encounter["class"]["code"] == "AMB"  # table 0004 O → v3 ActCode AMB
    assert encounter["identifier"][0]["value"] == "V-55120"
    request = one(bundle, "ServiceRequest")
    assert [i["type"]["coding"][0]["code"] for i in request["identifier"]] == ["PLAC", "FILL"]
    assert request["identifier"][1]["assigner"] == {"display": "RIVERSIDE LAB"}
    assert (request["status"], request["intent"]) == ("completed", "order")
    assert request["requester"] == {"display": "4411 Okafor, Ngozi"}
    assert one(bundle, "Specimen")["identifier"][0]["value"] == "S26-0001"


def test_report_carries_status_code_times_and_results() -> None:
    bundle, _ = _cbc()
    report = one(bundle, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["code"]["coding"][0]["code"] == "58410-2"
    assert report["effectiveDateTime"] == "2026-11-24T07:50:00-05:00"
    assert report["issued"] == "2026-11-24T09:02:41-05:00"
    assert [i["type"]["coding"][0]["code"] for i in report["identifier"]] == ["PLAC", "FILL"]


def test_results_not_in_scope_are_written_as_sent() -> None:
    bundle, _ = _cbc()
    hemoglobin = resources(bundle, "Observation")[1]
    assert hemoglobin["valueQuantity"] == {
        "value": Decimal("13.1"),
        "unit": "g/dL",
        "system": UCUM,
        "code": "g/dL",
    }
    assert hemoglobin["referenceRange"] == [
        {
            "low": {"value": Decimal("12.0"), "unit": "g/dL", "system": UCUM, "code": "g/dL"},
            "high": {"value": Decimal("16.0"), "unit": "g/dL", "system": UCUM, "code": "g/dL"},
            "text": "12.0-16.0",
        }
    ]
    assert "interpretation" not in hemoglobin


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (
            Number(Decimal("0.30"), "0.30"),
            {
                "valueQuantity": {
                    "value": Decimal("0.30"),
                    "unit": "K/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                }
            },
        ),
        (
            Number(Decimal("15"), ">15", ">"),
            {
                "valueQuantity": {
                    "value": Decimal("15"),
                    "comparator": ">",
                    "unit": "K/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                }
            },
        ),
        (
            NumberRange(Decimal("1.0"), Decimal("2.0"), "1.0-2.0"),
            {
                "valueRange": {
                    "low": {
                        "value": Decimal("1.0"),
                        "unit": "K/uL",
                        "system": UCUM,
                        "code": "10*3/uL",
                    },
                    "high": {
                        "value": Decimal("2.0"),
                        "unit": "K/uL",
                        "system": UCUM,
                        "code": "10*3/uL",
                    },
                }
            },
        ),
        (
            Ratio(Decimal(1), Decimal(128), "1:128"),
            {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 128}}},
        ),
        (Text("see comment"), {"valueString": "see comment"}),
        (
            CodedResult(Concept((Coding("260385009", "Negative", "http://snomed.info/sct"),))),
            {
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "260385009",
                            "display": "Negative",
                        }
                    ]
                }
            },
        ),
    ],
)
def test_value_types_are_written_per_the_v2_to_fhir_ig(
    value: object, written: dict[str, object]
) -> None:
    result = obx(1, value, code=Concept((Coding("XX1", "Local test"),)))  # type: ignore[arg-type]
    bundle, _ = write(message(obr(result)))
    observation = one(bundle, "Observation")
    assert {k: v for k, v in observation.items() if k.startswith("value")} == written
    assert_valid(bundle)


def test_senders_flags_are_all_kept_when_leukoflag_does_not_judge() -> None:
    result = obx(1, "13.1", code=HGB, unit=Unit("g/dL"), flags=("L", "A", "AC"))
    bundle, issues = write(message(obr(result)))
    assert one(bundle, "Observation")["interpretation"] == [
        {"coding": [{"system": V3, "code": "L", "display": "Low"}]},
        {"coding": [{"system": V3, "code": "A", "display": "Abnormal"}]},
        {
            "coding": [
                {
                    "system": V2_0078,
                    "code": "AC",
                    "display": "Anti-complementary substances present",
                }
            ]
        },
    ]
    assert issues == ()


def test_unknown_flag_is_written_without_system_and_reported() -> None:
    result = obx(1, "13.1", code=HGB, unit=Unit("g/dL"), flags=("L<",))
    bundle, issues = write(message(obr(result)))
    assert one(bundle, "Observation")["interpretation"] == [{"coding": [{"code": "L<"}]}]
    assert [(i.code, i.location) for i in issues] == [
        ("fhir.interpretation-unknown", f"{MSG}/OBX[1]-8")
    ]


def test_unknown_flag_keeps_the_senders_display() -> None:
    # OBX-8 LOW^Below range^HL70078: the code alone told the EHR nothing.
    result = dataclasses.replace(
        obx(1, "13.1", code=HGB, unit=Unit("g/dL")),
        sender_flags=(Coding("LOW", "Below range", system_name="HL70078"),),
    )
    bundle, issues = write(message(obr(result)))
    assert one(bundle, "Observation")["interpretation"] == [
        {"coding": [{"code": "LOW", "display": "Below range"}]}
    ]
    assert [i.code for i in issues] == ["fhir.interpretation-unknown"]
    assert_valid(bundle)


def test_a_flag_of_a_local_system_keeps_its_system_and_display() -> None:
    # OBX-8 LOW^Below range^99LOCAL (v2.7 CWE): the lab's own code, under its own system (the
    # V2-to-FHIR IG's CWE.3), not one "in neither table 0078 nor v3" written without a system
    result = dataclasses.replace(
        obx(1, "13.1", code=HGB, unit=Unit("g/dL")),
        sender_flags=(Coding("LOW", "Below range", system_name="99LOCAL"),),
    )
    bundle, issues = write(message(obr(result)))
    assert one(bundle, "Observation")["interpretation"] == [
        {
            "coding": [
                {
                    "system": "http://leukoflag.org/fhir/CodeSystem/v2-named/99LOCAL",
                    "code": "LOW",
                    "display": "Below range",
                }
            ]
        }
    ]
    assert [i.code for i in issues] == []
    assert_valid(bundle)


def test_cancelled_result_is_data_absent_not_performed() -> None:
    result = obx(1, NoValue("empty"), status=ResultStatus.CANCELLED)
    bundle, _ = write(message(obr(result)))
    observation = one(bundle, "Observation")
    assert observation["status"] == "cancelled"
    assert observation["dataAbsentReason"] == {
        "coding": [{"system": DAR, "code": "not-performed", "display": "Not Performed"}]
    }
    assert not any(k.startswith("value") for k in observation)


def test_not_asked_and_masked_results_keep_their_reason() -> None:
    asked = obx(1, NoValue("empty"), status=ResultStatus.FINAL, data_absent_reason="not-asked")
    masked = obx(2, NoValue("masked", "***.**"))
    bundle, _ = write(message(obr(asked, masked)))
    first, second = resources(bundle, "Observation")
    assert first["dataAbsentReason"]["coding"][0]["code"] == "not-asked"
    assert second["dataAbsentReason"] == {
        "coding": [{"system": DAR, "code": "masked", "display": "Masked"}],
        "text": "***.**",
    }


def test_final_result_whose_value_was_sent_before_has_no_data_absent_reason() -> None:
    # OBX-11 U without OBX-5: the lab has the value (sent earlier as preliminary); "unknown"
    # would tell the EHR the final WBC has none
    result = obx(1, NoValue("sent-before"), status=ResultStatus.FINAL)
    bundle, _ = write(message(obr(result)))
    observation = one(bundle, "Observation")
    assert observation["status"] == "final"
    assert "dataAbsentReason" not in observation
    assert not any(k.startswith("value") for k in observation)
    assert_valid(bundle)


def test_pending_result_without_value_has_no_data_absent_reason() -> None:
    bundle, _ = write(message(obr(obx(1, NoValue("empty"), status=ResultStatus.REGISTERED))))
    observation = one(bundle, "Observation")
    assert observation["status"] == "registered"
    assert "dataAbsentReason" not in observation


@pytest.mark.parametrize(
    "status",
    [
        ResultStatus.CORRECTED,
        ResultStatus.AMENDED,
        ResultStatus.ENTERED_IN_ERROR,
        ResultStatus.PRELIMINARY,
    ],
)
def test_result_status_is_written_as_mapped(status: ResultStatus) -> None:
    bundle, _ = write(message(obr(obx(1, "5.0", status=status))))
    assert one(bundle, "Observation")["status"] == status.value


@pytest.mark.parametrize(
    ("report", "request_status"),
    [
        (ReportStatus.PARTIAL, "active"),
        (ReportStatus.CORRECTED, "completed"),
        (ReportStatus.CANCELLED, "revoked"),
        (ReportStatus.UNKNOWN, "unknown"),
    ],
)
def test_report_status_and_order_status_follow_obr25(
    report: ReportStatus, request_status: str
) -> None:
    bundle, _ = write(message(obr(obx(1, "5.0"), status=report)))
    assert one(bundle, "DiagnosticReport")["status"] == report.value
    assert one(bundle, "ServiceRequest")["status"] == request_status
    assert_valid(bundle)


def test_obx_after_spm_is_kept_with_focus_on_its_specimen_and_listed_in_the_report() -> None:
    under_obr = obx(1, "6.2")
    about_specimen = obx(
        2,
        Text("hemolyzed"),
        code=Concept((Coding("SPCOND", "Specimen condition"),)),
        unit=None,
        specimen=f"{MSG}/SPM[2]",
    )
    order = obr(under_obr, about_specimen, specimens=(spm(1), spm(2, "SER", "Serum")))
    bundle, _ = write(message(order))
    first, second = resources(bundle, "Observation")
    assert "focus" not in first
    assert target(bundle, second["focus"][0])["type"]["coding"][0]["code"] == "SER"
    assert second["specimen"] == second["focus"][0]
    assert {"reference": f"urn:uuid:{second['id']}"} in one(bundle, "DiagnosticReport")["result"]
    assert_valid(bundle)


def test_notes_performers_method_device_and_analysis_time_are_written() -> None:
    result = obx(
        1,
        Number(Decimal("4.2"), "4.2 repeated", comment="repeated after dilution"),
        notes=("Verified by second analyzer.",),
        performers=("RIVERSIDE CORE LAB",),
        method=Concept((Coding("AUTO", "Automated count"),)),
        device="XN-1000^SYSMEX",
        analysis_time=ts("2026-11-24T08:41:10-05:00"),
        sub_id="1",
        effective=ts("2026-11-24T07:48:00-05:00"),
    )
    bundle, _ = write(message(obr(result)))
    observation = one(bundle, "Observation")
    assert observation["note"] == [
        {"text": "repeated after dilution"},
        {"text": "Verified by second analyzer."},
    ]
    assert observation["performer"] == [{"display": "RIVERSIDE CORE LAB"}]
    assert observation["method"] == {"coding": [{"code": "AUTO", "display": "Automated count"}]}
    assert observation["device"]["identifier"] == {"value": "XN-1000^SYSMEX"}
    assert observation["effectiveDateTime"] == "2026-11-24T07:48:00-05:00"
    (analysis,) = extension(
        observation, "http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time"
    )
    assert analysis["valueDateTime"] == "2026-11-24T08:41:10-05:00"
    (sub,) = extension(observation, "http://hl7.org/fhir/StructureDefinition/observation-v2-subid")
    assert sub["extension"] == [{"url": "original-sub-identifier", "valueString": "1"}]
    assert_valid(bundle)


def test_result_without_obx14_takes_the_obr7_8_period() -> None:
    order = obr(obx(1, "5.5"), effective_end=ts("2026-11-24T08:05:00-05:00"))
    bundle, _ = write(message(order))
    assert one(bundle, "Observation")["effectivePeriod"] == {
        "start": "2026-11-24T07:50:00-05:00",
        "end": "2026-11-24T08:05:00-05:00",
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-24T08:05:00-05:00", "2026-11-24T07:50:00-05:00"),
        ("2026-11-24T08:05:00-05:00", "2026-11-24T13:00:00+00:00"),  # 08:00 in New York
        ("2026-11-24", "2026-11-23"),
    ],
)
def test_obr8_before_obr7_is_left_out_rather_than_an_inverted_period(start: str, end: str) -> None:
    # It was written as effectivePeriod {start, end} with end before start (FHIR per-1).
    as_sent = ts if "T" in start else day
    order = obr(obx(1, "5.5"), effective=as_sent(start), effective_end=as_sent(end))
    bundle, issues = write(message(order))
    for resource in (one(bundle, "DiagnosticReport"), one(bundle, "Observation")):
        assert "effectivePeriod" not in resource
        assert resource["effectiveDateTime"] == start
    (inverted,) = [i for i in issues if i.code == "fhir.period-inverted"]
    assert inverted.location == f"{MSG}/OBR[1]-8"
    assert_valid(bundle)


def test_obr8_that_may_overlap_obr7_at_another_precision_keeps_the_period() -> None:
    order = obr(
        obx(1, "5.5"), effective=day("2026-11-24"), effective_end=ts("2026-11-24T08:05:00-05:00")
    )
    bundle, issues = write(message(order))
    assert one(bundle, "Observation")["effectivePeriod"] == {
        "start": "2026-11-24",
        "end": "2026-11-24T08:05:00-05:00",
    }
    assert not [i for i in issues if i.code == "fhir.period-inverted"]


def test_times_without_offset_are_not_written_as_instants() -> None:
    local_time = ts("2026-11-24")
    msg = message(obr(obx(1, "5.5"), issued=local_time), timestamp=local_time)
    bundle, issues = write(msg)
    assert "timestamp" not in bundle
    assert "issued" not in one(bundle, "DiagnosticReport")
    provenance = one(bundle, "Provenance")
    assert "recorded" not in provenance
    assert provenance["_recorded"]["extension"][0]["valueCode"] == "unknown"
    assert sorted(i.location for i in issues if i.code == "fhir.timestamp-not-instant") == [
        f"{MSG}/MSH[1]-7",
        f"{MSG}/OBR[1]-22",
    ]
    assert_valid(bundle)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_msh_7_without_offset_says_that_the_provenance_is_not_recorded_either(
    version: Literal["R4", "R5"],
) -> None:
    # MSH-7 is both Bundle.timestamp and Provenance.recorded: the Issue at MSH-7 named only
    # the timestamp, though the Provenance has no recorded time either (R5: none at all).
    msg = message(obr(obx(1, "5.5")), timestamp=ts("2026-11-24"))
    bundle, issues = write(msg, fhir_version=version)
    assert "recorded" not in one(bundle, "Provenance")
    said = (
        "'20261124' has no time of day with a known offset, which Bundle.timestamp and "
        "Provenance.recorded (FHIR instants) need; neither written"
    )
    assert [(i.location, i.text) for i in issues if i.code == "fhir.timestamp-not-instant"] == [
        (f"{MSG}/MSH[1]-7", said)
    ]
    assert_valid(bundle, version)


def test_times_fhir_cannot_hold_are_reported_at_their_field() -> None:
    # An analyzer clock with ten decimals, and a report time keyed in with offset +14:30 (no
    # such zone): OBX-19 vanished without an Issue, and OBR-22 was said to lack an offset.
    # The reader now leaves them out itself (hl7v2.timestamp-invalid), so the writer sees none.
    data = er7(
        "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124101522-0600||ORU^R01|LK-5521|P|2.5.1",
        "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO||19580212|M",
        "OBR|1|PL-1^EHR|FL-1^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
        "|||20261124093000-0600|||||||||||||||20261124101000+1430|||F",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.1"
        "|10*3/uL^^UCUM|4.0-11.0||||F|||20261124093000-0600||||XN-1^SYSMEX"
        "|20261124094110.0123456789-0600",
        "OBX|2|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||14.1|g/dL^^UCUM|13.5-17.5||||F"
        "|||20261124093000-0600||||XN-1^SYSMEX|20261124094110.0123456789-0600",
    )
    conv = leukoflag.convert(data)
    (bundle,) = conv.bundles
    analysis = "http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time"
    for observation in resources(bundle, "Observation"):
        assert not extension(observation, analysis)
    assert "issued" not in one(bundle, "DiagnosticReport")
    invalid = [i.location for i in conv.issues if i.code == "hl7v2.timestamp-invalid"]
    assert sorted(invalid) == [f"{MSG}/OBR[1]-22", f"{MSG}/OBX[1]-19", f"{MSG}/OBX[2]-19"]
    assert not [i for i in conv.issues if i.code == "fhir.timestamp-invalid"]
    assert not [i for i in conv.issues if i.code == "fhir.timestamp-not-instant"]


def test_order_without_patient_keeps_its_identifiers_on_the_report() -> None:
    bundle, issues = write(message(obr(obx(1, "5.5")), patient=None, visit=None))
    assert resources(bundle, "ServiceRequest") == []
    report = one(bundle, "DiagnosticReport")
    assert [i["type"]["coding"][0]["code"] for i in report["identifier"]] == ["PLAC", "FILL"]
    assert "subject" not in one(bundle, "Observation")
    assert {i.code for i in issues} == {"fhir.order-without-patient"}
    assert_valid(bundle)


@pytest.mark.parametrize(
    ("orc12", "obr16", "field"),
    [
        ("3321^ABERNATHY^LOUISE", "", "ORC[1]-12"),
        ("", "3321^ABERNATHY^LOUISE", "OBR[1]-16"),
        ("4410^OKAFOR^NGOZI", "3321^ABERNATHY^LOUISE", "OBR[1]-16"),
    ],
)
def test_ordering_provider_left_out_for_want_of_a_patient_is_reported_where_it_was_sent(
    orc12: str, obr16: str, field: str
) -> None:
    # A point-of-care feed without PID: the provider from ORC-12 was reported at OBR-16, empty.
    data = er7(
        "MSH|^~\\&|POCLAB|LAKESIDE|EHR|LAKESIDE|20261124101522-0600||ORU^R01|LK-6610|P|2.5.1",
        f"ORC|RE|PL-9^EHR|FL-9^POCLAB|||||||||{orc12}",
        "OBR|1|PL-9^EHR|FL-9^POCLAB|58410-2^CBC panel - Blood by Automated count^LN"
        f"|||20261124093000-0600|||||||||{obr16}||||||20261124101000-0600|||F",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.1"
        "|10*3/uL^^UCUM|4.0-11.0||||F",
    )
    conv = leukoflag.convert(data)
    (provider,) = [
        i for i in conv.issues if i.code == "fhir.order-without-patient" and "provider" in i.text
    ]
    assert provider.location == f"{MSG}/{field}"
    assert "ABERNATHY" in provider.text.upper()


def test_specimen_source_in_obr15_becomes_a_specimen_when_there_is_no_spm() -> None:
    source = Concept(
        (Coding("BLD", "Whole blood", "http://terminology.hl7.org/CodeSystem/v2-0070"),)
    )
    bundle, _ = write(message(obr(obx(1, "5.5"), specimen_source=source)))
    specimen = one(bundle, "Specimen")
    assert specimen["type"]["coding"][0]["code"] == "BLD"
    assert target(bundle, one(bundle, "Observation")["specimen"]) == specimen


def test_obr15_specimen_listed_by_the_reader_is_written_once_without_an_issue() -> None:
    # v2.3/2.4: the HL7 v2 reader gives OBR-15 both as specimen_source and as a Specimen
    # located at OBR[1]-15 (with the OBR-7 collection and OBR-14 received times).
    kind = Concept((Coding("BLD", "Whole blood", "http://terminology.hl7.org/CodeSystem/v2-0070"),))
    from_obr = Specimen(
        location=f"{MSG}/OBR[1]-15",
        type=kind,
        collected=ts("2026-11-24T07:50:00-05:00"),
        received=ts("2026-11-24T08:05:00-05:00"),
    )
    bundle, issues = write(message(obr(obx(1, "5.5"), specimens=(from_obr,), specimen_source=kind)))
    specimen = one(bundle, "Specimen")
    assert specimen["type"]["coding"][0]["code"] == "BLD"
    assert specimen["receivedTime"] == "2026-11-24T08:05:00-05:00"
    assert specimen["collection"] == {"collectedDateTime": "2026-11-24T07:50:00-05:00"}
    assert target(bundle, one(bundle, "Observation")["specimen"]) == specimen
    assert one(bundle, "DiagnosticReport")["specimen"] == [one(bundle, "Observation")["specimen"]]
    assert issues == ()


def test_obr15_specimen_listed_next_to_spm_segments_is_reported_not_written() -> None:
    kind = Concept((Coding("BLD", "Whole blood", "http://terminology.hl7.org/CodeSystem/v2-0070"),))
    from_obr = Specimen(location=f"{MSG}/OBR[1]-15", type=kind)
    bundle, issues = write(
        message(obr(obx(1, "5.5"), specimens=(from_obr, spm(1)), specimen_source=kind))
    )
    (specimen,) = resources(bundle, "Specimen")
    assert specimen["identifier"][0]["value"] == "S26-0001"
    assert target(bundle, one(bundle, "Observation")["specimen"]) == specimen
    assert [(i.code, i.location) for i in issues] == [
        ("fhir.specimen-source-unmapped", f"{MSG}/OBR[1]-15")
    ]
    assert issues[0].text.endswith(f"({MSG}/SPM[1])")


def test_v24_message_with_obr15_converts_to_one_specimen_and_no_writer_issue() -> None:
    raw = er7(
        "MSH|^~\\&|KIDSLAB|MAPLEWOOD|EHR|MAPLEWOOD|20261123161004+0100||ORU^R01|MW-4471-0031|P|2.4",
        "PID|1||MW778120^^^MAPLEWOOD^MR||SOUSA^INES||19880618|F",
        "OBR|1||MW-L-55340|CBC^Full blood count^L|||20261123152000+0100|||||||"
        "20261123153500+0100|BLDV&Venous blood&HL70070||||||||20261123160500+0100|||F",
        "OBX|1|NM|6690-2^WBC^LN||3.1|10*3/uL^^UCUM|4.0-11.0|L|||F",
    )
    conversion = leukoflag.convert(raw)
    (bundle,) = conversion.bundles
    (specimen,) = resources(bundle, "Specimen")
    assert specimen["type"]["coding"][0]["code"] == "BLDV"
    assert specimen["receivedTime"] == "2026-11-23T15:35:00+01:00"
    assert target(bundle, one(bundle, "Observation")["specimen"]) == specimen
    assert [i.code for i in conversion.issues if i.code.startswith("fhir.")] == []


def test_control_specimen_role_is_a_cross_version_extension_in_r4_and_role_in_r5() -> None:
    role = Concept(
        (Coding("Q", "Control specimen", "http://terminology.hl7.org/CodeSystem/v2-0369"),)
    )
    msg = message(obr(obx(1, "5.5"), specimens=(spm(1, role=role, is_control=True),)))
    r4, _ = write(msg)
    r5, _ = write(msg, fhir_version="R5")
    (kept,) = extension(
        one(r4, "Specimen"), "http://hl7.org/fhir/5.0/StructureDefinition/extension-Specimen.role"
    )
    assert kept["valueCodeableConcept"]["coding"][0]["code"] == "Q"
    assert one(r5, "Specimen")["role"][0]["coding"][0]["code"] == "Q"
    assert_valid(r4, "R4")
    assert_valid(r5, "R5")


def test_r5_uses_codeable_references_and_report_notes() -> None:
    order = obr(
        obx(1, "5.5"),
        notes=("Specimen received at 08:40.",),
        specimens=(spm(1, source_site=Concept((Coding("LACF", "Left antecubital fossa"),))),),
    )
    r4, _ = write(message(order))
    r5, _ = write(message(order), fhir_version="R5")
    assert one(r4, "ServiceRequest")["code"]["coding"][0]["code"] == "58410-2"
    assert one(r5, "ServiceRequest")["code"]["concept"]["coding"][0]["code"] == "58410-2"
    assert one(r4, "Specimen")["collection"]["bodySite"]["coding"][0]["code"] == "LACF"
    assert one(r5, "Specimen")["collection"]["bodySite"]["concept"]["coding"][0]["code"] == "LACF"
    (note,) = extension(
        one(r4, "DiagnosticReport"),
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-DiagnosticReport.note",
    )
    assert note["valueAnnotation"] == {"text": "Specimen received at 08:40."}
    assert one(r5, "DiagnosticReport")["note"] == [{"text": "Specimen received at 08:40."}]
    assert one(r4, "Encounter")["class"]["code"] == "AMB"
    assert one(r5, "Encounter")["class"][0]["coding"][0]["code"] == "AMB"
    assert one(r5, "Encounter")["participant"][0]["actor"] == {"display": "7702 Haddad, Samir"}
    assert_valid(r4, "R4")
    assert_valid(r5, "R5")


def test_unknown_patient_class_is_reported_and_r4_class_says_unknown() -> None:
    msg = message(obr(obx(1, "5.5")), visit=dataclasses.replace(VISIT, patient_class="Z"))
    bundle, issues = write(msg)
    assert one(bundle, "Encounter")["class"]["code"] == "UNK"
    assert [i.code for i in issues] == ["fhir.patient-class-unknown"]


@pytest.mark.parametrize(("sent", "code"), [("i", "IMP"), ("e", "EMER"), ("o", "AMB"), ("b", "B")])
def test_patient_class_sent_in_lower_case_is_read_as_its_table_0004_code(
    sent: str, code: str
) -> None:
    # PV1-2 'i' was 'not in HL7 table 0004' and the inpatient's Encounter.class was UNK: table
    # 0004's codes are all upper case, so 'i' can only be I (as PID-8 'm' is M, OBX-11 'f' F)
    msg = message(obr(obx(1, "5.5")), visit=dataclasses.replace(VISIT, patient_class=sent))
    bundle, issues = write(msg)
    r5, _ = write(msg, fhir_version="R5")
    assert one(bundle, "Encounter")["class"]["code"] == code
    assert one(r5, "Encounter")["class"][0]["coding"][0]["code"] == code
    assert [i.code for i in issues] == []


def test_patient_notes_and_birth_time_are_not_lost() -> None:
    patient = dataclasses.replace(
        ADULT, birth_date=ts("2026-11-20T04:12:00-05:00"), notes=("Twin B",)
    )
    bundle, issues = write(message(obr(obx(1, "5.5")), patient=patient))
    written = one(bundle, "Patient")
    assert written["birthDate"] == "2026-11-20"
    assert written["_birthDate"]["extension"][0]["valueDateTime"] == "2026-11-20T04:12:00-05:00"
    assert [(i.code, i.location) for i in issues] == [("fhir.note-unmapped", f"{MSG}/PID[1]")]
    assert_valid(bundle)


def test_value_that_is_not_a_finite_number_is_kept_as_text() -> None:
    bundle, issues = write(message(obr(obx(1, Number(Decimal("NaN"), "NaN")))))
    assert one(bundle, "Observation")["valueString"] == "NaN"
    assert [i.code for i in issues] == ["fhir.value-not-finite"]


def test_evaluation_for_no_result_of_the_message_is_reported() -> None:
    from leukoflag.model import Evaluation

    bundle, issues = write(message(obr(obx(1, "5.5"))), (Evaluation(f"{MSG}/OBX[9]"),))
    assert [(i.code, i.location) for i in issues] == [
        ("fhir.evaluation-unmatched", f"{MSG}/OBX[9]")
    ]
    assert len(resources(bundle, "Observation")) == 1


def test_missing_codes_are_data_absent_with_an_issue() -> None:
    bundle, issues = write(message(obr(obx(1, "5.5", code=Concept()), code=Concept())))
    absent = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }
    assert one(bundle, "Observation")["code"] == absent
    assert one(bundle, "DiagnosticReport")["code"] == absent
    assert sorted(i.location for i in issues) == [f"{MSG}/OBR[1]-4", f"{MSG}/OBX[1]-3"]
    assert_valid(bundle)


def test_order_without_obr_reports_its_missing_code_at_the_order_not_at_a_field() -> None:
    data = er7(
        "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124101522-0600||ORU^R01|LK2611240042|P|2.5.1",
        "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO||19580212|M",
        "ORC|RE|PL-88311^EHR|FL-20261124-0092^HEMLAB",
        "OBX|1|NM|751-8^Neutrophils [#/volume] in Blood^LN||0.4|10*3/uL^^UCUM|1.8-7.7|LL|||F",
        "OBX|2|NM|6690-2^Leukocytes [#/volume] in Blood^LN||1.9|10*3/uL^^UCUM|4.0-11.0|LL|||F",
    )
    conversion = leukoflag.convert(data)
    found = {(i.code, i.location) for i in conversion.issues}
    # ORC-4 is the placer group number and ORC-25 the order status modifier: not OBR-4/25.
    assert ("fhir.code-missing", "MSG[1]/ORC[1]") in found
    assert not any(location.startswith("MSG[1]/ORC[1]-") for _, location in found)
    assert ("hl7v2.orc-without-obr", "MSG[1]/ORC[1]") in found


def test_several_orders_and_units_spelled_without_system() -> None:
    first = obr(obx(1, "4.4", unit=Unit("K/uL")), n=1)
    second = obr(
        obx(2, "1.9", code=ANC, unit=Unit("x10E3/uL", "10E3/uL", "99RVS"), order=2),
        n=2,
        placer_id=Identifier("ORD-7731-2"),
    )
    bundle, _ = flagged(message(first, second))
    reports = resources(bundle, "DiagnosticReport")
    assert len(reports) == 2
    assert len({r["id"] for r in reports}) == 2
    anc = resources(bundle, "Observation")[1]
    assert anc["valueQuantity"]["value"] == Decimal("1900")
    # a local unit system ("99RVS") is not a URI: the sent unit keeps its text, not its code
    (sent,) = extension(
        anc["valueQuantity"], "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
    )
    assert sent["valueQuantity"] == {"value": Decimal("1.9"), "unit": "x10E3/uL"}
    assert_valid(bundle)


def test_a_system_uri_sent_with_a_space_is_not_written_as_a_uri() -> None:
    # FHIR uri values hold no whitespace: a validator refuses "http://lab.example.org/wbc codes"
    # as Coding.system or Identifier.system. Sent so, it is a name: the coding's system is the
    # v2-named one (percent-encoded), the identifier's authority its assigner.
    data = er7(
        "MSH|^~\\&|CORELAB|NORTHSIDE|EHR|NORTHSIDE|20261201091500-0500||ORU^R01|NS-0042|P|2.5.1",
        "PID|1||M-7710^^^&http://northside.example.org/patient ids&URI^MR||DOE^JANE||19700101|F",
        "OBR|1|P1^EHR|F1^LAB|58410-2^CBC panel^LN|||20261201080000-0500|||||||||||||||||F",
        "OBX|1|NM|WBC^White cell count^http://northside.example.org/lab codes||2.1|10*3/uL^^UCUM"
        "|4.0-11.0|L|||F",
    )
    (bundle,) = leukoflag.convert(data).bundles
    (identifier,) = one(bundle, "Patient")["identifier"]
    assert "system" not in identifier
    assert identifier["assigner"] == {"display": "http://northside.example.org/patient ids"}
    coding = resources(bundle, "Observation")[0]["code"]["coding"][0]
    assert coding["system"] == (
        "http://leukoflag.org/fhir/CodeSystem/v2-named/"
        "http%3A%2F%2Fnorthside.example.org%2Flab%20codes"
    )
    assert coding["code"] == "WBC"


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_a_local_code_sent_with_a_run_of_spaces_is_written_as_a_fhir_code(
    version: Literal["R4", "R5"],
) -> None:
    # A FHIR code has no leading or trailing whitespace and no whitespace but single spaces
    # inside: a lab's fixed-width local codes ('CBC  DIFF', 'WBC  CNT') were written as sent, a
    # Bundle every validator refuses (and Settings(strict=True) rejected the message). The
    # codes are written with each run of whitespace as one space, each said where it was sent.
    data = er7(
        "MSH|^~\\&|CORELAB|NORTHSIDE|EHR|NORTHSIDE|20261201091500-0500||ORU^R01|NS-0043|P|2.5.1",
        "PID|1||M-7711^^^NORTHSIDE^MR||DOE^JANE||19700101|F",
        "OBR|1|P2^EHR|F2^LAB|CBC  DIFF^CBC with differential^99NS|||20261201080000-0500"
        "||||||||||||||||||F",
        "OBX|1|NM|WBC  CNT^White cell count^99NS||2.1|10*3/uL^^UCUM|4.0-11.0|L|||F",
        "SPM|1|S2^LAB||BLD  V^Venous blood^99NS",
        "OBX|2|CWE|SMEAR^Smear review^99NS||SEE  CMT^See comment^99NS||||||F",
    )
    conversion = leukoflag.convert(data, settings=leukoflag.Settings(fhir_version=version))
    (bundle,) = conversion.bundles
    wbc, smear = resources(bundle, "Observation")
    assert wbc["code"]["coding"][0]["code"] == "WBC CNT"
    assert wbc["interpretation"][0]["coding"][0]["code"] == "LU"  # still judged, as a WBC
    assert smear["valueCodeableConcept"]["coding"][0]["code"] == "SEE CMT"
    assert one(bundle, "DiagnosticReport")["code"]["coding"][0]["code"] == "CBC DIFF"
    assert one(bundle, "Specimen")["type"]["coding"][0]["code"] == "BLD V"
    respaced = [(i.code, i.location) for i in conversion.issues if i.code == "fhir.code-respaced"]
    assert respaced == [
        ("fhir.code-respaced", f"{MSG}/SPM[1]-4"),
        ("fhir.code-respaced", f"{MSG}/OBX[1]-3"),
        ("fhir.code-respaced", f"{MSG}/OBX[2]-5"),
        ("fhir.code-respaced", f"{MSG}/OBR[1]-4"),
    ]
    assert fhir.validate(bundle, version) == []


def test_an_unknown_flag_sent_with_a_run_of_spaces_says_it_is_written_respaced() -> None:
    # OBX-8 'L  L' (a fixed-width flag in no table) was written as the code 'L L' while its
    # only Issue, fhir.interpretation-unknown, quoted 'L  L' as written "without a system":
    # the Bundle's code was not the one the Issues named, as fhir.code-respaced says elsewhere
    data = er7(
        "MSH|^~\\&|CORELAB|NORTHSIDE|EHR|NORTHSIDE|20261201091500-0500||ORU^R01|NS-0044|P|2.5.1",
        "PID|1||M-7711^^^NORTHSIDE^MR||DOE^JANE||19700101|F",
        "OBR|1|P2^EHR|F2^LAB|58410-2^CBC panel^LN|||20261201080000-0500||||||||||||||||||F",
        "OBX|1|NM|6690-2^Leukocytes^LN||2.1|10*3/uL^^UCUM|4.0-11.0|L  L|||F",
    )
    conversion = leukoflag.convert(data)
    (bundle,) = conversion.bundles
    (wbc,) = resources(bundle, "Observation")
    (sent,) = [e for e in wbc["extension"] if e["url"].endswith("/sender-interpretation")]
    assert sent["valueCodeableConcept"] == {"coding": [{"code": "L L"}]}
    flagged = [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.code.startswith("fhir.") and "OBX[1]-8" in i.location
    ]
    assert [(code, location) for code, location, _ in flagged] == [
        ("fhir.interpretation-unknown", f"{MSG}/OBX[1]-8"),
        ("fhir.code-respaced", f"{MSG}/OBX[1]-8"),
    ]
    assert "written as 'L L'" in flagged[1][2]
    assert fhir.validate(bundle, "R4") == []


def test_obr15_next_to_spm_segments_is_reported_not_duplicated() -> None:
    source = Concept(
        (Coding("BLD", "Whole blood", "http://terminology.hl7.org/CodeSystem/v2-0070"),)
    )
    bundle, issues = write(message(obr(obx(1, "5.5"), specimens=(spm(1),), specimen_source=source)))
    assert len(resources(bundle, "Specimen")) == 1
    assert [(i.code, i.location) for i in issues] == [
        ("fhir.specimen-source-unmapped", f"{MSG}/OBR[1]-15")
    ]


def test_each_derived_anc_is_written_in_the_report_of_its_own_order() -> None:
    # Three orders of one message, each a WBC and a neutrophil percentage: each derived ANC is
    # listed by its own order's report, derived from that order's two results.
    counts = (("6.2", "55"), ("3.1", "20"), ("9.8", "71"))
    segments = [
        (
            "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261125081500-0600||ORU^R01^ORU_R01"
            "|LK26112500021|P|2.5.1"
        ),
        "PID|1||LK-0051873^^^LAKESIDE^MR||OKONKWO^ADAEZE||19710309|F",
    ]
    for n, (wbc, neutrophils) in enumerate(counts, start=1):
        segments += [
            (
                f"OBR|{n}|PL-9020{n}^EHR|FL-20261125-00{n}^HEMLAB|57021-8^CBC W Auto Differential"
                f"^LN|||2026112507{n}000-0600|||||||||||||||2026112508{n}000-0600|||F"
            ),
            f"OBX|1|NM|6690-2^Leukocytes^LN||{wbc}|10*3/uL^^UCUM|4.0-11.0||||F",
            f"OBX|2|NM|770-8^Neutrophils/100 leukocytes^LN||{neutrophils}|%^^UCUM|40-75||||F",
        ]
    (bundle,) = leukoflag.convert(er7(*segments)).bundles
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    reports = resources(bundle, "DiagnosticReport")
    assert len(reports) == len(counts)
    for report, (wbc, neutrophils) in zip(reports, counts, strict=True):
        listed = [by_url[reference["reference"]] for reference in report["result"]]
        *sent, derived = listed
        # the WBC is written per microlitre (10*3/uL x 1000), the percentage as sent
        assert [o["valueQuantity"]["value"] for o in sent] == [
            Decimal(wbc) * 1000,
            Decimal(neutrophils),
        ]
        assert derived["valueQuantity"]["value"] == Decimal(wbc) * Decimal(neutrophils) * 10
        assert derived["derivedFrom"] == report["result"][:2]


@pytest.mark.parametrize(
    ("location", "collected_at", "received_at"),
    [
        (f"{MSG}/SPM[1]", f"{MSG}/SPM[1]-17", f"{MSG}/SPM[1]-18"),
        (f"{MSG}/OBR[1]-15", f"{MSG}/OBR[1]-7", f"{MSG}/OBR[1]-14"),
    ],
)
def test_specimen_time_fhir_cannot_hold_is_reported_at_its_field(
    location: str, collected_at: str, received_at: str
) -> None:
    # Both were reported at the segment (MSG[1]/SPM[1]), not at the field that held them.
    bad = Timestamp("2026112408", "2026-11-24T08", dt.date(2026, 11, 24))
    worse = Timestamp("20261124081", "2026-11-24T08:1", dt.date(2026, 11, 24))
    kind = Concept((Coding("BLD", "Whole blood", "http://terminology.hl7.org/CodeSystem/v2-0070"),))
    specimen = Specimen(location=location, type=kind, collected=bad, received=worse)
    source = kind if location.endswith("-15") else None  # the reader sets both for OBR-15
    bundle, issues = write(
        message(obr(obx(1, "5.5"), specimens=(specimen,), specimen_source=source))
    )
    written = one(bundle, "Specimen")
    assert "receivedTime" not in written
    assert "collection" not in written
    assert [(i.code, i.location) for i in issues] == [
        ("fhir.timestamp-invalid", received_at),
        ("fhir.timestamp-invalid", collected_at),
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_specimen_collection_range_is_a_collected_period(version: str) -> None:
    # SPM-17.2 was dropped: a 24-hour collection was written as collected at its start.
    specimen = spm(
        1,
        "UR",
        "Urine",
        collected=ts("2026-11-23T08:00:00-05:00"),
        collected_end=ts("2026-11-24T08:00:00-05:00"),
    )
    bundle, issues = write(
        message(obr(obx(1, "5.5", specimen=specimen.location), specimens=(specimen,))),
        fhir_version=version,
    )
    assert one(bundle, "Specimen")["collection"] == {
        "collectedPeriod": {
            "start": "2026-11-23T08:00:00-05:00",
            "end": "2026-11-24T08:00:00-05:00",
        }
    }
    assert issues == ()
    assert_valid(bundle, version)


def test_specimen_collection_end_before_its_start_is_left_out() -> None:
    specimen = spm(
        1,
        collected=ts("2026-11-24T08:00:00-05:00"),
        collected_end=ts("2026-11-23T08:00:00-05:00"),
    )
    bundle, issues = write(message(obr(obx(1, "5.5"), specimens=(specimen,))))
    assert one(bundle, "Specimen")["collection"] == {
        "collectedDateTime": "2026-11-24T08:00:00-05:00"
    }
    (inverted,) = issues
    assert (inverted.code, inverted.location) == ("fhir.period-inverted", f"{MSG}/SPM[1]-17.2")
    assert inverted.text == (
        "SPM-17.2 '202611230800000500' is before SPM-17.1 '202611240800000500', which a FHIR "
        "Period cannot say: SPM-17.2 not written"
    )
    assert_valid(bundle)


def test_specimen_collection_range_from_hl7v2_is_written_end_to_end() -> None:
    data = er7(
        "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124101522-0600||ORU^R01|LK-5522|P|2.5.1",
        "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO||19580212|M",
        "OBR|1|PL-2^EHR|FL-2^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
        "|||20261124093000-0600|||||||||||||||20261124101000-0600|||F",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.1"
        "|10*3/uL^^UCUM|4.0-11.0||||F|||20261124093000-0600",
        "SPM|1|SP-88^HEMLAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369||||||"
        "20261124092500-0600^20261124093000-0600|20261124094000-0600",
    )
    conversion = leukoflag.convert(data)
    (bundle,) = conversion.bundles
    assert one(bundle, "Specimen")["collection"] == {
        "collectedPeriod": {
            "start": "2026-11-24T09:25:00-06:00",
            "end": "2026-11-24T09:30:00-06:00",
        }
    }
    assert not [i for i in conversion.issues if i.code == "hl7v2.component-unmapped"]
