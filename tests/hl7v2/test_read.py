"""read_message: header, patient, visit, orders, grouping, notes, unmapped content."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal
from pathlib import Path

from leukoflag import convert, hl7v2
from leukoflag.model import (
    Identifier,
    Message,
    NoValue,
    Number,
    ReportStatus,
    ResultStatus,
    Severity,
    Text,
    Timestamp,
)

from .messages import (
    ANC,
    CBC,
    MSH,
    OBR,
    ORC,
    PID,
    PV1,
    SPM,
    WBC,
    codes,
    issue,
    message,
    only_order,
    read,
    reject,
    results,
)


def test_cbc_message_is_read_into_the_model() -> None:
    read_message = read(CBC)
    assert read_message.location == "MSG[1]"
    assert read_message.source == "test.hl7"
    assert read_message.control_id == "RS24-000117"
    assert read_message.sending_application == "CORELAB"
    assert read_message.sending_facility == "RIVERSIDE"
    assert read_message.receiving_application == "EHR"
    assert read_message.message_type == "ORU^R01^ORU_R01"
    assert read_message.processing_id == "P"
    assert read_message.version == "2.5.1"
    assert read_message.charset == "UNICODE UTF-8"
    assert read_message.timestamp == Timestamp(
        "20261124091047-0500",
        "2026-11-24T09:10:47-05:00",
        read_message.timestamp.day,  # type: ignore[union-attr]
    )
    order = only_order(read_message)
    assert order.location == "MSG[1]/OBR[1]"
    assert order.code.code_in("http://loinc.org") == "58410-2"
    assert order.status is ReportStatus.FINAL
    assert order.status_text == "F"
    assert order.placer_id == Identifier("ORD55377", assigner="EHR")
    assert order.filler_id == Identifier("LAB88164", assigner="CORELAB")
    assert order.order_control == "RE"
    assert order.effective is not None
    assert order.effective.fhir == "2026-11-24T08:05:00-05:00"
    assert order.issued is not None
    assert order.issued.fhir == "2026-11-24T09:05:00-05:00"
    assert order.ordering_provider == "ILONA VARGA, MD (5820)"
    wbc, anc = order.results
    assert wbc.location == "MSG[1]/OBX[1]"
    assert wbc.order == "MSG[1]/OBR[1]"
    assert wbc.value == Number(Decimal("3.1"), "3.1")
    assert anc.value == Number(Decimal("1.20"), "1.20")
    assert str(anc.value.value) == "1.20"
    assert wbc.status is ResultStatus.FINAL
    assert wbc.set_id == "1"
    assert wbc.value_type == "NM"
    assert wbc.effective is not None
    assert wbc.effective.fhir == "2026-11-24T08:05:00-05:00"
    (specimen,) = order.specimens
    assert specimen.location == "MSG[1]/SPM[1]"
    assert specimen.identifier == Identifier("SP7790", assigner="CORELAB")
    assert specimen.type is not None
    assert specimen.type.code_in("http://terminology.hl7.org/CodeSystem/v2-0487") == "BLDV"
    assert specimen.collected is not None
    assert specimen.collected.fhir == "2026-11-24T08:05:00-05:00"
    assert specimen.received is not None
    assert specimen.received.fhir == "2026-11-24T08:19:00-05:00"
    assert specimen.is_control is False
    assert set(codes(read_message.issues)) == {"hl7v2.field-unmapped"}


def test_patient_and_visit() -> None:
    group = read(CBC).groups[0]
    patient = group.patient
    assert patient is not None
    assert patient.location == "MSG[1]/PID[1]"
    assert patient.identifiers == (Identifier("MRN100871", "", "MR", "RIVERSIDE"),)
    assert (patient.family, patient.given) == ("OKAFOR", ("DANIEL", "C"))
    assert patient.birth_date is not None
    assert patient.birth_date.fhir == "1961-07-19"
    assert (patient.sex, patient.sex_text) == ("male", "M")
    visit = group.visit
    assert visit is not None
    assert visit.patient_class == "O"
    assert visit.assigned_location == "ONC, 12, B, RIVERSIDE"
    assert visit.attending == "DR ILONA VARGA, MD (5820)"
    assert visit.visit_number == Identifier("V7788", "", "VN", "RIVERSIDE")


def test_identifier_with_iso_assigning_authority_becomes_an_oid_system() -> None:
    pid = "PID|1||4455667^^^STATEMPI&2.16.840.1.113883.4.3.99&ISO^MR~K-88^^^CLINIC^PI||DOE^JANE"
    patient = read(message(pid, OBR, WBC)).groups[0].patient
    assert patient is not None
    assert patient.identifiers == (
        Identifier("4455667", "urn:oid:2.16.840.1.113883.4.3.99", "MR", "STATEMPI"),
        Identifier("K-88", "", "PI", "CLINIC"),
    )


def test_pediatric_patient_keeps_birth_date_precision_and_sex() -> None:
    pid = "PID|1||MRN777^^^RIVERSIDE^MR||NGUYEN^BAO^^^^^L||202603|F"
    patient = read(message(pid, OBR, WBC)).groups[0].patient
    assert patient is not None
    assert patient.birth_date is not None
    assert patient.birth_date.fhir == "2026-03"
    assert patient.birth_date.day.isoformat() == "2026-03-01"
    assert patient.sex == "female"
    assert patient.given == ("BAO",)


def test_sex_codes_follow_table_0001() -> None:
    for sent, gender in (("F", "female"), ("M", "male"), ("A", "other"), ("U", "unknown")):
        pid = f"PID|1||MRN1^^^RIVERSIDE^MR||DOE^SAM||19900101|{sent}"
        patient = read(message(pid, OBR, WBC)).groups[0].patient
        assert patient is not None
        assert patient.sex == gender
    read_message = read(message("PID|1||MRN1||DOE^SAM||19900101|X", OBR, WBC))
    assert read_message.groups[0].patient.sex == "unknown"  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.sex-unknown").location == "MSG[1]/PID[1]-8"


def test_several_obr_each_keep_their_own_results() -> None:
    chem = (
        "OBR|2|ORD55378^EHR|LAB88165^CORELAB|24323-8^Comprehensive metabolic panel^LN|||"
        "20261124080500-0500||||||||||||||||||F"
    )
    sodium = "OBX|1|NM|2951-2^Sodium^LN||139|mmol/L^^UCUM|135-145|N|||F"
    read_message = read(message(PID, ORC, OBR, WBC, ANC, chem, sodium))
    (group,) = read_message.groups
    cbc, cmp_ = group.orders
    assert [r.location for r in cbc.results] == ["MSG[1]/OBX[1]", "MSG[1]/OBX[2]"]
    assert [r.location for r in cmp_.results] == ["MSG[1]/OBX[3]"]
    assert cmp_.results[0].order == "MSG[1]/OBR[2]"
    assert cmp_.code.code_in("http://loinc.org") == "24323-8"
    assert cmp_.order_control == ""  # no ORC before the second OBR


def test_results_are_numbered_through_the_message_however_many() -> None:
    # past the reader's table of OBX locations (256) as within it
    read_message = read(message(PID, ORC, OBR, *[WBC] * 300), index=7)
    locations = [r.location for r in only_order(read_message).results]
    assert locations == [f"MSG[7]/OBX[{n}]" for n in range(1, 301)]


def test_obx_after_spm_is_kept_as_specimen_observation() -> None:
    quality = "OBX|3|CWE|33882-2^Specimen condition^LN||CLOT^Clotted^L||||||F"
    read_message = read(message(PID, OBR, WBC, SPM, quality))
    order = only_order(read_message)
    wbc, condition = order.results
    assert wbc.specimen == ""
    assert condition.specimen == "MSG[1]/SPM[1]"
    assert condition.order == "MSG[1]/OBR[1]"
    assert order.specimens[0].location == "MSG[1]/SPM[1]"


def test_notes_attach_to_the_segment_before_them() -> None:
    read_message = read(
        message(
            PID,
            "NTE|1||Patient fasting since midnight.",
            OBR,
            "NTE|1||Drawn from the left arm.",
            WBC,
            "NTE|1|L|Verified by repeat analysis.",
            "NTE|2|L|Smear reviewed.",
            ANC,
            SPM,
            "NTE|1||Slightly hemolysed.",
        )
    )
    group = read_message.groups[0]
    assert group.patient is not None
    assert group.patient.notes == ("Patient fasting since midnight.",)
    order = group.orders[0]
    assert order.notes == ("Drawn from the left arm.",)
    assert order.results[0].notes == ("Verified by repeat analysis.", "Smear reviewed.")
    assert order.results[1].notes == ()
    assert order.specimens[0].notes == ("Slightly hemolysed.",)


# A v2.5.1 feed pre-adopting PRT (as the US LRI guide does) or a v2.7+ one: ORU_R01 puts PD1 and
# PRT between a PID and its NTEs, and PRT between an OBX and its NTEs.
_PERFORMING_LAB = (
    "PRT||UC||PO^Performing Organization^HL70912||||Riverside Core Laboratory^D^^^^"
    "CLIA&2.16.840.1.113883.4.7&ISO^XX^^^05D1234567"
)


def test_notes_after_a_pd1_or_prt_attach_to_the_segment_they_follow() -> None:
    read_message = read(
        message(
            PID,
            "PD1|||Riverside Family Clinic",
            _PERFORMING_LAB.replace("PO^Performing", "PP^Primary Care Provider"),
            "NTE|1||Patient on clozapine: monitor ANC weekly.",
            OBR,
            WBC,
            _PERFORMING_LAB,
            "NTE|1|L|Verified by repeat analysis.",
            ANC,
        )
    )
    group = read_message.groups[0]
    assert group.patient is not None
    assert group.patient.notes == ("Patient on clozapine: monitor ANC weekly.",)
    wbc, anc = group.orders[0].results
    assert wbc.notes == ("Verified by repeat analysis.",)
    assert anc.notes == ()
    assert "hl7v2.note-unattached" not in codes(read_message.issues)
    assert [i.location for i in read_message.issues if i.code == "hl7v2.segment-unmapped"] == [
        "MSG[1]/PD1[1]",
        "MSG[1]/PRT[1]",
        "MSG[1]/PRT[2]",
    ]


def test_note_after_a_segment_without_notes_is_an_issue_with_its_text() -> None:
    read_message = read(message(PID, PV1, "NTE|1||Visit note", OBR, WBC))
    found = issue(read_message, "hl7v2.note-unattached")
    assert found.location == "MSG[1]/NTE[1]"
    assert "Visit note" in found.text


def test_several_patients_make_several_groups() -> None:
    second_pid = "PID|2||MRN200002^^^RIVERSIDE^MR||NAKASHIMA^AIKO||19920204|F"
    read_message = read(message(PID, OBR, WBC, second_pid, OBR.replace("OBR|1", "OBR|2"), ANC))
    first, second = read_message.groups
    assert first.patient is not None
    assert second.patient is not None
    assert (first.patient.family, second.patient.family) == ("OKAFOR", "NAKASHIMA")
    assert [r.location for r in first.orders[0].results] == ["MSG[1]/OBX[1]"]
    assert [r.location for r in second.orders[0].results] == ["MSG[1]/OBX[2]"]
    assert second.orders[0].location == "MSG[1]/OBR[2]"


def test_obx_without_obr_goes_under_an_implicit_order() -> None:
    read_message = read(message(PID, WBC))
    order = only_order(read_message)
    assert order.location == "MSG[1]/ORDER[1]"
    assert order.status is ReportStatus.UNKNOWN
    assert order.results[0].order == "MSG[1]/ORDER[1]"
    found = issue(read_message, "hl7v2.obx-without-obr")
    assert found.location == "MSG[1]/OBX[1]"
    assert found.severity is Severity.WARNING


def test_results_before_any_pid_have_no_patient() -> None:
    read_message = read(message(OBR, WBC))
    (group,) = read_message.groups
    assert group.patient is None
    assert len(group.orders[0].results) == 1


def test_z_segment_and_unmapped_standard_segment_are_issues() -> None:
    read_message = read(
        message(PID, "PD1|||RIVERSIDE CLINIC", OBR, WBC, "ZLB|1|ANALYZER-7|QC-LOT-2291")
    )
    z = [i for i in read_message.issues if i.location == "MSG[1]/ZLB[1]"]
    assert codes(z) == ["hl7v2.segment-unmapped"]
    assert "ANALYZER-7" in z[0].text
    assert issue(read_message, "hl7v2.segment-unmapped").location == "MSG[1]/PD1[1]"


def test_segment_ids_in_lower_case_are_read_as_their_segments() -> None:
    # An interface script that writes segment names in lower case: the WBC must not be skipped
    lower = WBC.replace("OBX|", "obx|", 1)
    read_message = read(message(PID, "pv1|1|O", ORC, OBR.replace("OBR|", "Obr|", 1), lower, ANC))
    (group,) = read_message.groups
    assert group.visit is not None
    assert group.visit.patient_class == "O"
    order = only_order(read_message)
    assert order.code.codings[0].code == "58410-2"
    assert [(r.location, r.code.codings[0].code, r.value) for r in order.results] == [
        ("MSG[1]/OBX[1]", "6690-2", Number(Decimal("3.1"), "3.1")),
        ("MSG[1]/OBX[2]", "751-8", Number(Decimal("1.20"), "1.20")),
    ]
    case = [i for i in read_message.issues if i.code == "hl7v2.segment-id-case"]
    assert [(i.location, i.severity, i.text) for i in case] == [
        (
            "MSG[1]/PV1[1]",
            Severity.WARNING,
            "segment ID 'pv1' is not in upper case, as HL7 segment IDs are: read as PV1",
        ),
        (
            "MSG[1]/OBR[1]",
            Severity.WARNING,
            "segment ID 'Obr' is not in upper case, as HL7 segment IDs are: read as OBR",
        ),
        (
            "MSG[1]/OBX[1]",
            Severity.WARNING,
            "segment ID 'obx' is not in upper case, as HL7 segment IDs are: read as OBX",
        ),
    ]
    assert "hl7v2.line-not-segment" not in codes(read_message.issues)


def test_a_message_whose_results_are_all_in_lower_case_is_read_and_cut_ones_rejected() -> None:
    lower = [s.replace(s[:4], s[:4].lower(), 1) for s in (OBR, WBC)]
    assert len(results(read(message(PID, *lower)))) == 1
    # a file mixing terminators: LF before a segment ends the one before, in any case
    mixed = read(message(PID, lower[0] + "\n" + lower[1], ANC))
    assert [r.location for r in results(mixed)] == ["MSG[1]/OBX[1]", "MSG[1]/OBX[2]"]
    assert "hl7v2.line-break-raw" not in codes(mixed.issues)
    cut = lower[1][: lower[1].index("|F|")]
    assert reject(message(PID, lower[0], cut)).reason.startswith(
        "truncated: the last segment, OBX, stops after field 10 and lacks OBX-11"
    )


def test_indented_segments_are_read_as_their_segments() -> None:
    # A message pasted from an e-mail or an editor: ' OBX|1|NM|6690-2…' was skipped as a line
    # that is not a segment, so the WBC (and its leukopenia) vanished behind a warning
    read_message = read(
        message(PID, "\tOBR" + OBR[3:], "  " + WBC, " \t" + ANC.replace("OBX", "obx"))
    )
    order = only_order(read_message)
    assert order.code.codings[0].code == "58410-2"
    assert [(r.location, r.code.codings[0].code, r.value) for r in order.results] == [
        ("MSG[1]/OBX[1]", "6690-2", Number(Decimal("3.1"), "3.1")),
        ("MSG[1]/OBX[2]", "751-8", Number(Decimal("1.20"), "1.20")),
    ]
    found = [(i.code, i.location, i.text) for i in read_message.issues if "segment" in i.code]
    assert found == [
        (
            "hl7v2.segment-indented",
            "MSG[1]/OBR[1]",
            "segment 'OBR' is indented with a tab, which HL7 segments are not: read as OBR",
        ),
        (
            "hl7v2.segment-indented",
            "MSG[1]/OBX[1]",
            "segment 'OBX' is indented with 2 spaces, which HL7 segments are not: read as OBX",
        ),
        (
            "hl7v2.segment-indented",
            "MSG[1]/OBX[2]",
            (
                "segment 'obx' is indented with a space and a tab, which HL7 segments are not: "
                "read as OBX"
            ),
        ),
        (
            "hl7v2.segment-id-case",
            "MSG[1]/OBX[2]",
            "segment ID 'obx' is not in upper case, as HL7 segment IDs are: read as OBX",
        ),
    ]
    assert "hl7v2.line-not-segment" not in codes(read_message.issues)


def test_indented_text_without_a_segment_id_and_separator_stays_text() -> None:
    wrapped = ["  continued on the next line", "\tOBX", "   OBX 1 NM", "  O|X"]
    read_message = read(message(PID, OBR, WBC, *wrapped))
    skipped = [i.text for i in read_message.issues if i.code == "hl7v2.line-not-segment"]
    assert len(skipped) == len(wrapped)
    assert len(results(read_message)) == 1


def test_indented_lower_case_text_wrapped_in_a_comment_stays_one_line_not_segment() -> None:
    # An FT comment wrapped onto indented lines, in a message whose segments end with LF:
    # '   see|above' became a segment SEE with three warnings (indented, case, unmapped)
    comment = "OBX|3|FT|48767-8^Comment^LN||Smear reviewed; morphology as noted|||||F"
    read_message = read(
        message(PID, OBR, WBC, comment, "   see|above", "  Obx|" + ANC[4:], terminator="\n")
    )
    found = [(i.code, i.text) for i in read_message.issues if "segment" in i.code]
    assert found == [
        (
            "hl7v2.line-not-segment",
            "a line that is not a segment was skipped (line 6 of the message): '   see|above'",
        ),
        (
            "hl7v2.segment-indented",
            "segment 'Obx' is indented with 2 spaces, which HL7 segments are not: read as OBX",
        ),
        (
            "hl7v2.segment-id-case",
            "segment ID 'Obx' is not in upper case, as HL7 segment IDs are: read as OBX",
        ),
    ]
    assert [r.code.codings[0].code for r in results(read_message)] == [
        "6690-2",
        "48767-8",
        "751-8",
    ]


def test_a_raw_line_feed_before_indented_lower_case_text_stays_in_the_comment() -> None:
    # segments end with CR: the LF before '   see|above' was taken for a segment break
    comment = "OBX|3|FT|48767-8^Comment^LN||Smear reviewed;\n   see|above|||||F"
    read_message = read(message(PID, OBR, WBC, comment))
    note = results(read_message)[1]
    assert (note.value, note.status_text) == (Text("Smear reviewed;\n   see"), "F")
    assert "hl7v2.line-break-raw" in codes(read_message.issues)
    assert "hl7v2.segment-unmapped" not in codes(read_message.issues)


def test_an_indented_last_result_is_checked_for_truncation_and_counts_as_a_result() -> None:
    cut = "  " + WBC[: WBC.index("|F|")]
    assert reject(message(PID, OBR, cut)).reason.startswith(
        "truncated: the last segment, OBX, stops after field 10 and lacks OBX-11"
    )
    assert len(results(read(message(PID, " " + OBR, " " + WBC)))) == 1


def test_populated_field_not_carried_is_an_issue_with_its_location() -> None:
    segment = (
        "OBX|1|NM|6690-2^WBC^LN||5.2|10*3/uL^^UCUM|4.0-11.0|N|||F|||20261124080500-0500"
        "||||||ARM^Arm^HL70163"
    )
    read_message = read(message(PID, OBR, WBC, ANC, segment))
    found = [i for i in read_message.issues if i.location == "MSG[1]/OBX[3]-20"]
    assert codes(found) == ["hl7v2.field-unmapped"]
    assert "ARM^Arm^HL70163" in found[0].text


def test_orc_without_obr_is_its_own_order_with_an_issue() -> None:
    read_message = read(message(PID, ORC, "ORC|CA|ORD9^EHR", OBR, WBC))
    first, second = read_message.groups[0].orders
    assert first.location == "MSG[1]/ORC[1]"
    assert first.placer_id == Identifier("ORD55377", assigner="EHR")
    assert second.location == "MSG[1]/OBR[1]"
    assert second.order_control == "CA"
    assert issue(read_message, "hl7v2.orc-without-obr").location == "MSG[1]/ORC[1]"


def test_obx_after_an_orc_without_obr_is_a_result_of_that_order_not_the_one_before() -> None:
    second_orc = "ORC|RE|ORD55390^EHR|LAB88170^CORELAB||CM"
    read_message = read(message(PID, ORC, OBR, WBC, SPM, second_orc, ANC))
    first, second = read_message.groups[0].orders
    assert [r.location for r in first.results] == ["MSG[1]/OBX[1]"]
    assert second.location == "MSG[1]/ORC[2]"
    assert second.placer_id == Identifier("ORD55390", assigner="EHR")
    (anc,) = second.results
    assert (anc.location, anc.order, anc.specimen) == ("MSG[1]/OBX[2]", "MSG[1]/ORC[2]", "")
    assert issue(read_message, "hl7v2.orc-without-obr").location == "MSG[1]/ORC[2]"


def test_missing_control_id_is_an_issue() -> None:
    msh = MSH.replace("RS24-000117", "")
    assert issue(read(message(PID, OBR, WBC, msh=msh)), "hl7v2.control-id-missing").location == (
        "MSG[1]/MSH[1]-10"
    )


def test_text_input_is_accepted() -> None:
    from leukoflag import hl7v2
    from leukoflag.settings import Settings

    read_message = hl7v2.read_message(CBC, index=3, source="s", settings=Settings())
    assert isinstance(read_message, Message)
    assert read_message.location == "MSG[3]"
    assert len(results(read_message)) == 2


def test_observation_details_are_carried() -> None:
    segment = (
        "OBX|1|NM|6690-2^WBC^LN|1|5.2|10*3/uL^^UCUM|4.0-11.0|N|||F|||20261124080500-0500|"
        "RS^Riverside Core Lab^L|7001^OSEI^KWAME|AUTO^Automated count^L|XN-1000-7^SYSMEX|"
        "20261124081500-0500||||Riverside Core Laboratory^^^^^^^^^CLIA05D1234567||||||RSLT"
    )
    result = results(read(message(PID, OBR, segment)))[0]
    assert result.sub_id == "1"
    assert result.method is not None
    assert result.method.codings[0].code == "AUTO"
    assert result.device == "XN-1000-7 (SYSMEX)"
    assert result.performers == (
        "Riverside Core Lab (RS)",
        "KWAME OSEI (7001)",
        "Riverside Core Laboratory (CLIA05D1234567)",
    )
    assert result.analysis_time is not None
    assert result.analysis_time.fhir == "2026-11-24T08:15:00-05:00"
    assert result.category is not None
    assert result.category.codings[0].code == "RSLT"


def test_receiving_application_and_facility_keep_their_universal_ids() -> None:
    # An HIE routing on OIDs: MSH-5/6's universal IDs were dropped without an Issue.
    msh = MSH.replace(
        "|EHR|RIVERSIDE|",
        "|EHR^2.16.840.1.113883.3.9104.1^ISO|RIVERSIDE^2.16.840.1.113883.3.9104^ISO|",
    )
    read_message = read(message(PID, OBR, WBC, msh=msh))
    assert (read_message.receiving_application, read_message.receiving_facility) == (
        "EHR",
        "RIVERSIDE",
    )
    assert read_message.receiving_application_id == "2.16.840.1.113883.3.9104.1^ISO"
    assert read_message.receiving_facility_id == "2.16.840.1.113883.3.9104^ISO"
    assert read(message(PID, OBR, WBC)).receiving_facility_id == ""


def test_processing_mode_and_international_version_are_issues() -> None:
    # MSH-11.2 (A: from an archive) and MSH-12.2-3 were dropped without an Issue.
    msh = MSH.replace("|P|2.5.1|", "|P^A|2.5.1^DEU^DE2.5|")
    read_message = read(message(PID, OBR, WBC, msh=msh))
    assert (read_message.processing_id, read_message.version) == ("P", "2.5.1")
    found = [
        (i.location, i.text) for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    ]
    assert found == [
        ("MSG[1]/MSH[1]-11.2", "MSH-11.2 is not carried: 'A'"),
        ("MSG[1]/MSH[1]-12.2", "MSH-12.2 is not carried: 'DEU'"),
        ("MSG[1]/MSH[1]-12.3", "MSH-12.3 is not carried: 'DE2.5'"),
    ]
    assert "hl7v2.component-unmapped" not in codes(read(message(PID, OBR, WBC)).issues)


def test_the_functions_docs_hl7v2_lists_are_the_steps_functions_and_it_counts_them() -> None:
    # the page said "Four functions make up the step" above a table of five
    page = (Path(__file__).resolve().parents[2] / "docs" / "hl7v2.md").read_text(encoding="utf-8")
    intro, table = page.split("## Framing and batches", 1)[0].rsplit("\n\n| function |", 1)
    listed = re.findall(r"^\| `([a-z_]+)\(", table, re.MULTILINE)
    functions = sorted(name for name in hl7v2.__all__ if inspect.isfunction(getattr(hl7v2, name)))
    assert sorted(listed) == functions
    words = ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight"]
    assert f"{words[len(listed) - 1]} functions make up the step" in intro


def test_a_repetition_sent_as_hl7_null_carries_nothing_in_any_field() -> None:
    # '""' is HL7's explicit null as a field (read as empty everywhere) and as a repetition of
    # OBX-8 ('L~""'); as a repetition of another field it was read as a value: PID-3 gave an
    # identifier '""', PID-5 '""~OKAFOR^DANIEL' a patient without name (the name only quoted
    # in hl7v2.repetition-unmapped), OBX-3 '""~6690-2^…^LN' a WBC without code (not judged),
    # OBX-7 '4.0-11.0~""' a range 'with repetitions' (the lab's not used), OBX-18 no device,
    # NTE-3 a line '""'.
    pid = 'PID|1||""~MRN100871^^^RIVERSIDE^MR||""~OKAFOR^DANIEL^C||19610719|M'
    result = (
        'OBX|1|NM|""~6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|'
        '10*3/uL^^UCUM|4.0-11.0~""|L|||F|||||||""~SYSMEX-XN1^CORELAB'
    )
    read_message = read(message(pid, OBR, result, 'NTE|1||""~Verified on repeat~""'))
    (group,) = read_message.groups
    assert group.patient is not None
    assert [i.value for i in group.patient.identifiers] == ["MRN100871"]
    assert (group.patient.family, group.patient.given) == ("OKAFOR", ("DANIEL", "C"))
    (wbc,) = results(read_message)
    assert [c.code for c in wbc.code.codings] == ["6690-2"]
    assert wbc.reference_range is not None
    assert (wbc.reference_range.low, wbc.reference_range.high) == (Decimal("4.0"), Decimal("11.0"))
    assert wbc.device == "SYSMEX-XN1 (CORELAB)"
    assert wbc.notes == ("Verified on repeat",)
    assert not {"hl7v2.repetition-unmapped", "hl7v2.range-repeated", "hl7v2.code-missing"} & set(
        codes(read_message.issues)
    )


def test_a_component_sent_as_hl7_null_carries_nothing_in_any_field() -> None:
    # a component of '""' (a LIS clearing it) was written out as text: the given name '""'
    # (Patient.name.given), the assigner '""' of the MRN, the attending '"" VARGA (5820)',
    # the location 'ONC, "", B, RIVERSIDE'; as it already is in OBX-6 and coded fields
    pid = 'PID|1||MRN100871^^^""^MR||OKAFOR^""^C||19610719|M'
    pv1 = 'PV1|1|O|ONC^""^B^RIVERSIDE||||5820^VARGA^""^^^^MD'
    read_message = read(message(pid, pv1, OBR, WBC))
    (group,) = read_message.groups
    assert group.patient is not None
    assert (group.patient.family, group.patient.given) == ("OKAFOR", ("C",))
    (identifier,) = group.patient.identifiers
    assert (identifier.value, identifier.assigner, identifier.type_code) == ("MRN100871", "", "MR")
    assert group.visit is not None
    assert '""' not in group.visit.attending
    assert group.visit.assigned_location == "ONC, B, RIVERSIDE"


def test_a_field_whose_every_part_is_sent_as_hl7_null_is_empty() -> None:
    # a LIS clearing every repetition or component of a field ('""~""', '""^""') left only
    # the separators once each null was emptied: an ST result of '""~""' became the text '\n'
    # (written as valueString), and PID-8, ORC-5 and the unmapped PID-11 were quoted as '^' in
    # Issues that said something was sent
    pid = 'PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|""^""|||""^""^""'
    orc = 'ORC|RE|ORD55377^EHR|LAB88164^CORELAB||""^""'
    wbc = WBC.replace("||3.1|", '||""~""|').replace("|NM|", "|ST|")
    read_message = read(message(pid, PV1, orc, OBR, wbc))
    (result,) = results(read_message)
    assert result.value == NoValue("empty", "")
    (group,) = read_message.groups
    assert group.patient is not None
    assert group.patient.sex == "unknown"
    assert only_order(read_message).request_status == ""
    shown = [i for i in read_message.issues if "'^'" in i.text or "'\\n'" in i.text]
    assert shown == []
    assert not {
        "hl7v2.sex-unknown",
        "hl7v2.order-status-unknown",
        "hl7v2.field-unmapped",
    } & {i.code for i in read_message.issues if "PID" in i.location or "ORC" in i.location}


def test_a_last_repetition_sent_as_hl7_null_leaves_a_field_that_does_not_repeat_as_sent() -> None:
    # a LIS clearing a second repetition ('F~""') left 'F~' once the null was emptied, which the
    # readers of fields that do not repeat took whole: OBX-2 'NM~' kept the WBC as text and
    # OBX-11 'F~' was an unknown status (neither judged), PID-8 'M~' an unknown sex, PV1-2 'I~'
    # an unknown patient class, OBR-25 'F~' an unknown report status, OBX-14 '…-0500~' an
    # invalid time; SPM-2 'SP7790^CORELAB~' said a repetition '' was not carried
    pid = 'PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M~""'
    pv1 = 'PV1|1|I~""|ONC^12^B^RIVERSIDE'
    obr = OBR + '~""'
    wbc = (
        'OBX|1|NM~""|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|'
        '10*3/uL^^UCUM|4.0-11.0||||F~""|||20261124080500-0500~""'
    )
    spm = SPM.replace("SP7790^CORELAB", 'SP7790^CORELAB~""')
    read_message = read(message(pid, pv1, ORC, obr, wbc, spm))
    (result,) = results(read_message)
    assert result.value == Number(Decimal("3.1"), "3.1")
    assert result.value_type == "NM"
    assert result.status is ResultStatus.FINAL
    assert result.effective is not None
    assert result.effective.fhir == "2026-11-24T08:05:00-05:00"
    assert only_order(read_message).status is ReportStatus.FINAL
    (group,) = read_message.groups
    assert group.patient is not None
    assert group.patient.sex == "male"
    assert group.visit is not None
    assert group.visit.patient_class == "I"
    assert codes(read_message.issues) == [
        "hl7v2.field-unmapped",  # MSH-15 'AL'
        "hl7v2.field-unmapped",  # MSH-16 'NE'
    ]


def test_a_patient_note_not_written_is_said_at_its_nte() -> None:
    # FHIR Patient has no note: each NTE after PID is an Issue, located at that NTE (it was
    # located at the PID, so two notes of one patient were two Issues at MSG[1]/PID[1])
    second_pid = "PID|2||MRN200002^^^RIVERSIDE^MR||NAKASHIMA^AIKO||19920204|F"
    conv = convert(
        message(
            PID,
            "NTE|1||Patient on clozapine: monitor ANC weekly.",
            "NTE|2||Twin A.",
            OBR,
            WBC,
            second_pid,
            "NTE|1||Post chemotherapy day 10.",
            OBR.replace("OBR|1", "OBR|2"),
            ANC,
        )
    )
    said = "Patient has no note element; NTE after PID not written: "
    assert [(i.location, i.text) for i in conv.issues if i.code == "fhir.note-unmapped"] == [
        ("MSG[1]/NTE[1]", f"{said}'Patient on clozapine: monitor ANC weekly.'"),
        ("MSG[1]/NTE[2]", f"{said}'Twin A.'"),
        ("MSG[1]/NTE[3]", f"{said}'Post chemotherapy day 10.'"),
    ]
