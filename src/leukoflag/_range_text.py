"""A reference range written as text, as HL7 v2 OBX-7 always is and a FHIR ``referenceRange``
may be (``text`` only, no ``low``/``high``): its limits and the unit written after them.

One parser for both readers, so that a range reads the same whichever way it came. No regular
expressions: this runs once per distinct range text (cached by it).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from decimal import Decimal

from leukoflag._age_words import age_words
from leukoflag._ages import AgeSpan
from leukoflag._cache import text_cache
from leukoflag._quote import quoted
from leukoflag._sex_labels import LabelRead, fold, sex_labels
from leukoflag.model import ReferenceRange, Unit
from leukoflag.units import unit_table

__all__ = [
    "age_group",
    "age_span",
    "age_word",
    "ages_of",
    "in_hours",
    "known_age_words",
    "parse_decimal",
    "read_decimal_comma",
    "read_range_text",
    "why_no_limits",
]

_DIGITS = frozenset("0123456789")
_RANGE_SEPARATORS = ("-", "–", "—", "to", "TO", "..")  # hyphen, en and em dash: all sent


def parse_decimal(text: str) -> Decimal | None:
    """An HL7 NM number (optional sign, digits, optional point) as an exact Decimal, else None.

    Stricter than ``Decimal()``: no exponent, no ``NaN``/``Infinity``, no underscores, no
    thousands separator, no comma decimal.
    """
    body = text.strip()
    digits = body[1:] if body[:1] in ("+", "-") else body
    # Digits with at most one point among them (before, inside or after): "12", "1.5", ".5", "5."
    bare = digits.replace(".", "", 1)
    if bare.isdigit() and bare.isascii():
        return Decimal(body)
    return None


def read_decimal_comma(text: str) -> tuple[Decimal | None, bool]:
    """A number written with a decimal comma (``4,2``, ``-0,05``: a comma before one or two
    digits, as in a range) as a Decimal, else None; True when it is one number whose comma before
    three digits (``4,200``) may separate thousands or be a decimal comma, so it is not read."""
    body = text.strip()
    value, end, comma = _number_at(body, 0)
    if comma == "," and end == len(body):
        return value, False
    return None, bool(body) and comma == body


def _number_at(text: str, start: int) -> tuple[Decimal | None, int, str]:
    """The decimal number starting at ``start`` (sign allowed), the index after it, and its
    decimal comma: ``","`` for ``4,5`` (read as 4.5), the number as written when a comma before
    three digits (``4,000``) leaves it unread, else ``""``."""
    end = start
    if end < len(text) and text[end] in "+-":
        end += 1
    while end < len(text) and (text[end] in _DIGITS or text[end] == "."):
        end += 1
    if end > start and end < len(text) and text[end] == ",":
        return _comma_number_at(text, start, end)
    value = parse_decimal(text[start:end]) if end > start else None
    return value, (end if value is not None else start), ""


def _comma_number_at(text: str, start: int, comma: int) -> tuple[Decimal | None, int, str]:
    """``4,0`` or ``4,05`` (a decimal comma, as European labs write); ``4,000`` is four thousand
    or four with a thousands separator, so it is not read and is returned as written."""
    end = comma + 1
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    whole = text[start:comma]
    if "." in whole or not whole.lstrip("+-"):
        value = parse_decimal(whole)  # 4.0,5: the comma is not part of the number
        return value, (comma if value is not None else start), ""
    if end - comma - 1 == 3:
        return None, start, text[start:end]
    value = parse_decimal(f"{whole}.{text[comma + 1 : end]}") if end - comma - 1 in (1, 2) else None
    return value, (end if value is not None else start), ("," if value is not None else "")


def _skip_spaces(text: str, index: int) -> int:
    while index < len(text) and text[index] == " ":
        index += 1
    return index


def _without_note(rest: str) -> str:
    """The text after the limits without a note in brackets ending it: ``10*9/L (adult)`` is the
    unit ``10*9/L`` (``x10(9)/L`` keeps its brackets: no space before them)."""
    if rest and rest[-1] in ")]":
        opening = rest.rfind(" " + "(["[rest[-1] == "]"])
        if opening > 0:
            return rest[:opening].rstrip()
    return rest


# Cached by the text (a pure reading of it): the FHIR reader reads a referenceRange's text up
# to four times per Observation, and every Observation of a feed sends the same few.
@text_cache(4096)
def read_range_text(text: str) -> tuple[ReferenceRange, bool]:
    """``4.0-11.0``, ``4.0 - 11.0``, ``4.0 to 11.0``, ``[4.0-11.0]``, ``>4.0``, ``<=11``, negative
    bounds, decimal commas (``4,0-11,0``), a unit after the numbers, a label saying the range is
    for adults or for children (``Adult: 4.0-11.0``, ``4.0-11.0 (adult)``, ``4.0-11.0 adult``,
    ``4.0-11.0 [18 y and over]``, ``Child: 5.0-15.0``, ``5.0-15.0 (pediatric)``, ``Adult M:
    4.0-10.0 F: 4.5-11.0``); the text is always kept. True with a range whose low is above its
    high (then text only). A range labelled both for adults and for children (``Adult: 4.0-11.0
    (child)``) is text only: whose range it is is not known."""
    body = _without_full_stop(text)
    if len({group for _, group in _age_labels(body)}) > 1:
        return ReferenceRange(text), False
    heads = _age_heads(body)
    if heads:  # 0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0: one range per age, or none read
        return ReferenceRange(text, by_age=_by_age(body, heads)), False
    if _band_labels(body):  # 0-1 y: 6.0-17.5; Adult: 4.0-11.0: not one range, nor one per age
        return ReferenceRange(text), False
    start, ages = _ages_prefix(body)  # Age 0-1 y: 6.0-17.5
    reference, inverted = _read_labelled(body[start:])
    ages = ages or _ages_notes(body)
    if ages and (reference.low is not None or reference.high is not None or reference.by_sex):
        reference = replace(reference, ages=ages)
    return (replace(reference, text=text) if body[start:] != text else reference), inverted


# The words an age note gives ages in (6.0-17.5 (3-12 mo), Age 1-5 y: 5.0-15.0), each with its
# calendar unit: UCUM's a, mo, wk and d, and the English words labs write for them
_AGE_UNITS = {
    "a": "year",
    "y": "year",
    "yr": "year",
    "yrs": "year",
    "year": "year",
    "years": "year",
    "mo": "month",
    "mos": "month",
    "month": "month",
    "months": "month",
    "wk": "week",
    "wks": "week",
    "week": "week",
    "weeks": "week",
    "d": "day",
    "day": "day",
    "days": "day",
}
_AGE_OPEN_ENDS = ("and over", "and older", "or older", "or over")


def _age_unit(word: str) -> str:
    """The calendar unit an age word names (``mo``, ``years``; ``Jahre``, ``mois``, ``años``
    from data/age_words.toml), else ``""``."""
    return _AGE_UNITS.get(word.casefold(), "") or age_words().get(fold(word), "")


def _names_ages(note: str) -> bool:
    """Whether a note speaks of ages (a number, and an age unit after a number or the word
    age): ``3-12 mo``, ``Age 0-1 y``, ``1-5 years``, ``1-5 Jahre``, ``>60 y``, ``65+ y``; or may
    (ages in whole numbers and a word leukoflag does not know, ``1-5 Lebensjahre``, which is then
    not read); not ``cells``, ``see note 3``, ``a 2nd sample``."""
    if not any(c in _DIGITS for c in note):
        return False
    folded = note.casefold()
    return (
        folded.lstrip().startswith("age")
        or any(_age_unit(word) for word in _words_after_numbers(folded))
        or _unknown_ages(folded)
    )


def _words_after_numbers(text: str) -> list[str]:
    """The words of ``text`` right after a number (``mo`` of ``3-12 mo``, ``y`` of ``65+ y``):
    an age unit elsewhere is prose (the English article ``a``, Czech ``let`` in English)."""
    words: list[str] = []
    start = 0
    while start < len(text):
        if not text[start].isalpha():
            start += 1
            continue
        end = start
        while end < len(text) and text[end].isalpha():
            end += 1
        # the character before the word's spaces and pluses, found without copying the text
        before = start - 1
        while before >= 0 and text[before].isspace():
            before -= 1
        while before >= 0 and text[before] == "+":
            before -= 1
        if before >= 0 and text[before] in _DIGITS:
            words.append(text[start:end])
        start = end
    return words


def known_age_words(note: str) -> bool:
    """Whether a note naming ages names them in words leukoflag reads (``>60 y``), not only in a
    word it does not know (``1-5 Lebensjahre``), for the Issue saying it was not read."""
    return _names_ages(note) and not _unknown_ages(note.casefold())


def _unknown_ages(note: str) -> bool:
    """Whether a note is whole numbers as ages are written (``1-5``, ``<1``, ``>=18``, ``18+``)
    followed by one word that is no unit: ``1-5 lebensjahre``, ``0-1 an``, whose ages the range
    may be for (a unit, ``10-20 g/l``, is not one)."""
    word = _word_after_ages(note)
    return bool(word) and not _age_unit(word) and not _known_unit(word)


def _word_after_ages(note: str) -> str:
    """The one word after whole numbers as ages are written (``an`` of ``0-1 an``, ``h`` of
    ``0-72 h``), else ``""``."""
    stripped = note.replace("–", "-").replace("—", "-").strip()
    body = stripped.lstrip("<>=≤≥").lstrip()
    numbers, _, word = body.rpartition(" ")
    word = word.removesuffix(".")
    if not word.isalpha():
        return ""
    first, separator, second = numbers.replace(" ", "").rstrip("+").partition("-")
    # a span, a bound (<1, >=18) or an open end (18+): not a count of things (2 tests)
    bounded = bool(separator) or numbers.rstrip().endswith("+") or body != stripped
    ages = bounded and first.isdigit() and (not separator or second.isdigit())
    return word if ages else ""


# Hours: read in a FHIR referenceRange.age, not in a range's text (see docs/hl7v2.md)
_HOUR_WORDS = frozenset(("h", "hr", "hrs", "hour", "hours"))


def in_hours(note: str) -> bool:
    """Whether a note gives ages in hours (``0-72 h``, ``<24 hours``), which a range's text is
    not read in: the Issue says so, not that the word is unknown."""
    return _word_after_ages(note).casefold() in _HOUR_WORDS


# FHIR input reads it of each referenceRange text beside low and high, which repeat across a
# feed's Observations: cached as read_range_text is (the HL7 v2 path does not call it)
@text_cache(4096)
def ages_of(text: str) -> str:
    """The ages a FHIR range's ``text`` beside its ``low`` and ``high`` gives it for: its age
    note (``4.0-11.0 (3-12 mo)``), none for a range labelled for adults or children (``4.0-11.0
    (18 y and over)``), or the text itself when it names ages otherwise (``3-12 mo``; a text of
    ranges per age, whose band the limits are is not known)."""
    body = text.strip()
    read = read_range_text(body)[0] if body else None
    if read is None or read.ages:
        return read.ages if read is not None else ""
    # 4.0-11.0 (18 y and over): a label of adults, whose age flagging checks (lab-range-adults)
    return body if _names_ages(body) and not (read.adults or read.children) else ""


def _ages_notes(text: str) -> str:
    """The notes in brackets of ``text`` that name ages other than a label's (``3-12 mo`` of
    ``6.0-17.5 (3-12 mo)``), joined by ``; `` when there are several; else ``""``."""
    found = [
        note
        for note in (_note(text), *_notes(text))
        if _names_ages(note) and not age_word(note) and _known_note(note) is None
    ]
    return "; ".join(dict.fromkeys(found))


def _ages_prefix(text: str) -> tuple[int, str]:
    """Where the limits begin after a label naming ages (``Age 0-1 y: 6.0-17.5``), and the
    label; ``(0, "")`` when the text does not begin with one ended by a colon."""
    colon = text.find(":")
    head = text[:colon].strip() if colon > 0 else ""
    if not head or not _names_ages(head) or age_word(head):
        return 0, ""  # no label, or one of adults ("18 y and over:"), read as such
    return _skip_spaces(text, colon + 1), head


# What ends one age's range before the next age's label: 0-1 y: 6.0-17.5; 1-5 y: … (a comma
# only with a space after it: 6,0-17,5 is a decimal comma)
_BAND_SEPARATORS = (";", "\n", "\r", ", ", " / ")


def _age_heads(text: str) -> list[tuple[int, int]]:
    """Where each label naming ages begins and where its colon is, of a text giving ranges
    under two or more such labels (``0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0``); else ``[]``."""
    colons = [i for i, c in enumerate(text) if c == ":"]
    if len(colons) < 2:
        return []
    heads: list[tuple[int, int]] = []
    start = 0
    for colon in colons:
        if heads:  # the label follows the previous range's separator
            after = heads[-1][1]
            ends = [text.rfind(s, after, colon) + len(s) for s in _BAND_SEPARATORS]
            found = [end for end, s in zip(ends, _BAND_SEPARATORS, strict=True) if end > len(s)]
            start = max(found, default=colon)  # none: no label, and so no ranges per age
        head = text[start:colon].strip()
        if not head or not _names_ages(head):  # >=18 y: ages too, read as a FHIR age is
            return []
        heads.append((start, colon))
    return heads


def _band_labels(text: str) -> list[str]:
    """The labels of a text giving ranges under two or more labels of ages or age groups, not
    each read as one (``0-1 y: 6.0-17.5; Adult: 4.0-11.0``, ``0-1 y: …; >=18 y: M: 4.0-10.0 F:
    4.5-11.0``); else ``[]`` (``Age >=18 y: M: 4.0-10.0; F: 4.5-11.0`` is one range per sex)."""
    parts = [text]
    for separator in _BAND_SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    labels = [part[: part.find(":")].strip() for part in parts if part.find(":") > 0]
    aged = [label for label in labels if _names_ages(label) or age_word(label)]
    return labels if len(aged) > 1 else []


def _by_age(text: str, heads: list[tuple[int, int]]) -> tuple[ReferenceRange, ...]:
    """The range under each age label of ``text``, with its ages; ``()`` unless each gives
    limits (low below high)."""
    ranges: list[ReferenceRange] = []
    ends = [start for start, _ in heads[1:]] + [len(text)]
    for (start, colon), end in zip(heads, ends, strict=True):
        part = text[colon + 1 : end].strip()
        for separator in _BAND_SEPARATORS:
            part = part.removesuffix(separator.strip()).strip()
        limits, inverted, _ = _read(part)
        if inverted or (limits.low is None and limits.high is None):
            return ()
        ranges.append(replace(limits, ages=text[start:colon].strip()))
    last = ranges[-1].unit
    # a unit written once, after the last range, is every range's (…; >=18 y: 4.0-11.0 G/L)
    return tuple(r if r.unit is not None else replace(r, unit=last) for r in ranges)


@functools.lru_cache(maxsize=256)
def age_span(note: str) -> AgeSpan | None:
    """The ages an age note gives (``3-12 mo``, ``Age 1-5 y``, ``0 - 7 d``, ``1 mo to 2 y``,
    ``>=60 y``, ``60 y and over``, ``65+ y``, ``<1 y``, ``<=17 y``), each bound in completed
    units as a FHIR ``age`` is read; None when the note cannot be read so."""
    body = note.casefold().replace("–", "-").replace("—", "-").strip()
    for word in ("aged", "ages", "age"):
        if body.startswith(word) and body[len(word) : len(word) + 1] in (" ", ":"):
            body = body[len(word) :].lstrip(" :")
            break
    for sign, kind in (("<=", "high"), ("≤", "high"), (">=", "low"), ("≥", "low"), ("<", "below")):
        if body.startswith(sign):
            bound = _age_at(body[len(sign) :])
            return None if bound is None else AgeSpan(**{kind: bound})
    ending = next((end for end in _AGE_OPEN_ENDS if body.endswith(end)), "")
    if ending or body.count("+") == 1:
        bound = _age_at(
            body.removesuffix(ending).replace("+", " ") if ending else body.replace("+", " ")
        )
        return None if bound is None else AgeSpan(low=bound)
    first, separator, second = body.partition("-")
    if not separator:
        first, separator, second = body.partition(" to ")
    high = _age_at(second) if separator else None
    low = _age_at(first, unit=high[1]) if high is not None else None
    if low is None or high is None or (low[1] == high[1] and low[0] > high[0]):
        return None
    return AgeSpan(low=low, high=high)


def _age_at(text: str, unit: str = "") -> tuple[Decimal, str] | None:
    """An age as a number and its calendar unit (``12 mo``, ``12mo``); a number alone takes
    ``unit`` (the high bound's: ``3-12 mo``); None otherwise."""
    body = text.strip()
    end = 0
    while end < len(body) and (body[end] in _DIGITS or body[end] == "."):
        end += 1
    value = parse_decimal(body[:end]) if end else None
    word = body[end:].strip()
    found = _age_unit(word) if word else unit
    return (value, found) if value is not None and found else None


def _read_labelled(text: str) -> tuple[ReferenceRange, bool]:
    """The range of ``text`` with the group its labels name (one group at most)."""
    start, group = _age_tail(text)
    body = text[:start].rstrip()
    group = group if body else ""
    # M: 4.0-10.0 F: 4.5-11.0 adult: the bare word ending it is a label, not both ranges' unit
    by_sex = _by_sex(body) if group else ()
    if not by_sex:
        by_sex = _by_sex(text)
        group = _note_group(text) if by_sex else ""  # M: 4.0-10.0 F: 4.5-11.0 (adult)
    if by_sex:
        return _per_sex(text, by_sex, group), False
    label, group = _age_prefix(text)
    if label and text[label : label + 1] not in _LIMIT_STARTS:
        by_sex = _by_sex(text[label:])  # Adult M: 4.0-10.0 F: 4.5-11.0: both ranges are adults'
        if not by_sex:
            return ReferenceRange(text), False  # "Adult reference interval": words, no label
        return _per_sex(text, by_sex, group), False
    reference, inverted, _ = _read(text[label:] if label else text)
    if not group:
        group = _note_group(text)
    if reference.unit is not None:
        # a bare word or age after the limits (4.0-11.0 10*9/L adult, 4.0-11.0 18+) is a label,
        # not part of the unit
        start, tail_group = _age_tail(reference.unit.text)
        if tail_group:
            unit = reference.unit.text[:start].rstrip()
            reference = replace(reference, unit=Unit(unit) if unit else None)
            group = group or tail_group
    return (_grouped(reference, text, group) if group else reference), inverted


def _per_sex(
    text: str, by_sex: tuple[tuple[str, ReferenceRange], ...], group: str
) -> ReferenceRange:
    """The range per sex of ``text``, both ranges labelled for ``group`` when one is given."""
    if not group:
        return ReferenceRange(text, by_sex=by_sex)
    grouped = tuple((sex, _grouped(one, one.text, group)) for sex, one in by_sex)
    return _grouped(ReferenceRange(text, by_sex=grouped), text, group)


def _grouped(reference: ReferenceRange, text: str, group: str) -> ReferenceRange:
    """``reference`` with its text as sent, labelled for ``group`` (adults, children)."""
    return replace(reference, text=text, adults=group == "adults", children=group == "children")


# The words that say a range is for adults or for children only, as a label before the limits,
# a note after them or a bare word ending them
_AGE_WORDS = {
    "adult": "adults",
    "adults": "adults",
    "child": "children",
    "children": "children",
    "pediatric": "children",
    "paediatric": "children",
}
# Longest first: "children" is not read as "child" followed by "ren"
_PREFIX_WORDS = sorted(_AGE_WORDS, key=len, reverse=True)


def _age_prefix(text: str) -> tuple[int, str]:
    """Where the limits (or ranges per sex) begin after a label ``Adult:``, ``Children``
    (``Adult: 4.0-11.0``, ``Child 5.0-15.0``) and whose range it says it is; ``(0, "")`` when
    the text does not begin with one followed by a space or a colon."""
    head = text[:11].casefold()
    word = next((w for w in _PREFIX_WORDS if head.startswith(w)), "")
    if not word:
        return 0, ""
    index = _skip_spaces(text, len(word))
    if text[index : index + 1] == ":":
        index = _skip_spaces(text, index + 1)
    if index == len(word) or index == len(text):
        return 0, ""  # "Adults4.0", "Childhood", "Adult": a word, not a label
    return index, _AGE_WORDS[word]


_LIMIT_STARTS = _DIGITS | frozenset("<>≤≥.[(+-")


def _adult_age_notes() -> frozenset[str]:
    """The notes (casefolded, without spaces) that give the range for ages 18 and over:
    ``18 y and over``, ``18 years+``, ``>=18 y``, ``age 18+``."""
    notes = set()
    for unit in ("", "y", "yr", "yrs", "year", "years", "a"):
        for form in (f"18{unit}andover", f"18{unit}andolder", f"18{unit}+", f"18{unit}orolder"):
            notes.add(form)
        notes.update((f">=18{unit}", f"≥18{unit}"))
    return frozenset(f"{age}{note}" for note in notes for age in ("", "age", "ages", "aged"))


_ADULT_AGE_NOTES = _adult_age_notes()
# The most characters other than spaces a label ending a range has (aged18yearsandolder)
_LONGEST_LABEL = max(map(len, (*_AGE_WORDS, *_ADULT_AGE_NOTES)))


def _age_note(note: str) -> str:
    """``adults`` for a note giving the range for ages 18 and over (``18 y and over``), else ``""``
    (other ages, ``3-12 mo``, are not read: the range is used as if for everyone)."""
    return "adults" if note and note.casefold().replace(" ", "") in _ADULT_AGE_NOTES else ""


def age_word(text: str) -> str:
    """Whom a text that is only a label names: ``adults`` (``Adult``, ``18 y and over``),
    ``children`` (``Children``, ``Pediatric``), else ``""`` (a FHIR ``appliesTo`` or ``type``
    text)."""
    body = text.strip()
    return _AGE_WORDS.get(body.casefold(), "") or _age_note(body)


# As ages_of: read of a FHIR referenceRange's text (up to three times per Observation)
@text_cache(4096)
def age_group(text: str) -> str:
    """Whom a range text labels the range as for: ``adults`` (``Adult: 4.0-11.0``, ``4.0-11.0
    (adult)`` or only ``Adult``, a FHIR range's text beside its ``low`` and ``high``),
    ``children`` (``Child: 5.0-15.0``, ``Pediatric``), else ``""``."""
    body = text.strip()
    group = age_word(body) if body else ""
    if group or not body:
        return group
    read = read_range_text(body)[0]
    return "adults" if read.adults else "children" if read.children else ""


def _note_group(text: str) -> str:
    """Whom a note in brackets ending ``text`` or after its limits says the range is for
    (``(adult)``, ``[18 y and over]``, ``(pediatric)``, ``4.0-11.0 (adult) 10*9/L``), else
    ``""``."""
    for note in (_note(text), *_notes(text)):
        group = age_word(note)
        if group:
            return group
    return ""


def _notes(text: str) -> list[str]:
    """The words of each note in brackets after a space (``adult`` and ``3-12 mo`` of ``4.0-11.0
    (adult) 10*9/L (3-12 mo)``); ``x10(9)/L`` has none."""
    notes = []
    unclosed = ""  # the brackets no closing one follows: not searched for again
    for index in range(1, len(text)):
        if text[index] in "([" and text[index - 1] == " ":
            closing = ")]"[text[index] == "["]
            close = text.find(closing, index + 1) if closing not in unclosed else -1
            if close > 0:
                notes.append(text[index + 1 : close].strip())
            else:
                unclosed += closing
    return notes


def _age_tail(text: str) -> tuple[int, str]:
    """Where the words ending ``text`` that say whom the range is for begin (``adult``, ``18+``,
    ``18 y and over``) and whom they name; ``(len(text), "")`` when they name no one."""
    # A tail with more characters than the longest label is none: not looked at, so that a long
    # text is read in linear time
    earliest, kept = len(text), 0
    while earliest > 0 and kept <= _LONGEST_LABEL:
        earliest -= 1
        kept += not text[earliest].isspace()
    index = 0
    while index < len(text):
        if index >= earliest:
            group = age_word(text[index:])
            if group:
                return index, group
        following = text.find(" ", index)
        if following < 0:
            break
        index = _skip_spaces(text, following + 1)  # a run of spaces: one word boundary
    return len(text), ""


def _without_full_stop(text: str) -> str:
    """``text`` without a full stop ending a note, a label, a limit or a known unit (``4.0-11.0
    (adult).``, ``4.0-11.0 adult.``, ``4.0-11.0.``, ``4.0-11.0 10*9/L.``): a sentence's, not part
    of the note, the number or the unit (``11.`` reads as ``11`` either way). Other text is
    returned as sent."""
    body = text.rstrip()
    if not body.endswith("."):
        return text
    head = body[:-1].rstrip()
    if head[-1:] in ")]" or head[-1:] in _DIGITS or _age_tail(head)[1]:
        return head
    # no unit of the table ends with a full stop: "10*9/L." is "10*9/L" ending a sentence
    return head if _known_unit(head.rpartition(" ")[2]) else text


@functools.lru_cache(maxsize=256)
def _known_unit(spelling: str) -> bool:
    """Whether ``spelling`` is a unit of leukoflag's unit table (read or refused on purpose)."""
    table = unit_table()
    return table.lookup(spelling) is not None or table.refusal(spelling) is not None


def _age_labels(text: str) -> list[tuple[str, str]]:
    """Each label in ``text`` saying whom the range is for, as sent, with whom it names: before
    the limits (``Adult:``), in brackets (``(child)``) or ending the text (``adult``)."""
    labels = []
    start, group = _age_prefix(text)
    if group:
        labels.append((text[:start].rstrip(" :"), group))
    for note in (_note(text), *_notes(text)):
        group = age_word(note)
        if group:
            labels.append((note, group))
    body = _without_note(text.rstrip())
    start, group = _age_tail(body)
    if group and start > 0:  # a label alone ("Adult") is no range
        labels.append((body[start:].strip(), group))
    return labels


def _mixed_labels(text: str) -> str:
    """Why a range text labelled both for adults and for children is not used, else ``""``."""
    labels = _age_labels(_without_full_stop(text))
    adults = [label for label, group in labels if group == "adults"]
    children = [label for label, group in labels if group == "children"]
    if not adults or not children:
        return ""
    return (
        f"it is labelled for adults ({quoted(adults[0])}) and for children "
        f"({quoted(children[0])}): whose range it is is not known"
    )


def _note(text: str) -> str:
    """The words of a note in brackets ending ``text`` (``adult`` of ``4.0-11.0 (adult)``)."""
    body = text.rstrip()
    if len(body) < 3 or body[-1] not in ")]":
        return ""
    opening = body.rfind("(["[body[-1] == "]"])
    return body[opening + 1 : -1].strip() if opening > 0 else ""


def _by_sex(text: str) -> tuple[tuple[str, ReferenceRange], ...]:
    """The men's and the women's range of ``M: 4.0-10.0 F: 4.5-11.0``, ``M 4.0-10.0; F
    4.5-11.0``, ``Male 4.0-10.0 / Female 4.5-11.0`` or ``Männer 4,0-10,0 Frauen 4,5-11,0``, each
    with the label it was under, or one sex's range under a word naming it (``Frauen 4,5-11,0``);
    ``()`` unless the text is exactly one range for each sex, each with limits, under labels that
    name the two sexes, or one such range under a word (see data/sex_labels.toml)."""
    labels = sex_labels()
    if fold(text[:1]) not in labels.initials:
        return ()
    starts: list[tuple[int, int, str]] = []  # where each label begins and ends, as sent
    index = 0
    for word in text.replace(";", " ").split(" "):
        # the colon ends the label, written with or without a space after it (M:4.0-10.0)
        head, colon, _ = word.partition(":")
        if head and labels.known(head):
            starts.append((index, index + len(head) + len(colon), head))
        index += len(word) + 1
    if not starts or len(starts) > 2 or starts[0][0] != 0:
        return ()
    if len(starts) == 1:
        # Frauen 4,5-11,0: one sex's range, which judges only a patient of that sex
        alone = labels.read_word(starts[0][2])
        if alone is None:
            return ()
        read: tuple[LabelRead, ...] | str = (alone,)
    else:
        read = labels.read(starts[0][2], starts[1][2])
    if isinstance(read, str):
        return ()
    ranges: list[tuple[str, ReferenceRange]] = []
    for (_, part), label in zip(_parts(text, starts), read, strict=True):
        limits, inverted, _ = _read(part)
        if inverted or (limits.low is None and limits.high is None):
            return ()
        ranges.append(
            (label.sex, replace(limits, sex_label=label.label, sex_language=label.language))
        )
    (first_sex, first), last = ranges[0], ranges[-1]
    if first.unit is None and last[1].unit is not None:
        # a unit written once, after the last range, is both ranges' (M: 4.0-10.0 F: 4.5-11.0 G/L)
        ranges[0] = (first_sex, replace(first, unit=last[1].unit))
    return tuple(ranges)


def _parts(text: str, starts: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    """Each label as sent with the text after it, up to the next label (``M 4.0-10.0 F
    4.5-11.0``: ``M`` and ``4.0-10.0``, ``F`` and ``4.5-11.0``)."""
    parts: list[tuple[str, str]] = []
    ends = [start for start, _, _ in starts[1:]] + [len(text)] if starts else []
    for (_, end, label), following in zip(starts, ends, strict=True):
        # French puts a space before the colon (Hommes : 4,0-10,0)
        part = text[end:following].strip().removeprefix(":").rstrip(";/,").strip()
        parts.append((label, part))
    return parts


def _labelled(text: str) -> list[tuple[int, int, str]]:
    """Where each label of a text of ranges under labels begins and ends, and the label as sent:
    a sex label, or any word followed by a limit (``Polish M 4,0-10,0 K 4,5-11,0``); ``[]``
    unless the text begins with one. For the Issue only: not how a range per sex is read."""
    labels = sex_labels()
    words = text.replace(";", " ").split(" ")
    # the next word that is not only spaces or a colon, after each word: found in one pass
    nexts = [""] * len(words)
    for position in range(len(words) - 1, 0, -1):
        nexts[position - 1] = words[position] if words[position].strip(":") else nexts[position]
    starts: list[tuple[int, int, str]] = []
    index = 0
    for position, word in enumerate(words):
        head, colon, rest = word.partition(":")
        following = rest or nexts[position]
        if head.isalpha() and (
            labels.known(head)
            or (head not in _RANGE_SEPARATORS and following.lstrip("<>=≤≥[(")[:1] in _DIGITS)
        ):
            starts.append((index, index + len(head) + len(colon), head))
        index += len(word) + 1
    return starts if starts and starts[0][0] == 0 else []


def _why_not_by_sex(text: str) -> str:
    """Why a text giving limits under labels (``M 4,0-10,0 V 4,5-11,0``) is not read as a range
    per sex: it has limits, under labels that do not say whose they are; ``""`` for other text."""
    parts = _parts(text, _labelled(text))
    readings = [_read(part) for _, part in parts]
    if not any(r.low is not None or r.high is not None or c or i for r, i, c in readings):
        return ""
    labels = sex_labels()
    named = [label for label, _ in parts]
    shown = _listed(named)
    unknown = [label for label in named if not labels.known(label)]
    read: tuple[LabelRead, ...] | str
    if len(named) == 1:
        (label,) = named
        alone = labels.read_word(label)
        if unknown:
            return f"it gives limits under {shown}, which is no label of a sex leukoflag knows"
        if alone is None:
            return (
                f"it gives limits under {shown} alone, a letter that names a sex only beside the "
                "other sex's"
            )
        read = (alone,)  # one sex's range (Frauen 4,000-11,000): why its limits were not read
    elif unknown:
        verb = "is no label" if len(unknown) == 1 else "are no labels"
        return (
            f"it gives limits under {shown}, and {_listed(unknown)} {verb} of a sex leukoflag knows"
        )
    elif len(named) > 2:
        return f"it gives limits under {shown}: not one range for men and one for women"
    else:
        read = labels.read(named[0], named[1])
    if isinstance(read, str):
        return f"it gives limits under {shown}, but {read}: which range is whose is not known"
    for sex, (limits, inverted, comma) in zip(read, readings, strict=True):
        whose = f"its range for {_PLURAL[sex.sex]} ({quoted(sex.label)})"
        if comma:
            return (
                f"the comma in {quoted(comma)} may separate thousands or be a decimal comma: no "
                f"numeric limits were read from {whose}"
            )
        if inverted:
            return f"{whose} has its low limit above its high limit"
        if limits.low is None and limits.high is None:
            return f"no numeric limits were read from {whose}"
    return ""


_PLURAL = {"male": "men", "female": "women"}


# A text of thousands of labels: the first ten of a list, and how many more
_LISTED = 10


def _listed(labels: list[str]) -> str:
    """``'M'``, ``'M' and 'V'``, ``'M', 'F' and 'K'``; past ten, the first ten and ``and 7
    more``."""
    shown = [quoted(label) for label in labels[:_LISTED]]
    if len(labels) > _LISTED:
        return f"{', '.join(shown)}, and {len(labels) - _LISTED:,} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def why_no_limits(text: str) -> str:
    """Why no limit was read from a range text, for the Issue that says the range is not used."""
    mixed = _mixed_labels(text)
    if mixed:
        return mixed
    heads = _age_heads(_without_full_stop(text))
    if heads:
        shown = _listed([text[start:colon].strip() for start, colon in heads])
        return f"it gives ranges under the ages {shown}, not each with limits leukoflag can read"
    bands = _band_labels(_without_full_stop(text))
    if bands:
        return (
            f"it gives ranges under {_listed(bands)}, not each for ages and with limits "
            "leukoflag can read"
        )
    text = text[_age_prefix(text)[0] :]  # Adult M 4,0-10,0 V 4,5-11,0: the labels after Adult
    other = _read_limits(text)[3]
    if other:
        limits = text[: text.rfind(other)].strip()
        if _names_ages(other):  # 6.0-17.5 3-12 mo: ages, read only in brackets or as a label
            return (
                f"{quoted(other)} after its limits {limits} is no unit: it may give ages, which "
                "leukoflag reads in brackets after the limits or as a label before them"
            )
        return (
            f"{quoted(other)} after its limits {limits} is no unit: it holds limits of another "
            "range, and which range is the patient's is not known"
        )
    labelled = _why_not_by_sex(text)
    if labelled:
        return labelled
    ambiguous = _read(text)[2]
    if ambiguous:
        return (
            f"the comma in {quoted(ambiguous)} may separate thousands or be a decimal comma: no "
            "numeric limits were read from it"
        )
    return "no numeric limits were read from it"


def _read(text: str) -> tuple[ReferenceRange, bool, str]:
    """The range, whether its low is above its high, and a number left unread because its comma
    may be a thousands separator or a decimal comma (``4,000``), else ``""``."""
    return _read_limits(text)[:3]


def _read_limits(text: str) -> tuple[ReferenceRange, bool, str, str]:
    """As _read, and the text after the limits when it holds the limits of another range
    (``Child 5.0-15.0`` of ``4.0-11.0 Child 5.0-15.0``), which is no unit, else ``""``: then no
    limits are read, since which range is the patient's is not known."""
    body = text
    if body[:1] and body[:1] in "[(" and body.find("])"[body[0] == "("]) > 0:
        close = body.find("])"[body[0] == "("])
        body = body[1:close] + " " + body[close + 1 :]
    index = _skip_spaces(body, 0)
    low = high = None
    sign = ""
    for candidate in ("<=", ">=", "≤", "≥", "<", ">"):
        if body.startswith(candidate, index):
            sign = candidate
            index = _skip_spaces(body, index + len(candidate))
            break
    first, index, comma = _number_at(body, index)
    if first is None:
        return ReferenceRange(text), False, comma, ""
    if sign:
        if sign in ("<", "<=", "≤"):
            high = first
        else:
            low = first
    else:
        after = _skip_spaces(body, index)
        separator = next((s for s in _RANGE_SEPARATORS if body.startswith(s, after)), "")
        if not separator:
            return ReferenceRange(text), False, "", ""
        second, end, second_comma = _number_at(body, _skip_spaces(body, after + len(separator)))
        if second is None:
            return ReferenceRange(text), False, second_comma, ""
        if second_comma != comma:
            # 4,5-11.0 or 4,5-11: a decimal comma in one limit only is not read as one
            return ReferenceRange(text), False, "", ""
        if second < first:
            return ReferenceRange(text), True, "", ""
        low, high, index = first, second, end
    rest = _without_note(body[index:].strip())
    unit = _unit_in_brackets(rest)  # 4.0-11.0 (10*9/L), 4.0-11.0 (x10(9)/L) (adult)
    if unit is None and rest[:1] in ("(", "[") and rest.find(")]"[rest[0] == "["]) > 0:
        # a note before the unit (4.0-11.0 (adult) 10*9/L): the unit follows it
        rest = _without_note(rest[rest.find(")]"[rest[0] == "["]) + 1 :].strip())
    if unit is None and rest and rest[0] not in "([":
        if _holds_limits(rest):  # 4.0-11.0 Child 5.0-15.0: two ranges, their labels not read
            return ReferenceRange(text), False, "", rest
        unit = Unit(rest)
    elif unit is None:
        # no unit outside brackets: a note that is exactly a unit is theirs (4.0-11.0 (adult) (G/L))
        unit = next(filter(None, map(_known_note, _notes(" " + body[index:].strip()))), None)
    return ReferenceRange(text, low, high, unit), False, "", ""


def _holds_limits(text: str) -> bool:
    """Whether ``text`` holds two numbers joined as a range's limits are (``Child 5.0-15.0``),
    each starting a word: no unit does (``10*9/L``, ``x10^9/L``)."""
    for index, char in enumerate(text):
        if char in _DIGITS and (index == 0 or text[index - 1] in " :;,"):
            first, end, _ = _number_at(text, index)
            if first is None:
                continue
            after = _skip_spaces(text, end)
            separator = next((s for s in _RANGE_SEPARATORS if text.startswith(s, after)), "")
            if (
                separator
                and _number_at(text, _skip_spaces(text, after + len(separator)))[0] is not None
            ):
                return True
    return False


def _unit_in_brackets(text: str) -> Unit | None:
    """The unit of limits written in brackets after them (``(10*9/L)``, ``[x10^9/L]``): the
    bracketed text when it is exactly a unit of the table, else None (a note is no unit)."""
    if text[:1] in "([" and text[-1:] == ")]"[text[:1] == "["]:
        return _known_note(text[1:-1])
    return None


def _known_note(note: str) -> Unit | None:
    """``note`` as a unit when it is exactly a unit of the table, else None."""
    body = note.strip()
    return Unit(body) if body and _known_unit(body) else None
