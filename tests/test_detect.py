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
        (b'{"resourceType": "Observation"}', "fhir"),
        (b'  [{"resourceType": "Bundle"}]', "fhir"),
        (b"2026-11-24 08:00:01 INFO MSH|^~\\&|LAB|", "unknown"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unknown"),
    ],
)
def test_format_is_detected_from_content(head: bytes, kind: str) -> None:
    assert detect.detect(head) == kind


def test_log_quoting_hl7_is_described_with_line() -> None:
    log = b"2026-11-24 08:00:00 INFO start\n2026-11-24 08:00:01 INFO got MSH|^~\\&|LAB|\n"
    reason = detect.describe_unknown(log)
    assert "MSH segment found at line 2" in reason


def test_binary_is_described_as_binary() -> None:
    assert detect.describe_unknown(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == (
        "not HL7 v2 or FHIR JSON: binary content"
    )
