"""Timestamps (precision, offsets, default zone, truncation) and specimens (SPM, OBR-15, QC)."""

from __future__ import annotations

import datetime as dt

import pytest

import leukoflag
from leukoflag.model import Identifier, Severity, Timestamp
from leukoflag.settings import Settings

from .messages import MSH, OBR, PID, WBC, codes, issue, message, obx, only_order, read, results


@pytest.mark.parametrize(
    ("sent", "fhir"),
    [
        ("2026", "2026"),
        ("202611", "2026-11"),
        ("20261124", "2026-11-24"),
        ("2026112408-0500", "2026-11-24T08:00:00-05:00"),
        ("202611240830+0100", "2026-11-24T08:30:00+01:00"),
        ("20261124083015.1234+0000", "2026-11-24T08:30:15.1234+00:00"),
        ("20261124083015^S", "2026-11-24"),
    ],
)
def test_timestamp_precision_and_offset(sent: str, fhir: str) -> None:
    segment = WBC.replace("20261124080500-0500", sent)
    result = results(read(message(PID, OBR, segment)))[0]
    assert result.effective is not None
    assert result.effective.fhir == fhir
    assert result.effective.text == sent.split("^", maxsplit=1)[0]


@pytest.mark.parametrize("zone", [None, "America/Chicago"])
def test_time_sent_to_the_hour_is_padded_with_an_issue(zone: str | None) -> None:
    # FHIR dateTime has no hour precision: 07 becomes 07:00:00, which the Issue says.
    sent = "2026031007-0500" if zone is None else "2026031007"
    segment = WBC.replace("20261124080500-0500", sent)
    read_message = read(message(PID, OBR, segment), Settings(default_timezone=zone))
    result = results(read_message)[0]
    assert result.effective is not None
    assert result.effective.fhir == "2026-03-10T07:00:00-05:00"
    found = issue(read_message, "hl7v2.timestamp-padded")
    assert (found.severity, found.location) == (Severity.INFORMATION, "MSG[1]/OBX[1]-14")
    assert found.text == (
        f"{sent!r} is precise to the hour, which FHIR dateTime cannot say: written as "
        "2026-03-10T07:00:00-05:00 (the minutes were not sent)"
    )


def test_time_sent_to_the_minute_gets_seconds_without_an_issue() -> None:
    segment = WBC.replace("20261124080500-0500", "202603100715-0500")
    read_message = read(message(PID, OBR, segment))
    assert results(read_message)[0].effective.fhir == "2026-03-10T07:15:00-05:00"  # type: ignore[union-attr]
    assert not [c for c in codes(read_message.issues) if c.startswith("hl7v2.timestamp")]


def test_time_without_offset_takes_the_default_zone_with_daylight_saving() -> None:
    settings = Settings(default_timezone="America/Chicago")
    winter = WBC.replace("20261124080500-0500", "20261124080500")
    summer = obx("4.4", set_id="2").replace("||F", "||F|||20260715080500")
    read_message = read(message(PID, OBR, winter, summer), settings)
    first, second = results(read_message)
    assert first.effective == Timestamp(
        "20261124080500", "2026-11-24T08:05:00-06:00", dt.date(2026, 11, 24)
    )
    assert second.effective is not None
    assert second.effective.fhir == "2026-07-15T08:05:00-05:00"
    assert "hl7v2.timestamp-truncated" not in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "fhir", "said"),
    [
        (
            "20261101013000",
            "2026-11-01T01:30:00-05:00",
            (
                "'20261101013000' has no UTC offset, and 2026-11-01 01:30:00 occurs twice in "
                "America/Chicago (the clocks go back): written with the offset of its first "
                "occurrence, -05:00; the second is -06:00"
            ),
        ),
        (
            "20260308023000",
            "2026-03-08T02:30:00-06:00",
            (
                "'20260308023000' has no UTC offset, and 2026-03-08 02:30:00 does not exist in "
                "America/Chicago (the clocks go forward over it): written with the offset in force "
                "before the change, -06:00"
            ),
        ),
        (
            "2026110101",
            "2026-11-01T01:00:00-05:00",
            (
                "'2026110101' has no UTC offset, and 2026-11-01 01:00:00 occurs twice in "
                "America/Chicago (the clocks go back): written with the offset of its first "
                "occurrence, -05:00; the second is -06:00 (it is precise to the hour: the minutes "
                "were not sent)"
            ),
        ),
    ],
)
def test_local_time_in_a_daylight_saving_change_says_which_offset_was_used(
    sent: str, fhir: str, said: str
) -> None:
    segment = WBC.replace("20261124080500-0500", sent)
    read_message = read(message(PID, OBR, segment), Settings(default_timezone="America/Chicago"))
    effective = results(read_message)[0].effective
    assert effective is not None
    assert effective.fhir == fhir
    found = issue(read_message, "hl7v2.timestamp-ambiguous")
    assert (found.severity, found.location, found.text) == (
        Severity.WARNING,
        "MSG[1]/OBX[1]-14",
        said,
    )


@pytest.mark.parametrize("sent", ["20261101003000", "20261101023000", "20260308033000"])
def test_local_time_next_to_a_daylight_saving_change_is_not_ambiguous(sent: str) -> None:
    segment = WBC.replace("20261124080500-0500", sent)
    read_message = read(message(PID, OBR, segment), Settings(default_timezone="America/Chicago"))
    assert "hl7v2.timestamp-ambiguous" not in codes(read_message.issues)


def test_time_without_offset_or_default_zone_is_truncated_with_an_issue() -> None:
    segment = WBC.replace("20261124080500-0500", "20261124080500")
    read_message = read(message(PID, OBR, segment))
    result = results(read_message)[0]
    assert result.effective == Timestamp("20261124080500", "2026-11-24", dt.date(2026, 11, 24))
    assert issue(read_message, "hl7v2.timestamp-truncated").location == "MSG[1]/OBX[1]-14"


def test_birth_date_sent_with_an_offset_is_kept_as_the_date() -> None:
    # HL7 v2 DTM allows an offset after a date; it was read as invalid and the birth date lost,
    # so a two-day-old was judged by adult rules: WBC 8.0 normal instead of low for a newborn.
    pid = "PID|1||MRN100902^^^RIVERSIDE^MR||OKAFOR^BABY BOY||20261122-0500|M"
    wbc = obx("8.0", reference="")
    read_message = read(message(pid, OBR, wbc))
    birth = read_message.groups[0].patient.birth_date  # type: ignore[union-attr]
    assert birth == Timestamp("20261122-0500", "2026-11-22", dt.date(2026, 11, 22))
    found = issue(read_message, "hl7v2.timestamp-offset-dropped")
    assert (found.severity, found.location, found.text) == (
        Severity.INFORMATION,
        "MSG[1]/PID[1]-7",
        (
            "'20261122-0500' is a date with a UTC offset, which a FHIR date cannot hold: kept as "
            "the date 2026-11-22, without the offset '-0500'"
        ),
    )
    assert "hl7v2.timestamp-invalid" not in codes(read_message.issues)
    conversion = leukoflag.convert(message(pid, OBR, wbc))
    assert [(f.code, f.rule) for f in conversion.findings] == [("L", "wbc-leukopenia-pediatric")]
    assert "flag.age-unknown" not in codes(conversion.issues)


@pytest.mark.parametrize("sent", ["20261122-05", "20261122+1530", "20261122-05x0"])
def test_date_with_a_malformed_offset_is_invalid(sent: str) -> None:
    pid = f"PID|1||MRN100902^^^RIVERSIDE^MR||OKAFOR^BABY BOY||{sent}|M"
    read_message = read(message(pid, OBR, WBC))
    assert read_message.groups[0].patient.birth_date is None  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.timestamp-invalid").location == "MSG[1]/PID[1]-7"


def test_message_timestamp_without_offset() -> None:
    msh = MSH.replace("20261124091047-0500", "20261124091047")
    read_message = read(message(PID, OBR, WBC, msh=msh), Settings(default_timezone="Europe/Berlin"))
    assert read_message.timestamp is not None
    assert read_message.timestamp.fhir == "2026-11-24T09:10:47+01:00"


def test_control_specimen_role_marks_control_material() -> None:
    spm = "SPM|1|QC-LOT-2291^CORELAB||BLD^Whole blood^HL70487|||||||Q^Control specimen^HL70369"
    order = only_order(read(message(PID, OBR, WBC, spm)))
    (specimen,) = order.specimens
    assert specimen.is_control is True
    assert specimen.role is not None
    assert specimen.role.codings[0].code == "Q"


@pytest.mark.parametrize(
    "kind", ["QC^Quality control material^L", "CTL1^Control material, level 1^99RSLAB"]
)
def test_control_specimen_type_marks_control_material(kind: str) -> None:
    spm = f"SPM|1|QC-9^CORELAB||{kind}"
    order = only_order(read(message(PID, OBR, WBC, spm)))
    assert order.specimens[0].is_control is True


def test_patient_specimen_is_not_control() -> None:
    spm = "SPM|1|SP1^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369"
    assert only_order(read(message(PID, OBR, WBC, spm))).specimens[0].is_control is False


def test_specimen_identifier_as_placer_and_filler_pair() -> None:
    spm = "SPM|1|PL-77&EHR^FL-88&CORELAB||BLDV^Blood, venous^HL70487"
    (specimen,) = only_order(read(message(PID, OBR, WBC, spm))).specimens
    assert specimen.identifier == Identifier("FL-88", assigner="CORELAB")


def test_unknown_specimen_role_is_an_issue() -> None:
    spm = "SPM|1|SP1^CORELAB||BLDV^Blood, venous^HL70487|||||||Z^Zebra^HL70369"
    read_message = read(message(PID, OBR, WBC, spm))
    assert issue(read_message, "hl7v2.specimen-role-unknown").location == "MSG[1]/SPM[1]-11"


def test_older_obr15_specimen_source_becomes_a_specimen() -> None:
    obr = (
        "OBR|1|ORD1^EHR|LAB1^CORELAB|58410-2^CBC panel^LN|||20261124080500-0500|||||||"
        "20261124081900-0500|BLD&Whole blood&HL70070^^^LACF&Left antecubital fossa&HL70163"
        "|||||||||F"
    )
    read_message = read(message(PID, obr, WBC))
    order = only_order(read_message)
    (specimen,) = order.specimens
    assert specimen.location == "MSG[1]/OBR[1]-15"
    assert specimen.type is not None
    assert specimen.type.codings[0].code == "BLD"
    assert specimen.type.codings[0].system == "http://terminology.hl7.org/CodeSystem/v2-0070"
    assert specimen.source_site is not None
    assert specimen.source_site.codings[0].code == "LACF"
    assert specimen.received is not None
    assert specimen.received.fhir == "2026-11-24T08:19:00-05:00"
    assert specimen.collected is not None
    assert order.specimen_source == specimen.type
    assert not [i for i in read_message.issues if i.location == "MSG[1]/OBR[1]-14"]


def test_obr15_sent_as_a_coded_value_says_its_text_and_system_are_not_carried() -> None:
    # v2.3 feeds send OBR-15 as a CE: "OBR-15.2 is not carried: 'Venous'" read as an additive
    obr = (
        "OBR|1|ORD1^EHR|LAB1^CORELAB|58410-2^CBC panel^LN|||20261124080500-0500|||||||"
        "20261124081900-0500|BLDV^Venous^HL70070|||||||||F"
    )
    read_message = read(message(PID, obr, WBC))
    (specimen,) = only_order(read_message).specimens
    assert specimen.type is not None
    assert specimen.type.codings[0].code == "BLDV"
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert [(i.location, i.text) for i in unmapped] == [
        (
            "MSG[1]/OBR[1]-15.2",
            (
                "OBR-15 'BLDV^Venous^HL70070' is sent as a coded value (code^text^system, as in a "
                "CE field), but OBR-15 is a specimen source: its first component alone is the "
                "code, with its text and system as subcomponents ('BLDV&Venous&HL70070'), and "
                "its second and third are the additives and the collection method (v2.3: free "
                "text). The code "
                "'BLDV' was read; the text 'Venous' and the system 'HL70070' are not carried"
            ),
        )
    ]


def test_obr15_additives_and_collection_method_are_each_not_carried() -> None:
    obr = (
        "OBR|1|ORD1^EHR|LAB1^CORELAB|58410-2^CBC panel^LN|||20261124080500-0500|||||||"
        "20261124081900-0500|BLD^EDTA^Venipuncture|||||||||F"
    )
    read_message = read(message(PID, obr, WBC))
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert [(i.location, i.text) for i in unmapped] == [
        ("MSG[1]/OBR[1]-15.2", "OBR-15.2 is not carried: 'EDTA'"),
        ("MSG[1]/OBR[1]-15.3", "OBR-15.3 is not carried: 'Venipuncture'"),
    ]


@pytest.mark.parametrize(
    ("sent", "text"),
    [
        (
            "20261124080500+1430",
            (
                "'20261124080500+1430': the offset '+1430' is out of range (FHIR dateTime holds "
                "-14:00 to +14:00)"
            ),
        ),
        (
            "20261124080500-1401",
            (
                "'20261124080500-1401': the offset '-1401' is out of range (FHIR dateTime holds "
                "-14:00 to +14:00)"
            ),
        ),
        (
            "20261124080500.1234567891-0500",
            (
                "'20261124080500.1234567891-0500' has 10 decimals of a second: FHIR dateTime holds "
                "at most 9"
            ),
        ),
    ],
)
def test_time_fhir_cannot_hold_is_invalid_at_its_field(sent: str, text: str) -> None:
    # Read as valid, these reached the model and were dropped only by the FHIR writer: a
    # library user of the model saw a time no FHIR server accepts.
    segment = WBC.replace("20261124080500-0500", sent)
    read_message = read(message(PID, OBR, segment))
    assert results(read_message)[0].effective is None
    found = issue(read_message, "hl7v2.timestamp-invalid")
    assert (found.severity, found.location, found.text) == (
        Severity.WARNING,
        "MSG[1]/OBX[1]-14",
        text + "; the Observation's effective time is its order's OBR-7 instead, "
        "'2026-11-24T08:05:00-05:00'",
    )


@pytest.mark.parametrize(
    ("obr", "instead", "written"),
    [
        (
            OBR,
            (
                "the Observation's effective time is its order's OBR-7 instead, "
                "'2026-11-24T08:05:00-05:00'"
            ),
            {"effectiveDateTime": "2026-11-24T08:05:00-05:00"},
        ),
        (
            OBR.replace("20261124080500-0500|", "20261124080500-0500|20261124081500-0500", 1),
            (
                "the Observation's effective time is its order's OBR-7 to OBR-8 instead, "
                "'2026-11-24T08:05:00-05:00' to '2026-11-24T08:15:00-05:00'"
            ),
            {
                "effectivePeriod": {
                    "start": "2026-11-24T08:05:00-05:00",
                    "end": "2026-11-24T08:15:00-05:00",
                }
            },
        ),
        (
            # OBR-8 before OBR-7 (fhir.period-inverted): OBR-7 alone, not the period it named
            OBR.replace("20261124080500-0500|", "20261124080500-0500|20261124070000-0500", 1),
            (
                "the Observation's effective time is its order's OBR-7 instead, "
                "'2026-11-24T08:05:00-05:00'"
            ),
            {"effectiveDateTime": "2026-11-24T08:05:00-05:00"},
        ),
        (
            OBR.replace("20261124080500-0500", ""),
            "the Observation has no effective time (its order's OBR-7 gives none)",
            {},
        ),
        (
            # OBR-7 empty, OBR-8 sent: the Issue said the Observation has no time
            OBR.replace("20261124080500-0500|", "|20261124081500-0500", 1),
            (
                "the Observation's effective time is a period ending at its order's OBR-8 "
                "instead, '2026-11-24T08:15:00-05:00'"
            ),
            {"effectivePeriod": {"end": "2026-11-24T08:15:00-05:00"}},
        ),
    ],
)
def test_an_invalid_obx_14_says_which_time_the_observation_gets_instead(
    obr: str, instead: str, written: dict[str, object]
) -> None:
    # 13 is no month: the Observation silently took OBR-7 as its effective time
    segment = WBC.replace("20261124080500-0500", "20261324080500-0500")
    conversion = leukoflag.convert(message(PID, obr, segment))
    (found,) = [i for i in conversion.issues if i.code == "hl7v2.timestamp-invalid"]
    assert found.location == "MSG[1]/OBX[1]-14"
    assert found.text == f"'20261324080500-0500' is not a calendar date; {instead}"
    (observation,) = [
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert {k: v for k, v in observation.items() if k.startswith("effective")} == written


@pytest.mark.parametrize(
    ("sent", "fhir"),
    [
        ("20261124080500+1400", "2026-11-24T08:05:00+14:00"),
        ("20261124080500-1400", "2026-11-24T08:05:00-14:00"),
        ("20261124080500.123456789-0500", "2026-11-24T08:05:00.123456789-05:00"),
    ],
)
def test_time_at_the_edge_of_what_fhir_holds_is_kept(sent: str, fhir: str) -> None:
    segment = WBC.replace("20261124080500-0500", sent)
    read_message = read(message(PID, OBR, segment))
    assert results(read_message)[0].effective.fhir == fhir  # type: ignore[union-attr]
    assert "hl7v2.timestamp-invalid" not in codes(read_message.issues)


def test_specimen_collection_range_keeps_both_ends() -> None:
    # A 24-hour collection: SPM-17.2, its end, was dropped with hl7v2.component-unmapped.
    spm = (
        "SPM|1|SP7791^CORELAB||UR^Urine^HL70487|||||||P^Patient^HL70369||||||"
        "20261123080000-0500^20261124080000-0500|20261124091500-0500"
    )
    read_message = read(message(PID, OBR, WBC, spm))
    (specimen,) = only_order(read_message).specimens
    assert specimen.collected is not None
    assert specimen.collected.fhir == "2026-11-23T08:00:00-05:00"
    assert specimen.collected_end == Timestamp(
        "20261124080000-0500", "2026-11-24T08:00:00-05:00", dt.date(2026, 11, 24)
    )
    assert "hl7v2.component-unmapped" not in codes(read_message.issues)


def test_specimen_collection_end_that_is_no_time_is_an_issue_at_spm_17_2() -> None:
    spm = "SPM|1|SP7791^CORELAB||UR^Urine^HL70487|||||||||||||20261123080000-0500^20261124x"
    read_message = read(message(PID, OBR, WBC, spm))
    (specimen,) = only_order(read_message).specimens
    assert specimen.collected_end is None
    assert issue(read_message, "hl7v2.timestamp-invalid").location == "MSG[1]/SPM[1]-17.2"


def test_specimen_placer_id_beside_the_filler_id_is_an_issue() -> None:
    # The filler's ID is the one carried; the placer's was dropped without a word.
    spm = "SPM|1|PL-77&EHR^FL-88&CORELAB||BLDV^Blood, venous^HL70487"
    read_message = read(message(PID, OBR, WBC, spm))
    found = issue(read_message, "hl7v2.component-unmapped")
    assert (found.severity, found.location, found.text) == (
        Severity.INFORMATION,
        "MSG[1]/SPM[1]-2.1",
        "SPM-2.1 placer's specimen ID is not carried (the filler's, SPM-2.2, is): 'PL-77&EHR'",
    )
    alone = read(message(PID, OBR, WBC, "SPM|1|PL-77&EHR||BLDV^Blood, venous^HL70487"))
    assert only_order(alone).specimens[0].identifier == Identifier("PL-77", assigner="EHR")
    assert "hl7v2.component-unmapped" not in codes(alone.issues)


def test_each_result_keeps_its_own_times_as_they_change_and_come_back() -> None:
    # the reader reuses the previous OBX's time: a change, a return and a bad one are each seen
    first, second = "20261124080500-0500", "20261124091000-0500"
    segments = [
        WBC.replace(first, sent) + f"|||||{analysis}"
        for sent, analysis in (
            (first, "20261124093000-0500"),
            (second, "20261124093000-0500"),
            (first, "2026113"),
            (first, "2026113"),
            (second, "20261124093000-0500"),
        )
    ]
    read_message = read(message(PID, OBR, *segments))
    found = results(read_message)
    assert [r.effective.fhir if r.effective else None for r in found] == [
        "2026-11-24T08:05:00-05:00",
        "2026-11-24T09:10:00-05:00",
        "2026-11-24T08:05:00-05:00",
        "2026-11-24T08:05:00-05:00",
        "2026-11-24T09:10:00-05:00",
    ]
    assert [r.analysis_time.fhir if r.analysis_time else None for r in found] == [
        "2026-11-24T09:30:00-05:00",
        "2026-11-24T09:30:00-05:00",
        None,
        None,
        "2026-11-24T09:30:00-05:00",
    ]
    invalid = [i.location for i in read_message.issues if i.code == "hl7v2.timestamp-invalid"]
    assert invalid == ["MSG[1]/OBX[3]-19", "MSG[1]/OBX[4]-19"]


@pytest.mark.parametrize(
    ("roles", "first"),
    [
        ("P^Patient^HL70369~Q^Control specimen^HL70369", "P"),
        ("~Q^Control specimen^HL70369", "Q"),
        ("U^Unknown^HL70369~C^Calibrator^HL70369", "U"),
    ],
)
def test_control_role_in_a_later_repetition_marks_control_material(roles: str, first: str) -> None:
    # A QC run of WBC 2.1: a control role in any repetition of SPM-11 makes it control material,
    # as FHIR input reads every Specimen.role; the patient's conclusion holds no leukopenia.
    spm = f"SPM|1|QC-LOT-2291^CORELAB||BLD^Whole blood^HL70487|||||||{roles}"
    wbc = WBC.replace("|3.1|", "|2.1|")
    text = message(PID, OBR, wbc, spm)
    (specimen,) = only_order(read(text)).specimens
    assert specimen.is_control is True
    assert specimen.role is not None
    assert specimen.role.codings[0].code == first
    conversion = leukoflag.convert(text)
    assert not conversion.findings
    assert "flag.control-material" in {i.code for i in conversion.issues}
    report = next(
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert "conclusionCode" not in report


def test_unknown_role_in_a_later_repetition_is_an_issue() -> None:
    spm = "SPM|1|SP1^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369~Z^Zebra^HL70369"
    read_message = read(message(PID, OBR, WBC, spm))
    assert issue(read_message, "hl7v2.specimen-role-unknown").location == "MSG[1]/SPM[1]-11"
    assert read_message.groups[0].orders[0].specimens[0].is_control is False


@pytest.mark.parametrize(
    ("drawn", "after"),
    [
        # MSH-7 is 2026-11-24 09:10:47 -05:00 and OBR-22 09:05 -05:00: a draw the next day
        ("20261125080500-0500", "MSH-7 '20261124091047-0500'"),
        # between OBR-22 (results reported) and MSH-7 (message made)
        ("20261124090700-0500", "OBR-22 '20261124090500-0500'"),
        # a date only, after the message's day
        ("20261201", "MSH-7 '20261124091047-0500'"),
    ],
)
def test_a_draw_time_after_the_report_is_said_at_obx_14(drawn: str, after: str) -> None:
    read_message = read(message(PID, OBR, WBC.replace("20261124080500-0500", drawn)))
    said = issue(read_message, "hl7v2.result-time-after-report")
    assert (said.severity, said.location) == (Severity.WARNING, "MSG[1]/OBX[1]-14")
    assert said.text.startswith(f"OBX-14 '{drawn}' is after {after}: ")
    assert "a clock or a date is wrong" in said.text
    # judged as sent: the count is not lost
    (finding,) = leukoflag.convert(
        message(PID, OBR, WBC.replace("20261124080500-0500", drawn))
    ).findings
    assert finding.code == "L"


@pytest.mark.parametrize(
    "drawn",
    [
        "20261124080500-0500",  # before both
        "20261124100500-0400",  # 09:05 -05:00: the report's own time, not after it
        "202611",  # a month: any day of it, the 24th too
    ],
)
def test_a_draw_time_not_after_the_report_is_not_said(drawn: str) -> None:
    read_message = read(message(PID, OBR, WBC.replace("20261124080500-0500", drawn)))
    assert "hl7v2.result-time-after-report" not in codes(read_message.issues)


def test_a_draw_date_on_the_report_day_of_a_zone_east_of_the_reports_offset_is_not_said() -> None:
    # A Tokyo lab (+09:00) drew the blood at 06:40 on 25 November and sent OBX-14 as the date;
    # its interface engine stamps MSH-7 and OBR-22 in UTC: 22:30 on the 24th, 07:30 in Tokyo on
    # the 25th. A date has no offset: the 25th was already that day east of UTC, so it is not
    # known to be after the report, and no clock or date is wrong.
    msh = MSH.replace("20261124091047-0500", "20261124223000+0000")
    obr = OBR.replace("20261124080500-0500", "20261125").replace(
        "20261124090500-0500", "20261124222500+0000"
    )
    wbc = WBC.replace("20261124080500-0500", "20261125")
    read_message = read(message(PID, obr, wbc, msh=msh))
    assert "hl7v2.result-time-after-report" not in codes(read_message.issues)
    # a date after the report's day in every zone on earth is still said
    later = WBC.replace("20261124080500-0500", "20261126")
    said = issue(read(message(PID, obr, later, msh=msh)), "hl7v2.result-time-after-report")
    assert said.text.startswith("OBX-14 '20261126' is after MSH-7 '20261124223000+0000': ")


@pytest.mark.parametrize(
    ("drawn", "said"),
    [
        # 01:30 on the 25th in Tokyo is 16:30 UTC on the 24th, still the 24th west of UTC
        ("20261125013000+0900", False),
        # 16:30 UTC on the 25th: the 25th everywhere, after the 24th in every zone
        ("20261125163000+0000", True),
    ],
)
def test_a_draw_time_after_a_report_sent_as_a_date_is_said_when_after_it_everywhere(
    drawn: str, said: bool
) -> None:
    msh = MSH.replace("20261124091047-0500", "20261124")
    obr = OBR.replace("20261124090500-0500", "20261124")
    wbc = WBC.replace("20261124080500-0500", drawn)
    read_message = read(message(PID, obr, wbc, msh=msh))
    assert ("hl7v2.result-time-after-report" in codes(read_message.issues)) is said


def test_a_draw_time_after_a_second_orders_report_is_said_though_the_first_shares_it() -> None:
    # A CBC reported at 09:05 and a differential whose OBR-22 says 07:50, both drawn at 08:05:
    # the ANC's OBX-14 is the WBC's, yet it is after its own order's report time.
    obr_diff = (
        "OBR|2|ORD55378^EHR|LAB88165^CORELAB|57021-8^CBC W Auto Differential panel - Blood^LN|||"
        "20261124080500-0500|||||||||5820^VARGA^ILONA^^^^MD||||||20261124075000-0500|||F"
    )
    anc = (
        "OBX|1|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.20|"
        "10*3/uL^^UCUM|1.8-7.7|L|||F|||20261124080500-0500"
    )
    read_message = read(message(PID, OBR, WBC, obr_diff, anc))
    said = [i for i in read_message.issues if i.code == "hl7v2.result-time-after-report"]
    assert [(i.location, i.text.split(":", 1)[0]) for i in said] == [
        (
            "MSG[1]/OBX[2]-14",
            "OBX-14 '20261124080500-0500' is after OBR-22 '20261124075000-0500'",
        )
    ]


@pytest.mark.parametrize(
    ("collected", "received"),
    [
        ("20261124080500-0500", "20261124070000-0500"),  # an hour before, one offset
        ("20261124080500-0500", "20261124120000+0000"),  # 07:00 -05:00, written in UTC
        ("20261124080500-0500", "20261123"),  # the day before
    ],
)
def test_a_specimen_received_before_its_collection_is_a_warning(
    collected: str, received: str
) -> None:
    # SPM-18 before SPM-17: a specimen is received after it is drawn, so a clock or a date is
    # wrong (a receiving bench whose clock was not moved on, a date typed by hand); it passed
    # without a word, and the draw time (SPM-17) is the one results may take.
    spm = (
        "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369||||||"
        f"{collected}|{received}"
    )
    read_message = read(message(PID, OBR, obx("4.2"), spm))
    (specimen,) = only_order(read_message).specimens
    assert specimen.collected is not None
    assert specimen.received is not None
    found = issue(read_message, "hl7v2.specimen-received-before-collection")
    assert (found.severity, found.location, found.text) == (
        Severity.WARNING,
        "MSG[1]/SPM[1]-18",
        (
            f"SPM-18 received time {received!r} is before SPM-17 collection time {collected!r}: "
            "a specimen is received after it is collected, so a clock or a date is wrong; both "
            "read as sent"
        ),
    )


@pytest.mark.parametrize(
    ("collected", "received"),
    [
        ("20261124080500-0500", "20261124081900-0500"),
        ("20261124080500-0500", "20261124080500-0500"),  # the same moment
        ("20261124080500-0500", "20261124"),  # its day
        ("20261124080500", "20261124070000"),  # no offset: not compared
        ("20261124080500-0500", ""),
    ],
)
def test_a_specimen_received_after_or_as_it_is_collected_says_nothing(
    collected: str, received: str
) -> None:
    spm = (
        "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369||||||"
        f"{collected}|{received}"
    )
    read_message = read(message(PID, OBR, obx("4.2"), spm))
    assert "hl7v2.specimen-received-before-collection" not in codes(read_message.issues)


@pytest.mark.parametrize(
    ("received", "said"),
    [
        ("20261124070000-0500", True),  # an hour before OBR-7's draw
        ("20261123", True),  # the day before
        ("20261124081900-0500", False),
        ("20261124", False),  # its day
    ],
)
def test_a_specimen_without_spm_17_received_before_obr_7_is_a_warning(
    received: str, said: bool
) -> None:
    # Without SPM-17 the Specimen is collected at its order's OBR-7 (since 5b91fd4): an SPM-18
    # before it made a Specimen received an hour before it was collected, without a word, where
    # the same times sent as SPM-17 and SPM-18 are hl7v2.specimen-received-before-collection.
    spm = (
        f"SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369|||||||{received}"
    )
    conversion = leukoflag.convert(message(PID, OBR, obx("4.2"), spm))
    (specimen,) = [
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Specimen"
    ]
    assert specimen["collection"] == {"collectedDateTime": "2026-11-24T08:05:00-05:00"}
    found = [
        (i.severity, i.location, i.text)
        for i in conversion.issues
        if i.code == "hl7v2.specimen-received-before-collection"
    ]
    assert found == (
        [
            (
                Severity.WARNING,
                "MSG[1]/SPM[1]-18",
                (
                    f"SPM-18 received time {received!r} is before OBR-7 collection time "
                    "'20261124080500-0500' (the Specimen's, no SPM-17 read): a specimen is "
                    "received after it is collected, so a clock or a date is wrong; both read as "
                    "sent"
                ),
            )
        ]
        if said
        else []
    )
