"""An independent oracle for the clinical verdicts, written from the shared reference.

The oracle below restates the reference (clinical thresholds, pediatric bands, neutropenia
severity, critical lows, CTCAE v5.0/v6.0, count units) and, where the reference is silent, the
rules page (docs/rules.md: the pediatric leukopenia cut-off is the band's low limit, the adult ANC
range has no upper limit, the union range for unknown sex, bounds proven when all values agree).
It does not use leukoflag.flagging: hypothesis writes realistic HL7 v2 CBC messages and FHIR
Bundles, leukoflag converts them, and each Finding is compared with the oracle's verdict. Where
the verdict depends on something unknown (a birth year), only invariants are checked.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag.model import Finding
from leukoflag.testing import builders as b

# --------------------------------------------------------------------------- the reference

# units.md: every count spelling, with the factor to cells/µL
PER_THOUSAND = (
    "10*3/uL", "10^3/uL", "10*9/L", "10*3/mm3", "10*6/mL", "/nL", "K/uL", "K/mcL", "K/mm3",
    "K/cmm", "x10E3/uL", "10E3/uL", "x10^3/uL", "x10(3)/uL", "thou/uL", "th/cmm",
    "thousand/cmm", "x1000/uL", "1000/uL", "Tsd/µl", "x10^9/L", "x 10^9/l", "10E9/L",
    "x10E9/L", "X10(9)/L", "BILL/L", "billion per liter", "G/L", "G/l", "giga.l-1", "/nl",
    "/nanoliter",
)  # fmt: skip
PER_ONE = (
    "/uL", "{cells}/uL", "cells/uL", "cells/µL", "cells/μL", "/µL", "#/uL", "/mm3", "cells/mm3",
    "/cmm", "/cumm", "/cu mm", "10*6/L",
)  # fmt: skip
UCUM_CODES = {"10*3/uL", "10*9/L", "10*3/mm3", "10*6/mL", "/nL", "/uL", "10*6/L"}

WBC_CODES = ("6690-2", "26464-8", "804-5", "33256-9", "12227-5")
ANC_CODES = ("751-8", "26499-4", "753-4", "752-6")

CRITICAL = {"wbc": Decimal(2000), "anc": Decimal(500)}
SIGNIFICANT = {"wbc": Decimal(3000), "anc": Decimal(1000)}  # CTCAE grade 2 / moderate
PLAUSIBLE = Decimal(1_000_000)
SNOMED = {"wbc": "84828003", "anc": "165517008"}

# Pediatric bands (months from birth, up to but excluding the next): low, high (cells/µL).
WBC_BANDS = (
    (1, 9000, 30000), (3, 5000, 19500), (12, 6000, 17500), (24, 6000, 17000),
    (48, 5500, 15500), (120, 4500, 13500), (216, 4500, 11100),
)  # fmt: skip
ANC_BANDS = (
    (1, 1000, 20000), (3, 1000, 9000), (12, 1000, 8500), (60, 1500, 8500), (216, 1700, 7500),
)  # fmt: skip
ADULT_WBC = {"male": (5000, 10000), "female": (4500, 11000)}
ADULT_WBC_UNION = (4500, 11000)  # unknown / other sex: neither sex's normal is flagged

SEVERITY = ((100, "profound"), (500, "severe"), (1000, "moderate"), (1500, "mild"))
CTCAE = {  # grade 1 lower bound is the LLN (None) or a number, then grades 2-4 "below"
    ("wbc", "5.0"): (None, 3000, 2000, 1000),
    ("wbc", "6.0"): (None, 3000, 2000, 1000),
    ("anc", "5.0"): (None, 1500, 1000, 500),
    ("anc", "6.0"): (1500, 1000, 500, 100),
}
LOW_CODES = ("L", "LU", "LL")  # least to most severe


def add_months(day: dt.date, months: int) -> dt.date:
    """The day ``months`` calendar months after ``day``; a 29th-31st falls to the month's end."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Age:
    days: int
    months: int


def age_on(birth: dt.date | None, day: dt.date) -> Age | None:
    if birth is None or birth > day:
        return None
    months = (day.year - birth.year) * 12 + day.month - birth.month
    while months > 0 and add_months(birth, months) > day:
        months -= 1
    return Age((day - birth).days, months)


@dataclass(frozen=True)
class Context:
    analyte: str
    sex: str  # male, female, other, unknown
    age: Age | None
    lab_low: Decimal | None  # the lab range used (None: none usable)
    lab_high: Decimal | None
    lab_used: bool
    ctcae: str
    critical: Decimal
    graded: bool = True  # a WBC estimate (LOINC 49498-9) is flagged, never graded
    duffy_null: bool = False  # declared Duffy-null in the settings


@dataclass(frozen=True)
class Verdict:
    code: str
    rule: str
    threshold: Decimal | None
    condition: bool
    severity: str
    grade: int | None
    range_source: str


def child(age: Age | None) -> bool:
    return age is not None and age.months < 216


def band(analyte: str, age: Age) -> tuple[int, int]:
    for end, low, high in WBC_BANDS if analyte == "wbc" else ANC_BANDS:
        if age.months < end:
            return low, high
    raise AssertionError("not a child")


DUFFY_NULL = {"wbc": (3000, 9660), "anc": (1210, 5390)}  # adults only


def duffy_adult(ctx: Context) -> bool:
    return ctx.duffy_null and not child(ctx.age)


def disease_threshold(ctx: Context) -> tuple[Decimal, str]:
    if duffy_adult(ctx):  # the Duffy-null range's low limit
        rule = "wbc-leukopenia" if ctx.analyte == "wbc" else "anc-neutropenia"
        return Decimal(DUFFY_NULL[ctx.analyte][0]), f"{rule}-duffy-null"
    if ctx.analyte == "wbc":
        if child(ctx.age):
            assert ctx.age is not None
            return Decimal(band("wbc", ctx.age)[0]), "wbc-leukopenia-pediatric"
        return Decimal(4000), "wbc-leukopenia-adult"
    if ctx.age is not None and ctx.age.days < 7:
        return Decimal(5000), "anc-neutropenia-first-week"
    if ctx.age is not None and ctx.age.months < 12:
        return Decimal(1000), "anc-neutropenia-infant"
    return Decimal(1500), "anc-neutropenia"


def range_used(ctx: Context) -> tuple[Decimal | None, Decimal | None, str]:
    if duffy_adult(ctx):  # replaces the lab's range and the default
        low, high = DUFFY_NULL[ctx.analyte]
        return Decimal(low), Decimal(high), "duffy-null"
    if ctx.lab_used:
        return ctx.lab_low, ctx.lab_high, "lab"
    if child(ctx.age):
        assert ctx.age is not None
        low, high = band(ctx.analyte, ctx.age)
        return Decimal(low), Decimal(high), "age-band"
    if ctx.analyte == "anc":
        return Decimal(1500), None, "default"
    low, high = ADULT_WBC.get(ctx.sex, ADULT_WBC_UNION)
    return Decimal(low), Decimal(high), "default"


def grade(ctx: Context, value: Decimal) -> int | None:
    if not ctx.graded:
        return None
    first, *below = CTCAE[(ctx.analyte, ctx.ctcae)]
    for number, limit in reversed(list(enumerate(below, start=2))):
        if value < limit:
            return number
    lln = ctx.lab_low if ctx.lab_used else None
    if first is not None:
        return 1 if value < first else None
    return 1 if lln is not None and value < lln else None


def judge(ctx: Context, value: Decimal) -> Verdict:
    threshold, disease_rule = disease_threshold(ctx)
    low, high, source = range_used(ctx)
    sick = value < threshold
    severity = ""
    if ctx.analyte == "anc" and sick:
        severity = next((name for limit, name in SEVERITY if value < limit), "")
    common = {
        "condition": sick,
        "severity": severity,
        "grade": grade(ctx, value),
        "range_source": source,
    }
    a = ctx.analyte
    # critical low is a degree of low: below the low limit of the range used too (when it has one
    # above 0), unless below the default critical low (clinical.md) or a lower limit set
    floor = min(ctx.critical, CRITICAL[a])
    if value < floor or (value < ctx.critical and (low is None or low <= 0 or value < low)):
        return Verdict("LL", f"{a}-critical-low", ctx.critical, **common)  # type: ignore[arg-type]
    if value < SIGNIFICANT[a]:
        return Verdict("LU", f"{a}-significantly-low", SIGNIFICANT[a], **common)  # type: ignore[arg-type]
    if sick:
        return Verdict("L", disease_rule, threshold, **common)  # type: ignore[arg-type]
    if low is not None and value < low:
        return Verdict("L", f"{a}-below-range", low, **common)  # type: ignore[arg-type]
    if high is not None and value > high:
        return Verdict("H", f"{a}-above-range", high, **common)  # type: ignore[arg-type]
    return Verdict("N", f"{a}-within-range", None, **common)  # type: ignore[arg-type]


EPSILON = Decimal("0.000001")


def judge_bound(
    ctx: Context, low: tuple[Decimal, bool], high: tuple[Decimal, bool] | None
) -> Verdict | None:
    """The verdict every value from ``low`` to ``high`` shares (each limit with whether it is
    allowed; no ``high``: unbounded), or the least severe low code when all are low; None when
    the values allowed get different codes. Fields the values do not share are empty."""
    lowest, from_low = low
    top, to_high = high if high is not None else (PLAUSIBLE, True)
    band_low, band_high, _ = range_used(ctx)
    threshold, _ = disease_threshold(ctx)
    edges: set[Decimal] = {ctx.critical, SIGNIFICANT[ctx.analyte], threshold}
    edges |= {Decimal(limit) for limit, _ in SEVERITY}
    edges |= {Decimal(x) for x in CTCAE[(ctx.analyte, ctx.ctcae)] if x is not None}
    edges |= {x for x in (band_low, band_high, ctx.lab_low) if x is not None}
    near = {e + d for e in edges for d in (-EPSILON, Decimal(0), EPSILON)}
    near |= {lowest + EPSILON, top - EPSILON}
    points = {p for p in near if lowest < p < top}
    points |= {lowest} if from_low else set()
    points |= {top} if to_high else set()
    verdicts = [judge(ctx, p) for p in sorted(points)]
    codes = {v.code for v in verdicts}
    if len(codes) == 1:
        code = codes.pop()
    elif codes <= set(LOW_CODES):
        code = min(codes, key=LOW_CODES.index)
    else:
        return None

    def shared(name: str, empty: object) -> object:
        values = {getattr(v, name) for v in verdicts}
        return values.pop() if len(values) == 1 else empty

    return Verdict(
        code,
        "",
        None,
        condition=bool(shared("condition", False)),
        severity=str(shared("severity", "")),
        grade=shared("grade", None),  # type: ignore[arg-type]
        range_source=verdicts[0].range_source,
    )


def bounds(count: Count) -> tuple[tuple[Decimal, bool], tuple[Decimal, bool] | None]:
    """The values a comparator or a range value allows, in cells/µL."""
    if count.comparator == "-":
        assert count.upper is not None
        return (count.cells, True), (count.upper, True)
    if count.comparator.startswith("<"):
        return (Decimal(0), True), (count.cells, count.comparator == "<=")
    return (count.cells, count.comparator == ">="), None


# --------------------------------------------------------------------------- the inputs

COLLECTION_DAYS = (
    dt.date(2026, 11, 24), dt.date(2026, 3, 1), dt.date(2024, 2, 29), dt.date(2025, 12, 31),
)  # fmt: skip
BAND_EDGES_MONTHS = (1, 3, 12, 24, 48, 60, 120, 216)


def sub_months(day: dt.date, months: int) -> dt.date:
    return add_months(day, -months)


@st.composite
def birth_dates(draw: st.DrawFn, day: dt.date) -> dt.date | str | None:
    """A birth date: none, a day (near the first week, a band edge, anywhere up to 19 years,
    an adult's, after the result), or a year or month as some senders write it."""
    kind = draw(st.sampled_from(["none", "week", "edge", "edge", "any", "adult", "future", "part"]))
    if kind == "none":
        return None
    if kind == "week":
        return day - dt.timedelta(days=draw(st.integers(0, 9)))
    if kind == "edge":
        edge = sub_months(day, draw(st.sampled_from(BAND_EDGES_MONTHS)))
        return edge + dt.timedelta(days=draw(st.integers(-2, 2)))
    if kind == "any":
        return day - dt.timedelta(days=draw(st.integers(0, 19 * 366)))
    if kind == "adult":
        return day - dt.timedelta(days=draw(st.integers(18 * 366, 90 * 365)))
    if kind == "future":
        return day + dt.timedelta(days=draw(st.integers(1, 30)))
    # a year or month: mostly an infant's, whose bands change within it
    born = day - dt.timedelta(days=draw(st.integers(0, 800) | st.integers(0, 40 * 365)))
    return born.strftime(draw(st.sampled_from(["%Y", "%Y%m"])))


def birth_span(birth: dt.date | str | None, day: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first and last possible birth day (a year or month sent: up to the result day)."""
    if birth is None:
        return None
    if isinstance(birth, dt.date):
        return birth, birth
    year = int(birth[:4])
    if len(birth) == 4:
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    else:
        month = int(birth[4:6])
        first = dt.date(year, month, 1)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return first, min(last, day) if first <= day else last


SEXES = {"M": "male", "F": "female", "U": "unknown", "O": "other", "": "unknown"}

WBC_RANGES = (
    (4000, 11000), (3500, 10500), (4500, 11000), (4000, 10000), (5000, 10000), (3800, 10800),
    (6000, 17500), (9000, 30000), (2500, 9000),
)  # fmt: skip
ANC_RANGES = ((1500, 7500), (2000, 7800), (1800, 7700), (1000, 8500), (1700, 7500), (1400, 6500))
LOCAL_CODES = {
    "wbc": (("WBC", "White blood cell count"), ("WCC", "White cell count"), ("LEUK", "Leukozyten")),
    "anc": (("ANC", "Absolute neutrophil count"), ("NEUT#", "Neutrophils absolute")),
}
# OBX-11: cancelled, entered in error (deleted, wrong patient), registered: never judged
UNFLAGGED = ("X", "D", "W", "I")
RANGE_FORMS = (
    "plain", "plain", "adult", "by-sex", "low-only", "high-only", "other-unit", "mis-scaled",
    "mis-scaled-low",
)  # fmt: skip
INTERESTING = (
    0, 1, 99, 100, 101, 499, 500, 501, 999, 1000, 1001, 1209, 1210, 1499, 1500, 1501, 1699, 1700,
    1999, 2000, 2001, 2999, 3000, 3001, 3499, 3500, 3799, 3800, 3999, 4000, 4001, 4499, 4500,
    4501, 4999, 5000, 5001, 5499, 5500, 5999, 6000, 7500, 7501, 8500, 8501, 8999, 9000, 9001,
    10000, 10001, 11000, 11001, 11100, 11101, 13500, 13501, 15500, 17000, 17500, 19500, 19501,
    20000, 20001, 30000, 30001, 999_999, 1_000_000, 1_000_001, 4_500_000,
)  # fmt: skip


def in_unit(cells: Decimal, factor: int) -> str:
    """The text a lab writes for ``cells`` in a unit of ``factor``."""
    return format(cells.scaleb(-3) if factor == 1000 else cells, "f")


def half_unit(text: str) -> Decimal:
    """Half a unit of the last digit of a number as written (0.05 of '0.6', 0.5 of '600')."""
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(5).scaleb(exponent - 1)


@dataclass(frozen=True)
class Count:
    analyte: str
    code: str
    local: tuple[str, str] | None  # the lab's own code and name, before the LOINC code or alone
    alone: bool  # the local code without LOINC
    cells: Decimal  # the value (or bound, or a range value's low) in cells/µL
    comparator: str  # "", "<", "<=", ">", ">=", or "-" for a range value
    upper: Decimal | None  # a range value's high
    unit: str
    factor: int
    as_ucum: bool
    lab_range: tuple[int, int] | None
    range_form: str
    flag: str | None
    status: str

    @property
    def text(self) -> str:
        if self.comparator == "-":
            assert self.upper is not None
            return f"{in_unit(self.cells, self.factor)}-{in_unit(self.upper, self.factor)}"
        return self.comparator + in_unit(self.cells, self.factor)

    def range_text(self) -> str:
        if self.lab_range is None:
            return ""
        low, high = (in_unit(Decimal(x), self.factor) for x in self.lab_range)
        form = self.range_form
        if form == "adult":
            return f"{low}-{high} (adult)"
        if form == "by-sex":
            other = in_unit(Decimal(self.lab_range[0] + 500), self.factor)
            return f"M: {low}-{high} F: {other}-{high}"
        if form == "low-only":
            return f">{low}"
        if form == "high-only":
            return f"<{high}"
        if form == "other-unit":  # the range written in the other scale, with its unit
            if self.factor == 1:
                low, high = (in_unit(Decimal(x), 1000) for x in self.lab_range)
                return f"{low}-{high} x10^9/L"
            return f"{self.lab_range[0]}-{self.lab_range[1]} cells/uL"
        if form.startswith("mis-scaled"):  # in the other scale, without unit: a wrong range
            low, high = (in_unit(Decimal(x), 1001 - self.factor) for x in self.lab_range)
            return f">{low}" if form == "mis-scaled-low" else f"{low}-{high}"
        return f"{low}-{high}"

    def scale_suspect(self) -> bool:
        """A range sent in thousands beside a value in cells, too small for any WBC or ANC
        range (its highest limit below 1,000), with the value on its scale: the value's unit
        is suspect (rules.md), the count not judged."""
        if self.factor != 1 or not self.range_form.startswith("mis-scaled"):
            return False
        assert self.lab_range is not None
        low, high = (Decimal(x).scaleb(-3) for x in self.lab_range)
        top = low if self.range_form == "mis-scaled-low" else high
        value = self.upper if self.upper is not None else self.cells
        return low / 10 <= value <= top * 10

    def lab_limits(self, sex: str) -> tuple[Decimal | None, Decimal | None]:
        assert self.lab_range is not None
        low, high = (Decimal(x) for x in self.lab_range)
        if self.range_form == "by-sex" and sex == "female":
            return low + 500, high
        if self.range_form == "low-only":
            return low, None
        if self.range_form == "high-only":
            return None, high
        return low, high

    def spec(self) -> b.ResultSpec:
        unit: str | b.Code = b.ucum(self.unit) if self.as_ucum else self.unit
        build = b.wbc if self.analyte == "wbc" else b.anc
        code: b.Code | tuple[b.Code, b.Code] = b.loinc(self.code)
        if self.local is not None:
            local = b.local_code(*self.local)
            code = local if self.alone else (local, b.loinc(self.code))
        return build(
            self.text,
            unit,
            code=code,
            reference_range=self.range_text(),
            flag=self.flag,
            status=self.status,
        )


@st.composite
def counts(draw: st.DrawFn, analyte: str, *, exact: bool = False, panel: bool = False) -> Count:
    factor = draw(st.sampled_from([1000, 1]))
    unit = draw(st.sampled_from(PER_THOUSAND if factor == 1000 else PER_ONE))
    ranges = WBC_RANGES if analyte == "wbc" else ANC_RANGES
    lab_range = draw(st.none() | st.sampled_from(ranges))
    cells = Decimal(draw(st.sampled_from(INTERESTING) | st.integers(0, 40_000)))
    if lab_range is not None and draw(st.booleans()):
        cells = Decimal(lab_range[draw(st.integers(0, 1))] + draw(st.integers(-1, 1)))
    comparator = "" if exact else draw(st.sampled_from(["", "", "", "<", "<=", ">", ">=", "-"]))
    upper = None
    if comparator:
        cells = min(cells, PLAUSIBLE)
        if comparator == "<":
            cells = max(cells, Decimal(1))
        if comparator == "-":
            upper = min(cells + draw(st.integers(1, 3000)), PLAUSIBLE)
            cells = min(cells, upper - 1)
    codes = (*WBC_CODES, "49498-9") if analyte == "wbc" else ANC_CODES
    code = draw(st.sampled_from(codes))
    local = draw(st.none() | st.sampled_from(LOCAL_CODES[analyte]))
    return Count(
        analyte=analyte,
        code=code,
        local=local,
        alone=local is not None and code != "49498-9" and draw(st.booleans()),
        cells=cells,
        comparator=comparator,
        upper=upper,
        unit=unit,
        factor=factor,
        as_ucum=unit in UCUM_CODES and draw(st.booleans()),
        lab_range=lab_range,
        range_form=draw(st.sampled_from(RANGE_FORMS)),
        flag=draw(st.sampled_from([None, "auto", "L", "H", "N", "LL", "A"])),
        status=draw(st.sampled_from(["F", "F", "F", "C", "A", "P", *(() if panel else UNFLAGGED)])),
    )


NEUT_PCT = b.loinc("770-8", "Neutrophils/100 leukocytes in Blood by Automated count")
DIFFERENTIAL_KINDS = ("%", "%", "fraction", "no-unit", "segmented+band", "segmented%+band%")


@dataclass(frozen=True)
class Differential:
    """The results an ANC is derived from beside a WBC (rules.md, Derived ANC)."""

    kind: str
    first: Decimal  # neutrophils (or segmented) %, a fraction, or a segmented count in 10*3/uL
    second: Decimal  # band % or band count in 10*3/uL (segmented kinds)

    def specs(self) -> list[b.ResultSpec]:
        if self.kind == "%":
            return [b.result(NEUT_PCT, self.first, "%")]
        if self.kind == "fraction":  # 0.45: 45 % written as a fraction
            return [b.result(NEUT_PCT, self.first.scaleb(-2), b.ucum("{ratio}"))]
        if self.kind == "no-unit":
            return [b.result(NEUT_PCT, self.first, None)]
        if self.kind == "segmented+band":
            return [
                b.result(b.loinc("30451-9"), self.first, "10*3/uL"),
                b.result(b.loinc("26507-4"), self.second, "10*3/uL"),
            ]
        return [
            b.result(b.loinc("26505-8"), self.first, "%"),
            b.result(b.loinc("26508-2"), self.second, "%"),
        ]

    def slack(self, wbc: Count) -> Decimal:
        """How much the segmented and band counts (in 10*3/uL) and the WBC may have lost to
        rounding as written, in cells/µL: half a unit of each one's last digit."""
        texts = ((format(self.first, "f"), 1000), (format(self.second, "f"), 1000))
        return sum(
            (half_unit(text) * factor for text, factor in (*texts, (wbc.text, wbc.factor))),
            Decimal(0),
        )

    def anc(self, wbc: Decimal) -> Decimal:
        """The ANC (cells/µL, not rounded) the parts give with a WBC of ``wbc`` cells/µL."""
        if self.kind == "segmented+band":
            return (self.first + self.second) * 1000
        if self.kind == "segmented%+band%":
            return wbc * (self.first + self.second) / 100
        return wbc * self.first / 100


@st.composite
def differentials(draw: st.DrawFn) -> Differential:
    kind = draw(st.sampled_from(DIFFERENTIAL_KINDS))
    if kind == "segmented+band":
        counts = (Decimal(draw(st.integers(0, 9000))).scaleb(-3) for _ in "sb")
        return Differential(kind, *counts)
    if kind == "segmented%+band%":
        tenths = draw(st.integers(0, 900))
        rest = draw(st.integers(0, 1000 - tenths))
        return Differential(kind, Decimal(tenths).scaleb(-1), Decimal(rest).scaleb(-1))
    # without unit, a percent is at least 2 (at most 1 may be a fraction: not used)
    low = 20 if kind == "no-unit" else 0
    return Differential(kind, Decimal(draw(st.integers(low, 1000))).scaleb(-1), Decimal(0))


CLOCKS = (dt.time(0, 15), dt.time(8, 30), dt.time(23, 45))
ZONES = tuple(dt.timezone(dt.timedelta(hours=h)) for h in (-10, -5, 0, 9))


@dataclass(frozen=True)
class Case:
    day: dt.date  # the day of the blood drawing, in the offset it was sent with
    clock: dt.time
    zone: dt.timezone
    birth: dt.date | str | None
    birth_clock: tuple[dt.time, dt.timezone] | None  # PID-7 with a time and its offset
    sex: str  # as sent in PID-8
    counts: tuple[Count, ...]
    differential: Differential | None  # beside a WBC without ANC
    ctcae: str
    critical: dict[str, int]
    policy: str
    duffy_null: bool
    form: str  # HL7 v2 2.5.1 or 2.3 (OBR-15), a FHIR Bundle, or a FHIR panel Observation

    def message(self) -> str:
        results = [c.spec() for c in self.counts]
        if self.differential is not None:
            results.extend(self.differential.specs())
        collected = dt.datetime.combine(self.day, self.clock, self.zone)
        who = b.patient(birth_date=self.birth, sex=self.sex or "U")
        if self.form == "panel":  # a component has no status: the panel's is every result's
            results = [dataclasses.replace(r, status=results[0].status) for r in results]
        if self.form in ("bundle", "panel"):
            build = b.fhir_bundle if self.form == "bundle" else b.panel_observation
            text = build(results, patient=who, collected=collected).json()
            if not self.sex:  # no gender
                text = text.replace('"gender":"unknown",', "", 1)
            return text
        version = self.form.removeprefix("v")
        text = b.oru_message(
            patient=who, results=results, collected=collected, version=version
        ).text
        if self.birth_clock is not None:  # PID-7 with the time of birth and its offset
            assert isinstance(self.birth, dt.date)
            born = dt.datetime.combine(self.birth, self.birth_clock[0], self.birth_clock[1])
            pid7 = f"|{self.birth:%Y%m%d}|"
            text = text.replace(pid7, f"|{born:%Y%m%d%H%M%z}|", 1)
        if not self.sex:  # PID-8 sent empty
            text = text.replace("|U\rPV1|", "|\rPV1|", 1)
        return text

    def location(self, n: int) -> str:
        """Where the n-th result (1-based) is read from."""
        if self.form == "bundle":
            return f"ITEM[1]/Bundle.entry[{n + 2}].resource"
        if self.form == "panel":
            return f"ITEM[1]/Observation.component[{n - 1}]"
        return f"MSG[1]/OBX[{n}]"

    def derived_location(self) -> str:
        order = {"bundle": "ITEM[1]/Bundle.entry[2].resource", "panel": "ITEM[1]/Observation"}
        return f"{order.get(self.form, 'MSG[1]/OBR[1]')}/ANC[derived]"

    def settings(self) -> leukoflag.Settings:
        return leukoflag.Settings(
            ctcae_version=self.ctcae,  # type: ignore[arg-type]
            critical_low=self.critical,
            range_policy=self.policy,  # type: ignore[arg-type]
            duffy_null=frozenset({"*"} if self.duffy_null else ()),
        )

    def context(self, count: Count | None, birth: dt.date | None, day: dt.date) -> Context:
        """The oracle's view of a count (None: the derived ANC) for a patient born on ``birth``,
        the age counted on ``day``."""
        age = None if self.before_birth() else age_on(birth, day)
        sex = SEXES[self.sex]
        low = high = None
        used = False
        lab = count is not None and count.lab_range is not None and self.policy == "lab"
        adults = count is not None and count.range_form == "adult" and child(age)
        wrong = count is not None and count.range_form.startswith("mis-scaled")
        if lab and count is not None and not adults and not wrong:
            used = True
            low, high = count.lab_limits(sex)
        analyte = "anc" if count is None else count.analyte
        return Context(
            analyte=analyte,
            sex=sex,
            age=age,
            lab_low=low,
            lab_high=high,
            lab_used=used,
            ctcae=self.ctcae,
            critical=Decimal(self.critical.get(analyte, CRITICAL[analyte])),
            graded=count is None or count.code != "49498-9",
            duffy_null=self.duffy_null,
        )

    def before_birth(self) -> bool:
        """Drawn before the birth time (on the birth day): the age is not known, as for a birth
        date after the result's."""
        if self.birth_clock is None:
            return False
        assert isinstance(self.birth, dt.date)
        born = dt.datetime.combine(self.birth, self.birth_clock[0], self.birth_clock[1])
        return dt.datetime.combine(self.day, self.clock, self.zone) < born

    def age_day(self) -> dt.date:
        """The day the age is counted on: the drawing's, in the birth time's offset if sent."""
        if self.birth_clock is None:
            return self.day
        drawn = dt.datetime.combine(self.day, self.clock, self.zone)
        return drawn.astimezone(self.birth_clock[1]).date()

    def age_days(self) -> list[dt.date]:
        """The days the age may be counted on: one (see age_day), but a drawing sent in UTC
        of a birth date without time (a local date) is of any local date from UTC-12:00 to
        UTC+14:00 not before the birth: the message names no zone (its time is in UTC too, a
        FHIR Bundle of results has none) and no default zone is set (docs/rules.md, Age). A
        birth date after the drawing's UTC date is after the result, as before."""
        span = birth_span(self.birth, self.day)
        if self.birth_clock is not None or self.zone.utcoffset(None) or span is None:
            return [self.age_day()]
        if self.day < span[0]:
            return [self.day]
        drawn = dt.datetime.combine(self.day, self.clock, self.zone)
        first, last = (
            max((drawn - dt.timedelta(hours=12)).date(), span[0]),
            (drawn + dt.timedelta(hours=14)).date(),
        )
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    def contexts(self, count: Count | None) -> list[Context]:
        """One context per possible birth day and day of the age (one, for a birth date sent
        in full and a day known)."""
        found: list[Context] = []
        for day in self.age_days():
            span = birth_span(self.birth, day)
            if span is None:
                return [self.context(count, None, day)]
            first, last = span
            births = range((last - first).days + 1)
            found.extend(self.context(count, first + dt.timedelta(days=n), day) for n in births)
        return found


@st.composite
def cases(draw: st.DrawFn) -> Case:
    day = draw(st.sampled_from(COLLECTION_DAYS))
    form = draw(st.sampled_from(["v2.5.1", "v2.5.1", "v2.3", "bundle", "panel"]))
    shape = draw(st.sampled_from(["wbc", "anc", "both", "derived"]))
    if shape == "derived":
        found: tuple[Count, ...] = (draw(counts("wbc", exact=True, panel=form == "panel")),)
        differential: Differential | None = draw(differentials())
    else:
        names = ("wbc", "anc") if shape == "both" else (shape,)
        found = tuple(draw(counts(name, panel=form == "panel")) for name in names)
        differential = None
    birth = draw(birth_dates(day))
    birth_clock = None
    if isinstance(birth, dt.date) and form.startswith("v") and draw(st.booleans()):
        birth_clock = (draw(st.sampled_from(CLOCKS)), draw(st.sampled_from(ZONES)))
    return Case(
        day=day,
        clock=draw(st.sampled_from(CLOCKS)),
        zone=draw(st.sampled_from(ZONES)),
        birth=birth,
        birth_clock=birth_clock,
        sex=draw(st.sampled_from(sorted(SEXES))),
        counts=found,
        differential=differential,
        ctcae=draw(st.sampled_from(["5.0", "6.0"])),
        critical=draw(st.sampled_from([{}, {}, {"anc": 200}, {"wbc": 1500}, {"wbc": 3000}])),
        policy=draw(st.sampled_from(["lab", "lab", "lab", "default"])),
        duffy_null=draw(st.integers(0, 4)) == 0,
        form=form,
    )


# --------------------------------------------------------------------------- the comparison


def verdict_of(ctx: Context, count: Count | None, value: Decimal) -> Verdict | None:
    if count is None or not count.comparator:
        return judge(ctx, value)
    return judge_bound(ctx, *bounds(count))


def check(where: str, finding: Finding | None, want: Verdict | None, *, exact: bool) -> None:
    if want is None:
        assert finding is None, f"{where}: no code is proven, leukoflag gave {finding}"
        return
    assert finding is not None, f"{where}: oracle says {want}, leukoflag gave no finding"
    got = (
        finding.code,
        finding.condition is not None,
        finding.severity,
        finding.ctcae_grade,
        finding.range.source if finding.range else "",
    )
    expected = (want.code, want.condition, want.severity, want.grade, want.range_source)
    assert got == expected, f"{where}: code, condition, severity, grade, range {got} != {expected}"
    if finding.condition is not None:
        assert finding.condition.code == SNOMED[finding.analyte.value], where
    if exact:
        assert (finding.rule, finding.threshold) == (want.rule, want.threshold), (
            f"{where}: rule {finding.rule} {finding.threshold} != {want.rule} {want.threshold}"
        )


DISAGREES = "flag.sender-disagrees"
SIDES = {"L": "low", "LU": "low", "LL": "low", "H": "high", "HU": "high", "HH": "high"}
SIDES["N"] = "normal"


def disagreement(computed: str, sent: tuple[str, ...]) -> str | None:
    """The severity of flag.sender-disagrees the sender's flags call for (rules.md), "" for
    none, None when the rules do not say (an A against N)."""
    found = [""]
    for flag in sent:
        if flag == computed:
            continue
        if flag in ("A", "AA"):
            if SIDES[computed] == "normal":
                return None
            continue
        found.append("information" if SIDES.get(flag) == SIDES[computed] else "warning")
    return max(found, key=["", "information", "warning"].index)


def at(location: str, where: str) -> bool:
    """Whether an Issue's location is the result's, or a field of it."""
    return location == where or location.startswith((f"{where}-", f"{where}."))


def check_undecided(where: str, finding: Finding | None, wants: list[Verdict | None]) -> None:
    """A birth date known to the year or month: a code only when every possible age agrees."""
    if finding is None:
        return
    shared = {(w.code, w.condition, w.severity, w.grade) if w else None for w in wants}
    got = (finding.code, finding.condition is not None, finding.severity, finding.ctcae_grade)
    assert shared == {got}, f"{where}: {got} given, the possible ages give {shared}"


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_the_verdicts_agree_with_an_oracle_written_from_the_reference(case: Case) -> None:
    conversion = leukoflag.convert(case.message(), case.settings())
    assert not conversion.rejected, conversion.rejected
    findings = {f.location: f for f in conversion.findings}
    issues = [(i.code, i.location) for i in conversion.issues]
    disagrees = [(i.location, i.severity.value) for i in conversion.issues if i.code == DISAGREES]
    for n, count in enumerate(case.counts, start=1):
        where = case.location(n)
        finding = findings.get(where)
        here = {c for c, loc in issues if at(loc, where)}
        unit_errors = {c for c in here if c.startswith("units.")}
        unit_errors.discard("units.unit-matched-tolerantly")
        if count.status in UNFLAGGED:
            assert finding is None, f"{where}: status {count.status} judged"
            assert "flag.status-not-flaggable" in here, (where, issues)
            continue
        top = count.upper if count.upper is not None else count.cells
        # no count is below zero or above the limit: '<0' and '>1000' K/uL are a sender's error
        # (docs/rules.md, question 5)
        if (
            top > PLAUSIBLE
            or (count.comparator in ("<", "<=") and not top)
            or (count.comparator in (">", ">=") and top >= PLAUSIBLE)
        ):
            assert finding is None, f"{where}: implausible {count.text} {count.unit} was judged"
            assert "units.implausible" in unit_errors, (where, issues)
            continue
        assert not unit_errors, f"{where}: unit {count.unit!r} of units.md: {unit_errors}"
        contexts = case.contexts(count)
        if finding is not None:
            value = finding.value_per_ul
            sent = count.cells if count.upper is None else count.upper
            assert value == sent, f"{where}: {count.text} {count.unit} gave {value}"
            figures = Decimal(in_unit(sent, count.factor)).as_tuple().digits
            assert value.as_tuple().digits == figures, f"{where}: figures of {value}"
            # "<=0" allows 0 alone: judged as the exact value it is
            only_zero = count.comparator == "<=" and count.cells == 0
            comparator = "<=" if count.comparator == "-" else count.comparator
            assert finding.comparator == ("" if only_zero else comparator), where
            if finding.ctcae_grade is not None:
                assert finding.ctcae_version == case.ctcae, where
            assert finding.sender_flags == count.spec().flags, where
            want_issue = disagreement(finding.code, finding.sender_flags)
            if want_issue is not None:
                got_issue = next((sev for loc, sev in disagrees if at(loc, where)), "")
                assert got_issue == want_issue, (
                    f"{where}: sender {finding.sender_flags}, computed {finding.code}: "
                    f"{DISAGREES} {got_issue or 'absent'}"
                )
        if case.policy == "lab" and count.lab_range is not None and count.scale_suspect():
            assert finding is None, f"{where}: {count.text} next to {count.range_text()} judged"
            assert "flag.scale-suspect" in here, (where, issues)
            continue
        wants = [verdict_of(ctx, count, count.cells) for ctx in contexts]
        if len(contexts) > 1 and any(child(ctx.age) for ctx in contexts):
            check_undecided(where, finding, wants)
            continue
        if contexts[0].age is None:
            assert "flag.age-unknown" in here, (where, issues)
        check(where, finding, wants[0], exact=not count.comparator)
        if count.comparator and wants[0] is None:
            assert "flag.bound-inconclusive" in here, (where, issues)
    if case.differential is not None:
        check_derived(case, findings)


def check_derived(case: Case, findings: dict[str, Finding]) -> None:
    (wbc,) = case.counts
    derived = findings.get(case.derived_location())
    suspect = case.policy == "lab" and wbc.lab_range is not None and wbc.scale_suspect()
    # an ANC is derived from a WBC count read in cells/µL, never from an estimate
    needs_wbc = case.differential is None or case.differential.kind != "segmented+band"
    unusable = wbc.cells > PLAUSIBLE or wbc.code == "49498-9" or wbc.status in UNFLAGGED
    if needs_wbc and (unusable or suspect):
        assert derived is None, derived
        return
    assert case.differential is not None
    if (
        case.differential.kind == "segmented+band"
        and not (unusable or suspect)
        and case.differential.anc(wbc.cells) - case.differential.slack(wbc) > wbc.cells
    ):
        # more neutrophils than white cells in the draw, however each was rounded as written:
        # one of them is wrong (rules.md)
        assert derived is None, derived
        return
    contexts = case.contexts(None)
    if len(contexts) > 1 and any(child(ctx.age) for ctx in contexts):
        if derived is not None:
            wants = [judge(ctx, derived.value_per_ul) for ctx in contexts]
            check_undecided("ANC[derived]", derived, list(wants))
        return
    exact = case.differential.anc(wbc.cells)
    assert derived is not None, f"no ANC derived from {wbc.cells} and {case.differential}"
    assert derived.derived
    # judged as computed, never rounded across a threshold (1,499.7 is below 1,500)
    assert derived.value_per_ul == exact, f"{derived.value_per_ul} is not {exact}"
    check("ANC[derived]", derived, judge(contexts[0], exact), exact=True)


def test_no_code_when_an_age_between_the_ends_of_a_birth_year_would_change_it() -> None:
    # Born "2026", drawn on 24 November 2026: a WBC of 5,500 is L (leukopenia) for a baby of
    # days (band 9,000-30,000) and of ten months (6,000-17,500), but N at 1-3 months
    # (5,000-19,500). The two ends agree; the ages between them do not.
    baby = b.patient(birth_date="2026", sex="F")
    message = b.oru_message(patient=baby, results=[b.wbc("5.5", "10*3/uL", reference_range="")])
    conversion = leukoflag.convert(message.text)
    assert conversion.findings == []
    assert [i.code for i in conversion.issues if i.code.startswith("flag.age")] == [
        "flag.age-imprecise"
    ]
