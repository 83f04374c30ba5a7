"""Raw message bytes → text: MLLP frame, byte-order mark, MSH-18 character set, fallback.

MSH-18 names the character set of the whole message (v2.5.1 ch. 2.15.9.18, table 0211); only
its first repetition applies to the message text. Without MSH-18 the message is read as UTF-8
(ASCII is a subset) and, when that fails, with ``Settings.fallback_charset`` and an Issue; a
wrong MSH-18 gets the same treatment. A byte-order mark wins over MSH-18.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leukoflag.detect import wide_encoding
from leukoflag.hl7v2._er7 import read_delimiters, segment_id
from leukoflag.hl7v2._tables import load_tables
from leukoflag.model import Issue, Severity

__all__ = ["Decoded", "decode_message", "describe_junk"]

_START_BLOCK = b"\x0b"
_END_BLOCK = b"\x1c"
_BOM_UTF8 = b"\xef\xbb\xbf"
_WIDE = ("utf-16", "utf-32")
_SINGLE_BYTE_EXEMPT = frozenset({"utf-8", "ascii", "utf-16", "utf-32"})


@dataclass(slots=True)
class Decoded:
    """A message as text, with the codec used and MSH-18 as sent."""

    text: str
    codec: str
    charset: str
    issues: list[Issue] = field(default_factory=list)


def decode_message(raw: bytes, fallback: str, location: str) -> Decoded | str:
    """The message text, or the reason it cannot be read as an HL7 v2 message."""
    data = raw
    if data[:1] == _START_BLOCK:
        end = data.rfind(_END_BLOCK)
        if end < 0:
            return (
                "truncated MLLP frame: a start block (0x0B) with no end block (0x1C 0x0D); "
                "the connection or file was cut mid-message"
            )
        data = data[1:end]
    bom_codec = wide_encoding(data)
    if bom_codec:
        return _decode_wide(data, bom_codec, location)
    if data.startswith(_BOM_UTF8):
        bom_codec = "utf-8"
        data = data[len(_BOM_UTF8) :]
    data = data.lstrip(b" \t\r\n")
    if not data.startswith(b"MSH"):
        return describe_junk(data)
    line_end = _line_end(data)
    header = data[:line_end].decode("latin-1")
    delimiters = read_delimiters(header)
    if isinstance(delimiters, str):
        return delimiters
    declared = _declared_charset(header, delimiters.field, delimiters.repetition)
    issues: list[Issue] = []
    where = f"{location}/MSH[1]-18"
    text, codec = _decode(data, declared, bom_codec, fallback, where, issues)
    return Decoded(text, codec, declared, issues)


def _line_end(data: bytes) -> int:
    """Where the first line of ``data`` ends (CR or LF), or its length."""
    end = data.find(b"\r")
    if end < 0:
        end = len(data)
    feed = data.find(b"\n", 0, end)  # a line feed only counts before the first CR
    return end if feed < 0 else feed


def _declared_charset(header: str, field: str, repetition: str) -> str:
    fields = header.split(field)
    # fields[0] is "MSH", fields[1] MSH-2: MSH-n is fields[n - 1].
    if len(fields) < 18:
        return ""
    return fields[17].split(repetition)[0].strip()


def _decode(  # noqa: PLR0917 - one call site, every argument is needed
    data: bytes, declared: str, bom_codec: str, fallback: str, where: str, issues: list[Issue]
) -> tuple[str, str]:
    charsets = load_tables().charsets
    row = charsets.get(declared.upper()) if declared else None
    if bom_codec:
        if declared and (row is None or row.codec != bom_codec):
            issues.append(
                Issue(
                    Severity.WARNING,
                    "hl7v2.charset-bom-mismatch",
                    where,
                    f"MSH-18 says {declared!r} but the message starts with a {bom_codec} "
                    f"byte-order mark: read as {bom_codec}",
                )
            )
        return _strict_or_fallback(data, bom_codec, fallback, where, issues, why="")
    if not declared:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return _fallback(
                data, fallback, where, issues, "MSH-18 is empty and the message is not UTF-8"
            )
    if row is None:
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-unknown",
                where,
                f"MSH-18 character set {declared!r} is not one leukoflag knows (HL7 table 0211)",
            )
        )
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return _fallback(data, fallback, where, issues, f"{declared!r} is unknown")
    if not row.standard:
        issues.append(
            Issue(
                Severity.INFORMATION,
                "hl7v2.charset-nonstandard",
                where,
                f"MSH-18 {declared!r} is not an HL7 table 0211 value; read as {row.codec}",
            )
        )
    if row.codec not in _SINGLE_BYTE_EXEMPT and not data.isascii() and _is_utf8(data):
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-suspect",
                where,
                f"MSH-18 says {declared!r} but the non-ASCII bytes form valid UTF-8: read as "
                f"{row.codec} as declared; check the sender's encoding",
            )
        )
    return _strict_or_fallback(
        data, row.codec, fallback, where, issues, why=f"the message is not valid {declared!r}"
    )


def _strict_or_fallback(
    data: bytes, codec: str, fallback: str, where: str, issues: list[Issue], *, why: str
) -> tuple[str, str]:
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError:
        pass
    if codec != "utf-8" and _is_utf8(data):
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-wrong",
                where,
                f"{why or f'the message is not valid {codec}'}; it is valid UTF-8: read as UTF-8",
            )
        )
        return data.decode("utf-8"), "utf-8"
    return _fallback(data, fallback, where, issues, why or f"the message is not valid {codec}")


def _fallback(
    data: bytes, fallback: str, where: str, issues: list[Issue], why: str
) -> tuple[str, str]:
    try:
        text = data.decode(fallback)
    except UnicodeDecodeError as exc:
        issues.append(
            Issue(
                Severity.ERROR,
                "hl7v2.charset-undecodable",
                where,
                f"{why}, and byte {data[exc.start]:#04x} at offset {exc.start} is not valid "
                f"{fallback} either: undecodable bytes replaced with U+FFFD",
            )
        )
        return data.decode(fallback, "replace"), fallback
    issues.append(
        Issue(
            Severity.WARNING,
            "hl7v2.charset-fallback",
            where,
            f"{why}: read with the fallback character set {fallback}",
        )
    )
    return text, fallback


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_wide(data: bytes, codec: str, location: str) -> Decoded | str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        return f"not valid {codec.upper()} after its byte-order mark (offset {exc.start})"
    text = text.lstrip(" \t\r\n")
    if not text.startswith("MSH"):
        return describe_junk(text.encode("utf-8"))
    header = text[: _line_end(text.encode("utf-8"))]
    delimiters = read_delimiters(header)
    if isinstance(delimiters, str):
        return delimiters
    declared = _declared_charset(header, delimiters.field, delimiters.repetition)
    issues: list[Issue] = []
    row = load_tables().charsets.get(declared.upper()) if declared else None
    if declared and (row is None or row.codec != codec):
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-bom-mismatch",
                f"{location}/MSH[1]-18",
                f"MSH-18 says {declared!r} but the message starts with a {codec} byte-order "
                f"mark: read as {codec}",
            )
        )
    return Decoded(text, codec, declared, issues)


def describe_junk(data: bytes) -> str:
    """Why content that does not start with MSH is not a message."""
    text = data.strip(b" \t\r\n\x0b\x1c")
    if not text:
        return "empty message: no segments"
    sample = text[:4096]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    if b"\x00" in sample or controls > len(sample) // 10:
        return "not an HL7 v2 message: binary content"
    if text[:1] in (b"{", b"["):
        return "not an HL7 v2 message: JSON content (a FHIR resource in an HL7 v2 stream?)"
    if text[:1] == b"<":
        return "not an HL7 v2 message: XML content"
    first = text[: _line_end(text)].decode("utf-8", "replace")
    separator = first[3:4]
    usable = separator and not separator.isalnum() and not separator.isspace()
    name = segment_id(first, separator) if usable else ""
    if name in ("FHS", "BHS", "BTS", "FTS"):
        return f"batch envelope segment {name} without a message"
    if name:
        return (
            f"segment {name} before MSH: a message must start with an MSH segment "
            "(header missing, or the message was cut at its start)"
        )
    shown = first[:60]
    return (
        f"not an HL7 v2 message: no MSH segment; text starts with {shown!r} "
        "(text between messages, or a log line?)"
    )
