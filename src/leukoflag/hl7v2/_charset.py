"""Raw message bytes → text: MLLP frame, byte-order mark, MSH-18 character set, fallback.

MSH-18 names the character set of the whole message (v2.5.1 ch. 2.15.9.18, table 0211): its
first repetition is the default set. Further repetitions announce the sets that ISO 2022 escape
sequences switch to (MSH-20 "ISO 2022-1994" or empty; v2.5.1 ch. 2.15.9.20); such a message is
decoded whole by the stdlib ISO 2022 codec covering those sets *before* it is split, because a
two-byte character may hold bytes equal to the delimiters (JIS X 0208 奥 is 0x31 0x7C, "1|").
Without MSH-18 the message is read as UTF-8 (ASCII is a subset) and, when that fails, with
``Settings.fallback_charset`` and an Issue; a wrong MSH-18 gets the same treatment. A byte-order
mark wins over MSH-18.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from leukoflag._quote import quoted
from leukoflag.detect import wide_encoding
from leukoflag.hl7v2._er7 import (
    CONTROL_BYTES,
    header_variant,
    indentation,
    read_delimiters,
    segment_id,
)
from leukoflag.hl7v2._tables import CharsetRow, load_tables
from leukoflag.model import Issue, Severity

__all__ = ["Decoded", "decode_message", "describe_junk"]

_START_BLOCK = b"\x0b"
_END_BLOCK = b"\x1c"
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_FIRST = _BOM_UTF8[0]
# What ends a line around an end block (a 0x1C between others is a character of a field)
_BREAK_BYTES = frozenset(b"\r\n\x0b\x1c")
_ENDS = (b"", b"\r", b"\n", b"\x0b", b"\x1c")
_WIDE = ("utf-16", "utf-32")
_SINGLE_BYTE_EXEMPT = frozenset({"utf-8", "ascii", "utf-16", "utf-32"})
_WIDE_CODECS = frozenset({"utf-16", "utf-32"})
# The codec of the bytes of a \Xhh..\ escape in a UTF-16 or UTF-32 message: they carry no
# byte-order mark, and such text is big-endian (RFC 2781 4.3; the Unicode Standard, 3.10), not
# in the message's order nor (Python's "utf-16" without a mark) the machine's.
_ESCAPE_CODECS = {"utf-16": "utf-16-be", "utf-32": "utf-32-be"}
_ESC_BYTE = 0x1B  # ``int in bytes`` is a plain memchr, several times faster than ``b"\x1b" in``
# An ISO 2022 designation: ESC, intermediate bytes 0x20-0x2F, a final byte 0x30-0x7E.
_DESIGNATION = re.compile(rb"\x1b([\x20-\x2f]+[\x30-\x7e])")
# Designations (ISO-IR registry; RFC 1468, 1554, 1557) → the table 0211 name of their set.
_DESIGNATED = {
    b"(B": "ASCII",
    b"(J": "ISO IR14",
    b"$@": "ISO IR87",  # JIS C 6226-1978, the first edition of JIS X 0208
    b"$B": "ISO IR87",
    b"$(B": "ISO IR87",
    b"$(D": "ISO IR159",
    b"$(C": "KS X 1001",
    b"$)C": "KS X 1001",
}
# The blanks around content that is not a message (MLLP block bytes among them), and a segment
# ID at the start of a line after the first (see segment_id: a letter, then letters or digits).
_BLANKS = re.compile(rb"[ \t\r\n\x0b\x1c]*")
_BLANK_BYTES = b" \t\r\n\x0b\x1c"
_SEGMENT_START = re.compile(rb"[\r\n]([A-Z][A-Z0-9]{2})\|")
# From a designation of anything but ASCII to the next escape: text whose bytes may equal the
# delimiters, hidden while MSH-18 and MSH-20 are looked for in the undecoded header.
_SHIFTED = re.compile("\x1b(?!\\(B)[\x20-\x2f]+[\x30-\x7e][^\x1b]*")
_SWITCHING_SCHEMES = frozenset({"", "ISO 2022-1994"})
# A lead byte of a UTF-8 character beyond ASCII and a continuation byte: where there is none, a
# message read as UTF-8 where it can be and with a single-byte fallback elsewhere reads as it
# does with the fallback throughout (see _mixed).
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# Bytes that are not UTF-8, as a decoding with "surrogateescape" leaves them (PEP 383).
_ESCAPED = re.compile("[\udc80-\udcff]+")


@dataclass(slots=True)
class Decoded:
    """A message as text, with the codec used and MSH-18 as sent."""

    text: str
    codec: str
    charset: str
    issues: list[Issue] = field(default_factory=list)
    # The text may hold C0 control characters (False: its bytes were seen to hold none).
    controls: bool = True


def decode_message(
    raw: bytes, fallback: str, location: str, *, decoded: bool = False
) -> Decoded | str:
    """The message text, or the reason it cannot be read as an HL7 v2 message. ``decoded``:
    ``raw`` is the UTF-8 of text given as ``str``, read as UTF-8 whatever MSH-18 says."""
    data = raw
    # a frame saved as a UTF-8 file with a mark before its start block: the mark is its text's
    marked = data[3:4] == _START_BLOCK and data.startswith(_BOM_UTF8)
    if marked:
        data = data[len(_BOM_UTF8) :]
    if data[:1] == _START_BLOCK:
        end = _end_block(data)
        if end < 0:
            return (
                "truncated MLLP frame: a start block (0x0B) with no end block (0x1C 0x0D); "
                "the connection or file was cut mid-message"
            )
        data = _BOM_UTF8 + data[1:end] if marked else data[1:end]
    bom_codec = wide_encoding(data)
    if bom_codec:
        return _decode_wide(data, bom_codec, location)
    if data.startswith(_BOM_UTF8):
        bom_codec = "utf-8"
        data = data[len(_BOM_UTF8) :]
    stripped = data.lstrip(b" \t\r\n")
    issues: list[Issue] = []
    if stripped[:3] != b"MSH" or stripped is not data:  # rare: not sent as 'MSH' at its start
        lead = data[: len(data) - len(stripped)].decode("latin-1")
        noted = _header_notes(lead, stripped[:16].decode("latin-1"), location)
        if noted is None:
            return describe_junk(stripped)
        issues.extend(noted)
        stripped = b"MSH" + stripped[3:]
    data = stripped
    line_end = _line_end(data)
    header = data[:line_end].decode("latin-1")
    delimiters = read_delimiters(header)
    if isinstance(delimiters, str):
        return delimiters
    fields = (_SHIFTED.sub("", header) if "\x1b" in header else header).split(delimiters.field)
    # fields[0] is "MSH", fields[1] MSH-2: MSH-n is fields[n - 1].
    charsets = fields[17] if len(fields) > 17 else ""
    declared = charsets.split(delimiters.repetition)[0].strip()
    where = f"{location}/MSH[1]-18"
    tables = load_tables()
    row = tables.charsets.get(declared.upper()) if declared else None
    if (
        decoded
        and not bom_codec
        and (not data.isascii() or (row is not None and row.codec in _WIDE_CODECS))
        and _is_utf8(data)
    ):
        # Text the caller already decoded: MSH-18 named its bytes; now only its \Xhh\ escapes.
        codec = row.codec if row is not None else "utf-8"
        codec = _ESCAPE_CODECS.get(codec, codec)
        controls = len(data.translate(None, CONTROL_BYTES)) != len(data) or _holds_bom(data)
        return Decoded(data.decode("utf-8"), codec, declared, issues, controls)
    switched = None
    # Cheap tests first: most messages name one known set, no alternates, and hold no ESC.
    if not bom_codec and (
        _ESC_BYTE in data
        or delimiters.repetition in charsets
        or (row is None and declared.upper() in tables.iso2022_only)
    ):
        names = charsets.split(delimiters.repetition)
        scheme = fields[19].split(delimiters.component)[0] if len(fields) > 19 else ""
        switched = _switching(data, names, scheme, fallback, where, issues)
    if switched is not None:
        return Decoded(*switched, declared, issues)
    text, codec = _decode(data, declared, row, bom_codec, fallback, where, issues)
    # The reader's search for them runs only when this finds some (or a byte-order mark inside
    # the message, which the reader removes from its field: UTF-8's bytes, as read by codecs
    # that read UTF-8).
    controls = _holds_control_bytes(data) or _holds_bom(data)
    return Decoded(text, codec, declared, issues, controls)


def _end_block(data: bytes) -> int:
    """Where the last MLLP end block of ``data`` is, or -1: a 0x1C with text on both sides on
    its line is a character of a field, not an end block (see the splitter's _in_field)."""
    end = data.rfind(_END_BLOCK)
    while end > 0 and data[end - 1] not in _BREAK_BYTES and data[end + 1 : end + 2] not in _ENDS:
        end = data.rfind(_END_BLOCK, 0, end)
    return end


def _header_notes(lead: str, head: str, location: str) -> list[Issue] | None:
    """The Issues of a message header sent after ``lead`` (the blanks before it) and starting
    ``head``: indented or in lower or mixed case, read as MSH as the reader reads any segment
    so (the splitter starts a message there); ``[]`` for a plain one, ``None`` for no header."""
    indent = lead[max(lead.rfind("\r"), lead.rfind("\n")) + 1 :]
    where = f"{location}/MSH[1]"
    if head.startswith("MSH"):
        if not indent:
            return []
        said = f"segment 'MSH' is indented with {indentation(indent)}"
        text = f"{said}, which HL7 segments are not: read as MSH"
        return [Issue(Severity.WARNING, "hl7v2.segment-indented", where, text)]
    if indent or not header_variant(head):
        return None  # indented and in lower case: text, as for any segment
    said = f"segment ID {quoted(head[:3])} is not in upper case"
    text = f"{said}, as HL7 segment IDs are: read as MSH"
    return [Issue(Severity.WARNING, "hl7v2.segment-id-case", where, text)]


def _holds_control_bytes(data: bytes) -> bool:
    """Whether ``data`` holds a byte of :data:`CONTROL_BYTES`: a memchr for each of the 29, which
    costs less than half of one pass of ``translate()`` deleting them (45k instructions for a
    2.7 kB CBC), because memchr looks at many bytes per instruction."""
    for byte in CONTROL_BYTES:  # noqa: SIM110 - any() of a generator costs a third more
        if byte in data:
            return True
    return False


def _holds_bom(data: bytes) -> bool:
    """Whether ``data`` holds a UTF-8 byte-order mark: a memchr for its first byte first (a
    search for the three bytes looks at each byte in turn: 13k instructions for a 2.7 kB CBC)."""
    return _BOM_FIRST in data and _BOM_UTF8 in data


def _switching(  # noqa: PLR0917 - one call site, every argument is needed
    data: bytes, names: list[str], scheme: str, fallback: str, where: str, issues: list[Issue]
) -> tuple[str, str] | None:
    """The message decoded by the ISO 2022 codec covering the sets MSH-18 announces and the
    sets its escape sequences switch to, with the codec; None when it does not switch sets (or
    cannot be decoded faithfully: then with an Issue), for the ordinary reading."""
    tables = load_tables()
    default = names[0].strip().upper() or "ASCII"
    announced = {default, *(n.strip().upper() for n in names[1:] if n.strip())}
    switches = len(announced) > 1 or not announced.isdisjoint(tables.iso2022_only)
    found = _DESIGNATION.findall(data) if _ESC_BYTE in data else []
    used = {_DESIGNATED.get(m, _escape_text(m)) for m in found}
    if not switches and (used <= {"ASCII"} or not data.isascii()):
        return None  # one set, no switching in the text: the ordinary reading
    shown = "~".join(n.strip() for n in names)
    if switches and scheme.strip().upper() not in _SWITCHING_SCHEMES:
        how = (
            "escape sequences \\C..\\ and \\M..\\ (HL7 2.3 scheme)"
            if scheme.strip() == "2.3"
            else f"{quoted(scheme.strip())} (not an HL7 table 0356 scheme)"
        )
        issues.append(_unsupported(where, f"MSH-20 switches the sets of {quoted(shown)} by {how}"))
        return None
    # Undeclared switching in seven-bit text: the label's set is read as ASCII, its subset.
    needed = (announced if switches else {"ASCII"}) | used
    rows = [row for row in tables.iso2022 if needed <= row.sets]
    if not rows:
        missing = sorted(needed - frozenset().union(*(row.sets for row in tables.iso2022)))
        subject = (
            f"MSH-18 {quoted(shown)} with ISO 2022 switching"
            if switches
            else f"escape sequences in a message whose MSH-18 is {quoted(shown)}"
        )
        sets = ", ".join(missing) or "these sets together"
        issues.append(_unsupported(where, f"{subject}: no codec decodes {sets}"))
        return None
    for row in rows:
        try:
            text = data.decode(row.codec)
        except UnicodeDecodeError:
            continue
        undeclared = sorted(used - announced - {"ASCII", "ISO IR6"})
        if undeclared:
            issues.append(
                Issue(
                    Severity.WARNING,
                    "hl7v2.charset-switching-undeclared",
                    where,
                    f"escape sequences switch to {', '.join(undeclared)}, which MSH-18 "
                    f"{quoted(shown)} does not announce: read as {row.codec}",
                )
            )
        return text, row.codec
    why = f"the message is not valid {quoted(shown)} ({rows[0].codec})"
    return _strict_or_fallback(data, rows[0].codec, fallback, where, issues, why=why)


def _escape_text(designation: bytes) -> str:
    """A designation no codec row names, as text for an Issue (``ESC $ A``)."""
    return "ESC " + " ".join(designation.decode("ascii"))


def _unsupported(where: str, why: str) -> Issue:
    return Issue(
        Severity.WARNING,
        "hl7v2.charset-switching-unsupported",
        where,
        f"{why}; read without switching, escape sequences kept in the text (ESC as U+FFFD), "
        "and fields may be cut where a two-byte character holds a delimiter byte",
    )


def _line_end(data: bytes, start: int = 0) -> int:
    """Where the first line of ``data`` (from ``start``) ends (CR or LF), or its length."""
    end = data.find(b"\r", start)
    if end < 0:
        end = len(data)
    feed = data.find(b"\n", start, end)  # a line feed only counts before the first CR
    return end if feed < 0 else feed


def _declared_charset(header: str, field: str, repetition: str) -> str:
    fields = header.split(field)
    # fields[0] is "MSH", fields[1] MSH-2: MSH-n is fields[n - 1].
    if len(fields) < 18:
        return ""
    return fields[17].split(repetition)[0].strip()


def _decode(  # noqa: PLR0917 - one call site, every argument is needed
    data: bytes,
    declared: str,
    row: CharsetRow | None,
    bom_codec: str,
    fallback: str,
    where: str,
    issues: list[Issue],
) -> tuple[str, str]:
    if bom_codec:
        if declared and (row is None or row.codec != bom_codec):
            issues.append(
                Issue(
                    Severity.WARNING,
                    "hl7v2.charset-bom-mismatch",
                    where,
                    f"MSH-18 says {quoted(declared)} but the message starts with a {bom_codec} "
                    f"byte-order mark: read as {bom_codec}",
                )
            )
        return _strict_or_fallback(data, bom_codec, fallback, where, issues, why="")
    if not declared:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return _fallback(
                data,
                fallback,
                where,
                issues,
                "MSH-18 is empty and the message is not UTF-8",
                utf8=True,
            )
    if row is None:
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-unknown",
                where,
                f"MSH-18 character set {quoted(declared)} is not one leukoflag knows "
                "(HL7 table 0211)",
            )
        )
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            why = f"{quoted(declared)} is unknown"
            return _fallback(data, fallback, where, issues, why, utf8=True)
    if not row.standard:
        issues.append(
            Issue(
                Severity.INFORMATION,
                "hl7v2.charset-nonstandard",
                where,
                f"MSH-18 {quoted(declared)} is not an HL7 table 0211 value; read as {row.codec}",
            )
        )
    if row.codec not in _SINGLE_BYTE_EXEMPT and not data.isascii() and _is_utf8(data):
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-suspect",
                where,
                f"MSH-18 says {quoted(declared)} but the non-ASCII bytes form valid UTF-8: read as "
                f"{row.codec} as declared; check the sender's encoding",
            )
        )
    if row.codec not in _WIDE_CODECS:
        try:  # the usual case: the reason it is not valid is written only when it is not
            return data.decode(row.codec), row.codec
        except UnicodeDecodeError:
            pass
    # UTF-16/32 comes with a byte-order mark (read above); these bytes spell MSH one byte a
    # character, so they are not in it, whatever a strict decoding would make of them.
    why = f"the message is not valid {quoted(declared)}"
    return _utf8_or_fallback(data, row.codec, fallback, where, issues, why=why)


def _strict_or_fallback(
    data: bytes, codec: str, fallback: str, where: str, issues: list[Issue], *, why: str
) -> tuple[str, str]:
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError:
        pass
    return _utf8_or_fallback(data, codec, fallback, where, issues, why=why)


def _utf8_or_fallback(
    data: bytes, codec: str, fallback: str, where: str, issues: list[Issue], *, why: str
) -> tuple[str, str]:
    """``data``, not valid in ``codec``, read as UTF-8 when it is valid UTF-8, else with the
    fallback character set; with a warning saying ``why``."""
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
    why = why or f"the message is not valid {codec}"
    return _fallback(data, fallback, where, issues, why, utf8=codec in _UTF8_LIKE)


# Declared character sets whose message is UTF-8 but for bytes of another set (see _mixed).
_UTF8_LIKE = frozenset({"utf-8", "ascii"})


def _fallback(
    data: bytes, fallback: str, where: str, issues: list[Issue], why: str, *, utf8: bool = False
) -> tuple[str, str]:
    """``data`` read with the fallback character set, with a warning saying ``why``. ``utf8``:
    the message was to be UTF-8; its UTF-8 characters stay so (see :func:`_mixed`)."""
    mixed = _mixed(data, fallback) if utf8 else None
    if mixed is not None:
        text, count, first = mixed
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-fallback",
                where,
                f"{why}: its bytes that are not UTF-8 ({count:,} byte{'s' if count > 1 else ''}, "
                f"the first {data[first]:#04x} at offset {first}) read with the fallback "
                f"character set {fallback}, the rest as UTF-8",
            )
        )
        return text, "utf-8"
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


def _mixed(data: bytes, fallback: str) -> tuple[str, int, int] | None:
    """``data`` read as UTF-8 where its bytes are UTF-8 and with ``fallback``, a single-byte
    character set, where they are not (a UTF-8 message holding text pasted from a Windows-1252
    application: its names in UTF-8 are not garbled for a byte of the comment), with the count
    of such bytes and the offset of the first; ``None`` when it holds no UTF-8 character beyond
    ASCII (read with the fallback throughout, the same text), the fallback is not single-byte,
    or a byte is not valid in it either. One pass: the bytes that are not UTF-8 come out of
    the decoding as the surrogates of PEP 383, each run of them then read with the fallback."""
    if _UTF8_PAIR.search(data) is None or not _single_byte(fallback):
        return None
    text = data.decode("utf-8", "surrogateescape")
    count = 0

    def read(run: re.Match[str]) -> str:
        nonlocal count
        count += len(run[0])
        return run[0].encode("utf-8", "surrogateescape").decode(fallback)

    try:
        mixed = _ESCAPED.sub(read, text)
    except UnicodeDecodeError:
        return None
    first = _ESCAPED.search(text)
    offset = len(text[: first.start()].encode("utf-8")) if first else 0
    return mixed, count, offset


@functools.cache
def _single_byte(codec: str) -> bool:
    """Whether ``codec`` reads each byte as one character, alone (cp1252, the 8859 sets)."""
    every = bytes(range(256))
    alone = "".join(bytes([byte]).decode(codec, "replace") for byte in every)
    return every.decode(codec, "replace") == alone


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
    stripped = text.lstrip(" \t\r\n")
    issues = _header_notes(text[: len(text) - len(stripped)], stripped[:16], location)
    if issues is None:
        return describe_junk(stripped.encode("utf-8"))
    text = "MSH" + stripped[3:]
    header = text[: _line_end(text.encode("utf-8"))]
    delimiters = read_delimiters(header)
    if isinstance(delimiters, str):
        return delimiters
    declared = _declared_charset(header, delimiters.field, delimiters.repetition)
    row = load_tables().charsets.get(declared.upper()) if declared else None
    if declared and (row is None or row.codec != codec):
        issues.append(
            Issue(
                Severity.WARNING,
                "hl7v2.charset-bom-mismatch",
                f"{location}/MSH[1]-18",
                f"MSH-18 says {quoted(declared)} but the message starts with a {codec} byte-order "
                f"mark: read as {codec}",
            )
        )
    return Decoded(text, _ESCAPE_CODECS[codec], declared, issues)


def describe_junk(data: bytes, trailer: str = "") -> str:
    """Why content that does not start with MSH is not a message; ``trailer``: the batch or
    file trailer line (BTS, FTS) that ended it, when one did. Reads ``data`` in place: a log of
    100 MB rejected whole is not copied (stripped, cut after its first line, split into lines)."""
    blanks = _BLANKS.match(data)
    start = blanks.end() if blanks else 0
    if start == len(data):
        return "empty message: no segments"
    end = len(data)  # the content's end, before the blanks after it
    while data[end - 1] in _BLANK_BYTES:
        end -= 1
    sample = data[start : min(end, start + 4096)]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    if b"\x00" in sample or controls > len(sample) // 10:
        return "not an HL7 v2 message: binary content"
    if sample[:1] in (b"{", b"["):
        return "not an HL7 v2 message: JSON content (a FHIR resource in an HL7 v2 stream?)"
    if sample[:1] == b"<":
        return "not an HL7 v2 message: XML content"
    line_end = min(_line_end(data, start), end)
    # the first line's start: its segment ID, and 60 characters shown
    first = data[start : min(line_end, start + 4096)].decode("utf-8", "replace")
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
    later = _segment_ids(data, line_end)
    follow = f"segments follow it ({later})" if later else ""
    if not later and trailer and data.find(b"|", start, line_end) >= 0:  # ... or the last one
        follow = f"a {'batch' if trailer == 'BTS' else 'file'} trailer ({trailer}) follows it"
    if follow:  # not stray text: the rest of a message whose first part went before it
        return (
            f"not an HL7 v2 message: no MSH segment; text starts with {quoted(shown)} and "
            f"{follow}: the rest of a message cut inside a segment (an "
            "input that starts inside a message, a capture rotated or cut there, or an MLLP end "
            "block, 0x1C, inside the message?) or sent without its header"
        )
    return (
        f"not an HL7 v2 message: no MSH segment; text starts with {quoted(shown)} "
        "(text between messages, or a log line?)"
    )


def _segment_ids(data: bytes, start: int) -> str:
    """The IDs of the segments among the lines of ``data`` after ``start`` (``PV1, OBR, OBX,
    …``), or ``""``: found in place, up to the seventh, however long the text."""
    names: list[str] = []
    for found in _SEGMENT_START.finditer(data, start):
        name = found[1].decode("ascii")
        if name not in names:
            names.append(name)
            if len(names) > 6:
                break
    return ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
