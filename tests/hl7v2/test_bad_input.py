"""Bad input is a Rejected with a clear reason, never an exception; strict structure checks."""

from __future__ import annotations

import pytest

from leukoflag import hl7v2
from leukoflag.model import Rejected
from leukoflag.settings import Settings

from .messages import ANC, CBC, MSH, OBR, PID, SPM, WBC, codes, message, read, reject, results


def test_binary_content_is_rejected() -> None:
    assert reject(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00").reason == (
        "not an HL7 v2 message: binary content"
    )


def test_json_is_rejected() -> None:
    assert "JSON content" in reject(b'{"resourceType": "Observation"}').reason


def test_log_quoting_hl7_lines_is_rejected() -> None:
    log = (
        b"2026-11-24 08:00:01 INFO inbound MSH|^~\\&|CORELAB|RIVERSIDE\n"
        b"2026-11-24 08:00:02 INFO ack"
    )
    reason = reject(log).reason
    assert reason.startswith("not an HL7 v2 message: no MSH segment")
    assert "2026-11-24 08:00:01" in reason


def test_a_long_log_after_an_end_block_is_rejected_naming_its_first_line_and_segments() -> None:
    # 20,000 log lines after an MLLP end block, with the tail of a message among them: the
    # reason is found in place (the text was stripped, cut after its first line and split into
    # lines: 500 MB for a log of 100 MB), and still names the first line and the segments
    lines = [
        b"2026-12-07 10:15:%02d INFO  [mllp-listener-7] idle  " % (n % 60) for n in range(20_000)
    ]
    lines[15_000:15_000] = [b"PV1|1|O", b"OBR|1|ORD1", *(b"Z%02d|x" % n for n in range(8))]
    reason = reject(b"\r\n".join(lines) + b"\x1c\r\n").reason
    assert reason.startswith(
        "not an HL7 v2 message: no MSH segment; text starts with "
        "'2026-12-07 10:15:00 INFO  [mllp-listener-7] idle  ' and segments follow it "
        "(PV1, OBR, Z00, Z01, Z02, Z03, …): the rest of a message cut inside a segment"
    )


def test_message_cut_inside_obx_is_rejected_as_truncated() -> None:
    cut = message(PID, OBR, WBC)[:-60]
    reason = reject(cut).reason
    assert reason.startswith("truncated: the last segment, OBX, stops after field")
    assert "OBX-11" in reason


def test_msh_only_is_rejected_as_truncated() -> None:
    assert reject(MSH + "\r").reason == "truncated: the message holds only its MSH segment"
    assert reject(MSH[:40]).reason == (
        "truncated: the message holds only its MSH segment (MSH itself is cut short)"
    )


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("ACK^R01^ACK", "message type ACK^R01^ACK is not a lab result: leukoflag reads ORU^R01"),
        ("ADT^A08^ADT_A01", "message type ADT^A08^ADT_A01 is not a lab result"),
        ("oru^r01", "message type oru^r01 is not in upper case"),
    ],
)
def test_msh_only_of_another_message_type_is_rejected_by_its_type_not_as_truncated(
    sent: str, reason: str
) -> None:
    # an ACK is an MSH alone (its MSA aside): it was rejected as a result message cut short
    msh_only = MSH.replace("ORU^R01^ORU_R01", sent) + "\r"
    assert reject(msh_only).reason.startswith(reason)
    cut = msh_only.split("|P|")[0]  # MSH itself cut after MSH-10: the type may be cut too
    assert reject(cut).reason == (
        "truncated: the message holds only its MSH segment (MSH itself is cut short)"
    )


def test_message_without_results_is_rejected() -> None:
    assert reject(message(PID, "PV1|1|O")).reason == (
        "no results: the message has no OBR or OBX segment"
    )


def test_segment_before_msh_is_rejected() -> None:
    assert reject(PID + "\r" + CBC).reason.startswith("segment PID before MSH")


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        ("MSH|^~|CORELAB|RIVERSIDE", "MSH-2 encoding characters '^~' are too short"),
        ("MSH|^~\\&xyz|CORELAB", "too long"),
        ("MSHA^~\\&ACORELAB", "MSH-1 field separator 'A'"),
        ("MSH|^^\\&|CORELAB", "are not all different"),
        ("MSH|^~\\a|CORELAB", "is not a printable non-alphanumeric"),
    ],
)
def test_broken_delimiters_are_rejected(header: str, phrase: str) -> None:
    assert phrase in reject(header + "\r" + PID + "\r" + OBR + "\r" + WBC).reason


def test_other_message_types_are_rejected_with_the_type() -> None:
    adt = MSH.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01")
    reason = reject(message(PID, "PV1|1|I|W4^401^A", msh=adt)).reason
    assert reason.startswith("message type ADT^A01^ADT_A01 is not a lab result")


def test_specimen_oriented_lab_results_are_rejected_as_lab_results_not_read() -> None:
    # An OUL^R22 CBC from a specimen-oriented LIS: SPM before the OBR, ORC after it.
    oul = MSH.replace("ORU^R01^ORU_R01", "OUL^R22^OUL_R22")
    specimen_first = message(PID, SPM, OBR, "ORC|SC|ORD55377^EHR|LAB88164^CORELAB", WBC, msh=oul)
    reason = reject(specimen_first).reason
    assert reason.startswith("message type OUL^R22^OUL_R22 is a lab result, but one leukoflag ")
    assert "not a lab result" not in reason
    assert "ORC after OBR" in reason


@pytest.mark.parametrize(
    ("message_type", "says"),
    [
        ("ORU_R01", "is a message structure sent where MSH-9 wants the message type and trigger"),
        ("oru^r01", "is not in upper case, as HL7 message types and trigger events are (ORU^R01)"),
        ("ORU", "has no trigger event (MSH-9.2)"),
    ],
)
def test_a_miswritten_result_type_is_rejected_saying_what_is_wrong(
    message_type: str, says: str
) -> None:
    msh = MSH.replace("ORU^R01^ORU_R01", message_type)
    reason = reject(message(PID, OBR, WBC, msh=msh)).reason
    assert reason.startswith(f"message type {message_type} {says}")
    assert "not a lab result" not in reason


def test_empty_message_type_is_rejected() -> None:
    msh = MSH.replace("ORU^R01^ORU_R01", "")
    assert "MSH-9 message type is empty" in reject(message(PID, OBR, WBC, msh=msh)).reason


def test_point_of_care_r30_is_read() -> None:
    msh = MSH.replace("ORU^R01^ORU_R01", "ORU^R30^ORU_R30")
    assert read(message(PID, OBR, WBC, msh=msh)).message_type == "ORU^R30^ORU_R30"


def test_two_headers_in_one_chunk_are_rejected() -> None:
    reason = reject(CBC + CBC).reason
    assert reason.startswith("more than one MSH segment")


def test_a_line_that_is_not_a_segment_is_an_issue() -> None:
    read_message = read(message(PID, OBR, WBC, "continued text of a wrapped comment"))
    assert "hl7v2.line-not-segment" in codes(read_message.issues)


def test_lines_that_are_not_segments_are_said_with_their_line_number() -> None:
    # A listener's log pasted into a message: 'MSG[1]' alone, and identical lines merged into
    # one Issue, left an operator nothing to find the lines by in a file of 50,000 lines
    log = "2026-12-07 10:15:00,123 INFO  [mllp-listener-7] received 2311 bytes"
    read_message = read(message(PID, log, OBR, WBC, log, log, "-- end of capture --", ANC, log))
    skipped = [(i.location, i.text) for i in read_message.issues if i.code.endswith("segment")]
    said = "a line that is not a segment was skipped"
    assert skipped == [
        ("MSG[1]", f"{said} (line 3 of the message; 3 more alike after it): {log!r}"),
        ("MSG[1]", f"{said} (line 8 of the message): '-- end of capture --'"),
    ]
    assert len(results(read_message)) == 2


def test_a_log_of_many_lines_in_a_message_is_a_few_issues_not_one_per_line() -> None:
    # 100,000 log lines inside one message: one Issue was built per line (1.8 GB for 200 MB)
    # before identical ones were merged, and each distinct line stayed an Issue of its own
    log = [
        f"2026-12-07 10:15:{n % 60:02} INFO  [mllp-listener-7] frame {n} acked"
        for n in range(100_000)
    ]
    read_message = read(message(PID, OBR, WBC, *log, ANC))
    skipped = [i.text for i in read_message.issues if i.code == "hl7v2.line-not-segment"]
    assert len(skipped) == 11
    assert (
        skipped[0]
        == f"a line that is not a segment was skipped (line 5 of the message): {log[0]!r}"
    )
    assert skipped[9].startswith(
        "a line that is not a segment was skipped (line 14 of the message): "
    )
    assert skipped[10] == (
        "a line that is not a segment was skipped (line 15 of the message; 99,989 other lines "
        f"after it, not quoted): {log[10]!r}"
    )
    assert [r.location for r in results(read_message)] == ["MSG[1]/OBX[1]", "MSG[1]/OBX[2]"]


def test_invalid_timestamp_is_an_issue_not_a_failure() -> None:
    segment = WBC.replace("20261124080500-0500", "20261345")
    read_message = read(message(PID, OBR, segment))
    found = [i for i in read_message.issues if i.code == "hl7v2.timestamp-invalid"]
    assert [i.location for i in found] == ["MSG[1]/OBX[1]-14"]


def test_rejected_keeps_the_raw_message_and_location() -> None:
    raw = b"not hl7 at all"
    rejected = hl7v2.read_message(raw, index=7, source="feed.hl7", settings=Settings())
    assert isinstance(rejected, Rejected)
    assert rejected.raw == raw
    assert rejected.location == "MSG[7]"
    assert rejected.source == "feed.hl7"


def test_strict_structure_check_accepts_a_valid_message() -> None:
    assert hl7v2.validate_structure(CBC.encode(), settings=Settings(strict=True)) == []


def test_strict_structure_check_reports_problems() -> None:
    out_of_order = message(OBR, PID, SPM, WBC)
    problems = hl7v2.validate_structure(out_of_order.encode(), settings=Settings(strict=True))
    assert problems
    assert all(isinstance(p, str) and p for p in problems)


def test_strict_structure_check_of_unreadable_input() -> None:
    assert hl7v2.validate_structure(b"\x00\x01", settings=Settings(strict=True)) == [
        "not an HL7 v2 message: binary content"
    ]
