"""Ages as reference ranges state them: a bound in whole years, months, weeks or days counts
completed units (a child of 2 years and 5 months is in "0-2 a" and "1-2 y"), as ages are
usually stated; an age in hours is met on a day only when it is at every time of that day.
Shared by the FHIR ``referenceRange.age`` and a range text's age note
(``6.0-17.5 (3-12 mo)``), so that both read an age the same way.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from leukoflag._numbers import EXACT

__all__ = [
    "OLDEST_AGE",
    "AgeSpan",
    "age_fit",
    "meets",
    "outgrown",
    "placeholder_birth",
    "reached",
    "too_old",
    "youngest_birth",
]

# The days of a unit that is not counted on the calendar (a fractional year or month).
_DAYS = {
    "year": Decimal("365.25"),
    "month": Decimal("30.4375"),
    "week": Decimal(7),
    "day": Decimal(1),
}


def reached(birth: dt.date, value: Decimal, unit: str) -> dt.date:
    """The day a patient born on ``birth`` is ``value`` ``unit``s old (the last day there is,
    for an age past the calendar); in hours, the first day they are so at any time of it."""
    try:
        if unit == "hour":
            # born at the day's last moment, sampled at its first: a day less than the dates say
            whole, part = divmod(value, 24)
            days = 0 if value <= 0 else int(whole) + bool(part) + 1
            return birth + dt.timedelta(days=days)
        if unit in ("year", "month") and value == value.to_integral_value():
            total = birth.month - 1 + int(value) * (12 if unit == "year" else 1)
            year, month = birth.year + total // 12, total % 12 + 1
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, min(birth.day, last))  # 29 February + 1 year: 28 February
        # a fractional year or month, or weeks and days
        return birth + dt.timedelta(days=int(EXACT.multiply(value, _DAYS[unit])))
    except (ValueError, OverflowError):  # beyond year 9999
        return dt.date.max


def outgrown(birth: dt.date, value: Decimal, unit: str) -> dt.date:
    """The first day a patient born on ``birth`` is past the age ``value`` ``unit``s: a whole
    number counts completed units (2 years lasts until the third birthday); in hours, the first
    day they may be so (dates tell no time of day: 0-72 h holds on days 0 to 2 only)."""
    if unit == "hour":
        # born at the day's first moment, sampled at its last: a day more than the dates say
        limit = EXACT.add(value, 1) if value == value.to_integral_value() else value
        try:
            return birth + dt.timedelta(days=int(limit // 24))
        except OverflowError:
            return dt.date.max
    if value == value.to_integral_value():
        return reached(birth, EXACT.add(value, 1), unit)
    day = reached(birth, value, unit)
    return day if day == dt.date.max else day + dt.timedelta(days=1)


# Ages in units of one kind, as the calendar counts them: a year is 12 months, a week 7 days.
_KIND = {
    "year": ("month", 12),
    "month": ("month", 1),
    "week": ("day", 7),
    "day": ("day", 1),
    "hour": ("hour", 1),
}


def _same_age(one: tuple[Decimal, str], other: tuple[Decimal, str]) -> bool:
    """Whether two ages are one age (``12 mo`` and ``1 a``)."""
    (kind, times), (other_kind, other_times) = _KIND[one[1]], _KIND[other[1]]
    return kind == other_kind and EXACT.multiply(one[0], times) == EXACT.multiply(
        other[0], other_times
    )


def meets(high: tuple[Decimal, str] | None, lows: Iterable[tuple[Decimal, str] | None]) -> bool:
    """Whether a span of ages ending at ``high`` meets one of the spans starting at ``lows``
    (``0-1 y`` and ``1-5 y``): a lab's bands that meet at an age are one after the other, each
    up to the next one's start, so a patient of that age or older is of the later one only
    (their ends read in completed units would hold a child of 17 months in both)."""
    return high is not None and any(low is not None and _same_age(high, low) for low in lows)


@dataclass(frozen=True, slots=True)
class AgeSpan:
    """The ages a range is for, as a note states them: from ``low`` (reached), to ``high``
    (completed units: ``1-5 y`` holds a child until the sixth birthday), or under ``below``
    (``<1 y``). Each bound is a number and its calendar unit (year, month, week, day, hour)."""

    low: tuple[Decimal, str] | None = None
    high: tuple[Decimal, str] | None = None
    below: tuple[Decimal, str] | None = None

    def before_next(self, lows: Iterable[tuple[Decimal, str] | None]) -> AgeSpan:
        """These ages, up to (not including) their high bound when one of the bands starting
        at ``lows`` starts there (see :func:`meets`): ``0-1 y`` beside ``1-5 y`` is under 1 y."""
        if self.high is None or self.below is not None or not meets(self.high, lows):
            return self
        return AgeSpan(low=self.low, below=self.high)

    def holds(self, birth: dt.date, day: dt.date) -> bool:
        """Whether a patient born on ``birth`` is of these ages on ``day``."""
        if self.low is not None and day < reached(birth, *self.low):
            return False
        if self.high is not None and day >= outgrown(birth, *self.high):
            return False
        return self.below is None or day < reached(birth, *self.below)


# No one is judged older: a birth date giving more is a feed's placeholder for "not known"
OLDEST_AGE = 120


def too_old(birth: dt.date, day: dt.date) -> bool:
    """Whether a patient born on ``birth`` would be over :data:`OLDEST_AGE` years old on ``day``."""
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return years > OLDEST_AGE


def placeholder_birth(shown: str, day: dt.date) -> str:
    """Why a birth date (``shown``) that :func:`too_old` finds on ``day`` gives no age: said alike
    by flag.age-unknown and by a range for some ages refused (flagging's and the FHIR reader's)."""
    return (
        f"the birth date {shown} would make the patient over {OLDEST_AGE} years old on the "
        f"result date {day}, so it is taken for a feed's placeholder, not a birth date"
    )


def youngest_birth(first: dt.date, last: dt.date, day: dt.date) -> dt.date:
    """The latest birth day to judge a result of ``day`` with, of a birth date sent as a year or
    month (its days ``first`` to ``last``): a birth in the result's year or month may have been
    on the result day itself, not after it."""
    return day if first <= day < last else last


def age_fit(span: AgeSpan, first: dt.date, last: dt.date, day: dt.date) -> str:
    """Whether a patient born on ``first`` to ``last`` (a birth date sent as a year or month) is
    of ``span`` on ``day``, as flagging judges age: ``"of"`` (at both ends), ``"not"`` (at
    neither), ``"may not"`` (at one end only), or ``"unusable"`` (a birth after the day, or a
    placeholder over OLDEST_AGE years)."""
    last = youngest_birth(first, last, day)
    if day < first or too_old(last, day):
        return "unusable"
    held = [span.holds(birth, day) for birth in dict.fromkeys((first, last))]
    return "of" if all(held) else "may not" if any(held) else "not"
