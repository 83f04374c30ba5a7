"""OBX-5 values by OBX-2 type, OBX-6 units, OBX-7 reference ranges and OBX-8 flags.

Each reader returns its result and a list of *notes*, ``(issue code, text)``: the caller adds the
location and turns them into Issues. No regular expressions: these run once per OBX.
"""

from __future__ import annotations

from dataclasses import replace

from leukoflag._cache import text_cache, text_memo
from leukoflag._construct import constructor
from leukoflag._quote import listed, quoted, shortened
from leukoflag._range_text import parse_decimal, read_decimal_comma, read_range_text
from leukoflag._value_text import COMPARATORS as _COMPARATORS
from leukoflag._value_text import leading_number as _leading_number
from leukoflag._value_text import read_number as _decimal
from leukoflag._value_text import split_comparator as _comparator
from leukoflag.errors import UnitError
from leukoflag.hl7v2._er7 import Delimiters, field_problems
from leukoflag.hl7v2._tables import INTERPRETATION_SYSTEM, load_tables
from leukoflag.hl7v2._types import concept, decoded, system_uri
from leukoflag.model import (
    CodedResult,
    Coding,
    NoValue,
    Number,
    NumberRange,
    Ratio,
    ReferenceRange,
    Text,
    Unit,
    Value,
)

__all__ = [
    "Note",
    "flag_in_comment",
    "parse_decimal",
    "plain_number",
    "read_flags",
    "read_range",
    "read_unit",
    "read_value",
]

# Made once: a constructor() call is a cache look-up of about 900 instructions (29 a CBC).
_new_number = constructor(Number)

Note = tuple[str, str]  # (issue code, text)
# an OBX-6 note with the part it is at (``"6.7"``; ``"6"`` the field), as issues are located
UnitNote = tuple[str, str, str]  # (part, issue code, text)
_NO_NOTES: list[Note] = []  # returned, never changed, when a value needs no note

# OBX-8 codes outside table 0078 said each in an Issue of its own; the rest are one Issue.
_FLAGS_SAID = 5
_NUMERIC = frozenset({"NM"})
_STRUCTURED = frozenset({"SN"})
_TEXT = frozenset({"ST", "TX", "FT"})
_CODED = frozenset({"CWE", "CE", "CNE", "CF"})
_REPEATS_JUDGED = _NUMERIC | _STRUCTURED  # numbers: repetitions that differ are not guessed at
_MASK = frozenset("*-. ")
# Words after a number that make it a bound ("0.5 or less", "4.0 and above"), not a value.
_BOUND_WORDS = frozenset(
    {"less", "fewer", "lower", "below", "under", "max", "maximum", "most"}
    | {"more", "greater", "higher", "above", "over", "plus", "min", "minimum", "least"}
)
_BOUND_SIGNS = ("<", ">", "≤", "≥", "+")
# The whole comment after a number that states an inclusive bound in plain English
# (``0.5 or less``, ``4.0 and above``): read as ``<=``/``>=``. Any other wording stays text.
_BOUND_PHRASES = {
    **dict.fromkeys(
        ("or less", "or lower", "or below", "or under", "or fewer", "and below", "and under"),
        "<=",
    ),
    **dict.fromkeys(
        (
            *("or more", "or greater", "or higher", "or above", "or over"),
            *("and above", "and over", "and higher", "and greater", "and more"),
        ),
        ">=",
    ),
}


@text_memo(4096)
def plain_number(field: str) -> Number | None:
    """An NM field that is a plain decimal, as a :class:`Number`, else None. Kept by its text
    (``plain_number[field]`` on the hot path, a dict hit): results of a lab's tests take a
    limited set of values (two or three significant figures)."""
    value = parse_decimal(field)
    return None if value is None else _new_number(value, field.strip())


def _comma_note(kind: str, text: str, read: object) -> Note:
    return (
        "hl7v2.value-decimal-comma",
        (
            f"{kind} value {quoted(text, 60)} was sent with a decimal comma, which HL7 numbers "
            f"do not have: read as {shortened(str(read))}"
        ),
    )


def _comma_ambiguous(number: str) -> str:
    """Why a number such as ``4,200`` is not read (as the range texts say it), else ``""``."""
    _, ambiguous = read_decimal_comma(number)
    if not ambiguous:
        return ""
    return f"the comma in {quoted(number)} may separate thousands or be a decimal comma"


# Table 0078 flags that say low, high, normal or abnormal: a text value's comment that is one of
# them alone ('3.2 H', '3.2 (L)') is the sender's flag written after the number.
_COMMENT_FLAGS = frozenset({"L", "H", "LL", "HH", "LU", "HU", "L<", "H>", "N", "A", "AA"})
_BRACKETS = {"(": ")", "[": "]"}


def flag_in_comment(comment: str) -> str:
    """The table 0078 flag that the comment after a text value's number is (``H`` of ``H``,
    ``(H)`` or ``[H]``), or ``""`` when it is anything else."""
    text = comment.strip()
    if len(text) > 2 and _BRACKETS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text if text in _COMMENT_FLAGS else ""


def _states_bound(comment: str) -> bool:
    """Whether a comment after a number makes it a bound (``or less``, ``and above``, ``+``)."""
    if comment.startswith(_BOUND_SIGNS):
        return True
    return any(word.strip(".,;:()") in _BOUND_WORDS for word in comment.casefold().split())


def _is_masked(text: str) -> bool:
    """``***.**``, ``-----``: a value the sender masked (not a number, not empty)."""
    return bool(text) and set(text) <= _MASK and ("*" in text or "-" in text)


def read_value(
    value_type: str, field: str, delimiters: Delimiters, codec: str
) -> tuple[Value, list[Note]]:
    """OBX-5 read by its OBX-2 type. The notes list is the caller's to read, not to change."""
    if value_type == "NM":
        plain = plain_number[field]  # the common case, first: a plain decimal
        if plain is not None:
            return plain, _NO_NOTES
    notes: list[Note] = []
    stripped = field.strip()
    if not stripped:
        return NoValue("empty"), notes
    if stripped == '""':
        # v2.5.1 ch. 2.5.3: "" is an explicit null (the value was deleted).
        return NoValue("empty", '""'), notes
    repetitions = field.split(delimiters.repetition)
    first = repetitions[0]
    kind = value_type.strip().upper()
    if len(repetitions) > 1 and kind not in _TEXT:
        # Empty repetitions carry nothing ('~2.1', '2.1~~'), nor does one sent as HL7's null
        # ('2.1~""', as OBX-8's 'L~""'): the value is the first one sent.
        sent = [r for r in repetitions if r.strip() and r.strip() != '""']
        first = sent[0] if sent else ""
        if len(sent) > 1 and kind in _REPEATS_JUDGED and _differ(kind, sent, delimiters, codec):
            # '2.1~6.0': judging the first would be a guess, as for OBX-6 repetitions
            escapes: list[str] = []
            text = delimiters.repetition.join(
                decoded(r, delimiters, codec, escapes).strip() for r in sent
            )
            _escape_notes(escapes, notes)
            notes.append(
                (
                    "hl7v2.value-repeated",
                    (
                        f"{kind} value {quoted(text, 60)} holds {len(sent)} repetitions with "
                        "different values: which one is the result is unknown, so it is kept "
                        "as text and not judged"
                    ),
                )
            )
            return Text(text, len(sent)), notes
        if len(sent) > 1:
            notes.append(
                (
                    "hl7v2.repetition-unmapped",
                    "OBX-5 repetitions after the first are not carried: "
                    + quoted(delimiters.repetition.join(sent[1:]), 80),
                )
            )
        if not sent:
            return NoValue("empty", field.strip()), notes
    if _is_masked(first.strip()):
        return NoValue("masked", first.strip()), notes
    if kind in _TEXT:
        problems: list[str] = []
        # ST/TX/FT have no components: an unescaped ^ is data, and repetitions are lines.
        text = "\n".join(decoded(r, delimiters, codec, problems) for r in repetitions)
        _escape_notes(problems, notes)
        # Spaces before the number are padding (right-justified fixed-width fields: '   3.2').
        number, comma = _leading_number(text) if text.lstrip(" ")[:1] != "\n" else (None, False)
        if number is not None and comma:
            notes.append(_comma_note(kind, text, number.value))
        if number is not None and number.comment and not number.comparator:
            phrase = " ".join(number.comment.casefold().split()).rstrip(".")
            bound = _BOUND_PHRASES.get(phrase)
            if bound is not None:
                notes.append(
                    (
                        "hl7v2.value-number-in-text",
                        (
                            f"{kind} value {quoted(text, 60)} read as the bound "
                            f"{bound}{shortened(str(number.value))} ({quoted(number.comment)})"
                        ),
                    )
                )
                return Number(number.value, text, bound), notes
        if number is not None and _states_bound(number.comment):
            notes.append(
                (
                    "hl7v2.value-bound-in-words",
                    (
                        f"{kind} value {quoted(text, 60)} is a bound ({quoted(number.comment)}), "
                        f"not the number {shortened(str(number.value))}: kept as text"
                    ),
                )
            )
            return Text(text), notes
        if number is not None:
            notes.append(
                (
                    "hl7v2.value-number-in-text",
                    f"{kind} value {quoted(text, 60)} read as the number "
                    f"{shortened(str(number.value))}"
                    + (f" with the comment {quoted(number.comment)}" if number.comment else ""),
                )
            )
            return number, notes
        return Text(text), notes
    if kind in _NUMERIC:
        return _numeric(first, delimiters, codec, notes), notes
    if kind in _STRUCTURED:
        return _structured(first, delimiters, codec, notes), notes
    if kind in _CODED:
        coded, problem = concept(first, delimiters, codec)
        if problem:
            notes.append(("hl7v2.escape-invalid", problem))
        if coded is None:
            return NoValue("empty", first), notes
        return CodedResult(coded), notes
    problems = []
    readable = " ".join(
        decoded(c, delimiters, codec, problems).strip()
        for c in first.split(delimiters.component)
        if c.strip()
    )
    _escape_notes(problems, notes)
    if not kind:
        value, comma = _decimal(readable)
        if value is not None and comma:
            notes.append(_comma_note("the", readable, value))
        notes.append(
            (
                "hl7v2.value-type-missing",
                f"OBX-2 is empty: the value {quoted(readable, 60)} was read as "
                + ("a number" if value is not None else "text"),
            )
        )
        return (Number(value, readable) if value is not None else Text(readable)), notes
    notes.append(
        (
            "hl7v2.value-type-unmapped",
            f"OBX-2 value type {kind!r} is kept as text: {quoted(readable, 60)}",
        )
    )
    return Text(readable), notes


def _differ(kind: str, sent: list[str], delimiters: Delimiters, codec: str) -> bool:
    """Whether the repetitions of a numeric OBX-5 give different values (``2.1~6.0``), not one
    value sent again (``2.1~2.10``)."""
    read = _numeric if kind in _NUMERIC else _structured
    values = {_compared(read(r, delimiters, codec, [])) for r in sent}
    return len(values) > 1


def _compared(value: Value) -> object:
    """A value as compared with another repetition: a number by its value and comparator."""
    if isinstance(value, Number):
        return value.value, value.comparator
    if isinstance(value, NumberRange):
        return value.low, value.high
    return value


def _escape_notes(problems: list[str], notes: list[Note]) -> None:
    notes.extend(("hl7v2.escape-invalid", p) for p in field_problems(problems))


def _numeric(raw: str, delimiters: Delimiters, codec: str, notes: list[Note]) -> Value:
    value = parse_decimal(raw)
    if value is not None:
        return Number(value, raw.strip())
    problems: list[str] = []
    text = decoded(raw, delimiters, codec, problems).strip()
    _escape_notes(problems, notes)
    value = parse_decimal(text) if text != raw.strip() else None
    if value is not None:  # a number once its escapes are decoded (\X33\.2, 3.2\.sk 1\)
        return Number(value, text)
    sign, rest = _comparator(text)
    number, comma = _decimal(rest) if sign != "<>" else (None, False)
    if number is not None and comma:
        # 4,2 from a European lab: read as the range texts are (a comma before 1-2 digits)
        notes.append(_comma_note("NM", text, number))
    if number is not None and not sign:
        return Number(number, text)
    if number is not None:
        notes.append(
            (
                "hl7v2.value-comparator-in-nm",
                f"NM value {quoted(text)} holds a comparator (SN was due): read as {sign} "
                + shortened(str(number)),
            )
        )
        return Number(number, text, "" if sign == "=" else sign)
    ambiguous = _comma_ambiguous(rest.strip()) if sign != "<>" else ""
    shown = quoted(text, 60)
    why = f"kept as text: {ambiguous}" if ambiguous else "is not a decimal number: kept as text"
    notes.append(("hl7v2.value-not-numeric", f"NM value {shown} {why}"))
    return Text(text)


def _structured(raw: str, delimiters: Delimiters, codec: str, notes: list[Note]) -> Value:
    problems: list[str] = []
    parts = [
        decoded(p, delimiters, codec, problems).strip() for p in raw.split(delimiters.component)
    ]
    _escape_notes(problems, notes)
    if len(parts) == 1:
        return _unstructured_sn(parts[0], notes)
    sign, first, separator, second = [*parts, "", "", ""][:4]
    text = f"{sign}{first}{separator}{second}"
    if len(parts) > 4 or sign not in ("", *_COMPARATORS):
        return _sn_invalid(text, "an SN has comparator^number^separator^number", notes)
    if sign == "<>" or separator in ("+", "."):
        # V2-to-FHIR: SN with <> or + → valueString, original text kept.
        return Text(text)
    low, low_comma = _decimal(first) if first else (None, False)
    if first and low is None:
        return _sn_invalid(text, _not_a_number(first), notes)
    if not separator:
        if second:
            return _sn_invalid(text, "a second number needs a separator (- : /)", notes)
        if low is None:
            return NoValue("empty", text) if not sign else _sn_invalid(text, "no number", notes)
        if low_comma:
            notes.append(_comma_note("SN", text, f"{sign}{low}"))
        return Number(low, text, "" if sign == "=" else sign)
    high, high_comma = _decimal(second) if second else (None, False)
    if second and high is None:
        return _sn_invalid(text, _not_a_number(second), notes)
    if sign:
        return _sn_invalid(text, "a comparator cannot go with a range or ratio", notes)
    value: Value
    if separator == "-":
        if low is not None and high is not None and low > high:
            # FHIR Range (rng-2): low SHALL NOT be above high; written as sent, as text
            return _sn_invalid(text, "the range's low is above its high", notes)
        value = NumberRange(low, high, text)
    elif separator in (":", "/"):
        if low is None or high is None:
            return _sn_invalid(text, "a ratio needs two numbers", notes)
        value = Ratio(low, high, text)
    else:
        return _sn_invalid(text, f"unknown SN separator {quoted(separator)}", notes)
    if low_comma or high_comma:
        shown = f"{'' if low is None else low}{separator}{'' if high is None else high}"
        notes.append(_comma_note("SN", text, shown))
    return value


def _not_a_number(part: str) -> str:
    """Why an SN number is not read: ``4,200`` is ambiguous, ``4.2.1`` no number."""
    return _comma_ambiguous(part) or f"{quoted(part)} is not a number"


def _sn_invalid(text: str, why: str, notes: list[Note]) -> Value:
    notes.append(("hl7v2.value-sn-invalid", f"SN value {quoted(text, 60)} kept as text: {why}"))
    return Text(text)


def _unstructured_sn(text: str, notes: list[Note]) -> Value:
    """An SN sent as plain text (``<0.1``, ``1:128``, ``2-5``): read it, with a note."""
    number, comma = _leading_number(text)
    value: Value | None = number if number is not None and not number.comment else None
    shown = "" if number is None else f"{number.comparator}{number.value}"
    if value is None:
        for separator in (":", "/"):
            left, found, right = text.partition(separator)
            (low, low_comma), (high, high_comma) = _decimal(left), _decimal(right)
            if found and low is not None and high is not None:
                value, comma, shown = (
                    Ratio(low, high, text),
                    low_comma or high_comma,
                    f"{low}:{high}",
                )
                break
    if value is None:
        cut = text.find("-", 1)
        if cut > 0:
            (low, low_comma), (high, high_comma) = _decimal(text[:cut]), _decimal(text[cut + 1 :])
            if low is not None and high is not None:
                if low > high:
                    return _sn_invalid(text, "the range's low is above its high", notes)
                value, comma, shown = (
                    NumberRange(low, high, text),
                    low_comma or high_comma,
                    f"{low}-{high}",
                )
    if value is None:
        why = _comma_ambiguous(_comparator(text)[1])
        return _sn_invalid(text, why or "not comparator^number^separator^number", notes)
    notes.append(
        ("hl7v2.value-sn-unstructured", f"SN value {quoted(text)} sent without components")
    )
    if comma:
        notes.append(_comma_note("SN", text, shown))
    return value


# --------------------------------------------------------------------------- OBX-6 units


def _power_base(text: str) -> bool:
    """The part before an unescaped ``^`` in ``10^3/uL``/``x10^9/L``."""
    return text.endswith("10") and (len(text) == 2 or text[-3] in "xX*× ")


def _cubed(end: str, part: str) -> bool:
    """The part after an unescaped ``^`` in ``/mm^3`` (cells per cubic millimetre)."""
    return end[-2:] in {"mm", "MM"} and part[:1] == "3" and not part[1:2].isdigit()


def _rejoined(kept: list[list[str]], delimiters: Delimiters) -> str:
    """The note on a unit field whose unescaped ``10^3/uL`` was re-joined: one per field, its
    quotes bounded (one per join quoted the growing unit each time: quadratic in its length)."""
    component = delimiters.component
    marker = delimiters.escape
    escaped_separator = f"{marker}S{marker}"
    joins = sum(len(pieces) - 1 for pieces in kept)
    separators = (
        "an unescaped component separator"
        if joins == 1
        else f"{joins:,} unescaped component separators"
    )
    rejoined = [pieces for pieces in kept if len(pieces) > 1]
    if len(rejoined) == 1:
        sent = component.join(rejoined[0])
        should = escaped_separator.join(rejoined[0])
        return (
            f"unit {quoted(sent)} was sent with {separators} (should be {quoted(should)}); "
            "re-joined"
        )
    sent = component.join(component.join(pieces) for pieces in kept)
    should = component.join(escaped_separator.join(pieces) for pieces in kept)
    return (
        f"units in {quoted(sent)} were sent with {separators} (should be {quoted(should)}); "
        "re-joined"
    )


@text_cache(4096)
def read_unit(
    field: str, delimiters: Delimiters, codec: str
) -> tuple[Unit | None, tuple[UnitNote, ...]]:
    """OBX-6 (CWE): unit = CWE.2, or CWE.1 when CWE.2 is empty; code = CWE.1 when CWE.3 names
    a system or CWE.1 differs from CWE.2; an unescaped ``10^3/uL`` or ``/mm^3`` split into
    components is re-joined first."""
    notes: list[UnitNote] = []
    if not field.strip():
        return None, tuple(notes)
    if delimiters.repetition in field:
        return _repeated_unit(field, delimiters, codec)
    component = delimiters.component
    # Each component is kept, or re-joined to the one before it: its pieces are gathered and
    # joined once (joining at each piece copied the growing unit, quadratic in a long chain).
    kept: list[list[str]] = []
    end = ""  # the last three characters of the last kept component, re-joined
    for part in field.split(component):
        if kept and part[:1].isdigit() and (_power_base(end) or _cubed(end, part)):
            kept[-1].append(part)
            end = (end + component + part)[-3:]
        else:
            kept.append([part])
            end = part[-3:]
    parts = [component.join(pieces) for pieces in kept]
    if any(len(pieces) > 1 for pieces in kept):
        notes.append(("6", "hl7v2.unit-rejoined", _rejoined(kept, delimiters)))
    problems: list[str] = []
    if '""' in field:  # a component sent as "" is HL7's null, as a whole field is: no unit '""'
        # (told before decoding: a text of two quotes sent escaped, \X22\", is no null)
        parts = ["" if x.strip() == '""' else x for x in parts]
    p = [decoded(x, delimiters, codec, problems).strip() for x in parts] + ["", "", ""]
    if problems:  # a problem alike in the code and the text is one (field_problems)
        notes.extend(("6", "hl7v2.escape-invalid", p) for p in field_problems(problems))
    code, text, system_name = p[0], p[1], p[2]
    system_at = "6.3"  # where system_name was sent
    other: Unit | None = None
    if any(p[3:6]):
        alternate = quoted("^".join(p[3:6]).strip("^"))
        if not (code or text) and (p[3] or p[4]):
            # The unit sent only as the alternate triplet is the unit: read as if it were CWE.1-3.
            empty = "OBX-6.1-2 are" if system_name else "OBX-6.1-3 are"
            if system_name:  # ^^99LAB^10*3/uL^^UCUM: the system of no code
                notes.append(
                    (
                        "6.3",
                        "hl7v2.component-unmapped",
                        (
                            f"unit coding system {quoted(system_name)} (OBX-6.3) is not carried: "
                            "it names the system of a unit code, and none was sent"
                        ),
                    )
                )
            code, text, system_name = p[3], p[4], p[5]
            system_at = "6.6"
            notes.append(
                (
                    "6",
                    "hl7v2.unit-alternate",
                    f"{empty} empty: the alternate unit {alternate} (OBX-6.4-6) was read",
                )
            )
        else:
            said = "is not carried"
            if p[3] or p[4]:
                # checked against CWE.1-3 by the units step (10*3/uL^^UCUM^/uL^^UCUM: a conflict)
                alt_system = system_uri(p[5]) or p[5]
                other = Unit(p[4] or p[3], p[3] if p[5] or p[3] != p[4] else "", alt_system)
                said = (  # a Quantity holds one unit; the writer keeps it only on a conflict
                    "is checked against the unit (OBX-6.1-3) but not written beside it, except "
                    "in the unit-alternate-sent extension when they disagree"
                )
            notes.append(
                (
                    "6.4",
                    "hl7v2.component-unmapped",
                    f"alternate unit {alternate} (OBX-6.4-6) {said}",
                )
            )
    original = ""
    if not (code or text or p[3] or p[4]) and len(p) > 8 and p[8]:
        # No code: the unit as the lab wrote it, CWE.9 (original text, which a CWE without a
        # code carries), is the unit, as an alternate sent alone is ('^^^^^^^^K/uL')
        original = text = p[8]
        notes.append(
            (
                "6",
                "hl7v2.unit-original-text",
                (
                    "OBX-6 holds no unit code or text (OBX-6.1-2, OBX-6.4-5): the original "
                    f"text {quoted(text)} (OBX-6.9) was read as the unit"
                ),
            )
        )
    # CWE.9 beside the unit read from CWE.1-2 (10*3/uL^^UCUM^^^^^^cells/uL): checked against it
    # by the units step, which refuses a count of another scale or no count
    beside = p[8] if len(p) > 8 and not original and system_at == "6.3" else ""
    notes.extend(  # the versions and original text (OBX-6.7-9) and anything after them
        (
            f"6.{number}",
            "hl7v2.component-unmapped",
            (
                f"original text {quoted(part)} (OBX-6.9) is checked against the unit "
                "(OBX-6.1-2) but not written beside it, except in the unit-original-text-sent "
                "extension when they disagree"
            )
            if number == 9 and beside
            else f"OBX-6.{number} is not carried: {quoted(part)}",
        )
        for number, part in enumerate(p[6 : len(parts)], 7)
        if part and not (number == 9 and original)
    )
    shown = text or code
    if not shown:
        return None, tuple(notes)
    system = system_uri(system_name) or system_name
    if code and text and code != text and not ("://" in system or system.startswith("urn:")):
        # FHIR Quantity.code needs a URI system (qty-3): this CWE.1 has no place in the output
        # 99LAB is local but ISO+ (table 0396) is not: both merely lack a FHIR URI
        named = (
            f"OBX-{system_at} {quoted(system_name)} has no such URI"
            if system_name
            else f"OBX-{system_at} is empty"
        )
        code_at = "6.1" if system_at == "6.3" else "6.4"  # of the alternate read as the unit
        notes.append(
            (
                code_at,
                "hl7v2.component-unmapped",
                (
                    f"unit code {quoted(code)} (OBX-{code_at}) is not written as the Quantity's "
                    f"code beside the unit text {quoted(text)}: a FHIR Quantity holds a unit code "
                    f"only with a coding system URI, and {named}"
                ),
            )
        )
    elif system_name and not code:
        # ^K/uL^UCUM, ^^UCUM^^^^^^K/uL: a system of no code, which a FHIR Quantity writes only
        # with its code
        notes.append(
            (
                system_at,
                "hl7v2.component-unmapped",
                (
                    f"unit coding system {quoted(system_name)} (OBX-{system_at}) is not carried: "
                    "it names the system of a unit code, and none was sent"
                ),
            )
        )
    elif system_name and not ("://" in system or system.startswith("urn:")):
        # 10*3/uL^^99LAB: the unit text is written, but its system name has no place in it
        notes.append(
            (
                system_at,
                "hl7v2.component-unmapped",
                (
                    f"unit coding system {quoted(system_name)} (OBX-{system_at}) is not carried: "
                    f"a FHIR Quantity names its system by URI, and {quoted(system_name)} has none"
                ),
            )
        )
    if not system_name and code != text and text:
        # a CWE.1 unlike CWE.2 (/uL^K/uL) is kept, so the units step can refuse a disagreement
        return Unit(shown, code, "", other, beside), tuple(notes)
    return Unit(shown, code if system_name else "", system, other, beside), tuple(notes)


def _repeated_unit(
    field: str, delimiters: Delimiters, codec: str
) -> tuple[Unit | None, tuple[UnitNote, ...]]:
    """OBX-6 sent with repetitions, which it does not have: the unit when every repetition that
    holds one names the same, the first when they spell one unit (``10*3/uL~K/uL``); else
    which applies is unknown, and the units step refuses the repetitions' texts joined by
    ``~`` (``10*3/uL~/uL`` must not be read as either)."""
    read = [read_unit(r, delimiters, codec) for r in field.split(delimiters.repetition)]
    # the first note of each code: a field of many repetitions gives one of each, not one each
    first: dict[str, tuple[str, str]] = {}
    for _, found in read:
        for part, code, text in found:
            first.setdefault(code, (part, text))
    notes: list[UnitNote] = [(part, code, text) for code, (part, text) in first.items()]
    named = list(dict.fromkeys(unit for unit, _ in read if unit is not None))
    shown = quoted(decoded(field, delimiters, codec, []).strip())
    if len(named) <= 1:
        if sum(unit is not None for unit, _ in read) > 1:
            notes.append(
                (
                    "6",
                    "hl7v2.repetition-unmapped",
                    f"OBX-6 {shown} repeats the same unit, which OBX-6 does not repeat: read once",
                )
            )
        return (named[0] if named else None), tuple(notes)
    if _one_unit(named):
        # 10*3/uL~K/uL: two spellings of one unit (same kind and factor): the first is read
        places: dict[Unit, int] = {}
        for place, (unit, _) in enumerate(read, 1):
            if unit is not None:
                places.setdefault(unit, place)
        notes.extend(
            (
                f"6[{places[unit]}]" if places[unit] > 1 else "6",
                "hl7v2.repetition-unmapped",
                (
                    f"OBX-6 {shown} repeats its unit, which OBX-6 does not repeat: "
                    f"{quoted(unit.text)} is not carried, as it names the same unit as "
                    f"{quoted(named[0].text)}, which is read"
                ),
            )
            for index, unit in enumerate(named)
            if index
        )
        return named[0], tuple(notes)
    notes.append(
        (
            "6",
            "hl7v2.unit-repeated",
            (
                f"unit {shown} holds repetitions, which OBX-6 does not have, naming "
                f"{len(named)} different units: which one applies is unknown, so the value is "
                "not normalized"
            ),
        )
    )
    return Unit("~".join(unit.text for unit in named)), tuple(notes)


def _one_unit(named: list[Unit]) -> bool:
    """True when every unit of ``named`` resolves to the same unit: the same kind and the same
    known factor (``10*3/uL`` and ``K/uL``); ``fL`` and ``pg`` have no factor, so are not."""
    from leukoflag.units import resolve_unit  # noqa: PLC0415  (OBX-6 with repetitions only)

    try:
        specs = [resolve_unit(unit) for unit in named]
    except UnitError:
        return False
    first = specs[0]
    return first.factor is not None and all(
        (spec.kind, spec.factor) == (first.kind, first.factor) for spec in specs
    )


# --------------------------------------------------------------------------- OBX-7 reference ranges


@text_cache(4096)
def read_range(
    field: str, delimiters: Delimiters, codec: str
) -> tuple[ReferenceRange | None, tuple[Note, ...]]:
    """OBX-7: ``4.0-11.0``, ``4.0 - 11.0``, ``4.0 to 11.0``, ``[4.0-11.0]``, ``>4.0``, ``<=11``,
    negative bounds, a unit after the numbers; the text is always kept."""
    notes: list[Note] = []
    problems: list[str] = []
    # OBX-7 is ST: an unescaped component separator is data, but trailing ones (`4.0-11.0^^`,
    # senders padding it like a CWE) are empty components that carry nothing.
    sent = field.rstrip(delimiters.component)
    if delimiters.repetition in sent:
        # empty repetitions carry nothing ('4.0-11.0~', '~4.0-11.0'), as in the other fields
        ranges = [r for r in sent.split(delimiters.repetition) if r.strip()]
        if len(ranges) <= 1:
            sent = ranges[0].rstrip(delimiters.component) if ranges else ""
    text = decoded(sent, delimiters, codec, problems).strip()
    _escape_notes(problems, notes)
    if not text:
        return None, tuple(notes)
    if delimiters.repetition in sent:
        # OBX-7 does not repeat: which of 4.0-11.0~3.5-10.5 applies is unknown (not a unit)
        notes.append(
            (
                "hl7v2.range-repeated",
                (
                    f"reference range {quoted(text)} holds repetitions, which OBX-7 does not have: "
                    "no limits read from it"
                ),
            )
        )
        return ReferenceRange(text), tuple(notes)
    reference, inverted = read_range_text(text)
    if reference.unit is not None and delimiters.component in sent:
        reference = _unit_in_component(reference, sent, delimiters, codec)
    if inverted:
        notes.append(("hl7v2.range-inverted", f"reference range {quoted(text)}: low above high"))
    return reference, tuple(notes)


def _unit_in_component(
    reference: ReferenceRange, sent: str, delimiters: Delimiters, codec: str
) -> ReferenceRange:
    """``4.0-11.0^10*3/uL``: limits, then their unit as a further component (OBX-7 written like a
    CWE). The unit is that component, not ``^10*3/uL``; ``reference`` when the first component
    is not limits alone."""
    head, tail = sent.split(delimiters.component, 1)
    limits, inverted = read_range_text(decoded(head, delimiters, codec, []).strip())
    if inverted or limits.unit is not None or (limits.low is None and limits.high is None):
        return reference
    unit = decoded(tail, delimiters, codec, []).strip()  # escape problems: noted with the field
    unit_sent = Unit(unit) if unit else None
    return replace(limits, text=reference.text, unit=unit_sent)


# --------------------------------------------------------------------------- OBX-8 flags


@text_cache(1024)
def read_flags(
    field: str, delimiters: Delimiters, codec: str
) -> tuple[tuple[Coding, ...], tuple[Note, ...]]:
    """OBX-8 repetitions (``L~A``) → Codings: table 0078 codes (in any case: ``l`` is ``L``)
    with a v3 equivalent get the v3-ObservationInterpretation system; the others keep
    ``system_name`` ``HL70078``."""
    notes: list[Note] = []
    table = load_tables().interpretation
    codings: list[Coding] = []
    problems: list[str] = []
    unknown: dict[str, None] = {}  # the codes outside table 0078, each said once
    for repetition in field.split(delimiters.repetition):
        pieces = repetition.split(delimiters.component)
        if '""' in repetition:  # a repetition or component sent as "" is HL7's null: no flag
            # (told before decoding: a text of two quotes sent escaped, \X22\", is no null)
            pieces = ["" if x.strip() == '""' else x for x in pieces]
        parts = [decoded(p, delimiters, codec, problems).strip() for p in pieces]
        code = parts[0]
        if not code:
            continue
        display = parts[1] if len(parts) > 1 else ""
        name = parts[2] if len(parts) > 2 else ""
        if name and name.upper() != "HL70078":
            codings.append(Coding(code, display, system_uri(name), name))
            continue
        # table 0078 codes are all upper case, so a lower-case `l` can only mean `L` (as OBX-11)
        row = table.get(code) or table.get(code.upper())
        if row is None:
            if code not in unknown:
                unknown[code] = None
                if len(unknown) <= _FLAGS_SAID:
                    notes.append(
                        (
                            "hl7v2.flag-unknown",
                            f"abnormal flag {quoted(code)} is not in HL7 table 0078",
                        )
                    )
            codings.append(Coding(code, display, "", name or "HL70078"))
        elif row.interpretation:
            codings.append(
                Coding(
                    row.interpretation,
                    display or row.display,
                    INTERPRETATION_SYSTEM,
                    name or "HL70078",
                    sent=code if code != row.interpretation else "",
                )
            )
        else:
            notes.append(
                (
                    "hl7v2.flag-unmapped",
                    (
                        f"abnormal flag {quoted(code)} ({row.display}) has no v3 "
                        "interpretation equivalent"
                    ),
                )
            )
            sent = code if code != row.code else ""
            codings.append(
                Coding(row.code, display or row.display, "", name or "HL70078", sent=sent)
            )
    if len(unknown) > _FLAGS_SAID:  # an OBX-8 of thousands of local flags: one Issue for the rest
        rest = list(unknown)[_FLAGS_SAID:]
        notes.append(
            (
                "hl7v2.flag-unknown",
                f"{len(rest):,} more abnormal flags are not in HL7 table 0078: "
                + listed([quoted(code) for code in rest[:3]], len(rest)),
            )
        )
    _escape_notes(problems, notes)
    return tuple(codings), tuple(notes)
