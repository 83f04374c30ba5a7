"""Which of a FHIR Observation's age- and sex-specific reference ranges is this patient's.

A lab may send several ``referenceRange`` entries, each for some patients only (``age``, a Range
of ages; ``appliesTo``, concepts such as a sex). The range a count is judged with must be one
the patient is known to belong to: an adult judged against a lab's 0–2-year band gets a wrong
code. A restricted range is used only when each of its restrictions is known to hold; an age
bound of whole years, months, weeks or days counts completed ones (a child of 2 years and 5
months is in "0–2 a"), as ages are usually stated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

from leukoflag._ages import (
    age_fit,
    meets,
    outgrown,
    placeholder_birth,
    reached,
    too_old,
    youngest_birth,
)
from leukoflag._quote import quoted, shortened
from leukoflag._range_text import age_span, age_word, read_range_text
from leukoflag._sex_labels import sex_labels
from leukoflag.fhir._elements import PQ_TRANSLATION
from leukoflag.fhir._terms import UCUM, UCUM_OID, tables

# An age as (value, calendar unit: year, month, week, day, hour)
AgeBound: TypeAlias = tuple[Decimal, str]

__all__ = [
    "AgeBound",
    "Who",
    "age_starts",
    "applies",
    "labelled_for",
    "narrower",
    "restricted",
    "sex_only",
    "type_text_group",
    "unlike",
]

# An age bound past any calendar date in every unit (1e999999 a: no upper age): taken as this,
# so that no arithmetic overflows and no million-digit year is computed.
_FARTHEST = Decimal(10_000_000)


@dataclass(frozen=True, slots=True)
class Who:
    """The patient of a result, as far as choosing a reference range needs: the sex (FHIR
    administrative gender), the first and last possible birth day (a birth date sent as a year
    spans the year; None: not known), the result's date (None: not known; in the birth time's
    offset, as the rules count age), ``Patient.gender`` as sent (``""``: none), which an
    Issue names, and why the result is before the birth time (``""``: it is not)."""

    sex: str
    births: tuple[dt.date, dt.date] | None
    day: dt.date | None
    gender: str = ""
    unborn: str = ""


def applies(entry: dict[str, Any], who: Who, starts: Iterable[AgeBound | None] = ()) -> str:
    """Why the ``referenceRange`` ``entry`` is not known to be ``who``'s (``""``: it is).
    ``starts``: the low ages of the item's other ranges by ``age`` (see age_starts)."""
    age = entry.get("age")
    if age is not None:
        why = _age_outside(age, who, starts) or _bands_disagree(entry, who)
        if why:
            return why
    concepts = entry.get("appliesTo")
    if concepts is None:
        return ""
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        why = _concept_outside(concept, who)
        if why:
            return why
    return ""


def restricted(entry: dict[str, Any]) -> bool:
    """Whether a ``referenceRange`` is for some patients only: an ``age``, or an ``appliesTo``
    other than text naming adults or children, which labels the range as its text would."""
    if "age" in entry:
        return True
    concepts = entry.get("appliesTo")
    if concepts is None:
        return False
    items = concepts if isinstance(concepts, list) else [concepts]
    return not items or not all(_age_label(concept) for concept in items)


def narrower(entry: dict[str, Any], other: dict[str, Any], who: Who) -> bool:
    """Whether ``entry`` is more specific than ``other``, two restricted ranges that both fit
    ``who``: more restrictions (women of 60 and over, not women), else, both by ``age``, a
    narrower span of ages (1-5 a, not 0-18 a). Neither: the lab's order decides."""
    mine, theirs = _restrictions(entry), _restrictions(other)
    if mine != theirs:
        return mine > theirs
    if "age" in entry and "age" in other:
        return _age_days(entry["age"], who) < _age_days(other["age"], who)
    return False


def _restrictions(entry: dict[str, Any]) -> int:
    """How many restrictions a range has: its ``age``, and each ``appliesTo`` concept that is no
    label of adults or children (``Adult`` restricts nothing, see labelled_for)."""
    concepts = entry.get("appliesTo")
    items = concepts if isinstance(concepts, list) else [] if concepts is None else [concepts]
    return ("age" in entry) + sum(not _age_label(concept) for concept in items)


def _age_days(age: Any, who: Who) -> int:
    """How many days of the patient's life an ``age`` the patient meets spans (open: to the
    calendar's end)."""
    bounds = _bounds(age)
    # applies() read both for ``who``
    assert bounds is not None
    assert who.births is not None
    low, high, _ = bounds
    birth = who.births[0]
    start = reached(birth, *low) if low is not None else birth
    end = outgrown(birth, *high) if high is not None else dt.date.max
    return (end - start).days


def labelled_for(entry: dict[str, Any]) -> str:
    """Whom a ``referenceRange`` is labelled for by an ``appliesTo`` or a ``type`` sent as text
    only (``Adult``, ``Pediatric``): ``adults``, ``children`` or ``""``."""
    concepts = entry.get("appliesTo")
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        group = _age_label(concept)
        if group:
            return group
    kind = entry.get("type")
    if not isinstance(kind, dict) or kind.get("coding") or not isinstance(kind.get("text"), str):
        return ""
    return type_text_group(kind["text"]) or ""


# A type sent as text only names a normal range in these words: the meaning's display
# (referencerange-meaning 'normal', "Normal Range"), and the reference range or interval a lab
# reports (CLSI EP28: the reference interval is the normal range), casefolded
_NORMAL_TYPE_TEXTS = frozenset(
    (
        "normal",
        "normal range",
        "reference range",
        "reference ranges",
        "reference interval",
        "reference intervals",
        "normal reference range",
        "normal reference interval",
    )
)


def type_text_group(text: str) -> str | None:
    """Whom a ``referenceRange.type`` sent as text only names a normal range for: ``""``, for
    everyone (none, ``Normal``, ``Reference range``), ``adults`` or ``children`` (``Adult``,
    ``Pediatric``, ``Adult reference range``, ``Pediatric normal range``); None: no normal range
    (``Target on hydroxyurea``)."""
    body = text.strip()
    folded = body.casefold()
    if not body or folded in _NORMAL_TYPE_TEXTS:
        return ""
    group = age_word(body)
    if group:
        return group
    head, _, tail = folded.partition(" ")
    if tail.strip() in _NORMAL_TYPE_TEXTS:
        return age_word(head) or None
    return None


def unlike(group: str, who: Who) -> bool:
    """Whether a range labelled for ``group`` (adults, children) is not for ``who`` as flagging
    judges them: adults' for a child, children's for an adult or a patient of unknown age."""
    if not group:
        return False
    child = (
        who.births is not None
        and who.day is not None
        and not who.unborn  # before the birth time: of no age, judged as an adult
        and who.births[0] <= who.day < reached(who.births[0], Decimal(18), "year")
    )
    return group == ("adults" if child else "children")


def _age_label(concept: Any) -> str:
    """Whom a concept sent as text only names (``Adult``: ``adults``), else ``""``."""
    if not isinstance(concept, dict) or concept.get("coding"):
        return ""
    text = concept.get("text")
    return age_word(text) if isinstance(text, str) else ""


def sex_only(entry: dict[str, Any], who: Who) -> str:
    """The one sex (``male``, ``female``) a ``referenceRange`` is for when that is its only
    restriction ``who`` is not known to meet (an ``age`` must be met); ``""`` otherwise."""
    concepts = entry.get("appliesTo")
    if not isinstance(concepts, list) or not concepts:
        return ""
    if "age" in entry and (_age_outside(entry["age"], who) or _bands_disagree(entry, who)):
        return ""
    sexes: set[str] = set()
    for concept in concepts:
        found = _sexes(concept)
        if not found:
            return ""  # a population, pregnancy …: cannot be checked
        sexes |= found
    return sexes.pop() if len(sexes) == 1 else ""


def age_starts(ranges: list[Any]) -> list[AgeBound | None]:
    """The low age of each of an item's ``referenceRange`` entries (None: no ``age``, or none
    read): a range by ``age`` whose high is another's low ends where that one starts (0-1 a
    beside 1-5 a, see _ages.meets)."""
    found: list[AgeBound | None] = []
    for entry in ranges:
        age = entry.get("age") if isinstance(entry, dict) else None
        bounds = _bounds(age) if age is not None else None
        found.append(bounds[0] if bounds is not None else None)
    return found


def _age_outside(age: Any, who: Who, starts: Iterable[AgeBound | None] = ()) -> str:
    bounds = _bounds(age)
    if bounds is None:
        return "its age range cannot be read"
    low, high, shown = bounds
    # 0-1 a beside 1-5 a: up to the first birthday, not through the year of completed age 1
    ends_before = meets(high, starts)
    if who.births is None:
        return f"for ages {shown}, and the patient's birth date is not known"
    if who.day is None:
        return f"for ages {shown}, and the result has no date"
    first, last = who.births
    if who.day < first:  # as flag.age-unknown says it: the rules judge no age
        return f"for ages {shown}, and the birth date {first} is after the result date {who.day}"
    if who.unborn:  # the birth day, before the birth time: likewise
        return f"for ages {shown}, and {who.unborn}"
    last = youngest_birth(first, last, who.day)  # as flagging judges age
    # the patient's birth date, as flag.lab-range-adults and flag.age-unknown name it
    born = str(first) if first == who.births[1] else f"{first} to {who.births[1]}"
    if too_old(last, who.day):  # 1900-01-01: a placeholder, which flagging takes for no age
        return f"for ages {shown}, and {placeholder_birth(born, who.day)}"
    for birth in dict.fromkeys((first, last)):  # both ends of a birth date sent as year or month
        if (low is not None and who.day < reached(birth, *low)) or (
            high is not None and who.day >= (reached if ends_before else outgrown)(birth, *high)
        ):
            # in hours, a day holds ages on both sides of a bound: the day tells no hour
            hours = "hour" in (low or ("", ""))[1:] + (high or ("", ""))[1:]
            if first == who.births[1] and not hours:
                return (
                    f"for ages {shown}, and the patient (born {first}) is not of those ages on "
                    f"the result date {who.day}"
                )
            return (
                f"for ages {shown}, and the patient (born {born}) may not be of those ages on "
                f"the result date {who.day}"
            )
    return ""


def _bands_disagree(entry: dict[str, Any], who: Who) -> str:
    """Why the limits of a range whose ``age`` the patient meets are not theirs by its text of
    ranges per age (``0-1 y: 6.0-17.5; 1-5 y: 5.5-15.5``): of the text's bands the patient is of,
    none has those limits; ``""`` when one has, or none is known to be theirs (``age``, structured,
    says whose the limits are; the text is for people)."""
    text = entry.get("text")
    if not isinstance(text, str) or not ("low" in entry or "high" in entry):
        return ""
    bands = read_range_text(text.strip())[0].by_age
    if not bands or who.births is None or who.day is None:
        return ""
    theirs = [band for band in bands if _of_band(band.ages, who)]
    limits = (_limit(entry.get("low")), _limit(entry.get("high")))
    if not theirs or any((band.low, band.high) == limits for band in theirs):
        return ""
    shown = _bounds(entry["age"])
    assert shown is not None  # _age_outside read it
    given = " and ".join(quoted(band.text) for band in theirs)
    ages = " and ".join(quoted(band.ages) for band in theirs)
    return (
        f"for ages {shown[2]}, but its text gives {given} for the patient's ages {ages}, "
        "not its limits"
    )


def _of_band(ages: str, who: Who) -> bool:
    """Whether ``who`` is known to be of the ages of a band of a range text (``1-5 y``)."""
    span = age_span(ages)
    assert who.births is not None
    assert who.day is not None
    return span is not None and age_fit(span, *who.births, who.day) == "of"


def _limit(quantity: Any) -> Decimal | None:
    """The number of a ``low`` or ``high`` as sent (None: none, or no number): of leukoflag's
    output read back, the number in the lab's unit it keeps as a translation."""
    if not isinstance(quantity, dict):
        return None
    extensions = quantity.get("extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, dict) and extension.get("url") == PQ_TRANSLATION:
            return _limit(extension.get("valueQuantity"))
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def _bounds(
    age: Any,
) -> tuple[tuple[Decimal, str] | None, tuple[Decimal, str] | None, str] | None:
    """The low and high ages of an ``age`` Range as (value, calendar unit), and as shown in an
    Issue; None when one is there but cannot be read (no number, or not a unit of time)."""
    if not isinstance(age, dict):
        return None
    found: list[tuple[Decimal, str] | None] = []
    shown: list[str] = []
    for name in ("low", "high"):
        quantity = age.get(name)
        if quantity is None:
            found.append(None)
            shown.append("")
            continue
        if not isinstance(quantity, dict):
            return None
        value = quantity.get("value")
        system = quantity.get("system")
        code = quantity.get("code") if system in (None, UCUM, UCUM_OID) else None
        key = code if isinstance(code, str) else quantity.get("unit")
        unit = tables().age_units.get(key) if isinstance(key, str) else None
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or unit is None:
            return None
        if not Decimal(value).is_finite() or value < 0:
            return None
        found.append((min(Decimal(value), _FARTHEST), unit))
        shown.append(f"{shortened(str(value))} {quantity.get('code') or quantity.get('unit')}")
    if found == [None, None]:
        return None
    low, high = shown
    text = f"{low}-{high}" if low and high else f"from {low}" if low else f"up to {high}"
    return found[0], found[1], text


def _sexes(concept: Any) -> set[str]:
    """The sexes an ``appliesTo`` concept names by its codings, or sent as text only by a word
    of a range per sex (``Female``, ``Frauen``: data/sex_labels.toml; a letter alone names no
    sex) (none: not a sex)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    known = tables().range_sex
    sexes: set[str] = set()
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and system.startswith("urn:oid:"):
                system = tables().system_oids.get(system, system)  # SNOMED CT's OID: SNOMED CT
            if isinstance(system, str) and isinstance(code, str) and (system, code) in known:
                sexes.add(known[system, code])
    if not codings and isinstance(concept, dict) and isinstance(concept.get("text"), str):
        # the codings say what the concept is: a text beside them is not read over them
        read = sex_labels().read_word(concept["text"].strip())
        if read is not None:
            sexes.add(read.sex)
    return sexes


def _concept_outside(concept: Any, who: Who) -> str:
    if _age_label(concept):
        return ""  # "Adult": a label of the range, which flagging applies (flag.lab-range-adults)
    sexes = _sexes(concept)
    if not sexes:
        return f"for {_label(concept)}, which leukoflag cannot check"
    if who.sex not in ("male", "female"):
        return f"for {' or '.join(sorted(sexes))} patients, and {_gender_shown(who)}"
    if who.sex not in sexes:
        return f"for {' or '.join(sorted(sexes))} patients"
    return ""


def _gender_shown(who: Who) -> str:
    """What was sent for a patient who is neither male nor female: 'other' is a gender, not an
    unknown sex."""
    if who.gender in ("other", "unknown"):
        return f"the patient's gender is {quoted(who.gender)}"
    if who.gender:
        return f"the patient's gender {quoted(who.gender)} is not a FHIR administrative gender"
    return "the patient's sex is not known"


def _label(concept: Any) -> str:
    """An ``appliesTo`` concept as an Issue names it: its text, else its first code."""
    if isinstance(concept, dict):
        if isinstance(concept.get("text"), str) and concept["text"]:
            return quoted(concept["text"])
        codings = concept.get("coding")
        if isinstance(codings, list):
            for coding in codings:
                if isinstance(coding, dict) and coding.get("code"):
                    return quoted(coding.get("display") or coding["code"])
    return "patients it does not name"
