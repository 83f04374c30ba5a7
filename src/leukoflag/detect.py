"""Tell HL7 v2 from FHIR JSON/NDJSON by the first bytes of the content, never by file name.

Content with a UTF-16 or UTF-32 byte-order mark is judged by its text: a UTF-16 HL7 v2 file
reaches the HL7 v2 reader (which decodes it), UTF-16 JSON the FHIR reader (through
:func:`wide_encoding`, which tells the caller to transcode it). UTF-16/32 JSON without a mark is
told by the zero bytes around its first character (:func:`bare_wide_encoding`), as JSON parsers
tell it (RFC 8259 §8.1 once allowed it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Literal

__all__ = [
    "ENVELOPE_VARIANT",
    "HEADER_VARIANT",
    "Kind",
    "bare_wide_encoding",
    "describe_unknown",
    "detect",
    "is_blank",
    "past_blanks",
    "values_then_object",
    "wide_encoding",
]

Kind = Literal["hl7v2", "fhir", "unknown"]

_BOM_UTF8 = b"\xef\xbb\xbf"
# UTF-32 first: its little-endian mark starts with UTF-16's.
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_WIDE_BOM_STARTS = frozenset(bom[:1] for bom, _ in _WIDE_BOMS)
# JSON's first character (ASCII) in UTF-32/16 without mark: its width, where it sits in it
_BARE_WIDE = ((4, 3, "utf-32-be"), (4, 0, "utf-32-le"), (2, 1, "utf-16-be"), (2, 0, "utf-16-le"))
_JSON_FIRST = frozenset(b"{[ \t\r\n")
# the first character of wide text read for a rejection reason: ASCII, printable or a blank
_WIDE_FIRST = frozenset(range(0x21, 0x7F)) | frozenset(b" \t\r\n")
# the first byte of a JSON value that is no object or array: a number, a string, true/false/null
_JSON_VALUE_FIRST = frozenset(b'-0123456789"tfn')
_V2_STARTS = (b"MSH", b"FHS", b"BHS")
# An HL7 v2 header sent indented (``  MSH|^~\&|``) or in lower or mixed case (``msh|^~\&|``),
# which the HL7 v2 reader reads as MSH (hl7v2.segment-indented, -id-case), so it starts a
# message: with a header's delimiters (a field separator, MSH-2's encoding characters, the
# separator again), which text that merely starts ``msh|`` (``msh| resent``) does not have.
# Indented and in lower case at once it is text, as for the reader.
HEADER_VARIANT = re.compile(
    rb"(?:[ \t]+MSH|(?!MSH)[Mm][Ss][Hh])([^0-9A-Za-z \t\r\n])(?:(?!\1)[^0-9A-Za-z \t\r\n]){3,5}\1"
)
# A batch envelope line sent indented or in lower or mixed case, taken as the line itself (as
# the splitter takes ``BHS|``): a header (``bhs|^~\&|…``, ``  FHS|^~\&|…``) with a header's
# delimiters, a trailer (``bts|3``, ``  FTS|1``) with a count or nothing in field 1 and then the
# separator or the line's end. Indented and in lower case at once it is text, as for MSH.
ENVELOPE_VARIANT = re.compile(
    rb"(?:[ \t]+[BF]HS|(?![BF]HS)[BbFf][Hh][Ss])([^0-9A-Za-z \t\r\n])"
    rb"(?:(?!\1)[^0-9A-Za-z \t\r\n]){3,5}\1"
    rb"|(?:[ \t]+[BF]TS|(?![BF]TS)[BbFf][Tt][Ss])([^0-9A-Za-z \t\r\n])[ \t]*[0-9]*[ \t]*"
    rb"(?:\2|[\r\n\x1c]|\Z)"
)
_MLLP_START = b"\x0b"
_MLLP_END = b"\x1c"
# The segments of an ORU^R01 message (v2.3 to 2.8), of the acknowledgement a capture holds
# beside it, and the batch trailers: a capture or file cut or rotated inside a message starts
# with one of them (or with a site's Z segment). Other IDs stay text: a pipe-separated CSV
# whose header starts ``MRN|`` or ``WBC|`` is no message.
_FRAGMENT_IDS = frozenset(
    b"PID PD1 NK1 NTE PV1 PV2 ORC OBR TQ1 TQ2 CTD OBX FT1 CTI SPM PRT SFT UAC DSC MSA ERR "
    b"BTS FTS".split()
)
_FRAGMENT = re.compile(rb"([A-Z][A-Z0-9]{2})\|")
# The first line of a capture cut inside a segment ('L|||F|||…', '3^10*3/uL|…'): text with a
# field separator and no control bytes, ended by its line break. The first run stops at the
# first '|': one that may hold '|' made a line of pipes with no break cost O(n²) to refuse.
_SEGMENT_TAIL = re.compile(
    rb"[^\x00-\x1f{\[<][^\x00-\x08\x0a-\x1f|]*\|[^\x00-\x08\x0a-\x1f]*(?:\r\n?|\n)"
)
# ... which a log line quoting a segment after its timestamp ('… INFO got MSH|^~\&|…') is not
_QUOTED_SEGMENT = re.compile(rb"(?:MSH|FHS|BHS)\||[ \t][A-Z][A-Z0-9]{2}\|")


def detect(head: bytes) -> Kind:
    """The format of content starting with ``head``.

    HL7 v2: an MLLP start block (0x0B) or MSH/FHS/BHS as the first non-blank bytes (or a
    header in lower case, :data:`HEADER_VARIANT`, :data:`ENVELOPE_VARIANT`), also after an
    MLLP end block (0x1C); or a segment of a message (``OBX|``, ``PID|``, ``BTS|``, a ``Z``
    segment), or the tail of one and then such a segment (``L|||F|||…`` and ``SPM|…``, or a
    trailer sent indented or in lower case, ``  BTS|3``): the
    input starts mid-message, a rotated or cut capture, whose reader rejects that fragment
    and reads the messages after it. FHIR: a JSON
    object or array, or NDJSON whose first lines are other JSON values (see
    :func:`values_then_object`). Anything else (a log that quotes HL7 lines, text before the
    first segment, binary data, a CSV) is unknown and is rejected whole with
    :func:`describe_unknown`.
    """
    text = _strip(head)
    if text.startswith(_MLLP_START) or text.startswith(_V2_STARTS) or HEADER_VARIANT.match(text):
        return "hl7v2"
    if ENVELOPE_VARIANT.match(text):  # 'bhs|^~\&|…', or 'bts|3' in a capture rotated before it
        return "hl7v2"
    if _mid_message(text):
        return "hl7v2"
    if text[:1] in (b"{", b"[") or bare_wide_encoding(head):
        return "fhir"
    if (
        text
        and text[0] in _JSON_VALUE_FIRST
        and values_then_object(text.splitlines(), cut=not text.endswith((b"\n", b"\r")))
    ):
        return "fhir"
    return "unknown"


def _mid_message(text: bytes) -> bool:
    """Whether ``text`` (without leading blanks) starts inside HL7 v2 content: with the end
    block of a frame before a message, or with a segment of a message whose header is before it
    (``OBX|7|NM|…``: a capture rotated or cut there)."""
    if text.startswith(_MLLP_END):
        text = text.lstrip(_MLLP_END + b" \t\r\n")
        if text.startswith(_MLLP_START) or text.startswith(_V2_STARTS):
            return True
    if _fragment(text):
        return True
    # cut inside a segment: its tail is a line of no segment, a segment line follows
    tail = _SEGMENT_TAIL.match(text)
    return (
        tail is not None
        and (_fragment(text[tail.end() :]) or _trailer_variant(text[tail.end() :]))
        and not _QUOTED_SEGMENT.search(text, 0, tail.end())
    )


def _trailer_variant(text: bytes) -> bool:
    """Whether ``text`` starts with a batch or file trailer sent indented or in lower case
    (``      BTS|3``, ``fts|1``), which the splitter counts as one sent plain."""
    found = ENVELOPE_VARIANT.match(text)
    return found is not None and found[2] is not None  # group 2: a trailer's separator


def _fragment(text: bytes) -> bool:
    """Whether ``text`` starts with a segment of a message whose header is before it."""
    found = _FRAGMENT.match(text)
    return found is not None and (found[1] in _FRAGMENT_IDS or found[1].startswith(b"Z"))


def values_then_object(lines: Sequence[bytes], *, cut: bool) -> bool:
    """Whether the first ``lines`` of some content (blank ones too) start NDJSON whose first line
    is no object: a later line starts with ``{`` and ends with ``}`` (or is the last of ``lines``
    and ``cut``: the look-ahead may end inside it), and every non-blank line before it is a whole
    JSON value (a number, a string, null, an array). A log or CSV line before it is not."""
    stripped = [line.strip() for line in lines]
    position = next((n for n, line in enumerate(stripped) if line.startswith(b"{")), 0)
    if not position:  # no object line, or the first line is one (NDJSON read as such anyway)
        return False
    if not stripped[position].endswith(b"}") and not (cut and position == len(stripped) - 1):
        return False
    return all(_json_value(line) for line in stripped[:position] if line)


def _json_value(line: bytes) -> bool:
    try:
        json.loads(line, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse(name: str) -> None:
    # NaN and Infinity, which Python's parser takes and JSON (and leukoflag's parser) does not
    raise ValueError(name)


# Compressed files an inbox may hold (a .gz export, a .zip from a share), by their magic bytes.
_COMPRESSED = ((b"\x1f\x8b", "gzip-compressed data"), (b"PK\x03\x04", "a ZIP archive"))


def describe_unknown(raw: bytes) -> str:
    """A clear rejection reason for content that is neither HL7 v2 nor FHIR JSON."""
    for magic, what in _COMPRESSED:
        if raw.startswith(magic):  # "binary content" would not tell what to do with it
            return (
                f"not HL7 v2 or FHIR JSON: {what}; leukoflag does not read compressed files: "
                "decompress it first"
            )
    whole = _unwrapped(raw[:65536])
    text = whole.lstrip(b" \t\r\n")
    if not text:
        return "empty input"
    # the unstripped content: blanks before the text are wide characters too, not single bytes
    if b"\x00" in text and (wide := _bare_wide_text(whole)):
        return wide
    if b"\x00" in text or _binary_share(text) > 0.1:
        return "not HL7 v2 or FHIR JSON: binary content"
    for marker in _V2_STARTS:
        position = text.find(marker + b"|")
        if position > 0:
            line = _line_of(whole, position + len(whole) - len(text))
            return (
                f"not an HL7 v2 message: {marker.decode()} segment found at line {line}, "
                "after other text (a log or report quoting HL7?); a message must start with MSH, "
                "FHS, BHS or an MLLP frame"
            )
    # its first line, ended by CR or LF only: splitlines() ends one at U+2028 or U+0085 too,
    # which a line of text starting with one would show as ''
    first = text[:40].decode("utf-8", "replace").replace("\r", "\n").partition("\n")[0]
    return f"not HL7 v2 or FHIR JSON: content starts with {first!r}"


def _bare_wide_text(text: bytes) -> str:
    """The reason for text in UTF-16/32 without byte-order mark (zero bytes around an ASCII first
    character, as :func:`bare_wide_encoding` tells JSON), else ``""``: "binary" would mislead."""
    for width, at, codec in _BARE_WIDE:
        unit = text[:width]
        if len(unit) == width and unit[at] in _WIDE_FIRST and unit.count(0) == width - 1:
            # blank lines before the text (each character ``width`` bytes) are not its start
            head = text[: 200 * width].decode(codec, "replace").lstrip(" \t\r\n")[:40]
            start = head.splitlines()[0] if head else ""
            if not (start.isprintable() and start[:8].isascii()) or "\ufffd" in start or not start:
                return ""  # binary content that merely starts with a letter and a zero byte
            if start.startswith(("MSH", "FHS", "BHS")):
                return (
                    f"HL7 v2 in {codec.upper()} without a byte-order mark, starting {start!r}: "
                    "leukoflag reads UTF-16 and UTF-32 HL7 v2 only after its byte-order mark "
                    "(add it, or send UTF-8)"
                )
            return (
                f"not HL7 v2 or FHIR JSON: {codec.upper()} text without a byte-order mark, "
                f"starting {start!r}"
            )
    return ""


def wide_encoding(head: bytes) -> str:
    """``"utf-16"`` or ``"utf-32"`` when ``head`` starts with that byte-order mark, else ``""``
    (the HL7 v2 splitter and decoder ask too)."""
    if head[:1] not in _WIDE_BOM_STARTS:
        return ""  # the usual case, at once
    for bom, codec in _WIDE_BOMS:
        if head.startswith(bom):
            return codec
    return ""


def bare_wide_encoding(head: bytes) -> str:
    """``"utf-16-le"``, ``"utf-16-be"``, ``"utf-32-le"`` or ``"utf-32-be"`` when ``head`` is
    JSON (an object or array, after blanks) in that encoding without byte-order mark, else
    ``""``."""
    if b"\x00" not in head[:4] or wide_encoding(head):
        return ""  # the usual case, at once
    for width, at, codec in _BARE_WIDE:
        unit = head[:width]
        if len(unit) == width and unit[at] in _JSON_FIRST and unit.count(0) == width - 1:
            text = head.decode(codec, "ignore").lstrip(" \t\r\n")
            return codec if text[:1] in ("{", "[") else ""
    return ""


def is_blank(data: bytes) -> bool:
    """Whether ``data`` holds nothing but a byte-order mark and blanks: no item at all (an empty
    file a Windows editor saved "with BOM" is as empty as one of zero bytes)."""
    return not _strip(data)


def past_blanks(head: bytes, rest: Iterator[bytes]) -> bytes:
    """What :func:`detect` is to look at for content starting with ``head`` and going on with
    the blocks ``rest``: ``head`` itself, unless it is blank (a byte-order mark and blanks:
    an export that starts with thousands of blank lines); then its mark and as many bytes from
    the first that is not blank. UTF-16/32 content is judged by its head alone."""
    if not is_blank(head) or wide_encoding(head):
        return head
    mark = _BOM_UTF8 if head.startswith(_BOM_UTF8) else b""
    for block in rest:
        found = block.lstrip(b" \t\r\n")
        if found:
            more = [found]
            wanted = len(head) - len(found)
            while wanted > 0 and (block := next(rest, b"")):
                more.append(block)
                wanted -= len(block)
            return mark + b"".join(more)[: len(head)]
    return head


def _strip(data: bytes) -> bytes:
    """The content without byte-order mark and leading blanks; wide text as UTF-8."""
    return _unwrapped(data).lstrip(b" \t\r\n")


def _unwrapped(data: bytes) -> bytes:
    """The content without byte-order mark; wide text as UTF-8."""
    codec = wide_encoding(data)
    if codec:
        # The head may end inside a character: what cannot be decoded there is left out.
        data = data.decode(codec, "ignore").encode("utf-8")
    return data.removeprefix(_BOM_UTF8)


def _line_of(data: bytes, position: int) -> int:
    """The 1-based line of ``position``; CR (HL7 v2's segment end), LF and CRLF each end one."""
    head = data[:position]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def _binary_share(data: bytes) -> float:
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0B, 0x0D, 0x1C))
    return controls / max(len(sample), 1)
