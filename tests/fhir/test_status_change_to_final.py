"""OBX-11 U ("status change to final without retransmitting results already sent as
preliminary", HL7 table 0085) after a preliminary result of the same message: the preliminary
result is written once, final with its value, and judged as a final result."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir_builders import EXPLANATION, extension, part, resources
from fhir_messages import er7

import leukoflag
from leukoflag import fhir
from leukoflag.fhir._ids import resource_id
from leukoflag.testing import fhir_bundle, wbc

MSH = (
    "MSH|^~\\&|HEMLAB|CORELAB|EHR|GENHOSP|20261124083000-0500||ORU^R01^ORU_R01|CL2611240417|P|2.5.1"
)
PID = "PID|1||MRN4411^^^GENHOSP^MR||OKAFOR^ADAEZE||19710312|F"
ORC = "ORC|RE|PL-88420^EHR|FL-0240^HEMLAB"
OBR = (
    "OBR|{n}|PL-88420^EHR|FL-0240^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124071500-0500|||||||||||||||20261124082900-0500|||{status}"
)
WBC = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN"
NEUT = "770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN"
DRAWN = "20261124071500-0500"
KEY = ("v2", "HEMLAB", "CORELAB", "CL2611240417", "20261124083000-0500")


def obr(n: int = 1, status: str = "F") -> str:
    return OBR.format(n=n, status=status)


def obx(n: int, value: str, status: str, *, code: str = WBC, flag: str = "", more: str = "") -> str:
    unit, reference = ("%", "40-75") if code == NEUT else ("10*3/uL", "4.0-11.0")
    return f"OBX|{n}|NM|{code}||{value}|{unit}|{reference}|{flag}|||{status}|||{DRAWN}{more}"


def convert(*segments: str) -> leukoflag.Conversion:
    conv = leukoflag.convert(er7(MSH, PID, ORC, *segments))
    assert conv.rejected == []
    return conv


def observations(conv: leukoflag.Conversion) -> list[dict[str, Any]]:
    (bundle,) = conv.bundles
    return resources(bundle, "Observation")


def issues(conv: leukoflag.Conversion, *codes: str) -> list[tuple[str, str]]:
    return [(i.code, i.location) for i in conv.issues if i.code in codes]


def written(conv: leukoflag.Conversion, obx_at: str) -> bool:
    (bundle,) = conv.bundles
    ids = {o["id"] for o in resources(bundle, "Observation")}
    return resource_id(KEY, "Observation", obx_at) in ids


STATUS_CODES = (
    "hl7v2.result-made-final",
    "hl7v2.preliminary-completed",
    "hl7v2.result-not-retransmitted",
    "flag.result-superseded",
    "flag.result-cancelled-after",
    "flag.report-status-disagrees",
)


def test_a_low_preliminary_wbc_made_final_by_u_is_written_final_and_concluded() -> None:
    # The lab sent the WBC of 2.1 as preliminary, then in the same message its status change to
    # final without the value (table 0085 U). The U set the P aside and was written final
    # without a value: the leukopenia reached no conclusionCode and no finding.
    conv = convert(
        obr(),
        obx(1, "2.1", "P", flag="L"),
        obx(2, "13.2", "F", code="718-7^Hemoglobin [Mass/volume] in Blood^LN"),
        obx(3, "", "U"),
    )
    wbc, _hemoglobin = observations(conv)
    assert (wbc["status"], wbc["valueQuantity"]["value"]) == ("final", Decimal("2100"))
    assert wbc["interpretation"][0]["coding"][0]["code"] == "LU"
    assert part(extension(wbc, EXPLANATION)[0], "rule") == "wbc-significantly-low"
    assert "dataAbsentReason" not in wbc
    assert written(conv, "OBX[1]")
    assert not written(conv, "OBX[3]")
    (report,) = resources(conv.bundles[0], "DiagnosticReport")
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == ["84828003"]
    assert len(report["result"]) == 2
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[1]", "LU")]
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.preliminary-completed", "MSG[1]/OBX[1]-11"),
        ("hl7v2.result-made-final", "MSG[1]/OBX[3]-11"),
    ]
    completed, made_final = (i for i in conv.issues if i.code in STATUS_CODES)
    assert completed.severity == made_final.severity == leukoflag.Severity.INFORMATION
    assert "made final by OBX-11 'U' at MSG[1]/OBX[3]" in completed.text
    assert "makes final the preliminary result MSG[1]/OBX[1] " in made_final.text
    assert "not as an Observation of its own" in made_final.text


def test_an_anc_is_derived_from_preliminary_counts_made_final() -> None:
    conv = convert(
        obr(),
        obx(1, "2.1", "P"),
        obx(2, "30", "P", code=NEUT),
        obx(3, "", "U"),
        obx(4, "", "U", code=NEUT),
    )
    derived = [o for o in observations(conv) if o["code"]["coding"][0]["code"] == "26499-4"]
    (anc,) = derived
    assert (anc["status"], anc["valueQuantity"]["value"]) == ("final", Decimal("630"))
    assert anc["interpretation"][0]["coding"][0]["code"] == "LU"
    assert {r["reference"] for r in anc["derivedFrom"]} == {
        f"urn:uuid:{resource_id(KEY, 'Observation', f'OBX[{n}]')}" for n in (1, 2)
    }
    assert not written(conv, "OBX[3]")
    assert not written(conv, "OBX[4]")
    assert "flag.report-status-disagrees" not in [i.code for i in conv.issues]


def test_the_notes_and_performer_of_the_u_go_to_the_result_it_makes_final() -> None:
    conv = convert(
        obr(),
        obx(1, "2.1", "P", flag="L"),
        "NTE|1|L|Automated count; smear pending.",
        obx(2, "", "U", more="||HEM-TECH-07^ROWE^DANA"),
        "NTE|1|L|Smear reviewed by pathologist: result confirmed.",
    )
    (wbc,) = observations(conv)
    assert wbc["status"] == "final"
    assert [n["text"] for n in wbc["note"]] == [
        "Automated count; smear pending.",
        "Smear reviewed by pathologist: result confirmed.",
    ]
    assert [p["display"] for p in wbc["performer"]] == ["DANA ROWE (HEM-TECH-07)"]


def test_a_u_sending_another_flag_keeps_the_completed_results_flag_and_says_so() -> None:
    conv = convert(obr(), obx(1, "2.1", "P", flag="L"), obx(2, "", "U", flag="N"))
    (wbc,) = observations(conv)
    assert wbc["status"] == "final"
    (issue,) = [i for i in conv.issues if i.location == "MSG[1]/OBX[2]-8"]
    assert issue.code == "hl7v2.field-unmapped"
    assert issue.text == (
        "OBX-8 of the status change is not carried: 'N'; the final Observation is "
        "MSG[1]/OBX[1]'s, which keeps its own ('L')"
    )


def test_of_several_preliminaries_the_last_before_the_u_is_made_final() -> None:
    conv = convert(
        obr(), obx(1, "2.4", "P"), obx(2, "2.1", "P"), obx(3, "", "U"), "NTE|1||Reviewed."
    )
    first, last = observations(conv)
    assert (first["status"], "interpretation" in first) == ("preliminary", False)
    assert (last["status"], last["valueQuantity"]["value"]) == ("final", Decimal("2100"))
    assert last["note"] == [{"text": "Reviewed."}]
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.preliminary-completed", "MSG[1]/OBX[2]-11"),
        ("hl7v2.result-made-final", "MSG[1]/OBX[3]-11"),
        ("flag.result-superseded", "MSG[1]/OBX[1]-11"),
    ]
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[2]"]


def test_a_u_without_a_preliminary_in_its_message_stays_final_without_value() -> None:
    conv = convert(obr(), obx(1, "", "U"))
    (wbc,) = observations(conv)
    assert wbc["status"] == "final"
    assert "valueQuantity" not in wbc
    assert "dataAbsentReason" not in wbc
    assert issues(conv, *STATUS_CODES) == [("hl7v2.result-not-retransmitted", "MSG[1]/OBX[1]-11")]


def test_a_u_after_a_final_result_completes_nothing() -> None:
    conv = convert(obr(), obx(1, "2.1", "P"), obx(2, "2.3", "F"), obx(3, "", "U"))
    preliminary, final, change = observations(conv)
    assert [o["status"] for o in (preliminary, final, change)] == ["preliminary", "final", "final"]
    assert final["interpretation"][0]["coding"][0]["code"] == "LU"
    assert "valueQuantity" not in change
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.result-not-retransmitted", "MSG[1]/OBX[3]-11"),
        ("flag.result-superseded", "MSG[1]/OBX[1]-11"),
    ]


def test_a_u_after_a_corrected_result_completes_nothing() -> None:
    conv = convert(obr(status="C"), obx(1, "2.1", "P"), obx(2, "2.6", "C"), obx(3, "", "U"))
    assert [o["status"] for o in observations(conv)] == ["preliminary", "corrected", "final"]
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[2]", "LU")]
    # the correction replaces the preliminary result and the final one alike
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.result-not-retransmitted", "MSG[1]/OBX[3]-11"),
        ("flag.result-superseded", "MSG[1]/OBX[1]-11"),
        ("flag.result-superseded", "MSG[1]/OBX[3]-11"),
    ]


def test_a_u_after_a_cancelled_result_completes_nothing_and_hides_no_low_preliminary() -> None:
    # P, then X (results cannot be obtained), then U: the last result before the U is not
    # preliminary. The valueless U replaces nothing, so the low preliminary stays judged, in
    # doubt for the X after it, as a result followed by a cancelled one is.
    conv = convert(obr(), obx(1, "2.1", "P"), obx(2, "", "X"), obx(3, "", "U"))
    assert [o["status"] for o in observations(conv)] == ["preliminary", "cancelled", "final"]
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[1]", "LU")]
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.result-not-retransmitted", "MSG[1]/OBX[3]-11"),
        ("flag.result-cancelled-after", "MSG[1]/OBX[1]-11"),
        ("flag.report-status-disagrees", "MSG[1]/OBR[1]-25"),
    ]


def test_a_u_before_its_preliminary_does_not_hide_the_low_count() -> None:
    # The U refers to a result sent as preliminary before it; a P sent after it is not made
    # final. It set the P aside as a final result replaces its preliminary one, though it
    # holds no value: the leukopenia vanished. The P is now judged as a preliminary result.
    conv = convert(obr(status="P"), obx(1, "", "U"), obx(2, "2.1", "P"))
    change, preliminary = observations(conv)
    assert (change["status"], "valueQuantity" in change) == ("final", False)
    assert preliminary["status"] == "preliminary"
    assert preliminary["interpretation"][0]["coding"][0]["code"] == "LU"
    (report,) = resources(conv.bundles[0], "DiagnosticReport")
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == ["84828003"]
    assert issues(conv, *STATUS_CODES) == [("hl7v2.result-not-retransmitted", "MSG[1]/OBX[1]-11")]


def test_a_u_carrying_its_value_is_an_ordinary_final_result() -> None:
    conv = convert(obr(), obx(1, "2.1", "P"), obx(2, "2.1", "U"))
    preliminary, final = observations(conv)
    assert [preliminary["status"], final["status"]] == ["preliminary", "final"]
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[2]", "LU")]
    assert issues(conv, *STATUS_CODES) == [("flag.result-superseded", "MSG[1]/OBX[1]-11")]


def test_a_u_of_another_sub_id_or_time_completes_nothing() -> None:
    other_time = obx(2, "", "U").replace(DRAWN, "20261124091500-0500")
    conv = convert(obr(status="P"), obx(1, "2.1", "P"), other_time)
    assert [o["status"] for o in observations(conv)] == ["preliminary", "final"]
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[1]", "LU")]
    sub_id = obx(2, "", "U").replace(f"|{WBC}||", f"|{WBC}|2|")
    conv = convert(obr(status="P"), obx(1, "2.1", "P"), sub_id)
    assert [o["status"] for o in observations(conv)] == ["preliminary", "final"]


def test_the_same_time_written_in_another_offset_is_the_same_result() -> None:
    in_utc = obx(2, "", "U").replace(DRAWN, "20261124121500+0000")
    conv = convert(obr(), obx(1, "2.1", "P"), in_utc)
    (wbc,) = observations(conv)
    assert wbc["status"] == "final"


def test_a_second_u_after_the_result_is_made_final_completes_nothing() -> None:
    conv = convert(obr(), obx(1, "2.1", "P"), obx(2, "", "U"), obx(3, "", "U"))
    completed, change = observations(conv)
    assert (completed["status"], completed["valueQuantity"]["value"]) == ("final", Decimal("2100"))
    assert (change["status"], "valueQuantity" in change) == ("final", False)
    assert issues(conv, *STATUS_CODES) == [
        ("hl7v2.preliminary-completed", "MSG[1]/OBX[1]-11"),
        ("hl7v2.result-made-final", "MSG[1]/OBX[2]-11"),
        ("hl7v2.result-not-retransmitted", "MSG[1]/OBX[3]-11"),
    ]
    assert [f.location for f in conv.findings] == ["MSG[1]/OBX[1]"]


def test_a_u_under_the_order_sent_again_makes_the_first_obrs_preliminary_final() -> None:
    conv = convert(obr(1, "P"), obx(1, "2.1", "P"), ORC, obr(2, "F"), obx(2, "", "U"))
    (wbc,) = observations(conv)
    assert (wbc["status"], wbc["valueQuantity"]["value"]) == ("final", Decimal("2100"))
    assert wbc["interpretation"][0]["coding"][0]["code"] == "LU"
    (made_final,) = [i for i in conv.issues if i.code == "hl7v2.result-made-final"]
    assert made_final.location == "MSG[1]/OBX[2]-11"
    assert "MSG[1]/OBX[1] under MSG[1]/OBR[1], the same order sent again" in made_final.text
    first, second = resources(conv.bundles[0], "DiagnosticReport")
    assert [c["coding"][0]["code"] for c in first["conclusionCode"]] == ["84828003"]
    assert "result" not in second


def test_a_u_under_another_order_completes_nothing() -> None:
    other = obr(2, "F").replace("PL-88420", "PL-88421").replace("FL-0240", "FL-0241")
    conv = convert(obr(1, "P"), obx(1, "2.1", "P"), ORC, other, obx(2, "", "U"))
    assert [o["status"] for o in observations(conv)] == ["preliminary", "final"]
    assert issues(conv, "hl7v2.result-not-retransmitted") == [
        ("hl7v2.result-not-retransmitted", "MSG[1]/OBX[2]-11")
    ]


def test_a_u_under_the_order_sent_before_its_preliminary_does_not_hide_the_low_count() -> None:
    # the order sent again: its U under the first OBR, its preliminary WBC under the second;
    # the U set the P aside across the OBRs as within one
    conv = convert(obr(1, "F"), obx(1, "", "U"), ORC, obr(2, "P"), obx(2, "2.1", "P"))
    assert [o["status"] for o in observations(conv)] == ["final", "preliminary"]
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[2]", "LU")]
    assert issues(conv, *STATUS_CODES) == [("hl7v2.result-not-retransmitted", "MSG[1]/OBX[1]-11")]


def test_preliminaries_of_the_order_sent_again_beside_a_u_before_them_are_duplicates() -> None:
    # with no final count, two preliminary counts of one result that differ are in doubt; a
    # U without value (no count of its own) made them finals not compared
    conv = convert(
        obr(1, "F"),
        obx(1, "", "U"),
        ORC,
        obr(2, "P"),
        obx(2, "2.1", "P"),
        ORC,
        obr(3, "P"),
        obx(3, "5.8", "P"),
    )
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[2]", "LU"),
        ("MSG[1]/OBX[3]", "N"),
    ]
    assert issues(conv, "flag.result-duplicate") == [("flag.result-duplicate", "MSG[1]/OBX[3]-5")]


def test_a_u_that_made_nothing_final_read_back_does_not_hide_the_low_preliminary() -> None:
    # leukoflag writes a U without value that made nothing final as a final Observation without
    # value or dataAbsentReason; read back (its output flagged again) that Observation set the
    # preliminary 2.1 aside as a final value would: the leukopenia and its conclusionCode
    # vanished, in R4 and R5 alike
    for segments in (
        (obr(status="P"), obx(1, "", "U"), obx(2, "2.1", "P")),
        (obr(), obx(1, "2.1", "P"), obx(2, "", "X"), obx(3, "", "U")),
        (obr(1, "F"), obx(1, "", "U"), ORC, obr(2, "P"), obx(2, "2.1", "P")),
    ):
        for version in ("R4", "R5"):
            settings = leukoflag.Settings(fhir_version=version)
            first = leukoflag.convert(er7(MSH, PID, ORC, *segments), settings)
            data = fhir.dumps(first.bundles[0])
            again = leukoflag.convert(data, settings)
            assert [(f.code, f.value_per_ul) for f in again.findings] == [("LU", Decimal("2100"))]
            assert "flag.result-superseded" not in [i.code for i in again.issues]
            assert fhir.dumps(again.bundles[0]) == data


def test_a_fhir_final_observation_without_value_or_reason_sets_no_preliminary_count_aside() -> None:
    bundle = fhir_bundle([wbc(2.1, status="P"), wbc(None, status="F")])
    (change,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("status") == "final" and e["resource"]["resourceType"] == "Observation"
    ]
    del change["dataAbsentReason"]  # final, its value not in this resource, no reason given
    conv = leukoflag.convert(fhir.dumps(bundle))
    assert [(f.code, f.value_per_ul) for f in conv.findings] == [("LU", Decimal("2100"))]
    assert "flag.result-superseded" not in [i.code for i in conv.issues]
