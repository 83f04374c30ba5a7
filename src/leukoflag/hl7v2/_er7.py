"""The ER7 (pipe-and-hat) tokenizer: delimiters from MSH-1/MSH-2 and escape sequences.

Splitting is plain ``str.split`` by the message's own delimiters; escape sequences are decoded
after splitting, on each leaf value, and only when the value holds the escape character
(v2.5.1 ch. 2.7: escape sequences in field data).
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

from leukoflag._cache import text_cache
from leukoflag._quote import quoted, shortened
from leukoflag.detect import HEADER_VARIANT as HEADER_VARIANT_BYTES

__all__ = [
    "CONTROL_BYTES",
    "DEFAULT",
    "THEN",
    "Delimiters",
    "control_characters",
    "delimiters",
    "described",
    "escape_codec",
    "field_problems",
    "header_variant",
    "indentation",
    "read_delimiters",
    "segment_breaks",
    "segment_id",
    "segment_id_any_case",
    "unescape",
]


@dataclass(frozen=True, slots=True, eq=False)
class Delimiters:
    """The separators of one message; ``truncation`` is the v2.7+ fifth encoding character, or
    ``""``. Instances are interned (one per distinct set, see :func:`delimiters`), so identity
    is equality and hashing them, as the per-process caches do on every field, is cheap."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    truncation: str = ""


@functools.lru_cache(maxsize=256)
def delimiters(chars: str) -> Delimiters:
    """The one Delimiters instance for MSH-1 followed by MSH-2 (``"|^~\\&"``)."""
    return Delimiters(chars[0], chars[1], chars[2], chars[3], chars[4], chars[5:6])


DEFAULT = delimiters("|^~\\&")


def read_delimiters(msh: str) -> Delimiters | str:
    """The delimiters an MSH segment declares, or the reason they cannot be used."""
    if len(msh) < 4:
        return "MSH segment is cut short before its field separator (MSH-1)"
    end = msh.find(msh[3], 4)
    return _declared(msh[3:] if end < 0 else msh[3:end])


@text_cache(256)
def _declared(chars: str) -> Delimiters | str:
    """Delimiters from MSH-1 followed by MSH-2, checked."""
    field, encoding = chars[0], chars[1:]
    if field.isalnum() or field.isspace() or not field.isprintable():
        return f"MSH-1 field separator {field!r} is not a printable non-alphanumeric character"
    if len(encoding) < 4:
        return (
            f"MSH-2 encoding characters {encoding!r} are too short: HL7 v2 needs 4 "
            "(component, repetition, escape, subcomponent), e.g. '^~\\&'"
        )
    if len(encoding) > 5:
        return (
            f"MSH-2 encoding characters {quoted(encoding, 12)} are too long (4, or 5 with the v2.7 "
            "truncation character): the field separator after MSH-2 is missing or wrong"
        )
    for char in encoding:
        if char.isalnum() or char.isspace() or not char.isprintable():
            return (
                f"MSH-2 encoding character {char!r} is not a printable non-alphanumeric character"
            )
    if len(set(chars)) != len(chars):
        return f"MSH-1/MSH-2 delimiters {chars!r} are not all different"
    return delimiters(chars)


_COMMON = frozenset({"PID", "PV1", "ORC", "OBR", "OBX", "NTE", "SPM"})


_LEADING_SPACE = frozenset(" \t")  # what may come before a segment's ID (segment_id_any_case)


def segment_id(line: str, field: str) -> str:
    """The segment ID of ``line`` (three upper-case letters or digits, a letter first, then the
    field separator or the end), or ``""`` when the line is not a segment."""
    name = line[:3]
    if name in _COMMON and line[3:4] in (field, ""):
        return name
    if (
        len(name) == 3
        and name.isalnum()
        and name.isupper()
        and name.isascii()
        and name[0].isalpha()
        and (len(line) == 3 or line[3] == field)
    ):
        return name
    return ""


# A header sent indented or in lower or mixed case (leukoflag.detect.HEADER_VARIANT), as text.
HEADER_VARIANT = re.compile(HEADER_VARIANT_BYTES.pattern.decode("ascii"))


def header_variant(line: str) -> bool:
    """Whether ``line`` is a message header sent indented or in lower or mixed case, which
    starts a message as ``MSH`` does (:data:`leukoflag.detect.HEADER_VARIANT`)."""
    return HEADER_VARIANT.match(line) is not None


def indentation(sent: str) -> str:
    """What a segment is indented with, for an Issue: ``2 spaces``, ``a tab``."""
    tabs, spaces = sent.count("\t"), sent.count(" ")
    named = [
        f"{n} {word}{'s' if n > 1 else ''}" if n > 1 else f"a {word}"
        for n, word in ((spaces, "space"), (tabs, "tab"))
        if n
    ]
    return " and ".join(named)


def segment_id_any_case(line: str, field: str) -> str:
    """The ID of a segment whose ID is sent in lower or mixed case (``obx|``), upper-cased:
    HL7 segment IDs are all upper case, so ``obx`` can only be OBX; ``""`` for any other line.
    The field separator must follow: a word alone on a line (``two``) is text, not a segment.
    So for a segment indented with spaces or tabs (`` OBX|``, as an editor or a paste leaves
    it): text cannot start with an ID and the field separator, a segment is lost without it.
    Indented and in lower case (``   see|above``, wrapped FT text) it is text, unless its ID is
    one of the segments leukoflag reads (``  obx|``), which text does not start with."""
    if line[:1] in _LEADING_SPACE:
        stripped = line.lstrip(" \t")
        if stripped[3:4] != field:
            return ""
        name = segment_id(stripped, field)
        if name:
            # an MSH starts a message only with a header's delimiters (the splitter's rule)
            return name if name != "MSH" or header_variant(line) else ""
        name = segment_id_any_case(stripped, field)
        # both signs of text at once: only an ID whose result would be lost is read as a segment
        return name if name in _COMMON else ""
    name = line[:3]
    upper = name.upper()
    if upper == "MSH" and not header_variant(line):
        return ""  # 'msh| resent': text, not a second header (the splitter's rule)
    return segment_id(upper + field, field) if upper != name and line[3:4] == field else ""


# C0 control characters other than tab, LF and CR: FHIR strings may not hold them (string type).
CONTROL_BYTES = bytes(c for c in range(0x20) if c not in b"\t\n\r")
_CONTROLS = re.compile(f"[{re.escape(CONTROL_BYTES.decode('ascii'))}]")


def control_characters(text: str) -> tuple[str, str]:
    """``text`` with each C0 control character FHIR strings do not allow replaced by U+FFFD,
    and what was replaced (``control character U+0000``; ``""``: none, ``text`` unchanged)."""
    found = sorted(set(_CONTROLS.findall(text)))
    if not found:
        return text, ""
    named = ", ".join(f"U+{ord(c):04X}" for c in found)
    what = f"control character{'s' if len(found) > 1 else ''} {named}"
    return _CONTROLS.sub("\ufffd", text), what


# FT formatting commands (v2.5.1 ch. 2.7.6): what each leaves in plain text.
_FORMATTING = {"fi": "", "nf": "", "in": "", "ti": "", "ce": "\n"}
# Indents (v2.5.1 ch. 2.7.6): "cannot appear after the first printable character of a line".
_LINE_START = frozenset({".in", ".ti"})
_INDENT = re.compile(r"[+-]?[0-9]+")  # their count: a positive or negative integer
# The most line breaks (\.sp n\) or spaces (\.sk n\) one formatting command gives.
_MOST_SKIPPED = 99
# The first characters of the sequences HL7 v2 defines beyond the delimiters (v2.5.1 ch. 2.7):
# one that leukoflag cannot decode still ends at its closing escape character.
_FORMED = frozenset(".XCMZ")


# Joins the character sets a hexadecimal escape is read with, in turn (escape_codec).
THEN = ">"


@functools.lru_cache(maxsize=64)
def escape_codec(codec: str, fallback: str) -> str:
    """What a message's ``\\Xhh..\\`` escapes are read with: ``codec``, the one its bytes were
    read with, and for a message read as UTF-8 or ASCII then what its bytes would be read with
    where they are not valid in it (UTF-8, then the fallback character set), joined by
    :data:`THEN`: an escape of a Windows-1252 byte (``\\XB5\\``, µ) in a UTF-8 message is
    read as the raw byte would be."""
    if codec == "utf-8":
        chain = [codec, fallback]
    elif codec == "ascii":
        chain = [codec, "utf-8", fallback]
    else:
        return codec
    names = {codecs.lookup(name).name: name for name in reversed(chain)}  # each once, first kept
    return THEN.join(sorted(names.values(), key=chain.index))


@text_cache(8192)
def unescape(text: str, delimiters: Delimiters, codec: str = "utf-8") -> tuple[str, str]:
    """``text`` with its escape sequences decoded, and a problem description (``""`` if none).

    ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` give the message's own delimiters; ``\\.br\\`` and
    ``\\.sp\\`` give line breaks; ``\\Xhh..\\`` gives the bytes ``hh..`` decoded with ``codec``
    (the message's charset); ``\\H\\``/``\\N\\`` (highlighting) are dropped. An unknown or
    unterminated sequence is kept as sent and described in the problem.
    """
    escape = delimiters.escape
    plain = {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": escape,
        "H": "",
        "N": "",
    }
    if delimiters.truncation:
        plain["P"] = delimiters.truncation
    out: list[str] = []
    problems: list[str] = []
    start = 0
    # whether out[:looked] has text since its last line break: each part is looked at once
    looked, mid_line = 0, False
    while True:
        opening = text.find(escape, start)
        if opening < 0:
            out.append(text[start:])
            break
        out.append(text[start:opening])
        closing = text.find(escape, opening + 1)
        if closing < 0:
            problems.append(f"unterminated escape sequence {text[opening : opening + 12]!r}")
            out.append(text[opening:])
            break
        sequence = text[opening + 1 : closing]
        decoded = plain.get(sequence)
        if decoded is None and sequence[:1] == "X" and text.startswith(escape + "X", closing + 1):
            joined = _hex_run(text, closing, escape, codec)
            if joined is not None:  # a character's bytes sent as one escape each
                decoded, last, data, read_as = joined
                sent = text[opening : last + 1]
                suspect = (
                    f"hexadecimal escape {shortened(sent, 20)} is not valid {read_as}: read as "
                    "UTF-8"
                    if read_as
                    else _suspect(data, decoded, codec, sent)
                )
                if suspect:
                    problems.append(suspect)
                closing = last
        if decoded is None:
            if sequence[:3] in _LINE_START:
                mid_line, looked = _mid_line(out, looked, mid_line), len(out)
            if sequence[:3] in _LINE_START and mid_line:
                # an indented line meant to start there: a line break, not the words glued
                decoded, problem = (
                    "\n",
                    (
                        f"formatting command \\{shortened(sequence)}\\ comes after text on its "
                        "line, where HL7 v2 does not allow it: read as a line break"
                    ),
                )
            else:
                decoded, problem = _special(sequence, codec)
            if problem:
                problems.append(problem)
            if problem and not decoded:  # not decoded: the sequence stays in the value
                if sequence[:1] in _FORMED:  # a sequence of a known form: kept whole, as sent
                    out.append(escape + sequence + escape)
                    start = closing + 1
                    continue
                # Kept as sent; the closing character may open the next sequence (an escape
                # character sent unescaped, as in a path, does not start a sequence), unless
                # no escape character follows it: then it closes this one ('KOWALCZYK\Q\' is
                # one unknown sequence, not one and an unterminated '\').
                if text.find(escape, closing + 1) < 0:
                    out.append(escape + sequence + escape)
                    start = closing + 1
                    continue
                out.append(escape + sequence)
                start = closing
                continue
        out.append(decoded)
        start = closing + 1
    return "".join(out), described(problems)


# The problems of one value an Issue names at most: thousands of bad escapes are not each named
_MOST_PROBLEMS = 5


def field_problems(problems: list[str]) -> list[str]:
    """The problems of one field, one per value read (a repetition, a component), as its Issues
    say them: each of the first five distinct ones, and the rest joined in one (see
    :func:`described`), not one per repetition of thousands; a problem read alike in two parts
    of the field (``\\Q\\`` in the family and the given name) once, as its Issue would say it
    at the same location with the same text."""
    if len(problems) < 2:  # one problem is distinct
        return problems
    distinct = list(dict.fromkeys(problems))
    if len(distinct) <= _MOST_PROBLEMS:
        return distinct
    return [*distinct[:_MOST_PROBLEMS], described(distinct[_MOST_PROBLEMS:])]


def described(problems: list[str]) -> str:
    """The distinct problems of a value, joined by ``; ``: the first five and how many more."""
    if len(problems) < 2:
        return "".join(problems)
    distinct = list(dict.fromkeys(problems))
    more = len(distinct) - _MOST_PROBLEMS
    return "; ".join(distinct[:_MOST_PROBLEMS]) + (f" (+{more:,} more)" if more > 0 else "")


def _mid_line(out: list[str], looked: int, before: bool) -> bool:
    """Whether the text decoded so far has a printable character since its last line break;
    ``before``: whether ``out[:looked]`` has (the parts before are not looked at again)."""
    for part in reversed(out[looked:]):
        at = part.rfind("\n")
        if part[at + 1 :].strip():
            return True
        if at >= 0:
            return False
    return before


# The most hexadecimal escapes read together: a character's bytes sent one escape each are at
# most 4 (UTF-8, GB 18030), and a bound keeps a field of thousands of them linear to read.
_RUN = 4


def _hex_run(
    text: str, closing: int, escape: str, codec: str
) -> tuple[str, int, bytes, str] | None:
    """The hexadecimal escape ending at ``closing`` and those back to back after it (up to
    :data:`_RUN` in all) decoded together (``\\XC3\\\\X9C\\``: an interface escaping each
    byte of a UTF-8 character alone; v2.5.1 ch. 2.7.4: the pairs of digits are bytes, read
    with the character set): the most of them that give text, with where the last ends, their
    bytes, and the message's character set when they are not valid in it but were read as
    UTF-8 as one escape of those bytes would be (an ASCII label: see :func:`escape_codec`),
    else ``""``; ``None`` when fewer than two do: the first is read alone. A control character
    is not read in a run (``\\XC3\\\\XA9\\\\X0B\\``: é, then a vertical tab): the escape
    giving it is read alone, and said so."""
    pieces: list[bytes] = []
    ends: list[int] = []  # where each escape of the run ends
    opening = text.rfind(escape, 0, closing)
    while len(pieces) < _RUN:
        try:  # \X\ (no digits) is no byte: it ends the run
            pieces.append(bytes.fromhex(text[opening + 2 : closing] or "-"))
        except ValueError:
            break
        ends.append(closing)
        after = text.find(escape, closing + 2)
        if after < 0 or not text.startswith(escape + "X", closing + 1):
            break
        opening, closing = closing + 1, after
    first, *others = codec.split(THEN)
    # Not the fallback: a single-byte set reads them alone as it reads them together.
    tried = (first, "utf-8") if "utf-8" in others else (first,)
    for size in range(len(pieces), 1, -1):
        data = b"".join(pieces[:size])
        for name in tried:
            try:
                decoded = data.decode(name)
            except (UnicodeDecodeError, LookupError):
                continue
            if control_characters(decoded)[1]:
                break  # fewer of them, or each alone, its control character said there
            return decoded, ends[size - 1], data, first if name != first else ""
    return None


# Character sets in which bytes that form UTF-8 are no sign of a mislabelled message.
_UTF8_ALIKE = frozenset({"utf-8", "ascii", "utf-16-be", "utf-32-be"})


def _suspect(data: bytes, text: str, codec: str, sent: str) -> str:
    """The problem of the hexadecimal escape ``sent``, read as ``text`` with ``codec``, when its
    bytes form UTF-8 beyond ASCII in a message of another character set: as MSH-18's
    hl7v2.charset-suspect says of the bytes sent raw (``\\XC3BC\\``, ü in UTF-8, is Ã¼ in
    8859/1); ``""`` otherwise."""
    first = codec.split(THEN, 1)[0]
    if first in _UTF8_ALIKE or len(data) < 2 or data.isascii():
        return ""
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return (
        f"hexadecimal escape {shortened(sent, 20)} gives {quoted(text)} in {first}, but its "
        f"bytes form UTF-8 {quoted(utf8)}: read as {first} as MSH-18 says; check the sender's "
        "encoding"
    )


def _special(sequence: str, codec: str) -> tuple[str, str]:
    """A formatting, hexadecimal or character-set sequence: (decoded text, problem)."""
    if sequence.startswith("."):
        command, argument = sequence[1:3], sequence[3:].strip()
        if command == "br":
            return "\n", ""
        if command in ("sp", "sk"):
            count = argument.removeprefix("+")  # a positive integer, its sign sent or not
            if count.isdecimal() and (len(count) > 4 or int(count) > _MOST_SKIPPED):
                # A count in the millions would turn a few bytes into megabytes of blanks (and
                # past the index range, an OverflowError): no report lays text out that way.
                what = "line breaks" if command == "sp" else "spaces"
                return "", (
                    f"formatting command \\{shortened(sequence, 20)}\\ asks for "
                    f"{shortened(argument, 20)} {what}, more than the {_MOST_SKIPPED} leukoflag "
                    "gives"
                )
            blank = "\n" if command == "sp" else " "
            # int() of isdecimal() text only: isdigit() lets through '²', which int() refuses.
            if count.isdecimal():
                return blank * max(int(count), 1), ""
            if not argument:
                return blank, ""
            # -1, x, ²: no count HL7 allows; one break still keeps the words on each side apart
            what = "line break" if command == "sp" else "space"
            return blank, (
                f"formatting command \\{shortened(sequence, 20)}\\ has no valid count (a "
                f"positive whole number): read as one {what}"
            )
        if command in ("in", "ti") and argument and not _INDENT.fullmatch(argument):
            return "", (
                f"formatting command \\{shortened(sequence, 20)}\\ has no valid count (a whole "
                "number of spaces)"
            )
        if command in _FORMATTING:
            return _FORMATTING[command], ""
        return "", f"unknown formatting command \\{shortened(sequence)}\\"
    if sequence[:1] == "X" and len(sequence) > 1:
        digits = sequence[1:]
        try:
            data = bytes.fromhex(digits)
        except ValueError:
            return "", f"invalid hexadecimal escape \\{shortened(sequence)}\\"
        first, *others = codec.split(THEN)
        said = f"hexadecimal escape \\{shortened(sequence)}\\ is not valid {first}"
        try:
            text, read_as = data.decode(first), ""
        except (UnicodeDecodeError, LookupError):
            for other in others:  # read as the message's bytes would be (escape_codec)
                try:
                    text = data.decode(other)
                except UnicodeDecodeError:
                    continue
                read_as = (
                    f"{said}: read as UTF-8"
                    if other == "utf-8"
                    else (f"{said}: read with the fallback character set {other}")
                )
                break
            else:
                return "", said
        text, replaced = control_characters(text)
        if replaced:
            return text, (
                f"hexadecimal escape \\{shortened(sequence)}\\ gives {replaced}, "
                "which FHIR strings do not allow: replaced with U+FFFD"
            )
        return text, read_as or _suspect(data, text, codec, f"\\{sequence}\\")
    if sequence[:1] in ("C", "M") and len(sequence) > 1:
        # ISO 2022 character-set switches (v2.5.1 ch. 2.7.4) need multi-byte set support.
        return "", f"character-set switch \\{shortened(sequence)}\\ is not supported"
    if sequence[:1] == "Z":
        return "", f"locally defined escape \\{shortened(sequence)}\\ has no agreed meaning"
    if not sequence:
        return "", "empty escape sequence (two escape characters in a row)"
    return "", f"unknown escape sequence \\{shortened(sequence, 20)}\\"


def segment_breaks(text: str) -> str:
    """``text`` (one message) with every segment terminator written as CR.

    CRLF ends a segment, and so does LF in a message whose segments end with LF. In a message
    whose segments end with CR (or CRLF), a lone LF ends one only where a segment, a blank line
    or the end of the message follows it (a file mixing terminators); anywhere else it is a raw
    line break inside a field value (a comment typed on several lines), kept in the value
    rather than cutting the field and the fields after it.
    """
    if "\n" not in text:
        return text
    if "\r" not in text:
        return text.replace("\n", "\r")
    text = text.replace("\r\n", "\r")
    if "\n" not in text:
        return text
    field = text[3:4] if text.startswith("MSH") else "|"
    parts = text.split("\n")
    joined = [parts[0]]
    for part in parts[1:]:
        line = part.split("\r", 1)[0]
        ends_segment = not line.strip() or bool(
            segment_id(line, field) or segment_id_any_case(line, field)
        )
        joined.append("\r" if ends_segment else "\n")
        joined.append(part)
    return "".join(joined)
