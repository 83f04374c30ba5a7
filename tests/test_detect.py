from __future__ import annotations

import pytest

from leukoflag import detect


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"MSH|^~\\&|LAB|", "hl7v2"),
        (b"\xef\xbb\xbfMSH|^~\\&|LAB|", "hl7v2"),
        (b"\x0bMSH|^~\\&|LAB|", "hl7v2"),
        (b"\r\n\r\nFHS|^~\\&|", "hl7v2"),
        (b"BHS|^~\\&|", "hl7v2"),
        (b"msh|^~\\&|LAB|", "hl7v2"),  # read as MSH, with hl7v2.segment-id-case
        (b"  MSH|^~\\&|LAB|", "hl7v2"),
        (b"msh| resent by the LIS", "unknown"),  # no header's delimiters: text
        (b"bhs|^~\\&|CORELAB|", "hl7v2"),  # a batch header in lower case, as 'msh|^~\&|'
        (b"fts|1\rBHS|^~\\&|CORELAB|", "hl7v2"),  # a capture rotated before a file trailer
        (b"bts| resent by the LIS", "unknown"),  # no count after 'bts|': text
        (b'{"resourceType": "Observation"}', "fhir"),
        (b'  [{"resourceType": "Bundle"}]', "fhir"),
        (b"2026-11-24 08:00:01 INFO MSH|^~\\&|LAB|", "unknown"),
        (b'42\n{"resourceType": "Observation"}\n', "fhir"),
        (b'\xef\xbb\xbf\r\nnull\r\n[1]\r\n\r\n{"resourceType": "Observation", "id": "o', "fhir"),
        (b'"export"\n{"resourceType": "Observation"', "fhir"),
        (b"42\n17\n", "unknown"),
        (b'42\n{\n  "resourceType": "Observation"\n}\n', "unknown"),
        (b'2026-11-24 08:00:01 INFO sent\n{"resourceType": "Observation"}\n', "unknown"),
        (b'Infinity\n{"resourceType": "Observation"}\n', "unknown"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unknown"),
    ],
)
def test_format_is_detected_from_content(head: bytes, kind: str) -> None:
    assert detect.detect(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"OBX|7|NM|26499-4^Neutrophils [#/volume] in Blood^LN||1.1|10*3/uL|1.8-7.7|L|||F\r",
        b"PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M\n",
        b"\r\nNTE|1||Specimen slightly hemolyzed\r\n",
        b"BTS|3\rFTS|1\rMSH|^~\\&|CORELAB|",
        b"OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel^LN\r",
        b"ZLB|1|HEMATOLOGY BENCH 2\r",
        b"\xef\xbb\xbfSPM|1|SP7790^CORELAB||BLDV\r",
        b"\x1c\r\x0bMSH|^~\\&|CORELAB|",  # a capture rotated right before a frame's end block
        b"\x1c\rMSH|^~\\&|CORELAB|",
        # cut inside a segment: its tail, then a segment
        b"L|||F|||20261124080500-0500\rSPM|1|SP7790^CORELAB||BLDV\r",
        b"3^10*3/uL|4.0-11.0|L|||F\r\nOBX|2|NM|751-8^Neutrophils^LN||1.20\r\n",
        b"ood by Automated count^LN||3.1|10*3/uL\nBTS|3\n",
        # ... or a trailer sent indented or in lower case, which the splitter counts as BTS
        b"L|||F\r      BTS|3\rFTS|1\rFHS|^~\\&|CORELAB|",
        b"ood by Automated count^LN||3.1|10*3/uL\nfts|1\n",
    ],
)
def test_input_that_starts_mid_message_is_hl7v2(head: bytes) -> None:
    # a rotated capture's first lines: rejected whole as unknown, losing the messages after them
    assert detect.detect(head) == "hl7v2"


@pytest.mark.parametrize(
    "head",
    [
        b"MRN|WBC|ANC\n100871|3.1|1.2\n",  # a pipe-separated CSV: no segment of a message
        b"WBC|3.1|10*3/uL\n",
        b"2026-11-24 08:00:01 INFO OBX|1|NM|6690-2^WBC^LN||3.1\n",  # a log quoting a segment
        b"received OBX|1|NM|6690-2^WBC^LN||3.1\n",
        b"OBX 1 NM 6690-2 3.1\n",
        b"Obx|1|NM|\n",
        b'\x1c{"resourceType": "Observation"}',
        # a log quoting a message after its timestamp, its other segments on the lines after
        b"2026-11-24 08:00:01 INFO got MSH|^~\\&|CORELAB|RIVERSIDE\nPID|1||MRN100871\n",
        b"2026-11-24 08:00:01 INFO got OBX|1|NM|6690-2^WBC^LN||3.1\nOBX|2|NM|\n",
        b"L|||F|||20261124080500-0500\rMSH|^~\\&|CORELAB|",  # no segment of a message after it
        b"L|||F\r  BHS|^~\\&|CORELAB|\r",  # a header after the tail, as 'BHS|' is
        b"L|||F\r  fts|1\r",  # indented and in lower case at once: text
        b"2026-11-24 08:00:01 INFO got OBX|1|NM|6690-2^WBC^LN||3.1\n  BTS|3\n",
    ],
)
def test_text_that_merely_looks_like_a_segment_stays_unknown(head: bytes) -> None:
    assert detect.detect(head) == "unknown"


def test_log_quoting_hl7_is_described_with_line() -> None:
    log = b"2026-11-24 08:00:00 INFO start\n2026-11-24 08:00:01 INFO got MSH|^~\\&|LAB|\n"
    reason = detect.describe_unknown(log)
    assert "MSH segment found at line 2" in reason


def test_binary_is_described_as_binary() -> None:
    assert detect.describe_unknown(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == (
        "not HL7 v2 or FHIR JSON: binary content"
    )


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("MSH|^~\\&|HEMLAB|", "hl7v2"),
        ("\r\nFHS|^~\\&|HEMLAB|", "hl7v2"),
        ("BHS|^~\\&|HEMLAB|", "hl7v2"),
        ("\x0bMSH|^~\\&|HEMLAB|", "hl7v2"),
        ('\n  {"resourceType": "Observation"}', "fhir"),
        ('[{"resourceType": "Bundle"}]', "fhir"),
        ("Datum;Leukozyten\n", "unknown"),
    ],
)
def test_wide_text_after_a_byte_order_mark_is_judged_by_its_text(
    codec: str, text: str, kind: str
) -> None:
    head = ("\ufeff" + text).encode(codec)
    assert detect.detect(head) == kind
    assert detect.wide_encoding(head) == codec[:6]


def test_wide_head_cut_inside_a_character_is_still_detected() -> None:
    head = "MSH|^~\\&|HEMLAB|NORTHGATE".encode("utf-16")[:-1]
    assert detect.detect(head) == "hl7v2"


def test_utf8_content_has_no_wide_encoding() -> None:
    assert detect.wide_encoding(b"\xef\xbb\xbfMSH|") == ""
    assert detect.wide_encoding(b"MSH|") == ""


def test_wide_text_is_described_by_its_text_not_as_binary() -> None:
    reason = detect.describe_unknown("Datum;Leukozyten\n2026-12-03;2,9\n".encode("utf-16"))
    assert reason == "not HL7 v2 or FHIR JSON: content starts with 'Datum;Leukozyten'"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_hl7_without_byte_order_mark_is_described_as_such_not_as_binary(codec: str) -> None:
    message = "MSH|^~\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|20261203081500-0500||ORU^R01|HL-9|P|2.5.1\r"
    assert detect.detect(message.encode(codec)) == "unknown"
    assert detect.describe_unknown(message.encode(codec)) == (
        f"HL7 v2 in {codec.upper()} without a byte-order mark, starting "
        "'MSH|^~\\\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|': leukoflag reads UTF-16 and UTF-32 "
        "HL7 v2 only after its byte-order mark (add it, or send UTF-8)"
    )


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("blank", ["\r\n", "\n\n", " "])
def test_wide_hl7_without_byte_order_mark_after_blanks_names_its_own_encoding(
    codec: str, blank: str
) -> None:
    # blank lines (or a space) before MSH, each a wide character: stripping them byte by byte
    # left the text out of step, called binary, or UTF-16-LE called UTF-16-BE
    message = blank + "MSH|^~\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|20261203081500-0500||ORU^R01|HL-9\r"
    assert detect.describe_unknown(message.encode(codec)) == (
        f"HL7 v2 in {codec.upper()} without a byte-order mark, starting "
        "'MSH|^~\\\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|': leukoflag reads UTF-16 and UTF-32 "
        "HL7 v2 only after its byte-order mark (add it, or send UTF-8)"
    )


def test_wide_text_without_byte_order_mark_is_described_by_its_text() -> None:
    reason = detect.describe_unknown("Datum;Leukozyten\n2026-12-03;2,9\n".encode("utf-16-le"))
    assert reason == (
        "not HL7 v2 or FHIR JSON: UTF-16-LE text without a byte-order mark, starting "
        "'Datum;Leukozyten'"
    )


@pytest.mark.parametrize("content", [b"A\x00\x01\x02\x03\x04\x05", b"P\x00\x00\x00\x00\x00"])
def test_binary_that_starts_like_wide_text_is_still_binary(content: bytes) -> None:
    assert detect.describe_unknown(content) == "not HL7 v2 or FHIR JSON: binary content"


@pytest.mark.parametrize(
    ("content", "line"),
    [
        # HL7 v2's own segment terminator is CR: a PID before the MSH is line 1, the MSH line 2
        (b"PID|1||MRN100871\rMSH|^~\\&|LAB|", 2),
        (b"export of 2026-11-24\rbatch 7\rMSH|^~\\&|LAB|", 3),
        (b"export of 2026-11-24\r\nbatch 7\r\nMSH|^~\\&|LAB|", 3),
        # blank lines before the text are lines of the file too
        (b"\n\nexport of 2026-11-24\nMSH|^~\\&|LAB|", 4),
        (b"\xef\xbb\xbf\r\n2026-11-24 INFO got\r\nMSH|^~\\&|LAB|", 3),
    ],
)
def test_quoted_segment_line_counts_every_line_end_of_the_file(content: bytes, line: int) -> None:
    reason = detect.describe_unknown(content)
    assert f"MSH segment found at line {line}," in reason


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize(
    "text", ['{"resourceType": "Observation"}', '\r\n  [{"resourceType": "Bundle"}]']
)
def test_wide_json_without_byte_order_mark_is_fhir_by_its_zero_bytes(codec: str, text: str) -> None:
    head = text.encode(codec)
    assert detect.detect(head) == "fhir"
    assert detect.bare_wide_encoding(head) == codec
    assert detect.wide_encoding(head) == ""


@pytest.mark.parametrize(
    "head",
    [
        b'{"resourceType": "Observation"}',
        "\ufeff{}".encode("utf-16"),  # a mark says it: wide_encoding's
        "MSH|^~\\&|HEMLAB|".encode("utf-16-le"),  # not JSON
        "Datum;Leukozyten".encode("utf-16-be"),
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
def test_other_content_has_no_bare_wide_encoding(head: bytes) -> None:
    assert detect.bare_wide_encoding(head) == ""
