"""Tell HL7 v2 from FHIR JSON/NDJSON by the first bytes of the content, never by file name."""

from __future__ import annotations

from typing import Literal

__all__ = ["Kind", "describe_unknown", "detect"]

Kind = Literal["hl7v2", "fhir", "unknown"]

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_V2_STARTS = (b"MSH", b"FHS", b"BHS")
_MLLP_START = b"\x0b"


def detect(head: bytes) -> Kind:
    """The format of content starting with ``head``.

    HL7 v2: an MLLP start block (0x0B) or MSH/FHS/BHS as the first non-blank bytes. FHIR: a JSON
    object or array. Anything else (a log that quotes HL7 lines, binary data, a CSV) is unknown and
    is rejected whole with :func:`describe_unknown`.
    """
    text = _strip(head)
    if text.startswith(_MLLP_START) or text.startswith(_V2_STARTS):
        return "hl7v2"
    if text[:1] in (b"{", b"["):
        return "fhir"
    return "unknown"


def describe_unknown(raw: bytes) -> str:
    """A clear rejection reason for content that is neither HL7 v2 nor FHIR JSON."""
    text = _strip(raw[:65536])
    if not text:
        return "empty input"
    if b"\x00" in text or _binary_share(text) > 0.1:
        return "not HL7 v2 or FHIR JSON: binary content"
    for marker in _V2_STARTS:
        position = text.find(marker + b"|")
        if position > 0:
            line = text.count(b"\n", 0, position) + 1
            return (
                f"not an HL7 v2 message: {marker.decode()} segment found at line {line}, "
                "after other text (a log or report quoting HL7?); a message must start with MSH, "
                "FHS, BHS or an MLLP frame"
            )
    first = text[:40].decode("utf-8", "replace").splitlines()[0] if text else ""
    return f"not HL7 v2 or FHIR JSON: content starts with {first!r}"


def _strip(data: bytes) -> bytes:
    for bom in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    return data.lstrip(b" \t\r\n")


def _binary_share(data: bytes) -> float:
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0B, 0x0D, 0x1C))
    return controls / max(len(sample), 1)
