"""The flag rules (``data/rules.toml``) as typed values, and the engine that applies them.

The engine works on values already in cells/µL. A value is judged at a :data:`Point`: an exact
number, or a number approached from below or above (``<1000`` is "just below 1000"), so that a
comparator value can be judged at its bound without pretending the bound is the value.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import itertools
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeAlias

from leukoflag.errors import DataFileError
from leukoflag.model import Analyte, Coding, NormalizedRange
from leukoflag.settings import DEFAULT_CRITICAL_LOW

__all__ = [
    "AgeEdge",
    "AgeSpan",
    "Criteria",
    "CtcaeScale",
    "DiseaseRule",
    "LimitRule",
    "Point",
    "RangeRule",
    "Rule",
    "Rules",
    "SeverityBand",
    "Verdict",
    "load_rules",
    "parse_rules",
]

# Settings' default critical lows by analyte, for Criteria.critical_floor (a plain dict: the
# enum's .value and the settings mapping cost a Python call each, twice a message)
_DEFAULT_CRITICAL = {Analyte(name): limit for name, limit in DEFAULT_CRITICAL_LOW.items()}

LOW_CODES = frozenset({"L", "LU", "LL"})
RANGE_KINDS = ("default", "age-band", "duffy-null")
POPULATIONS = ("general", "duffy-null")
SEXES = ("male", "female", "unknown", "any")
FINDINGS = {"leukopenia": Analyte.WBC, "neutropenia": Analyte.ANC}
CTCAE_VERSIONS = ("5.0", "6.0")
INFINITY = Decimal("Infinity")

# A value in cells/µL and the side it is approached from: -1 just below, 0 exactly, +1 just above.
Point: TypeAlias = tuple[Decimal, int]


def below(point: Point, limit: Decimal) -> bool:
    """Whether every value at ``point`` is strictly below ``limit``."""
    return under(point)(limit)


def above(point: Point, limit: Decimal) -> bool:
    """Whether every value at ``point`` is strictly above ``limit``."""
    return over(point)(limit)


def under(point: Point) -> Callable[[Decimal], bool]:
    """:func:`below` for one point and many limits: a point approached from below is also
    below the limit it equals."""
    value, side = point
    return value.__le__ if side < 0 else value.__lt__


def over(point: Point) -> Callable[[Decimal], bool]:
    """:func:`above` for one point and many limits."""
    value, side = point
    return value.__ge__ if side > 0 else value.__gt__


# --------------------------------------------------------------------------- ages

_AGE = re.compile(r"^(\d+)([dwmy])$")
_UNIT_WORDS = {"d": "day", "w": "week", "m": "month", "y": "year"}
_UNIT_DAYS = {"d": (1, 1), "w": (7, 7), "m": (28, 31), "y": (365, 366)}


@dataclass(frozen=True, slots=True)
class AgeEdge:
    """A calendar age: ``7d``, ``1m``, ``18y``."""

    amount: int
    unit: str  # d, w, m, y

    @classmethod
    def parse(cls, text: str) -> AgeEdge:
        match = _AGE.match(text)
        if match is None:
            raise DataFileError(f"rules.toml: bad age {text!r} (expected e.g. 7d, 1m, 18y)")
        return cls(int(match.group(1)), match.group(2))

    def reached_on(self, birth: dt.date) -> dt.date:
        """The day a person born on ``birth`` reaches this age."""
        if self.unit == "d":
            return birth + dt.timedelta(days=self.amount)
        if self.unit == "w":
            return birth + dt.timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "y" else 1)
        year, month = divmod(birth.month - 1 + months, 12)
        year += birth.year
        if birth.day <= 28:
            return dt.date(year, month + 1, birth.day)
        # A birthday on a day the target month lacks (29 February) falls back to its last day.
        day = min(birth.day, calendar.monthrange(year, month + 1)[1])
        return dt.date(year, month + 1, day)

    @property
    def days_range(self) -> tuple[int, int]:
        """The fewest and most days this age can be, whatever the birth date."""
        low, high = _UNIT_DAYS[self.unit]
        return self.amount * low, self.amount * high

    @property
    def text(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self) -> str:
        word = _UNIT_WORDS[self.unit]
        return f"{self.amount} {word}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class AgeSpan:
    """Ages from ``start`` (reached) up to, not including, ``end`` (``None``: no upper end)."""

    start: AgeEdge
    end: AgeEdge | None

    def describe(self) -> str:
        if self.end is None:
            return f"{self.start.describe()} and older"
        if self.start.amount == 0:
            return f"birth to {self.end.describe()}"
        return f"{self.start.describe()} to {self.end.describe()}"


# --------------------------------------------------------------------------- rule values


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """What every rule row carries: its id, analyte and source (a key in [sources])."""

    id: str
    analyte: Analyte
    source: str
    citation: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeRule(Rule):
    """A reference range leukoflag supplies when the lab's is absent or ignored."""

    kind: str  # default, age-band, duffy-null (NormalizedRange.source)
    sex: str  # male, female, unknown (also other), any
    age: AgeSpan
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiseaseRule(Rule):
    """Below ``below``: leukopenia / neutropenia, code at least L. ``below`` None means the low
    limit of the default range of the patient's age band."""

    population: str  # general, duffy-null
    age: AgeSpan
    below: Decimal | None
    finding: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitRule(Rule):
    """LU (``below`` set) or LL (``below`` None: Settings.critical_low). ``child_source`` and
    ``child_citation``, when set, are cited for a patient under the adult age instead (an adult
    source applied to children, saying so)."""

    below: Decimal | None
    child_source: str = ""
    child_citation: str = ""

    def for_child(self) -> LimitRule:
        """This rule as cited for a patient under the adult age."""
        if not self.child_citation:
            return self
        return dataclasses.replace(self, source=self.child_source, citation=self.child_citation)


@dataclass(frozen=True, slots=True)
class SeverityBand:
    name: str
    below: Decimal
    source: str
    citation: str


@dataclass(frozen=True, slots=True)
class CtcaeGrade:
    grade: int
    below: Decimal | None  # None: the lab's lower limit of normal


@dataclass(frozen=True, slots=True)
class CtcaeScale:
    version: str
    analyte: Analyte
    term: Coding
    grades: tuple[CtcaeGrade, ...]  # ascending grade
    source: str
    citation: str


@dataclass(frozen=True, slots=True, eq=False)
class Rules:
    """Every rule of ``rules.toml``, checked. Read-only; one instance per process."""

    adult_age: AgeEdge
    sources: Mapping[str, str]
    ranges: tuple[RangeRule, ...]
    diseases: tuple[DiseaseRule, ...]
    significantly_low: Mapping[Analyte, LimitRule]
    critical_low: Mapping[Analyte, LimitRule]
    findings: Mapping[str, Coding]
    finding_sources: Mapping[str, str]
    severities: tuple[SeverityBand, ...]  # ascending ``below``
    grade_codes: Mapping[int, Coding]
    grade_source: str
    ctcae: Mapping[tuple[str, Analyte], CtcaeScale]
    lab_low_at_most: Decimal
    lab_high_at_least: Decimal
    lab_sanity_source: str
    edges: tuple[AgeEdge, ...]  # every age band edge, youngest first; edges[0] is birth
    adult_step: int  # index of adult_age in ``edges``
    past_every_edge: int  # days of age after which every edge is surely reached
    profiles: Mapping[tuple[Analyte, str, bool, int], Profile]  # analyte, sex, Duffy-null, step
    # The age sent as a result (LOINC 30525-0, 21612-7): its codes' system, the codes, and its
    # UCUM units and their words (lower case) by calendar unit
    age_system: str
    age_codes: frozenset[str]
    age_units: Mapping[str, str]

    def lowest_low(self, analyte: Analyte) -> tuple[Decimal, str]:
        """The lowest count of ``analyte`` any patient's reference range or disease threshold
        calls low (its range's low limit, the finding's threshold), and that rule's id: a
        critical low above it would call a count LL that is normal for that patient."""
        limits = [
            (rule.low, rule.id)
            for rule in self.ranges
            if rule.analyte is analyte and rule.low is not None
        ]
        limits += [
            (rule.below, rule.id)
            for rule in self.diseases
            if rule.analyte is analyte and rule.below is not None
        ]
        return min(limits, key=lambda limit: limit[0])

    def step(self, birth: dt.date | None, on: dt.date | None) -> int:
        """The index of the oldest age edge reached by a patient born on ``birth`` on the day
        ``on`` (unknown age, or ``on`` before ``birth``: adult)."""
        if birth is None or on is None or on < birth:
            return self.adult_step
        last = len(self.edges) - 1
        if (on - birth).days >= self.past_every_edge:
            return last  # surely past every edge (most patients): no calendar arithmetic
        low, high = 0, last  # edges[0] is birth: always reached
        while low < high:
            middle = (low + high + 1) // 2
            if on >= self.edges[middle].reached_on(birth):
                low = middle
            else:
                high = middle - 1
        return low

    def profile(self, analyte: Analyte, step: int, sex: str, duffy_null: bool) -> Profile:
        """The rules that apply at age step ``step`` (see :meth:`step`) for ``analyte``."""
        duffy = duffy_null and step >= self.adult_step
        sex = sex if sex in ("male", "female") else "unknown"
        return self.profiles[(analyte, sex, duffy, step)]

    def criteria(
        self,
        profile: Profile,
        *,
        reference: NormalizedRange,
        citation: str,
        critical_low: Decimal,
        lln: Decimal | None,
        ctcae_version: str,
        graded: bool,
    ) -> Criteria:
        """Everything needed to judge one value for the patient of ``profile``."""
        scale = self.ctcae[(ctcae_version, profile.analyte)] if graded else None
        floor = min(critical_low, _DEFAULT_CRITICAL[profile.analyte])
        return Criteria(profile, critical_low, reference, citation, scale, lln, floor)


@dataclass(frozen=True, slots=True)
class Profile:
    """The rules for one analyte and one kind of patient (sex, age step, Duffy-null)."""

    analyte: Analyte
    range: RangeRule  # the range leukoflag supplies (the Duffy-null one when it applies)
    supplied: NormalizedRange  # that range as an Evaluation carries it
    disease: DiseaseRule
    disease_below: Decimal | None
    duffy_null: bool  # the Duffy-null rules apply
    adult: bool
    critical: LimitRule  # LL (its limit is Settings.critical_low)
    significant: LimitRule  # LU
    finding: Coding  # of the disease rule
    severities: tuple[SeverityBand, ...]  # neutropenia severity bands (none for a WBC)
    # the source of disease_below: the disease rule's, or for one below the age band's low limit
    # ("range-low") that range's, whose source gave the number (Davis's from 4 years, not Iowa's)
    disease_citation: str


# The rule ids of codes decided by the reference range (docs/rules.md).
_RANGE_RULES = {
    analyte: (f"{analyte}-below-range", f"{analyte}-above-range", f"{analyte}-within-range")
    for analyte in Analyte
}


# Verdict and Criteria are built for every count judged: slotted dataclasses, never changed once
# built, but not declared frozen (a frozen dataclass costs about five times as much to build).


@dataclass(slots=True)
class Verdict:
    """What the rules say about one point (or, combined, about a bounded value)."""

    code: str
    rule: str
    threshold: Decimal | None
    source: str
    finding: Coding | None = None
    severity: str = ""
    grade: int | None = None


@dataclass(slots=True)
class Criteria:
    """The thresholds that apply to one result, ready to judge points: the rules of the
    patient's profile, the critical low of the conversion's settings, the range the value is
    judged against, the CTCAE scale (None: not graded) and the lab's LLN for grade 1."""

    profile: Profile
    critical_below: Decimal
    reference: NormalizedRange
    citation: str  # of the reference range, for the codes it decides
    ctcae: CtcaeScale | None
    lln: Decimal | None
    # below it a count is LL whatever range it is judged by: the lower of critical_below and the
    # sourced default (reference/clinical.md: WBC 2,000, ANC 500), see critical_held
    critical_floor: Decimal

    def at(self, point: Point) -> Verdict:
        """The verdict for an exact value (or a value approached from one side)."""
        is_below = under(point)
        profile = self.profile
        disease_below = profile.disease_below
        finding = disease_below is not None and is_below(disease_below)
        code, rule, threshold, source = self._code(point, is_below, finding=finding)
        severity = ""
        if finding:
            for band in profile.severities:
                if is_below(band.below):
                    severity = band.name
                    break
        found = profile.finding if finding else None
        return Verdict(code, rule, threshold, source, found, severity, self._grade(is_below))

    def _code(
        self, point: Point, is_below: Callable[[Decimal], bool], *, finding: bool
    ) -> tuple[str, str, Decimal | None, str]:
        profile = self.profile
        # a critical low is a degree of low: not of a count the range it is judged by holds
        # (a lab's own low limit below Settings.critical_low: critical_held)
        if is_below(self.critical_below) and not self.critical_held(is_below):
            critical = profile.critical
            return "LL", critical.id, self.critical_below, critical.citation
        lu = profile.significant
        if lu.below is not None and is_below(lu.below):
            return "LU", lu.id, lu.below, lu.citation
        if finding:
            return "L", profile.disease.id, profile.disease_below, profile.disease_citation
        ref = self.reference
        below_range, above_range, within_range = _RANGE_RULES[profile.analyte]
        if ref.low is not None and is_below(ref.low):
            return "L", below_range, ref.low, self.citation
        if ref.high is not None and above(point, ref.high):
            return "H", above_range, ref.high, self.citation
        return "N", within_range, None, self.citation

    def critical_held(self, is_below: Callable[[Decimal], bool]) -> bool:
        """Whether a point (``is_below`` of it) is not below the low limit of the range it is
        judged by (none: not held), so that it is not LL below the critical low. A low limit of
        0 is none ('0-9.0' as '<9.0'): no count is below it, so it holds none from being LL.
        Only a limit configured above the sourced default is so held: below the default (WBC
        2,000, ANC 500) a count is critical whatever range a lab sends (an ANC of 300 beside
        '0.1-7.5' is severe neutropenia, LL)."""
        low = self.reference.low
        return (
            low is not None and low > 0 and not is_below(low) and not is_below(self.critical_floor)
        )

    def _grade(self, is_below: Callable[[Decimal], bool]) -> int | None:
        if self.ctcae is None:
            return None
        grade: int | None = None
        for step in self.ctcae.grades:
            limit = self.lln if step.below is None else step.below
            if limit is not None and is_below(limit):
                grade = step.grade
        return grade

    def between(self, low: Point, high: Point) -> tuple[Verdict | None, bool]:
        """The verdict for a value known only to lie between ``low`` and ``high``.

        The code is given when both ends agree, or when the high end is already low: a value
        whose every possible reading is low is low, and the least severe of those codes is the
        one proven (``<1.0 ×10³/µL`` is LL for WBC; ``<5.0`` proves nothing). Severity and grade
        are kept only when both ends agree. Returns the verdict (None: nothing proven) and
        whether both ends agreed on the code.
        """
        top = self.at(high)
        bottom = self.at(low)
        if top.code != bottom.code and top.code not in LOW_CODES:
            return None, False
        return (
            Verdict(
                code=top.code,
                rule=top.rule,
                threshold=top.threshold,
                source=top.source,
                finding=top.finding,
                severity=top.severity if top.severity == bottom.severity else "",
                grade=top.grade if top.grade == bottom.grade else None,
            ),
            top.code == bottom.code,
        )


# --------------------------------------------------------------------------- loading


@functools.cache
def load_rules() -> Rules:
    """The packaged rules, read and checked once per process."""
    raw = resources.files("leukoflag.flagging").joinpath("data/rules.toml").read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"rules.toml: {exc}") from exc
    return parse_rules(data)


def parse_rules(data: Mapping[str, Any]) -> Rules:
    """Build and check :class:`Rules` from the parsed TOML (raises :class:`DataFileError`)."""
    if data.get("schema") != 1:
        raise DataFileError("rules.toml: schema must be 1")
    sources = {str(k): _text(v, f"sources.{k}") for k, v in _table(data, "sources").items()}

    def cite(key: object, where: str) -> tuple[str, str]:
        if not isinstance(key, str) or key not in sources:
            raise DataFileError(f"rules.toml: {where}: unknown source {key!r}")
        return key, sources[key]

    ranges = tuple(_range(row, cite) for row in _rows(data, "range"))
    diseases = tuple(_disease(row, cite) for row in _rows(data, "disease"))
    significantly_low = _limits(_rows(data, "significantly_low"), cite, needs_below=True)
    critical_low = _limits(_rows(data, "critical_low"), cite, needs_below=False)
    findings: dict[str, Coding] = {}
    finding_sources: dict[str, str] = {}
    for name, entry in _table(data, "findings").items():
        if name not in FINDINGS:
            raise DataFileError(f"rules.toml: findings.{name}: unknown finding")
        row = _as_table(entry, f"findings.{name}")
        findings[name] = Coding(
            code=_text(row.get("code"), f"findings.{name}.code"),
            display=_text(row.get("display"), f"findings.{name}.display"),
            system=_text(row.get("system"), f"findings.{name}.system"),
        )
        finding_sources[name] = cite(row.get("source"), f"findings.{name}")[1]
    unknown = sorted({d.finding for d in diseases} - set(findings))
    if unknown:
        raise DataFileError(f"rules.toml: findings missing: {', '.join(unknown)}")
    bands = []
    for row in _rows(data, "severity"):
        source, citation = cite(row.get("source"), "severity")
        bands.append(
            SeverityBand(
                name=_text(row.get("name"), "severity.name"),
                below=_number(row.get("below"), "severity.below"),
                source=source,
                citation=citation,
            )
        )
    severities = tuple(sorted(bands, key=lambda band: band.below))
    grade_table = _table(data, "ctcae_grade_codes")
    grade_system = _text(grade_table.get("system"), "ctcae_grade_codes.system")
    grade_source = cite(grade_table.get("source"), "ctcae_grade_codes")[1]
    grade_codes: dict[int, Coding] = {}
    for key, value in grade_table.items():
        if key in ("system", "source"):
            continue
        entry = _as_table(value, f"ctcae_grade_codes.{key}")
        grade_codes[int(key)] = Coding(
            code=_text(entry.get("code"), f"ctcae_grade_codes.{key}.code"),
            display=_text(entry.get("display"), f"ctcae_grade_codes.{key}.display"),
            system=grade_system,
        )
    ctcae = {}
    for row in _rows(data, "ctcae"):
        scale = _ctcae(row, cite, grade_system)
        ctcae[(scale.version, scale.analyte)] = scale
    missing = {(v, a) for v in CTCAE_VERSIONS for a in Analyte} - set(ctcae)
    if missing:
        raise DataFileError(f"rules.toml: CTCAE scales missing: {sorted(missing)}")
    sanity = _table(data, "lab_range_sanity")
    age_result = _table(data, "age_result")
    cite(age_result.get("source"), "age_result")
    age_units = {
        str(code): _choice(
            unit, ("year", "month", "week", "day", "hour"), f"age_result.{key}.{code}"
        )
        for key in ("units", "words")
        for code, unit in _as_table(age_result.get(key), f"age_result.{key}").items()
    }
    if any(code != code.lower() for code in _as_table(age_result.get("words"), "words")):
        raise DataFileError("rules.toml: age_result.words are matched in lower case")
    age_codes = _as_table(age_result.get("codes"), "age_result.codes")
    if not age_codes:
        raise DataFileError("rules.toml: age_result.codes is empty")
    for code, source in age_codes.items():  # each code with its source
        cite(source, f"age_result.codes.{code}")
    adult_age = AgeEdge.parse(_text(data.get("adult_age"), "adult_age"))
    edges = _edges((*(r.age for r in ranges), *(d.age for d in diseases)), adult_age)
    return Rules(
        adult_age=adult_age,
        sources=MappingProxyType(sources),
        ranges=ranges,
        diseases=diseases,
        significantly_low=MappingProxyType(significantly_low),
        critical_low=MappingProxyType(critical_low),
        findings=MappingProxyType(findings),
        finding_sources=MappingProxyType(finding_sources),
        severities=severities,
        grade_codes=MappingProxyType(grade_codes),
        grade_source=grade_source,
        ctcae=MappingProxyType(ctcae),
        lab_low_at_most=_number(sanity.get("low_at_most"), "lab_range_sanity.low_at_most"),
        lab_high_at_least=_number(sanity.get("high_at_least"), "lab_range_sanity.high_at_least"),
        lab_sanity_source=cite(sanity.get("source"), "lab_range_sanity")[1],
        edges=edges,
        adult_step=edges.index(adult_age),
        past_every_edge=edges[-1].days_range[1],
        age_system=_text(age_result.get("system"), "age_result.system"),
        age_codes=frozenset(age_codes),
        age_units=MappingProxyType(age_units),
        profiles=MappingProxyType(
            _profiles(
                ranges,
                diseases,
                edges,
                edges.index(adult_age),
                critical_low=critical_low,
                significantly_low=significantly_low,
                findings=findings,
                severities=severities,
            )
        ),
    )


_Cite: TypeAlias = Callable[[object, str], tuple[str, str]]


def _rule(row: Mapping[str, Any], cite: _Cite, what: str) -> dict[str, Any]:
    """The fields of :class:`Rule` every rule row has, checked."""
    rid = _text(row.get("id"), f"{what}.id")
    where = f"{what} {rid}"
    source, citation = cite(row.get("source"), where)
    return {
        "id": rid,
        "analyte": _analyte(row.get("analyte"), where),
        "source": source,
        "citation": citation,
        "note": str(row.get("note", "")),
    }


def _range(row: Mapping[str, Any], cite: _Cite) -> RangeRule:
    common = _rule(row, cite, "range")
    where = f"range {common['id']}"
    low = _optional_number(row.get("low"), f"{where}: low")
    high = _optional_number(row.get("high"), f"{where}: high")
    if low is not None and high is not None and low >= high:
        raise DataFileError(f"rules.toml: {where}: low must be below high")
    return RangeRule(
        **common,
        kind=_choice(row.get("kind"), RANGE_KINDS, f"{where}: kind"),
        sex=_choice(row.get("sex"), SEXES, f"{where}: sex"),
        age=_span(row.get("age"), where),
        low=low,
        high=high,
    )


def _disease(row: Mapping[str, Any], cite: _Cite) -> DiseaseRule:
    common = _rule(row, cite, "disease")
    where = f"disease {common['id']}"
    finding = _choice(row.get("finding"), tuple(FINDINGS), f"{where}: finding")
    if FINDINGS[finding] is not common["analyte"]:
        raise DataFileError(f"rules.toml: {where}: {finding} is not a {common['analyte']} finding")
    raw_below = row.get("below")
    return DiseaseRule(
        **common,
        population=_choice(row.get("population"), POPULATIONS, f"{where}: population"),
        age=_span(row.get("age"), where),
        below=None if raw_below == "range-low" else _number(raw_below, f"{where}: below"),
        finding=finding,
    )


def _limits(
    rows: Iterable[Mapping[str, Any]], cite: _Cite, *, needs_below: bool
) -> dict[Analyte, LimitRule]:
    limits: dict[Analyte, LimitRule] = {}
    for row in rows:
        common = _rule(row, cite, "rule")
        below = row.get("below")
        child = row.get("child_source")
        child_source, child_citation = (
            ("", "") if child is None else cite(child, f"rule {common['id']}: child_source")
        )
        limits[common["analyte"]] = LimitRule(
            **common,
            below=_number(below, f"rule {common['id']}: below") if needs_below else None,
            child_source=child_source,
            child_citation=child_citation,
        )
    if set(limits) != set(Analyte):
        raise DataFileError(f"rules.toml: LU/LL rules must cover {sorted(Analyte)}")
    return limits


def _ctcae(row: Mapping[str, Any], cite: _Cite, grade_system: str) -> CtcaeScale:
    version = _choice(row.get("version"), CTCAE_VERSIONS, "ctcae.version")
    analyte = _analyte(row.get("analyte"), f"ctcae {version}")
    where = f"ctcae {version} {analyte}"
    term = _as_table(row.get("term"), f"{where}: term")
    grades = []
    for entry in row.get("grades", ()):
        step = _as_table(entry, f"{where}: grades")
        limit = step.get("below")
        grades.append(
            CtcaeGrade(
                grade=int(step.get("grade", 0)),
                below=None if limit == "LLN" else _number(limit, f"{where}: below"),
            )
        )
    if [g.grade for g in grades] != [1, 2, 3, 4]:
        raise DataFileError(f"rules.toml: {where}: grades must be 1, 2, 3, 4 in order")
    source, citation = cite(row.get("source"), where)
    return CtcaeScale(
        version=version,
        analyte=analyte,
        term=Coding(
            code=_text(term.get("code"), f"{where}: term.code"),
            display=_text(term.get("display"), f"{where}: term.display"),
            system=grade_system,
        ),
        grades=tuple(grades),
        source=source,
        citation=citation,
    )


def _edges(spans: Iterable[AgeSpan], adult_age: AgeEdge) -> tuple[AgeEdge, ...]:
    """Every distinct age edge, youngest first; their order must not depend on the birth date."""
    distinct = {adult_age}
    for span in spans:
        distinct.add(span.start)
        if span.end is not None:
            distinct.add(span.end)
    edges = tuple(sorted(distinct, key=lambda edge: edge.days_range))
    if edges[0].amount != 0:
        raise DataFileError("rules.toml: the youngest age band must start at birth")
    for younger, older in itertools.pairwise(edges):
        if younger.days_range[1] >= older.days_range[0]:
            raise DataFileError(
                f"rules.toml: ages {younger.text} and {older.text} may come in either order"
            )
    return edges


def _profiles(
    ranges: tuple[RangeRule, ...],
    diseases: tuple[DiseaseRule, ...],
    edges: tuple[AgeEdge, ...],
    adult_step: int,
    *,
    critical_low: Mapping[Analyte, LimitRule],
    significantly_low: Mapping[Analyte, LimitRule],
    findings: Mapping[str, Coding],
    severities: tuple[SeverityBand, ...],
) -> dict[tuple[Analyte, str, bool, int], Profile]:
    """The rules of every analyte × sex × Duffy-null × age step; exactly one of each must apply."""

    def holds(span: AgeSpan, step: int) -> bool:
        start = edges.index(span.start)
        end = len(edges) if span.end is None else edges.index(span.end)
        return start <= step < end

    def single(rows: list[Any], what: str) -> Any:
        if len(rows) != 1:
            found = ", ".join(row.id for row in rows) or "none"
            raise DataFileError(f"rules.toml: {what}: exactly one rule must apply (found {found})")
        return rows[0]

    profiles = {}
    for analyte in Analyte:
        for sex in ("male", "female", "unknown"):
            for step, edge in enumerate(edges):
                for duffy in (False, True) if step >= adult_step else (False,):
                    kinds = ("duffy-null",) if duffy else ("default", "age-band")
                    what = f"{analyte}, sex {sex}, age {edge.text}{', Duffy-null' if duffy else ''}"
                    reference: RangeRule = single(
                        [
                            r
                            for r in ranges
                            if r.analyte is analyte
                            and r.kind in kinds
                            and r.sex in (sex, "any")
                            and holds(r.age, step)
                        ],
                        f"range for {what}",
                    )
                    population = "duffy-null" if duffy else "general"
                    disease: DiseaseRule = single(
                        [
                            d
                            for d in diseases
                            if d.analyte is analyte
                            and d.population == population
                            and holds(d.age, step)
                        ],
                        f"disease rule for {what}",
                    )
                    if disease.below is None and reference.kind != "age-band":
                        raise DataFileError(
                            f"rules.toml: {disease.id}: range-low needs an age band"
                        )
                    profiles[(analyte, sex, duffy, step)] = Profile(
                        analyte=analyte,
                        range=reference,
                        supplied=NormalizedRange(
                            reference.low,
                            reference.high,
                            reference.kind,
                            citation=reference.citation,
                        ),
                        disease=disease,
                        disease_below=reference.low if disease.below is None else disease.below,
                        duffy_null=duffy,
                        adult=step >= adult_step,
                        critical=critical_low[analyte],
                        significant=(
                            significantly_low[analyte]
                            if step >= adult_step
                            else significantly_low[analyte].for_child()
                        ),
                        finding=findings[disease.finding],
                        severities=severities if analyte is Analyte.ANC else (),
                        disease_citation=(
                            reference.citation if disease.below is None else disease.citation
                        ),
                    )
    return profiles


# --------------------------------------------------------------------------- small parsers


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _as_table(data.get(key), key)


def _as_table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DataFileError(f"rules.toml: {where} must be a table")
    return value


def _rows(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    rows = data.get(key)
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"rules.toml: [[{key}]] rows missing")
    return [_as_table(row, key) for row in rows]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise DataFileError(f"rules.toml: {where} must be a non-empty string")
    return value


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise DataFileError(f"rules.toml: {where}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _analyte(value: object, where: str) -> Analyte:
    try:
        return Analyte(str(value))
    except ValueError:
        raise DataFileError(f"rules.toml: {where}: unknown analyte {value!r}") from None


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DataFileError(f"rules.toml: {where}: {value!r} is not a whole number of cells/µL")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise DataFileError(f"rules.toml: {where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise DataFileError(f"rules.toml: {where}: {value!r} must be ≥ 0")
    return number


def _optional_number(value: object, where: str) -> Decimal | None:
    return None if value is None else _number(value, where)


def _span(value: object, where: str) -> AgeSpan:
    if not isinstance(value, list) or len(value) != 2:
        raise DataFileError(f"rules.toml: {where}: age must be [from, to]")
    start, end = value
    span = AgeSpan(
        AgeEdge.parse(_text(start, f"{where}: age")),
        AgeEdge.parse(end) if end else None,
    )
    if span.end is not None and span.end.days_range[0] <= span.start.days_range[1]:
        raise DataFileError(f"rules.toml: {where}: age band is empty")
    return span
