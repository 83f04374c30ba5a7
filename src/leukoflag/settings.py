"""Conversion settings: one immutable value object, validated when built, passed explicitly."""

from __future__ import annotations

import codecs
import functools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, NoReturn

from leukoflag._quote import quoted
from leukoflag.errors import SettingsError

__all__ = ["Settings"]

FhirVersion = Literal["R4", "R5"]
BundleType = Literal["transaction", "collection"]
RangePolicy = Literal["lab", "default"]
CtcaeVersion = Literal["5.0", "6.0"]


class _Limits(Mapping[str, Decimal]):
    """A read-only, hashable, picklable mapping (Settings must cross process boundaries)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Decimal]) -> None:
        self._items = tuple(sorted(items.items()))

    def __getitem__(self, key: str) -> Decimal:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __repr__(self) -> str:
        return repr(dict(self._items))

    def __reduce__(self) -> tuple[type[_Limits], tuple[dict[str, Decimal]]]:
        return (_Limits, (dict(self._items),))


# Typical hospital critical-value lists (see reference/clinical.md); a lab overrides per analyte.
_DEFAULT_CRITICAL_LOW: Mapping[str, Decimal] = _Limits({"wbc": Decimal(2000), "anc": Decimal(500)})
# The same, for flagging: below it a count is LL whatever the lab's own range (a configured
# limit above it makes LL only a count low by that range: flag.critical-within-range).
DEFAULT_CRITICAL_LOW = _DEFAULT_CRITICAL_LOW
# The highest plausible blood WBC/ANC count (reference/units.md): a higher limit is a slip.
_HIGHEST_LIMIT = Decimal(1_000_000)
# Counts come in steps of 10 cells/µL (0.01 x10^3/µL): a limit above 0 and below that is one of
# a critical list in 10^3/µL or 10^9/L (0.5 for 500), which would leave every count but 0 above it.
_LOWEST_LIMIT = Decimal(10)
_DEFAULT_FALLBACK = "cp1252"
_FHIR_VERSIONS = ("R4", "R5")
_BUNDLE_TYPES = ("transaction", "collection")
_RANGE_POLICIES = ("lab", "default")
_CTCAE_VERSIONS = ("5.0", "6.0")


@dataclass(frozen=True, slots=True)
class Settings:
    """How to convert. Every field has a safe default; two conversions with different settings
    may run side by side (there is no global state).

    ``critical_low`` maps ``"wbc"``/``"anc"`` to cells/µL limits below which a result is ``LL``.
    ``duffy_null`` holds identifiers of patients *known* to be Duffy-null (PID-3 or
    Patient.identifier values, bare or ``system|value``); ``"*"`` means every patient of this
    conversion (a feed for one patient). It is never inferred from race or ethnicity.
    ``default_timezone`` is an IANA zone name for timestamps sent without an offset.
    ``fallback_charset`` decodes messages whose MSH-18 is absent or wrong (with an Issue).
    ``strict`` validates message structure with hl7apy and output with fhir.resources; a failure
    rejects the message.
    """

    fhir_version: FhirVersion = "R4"
    bundle_type: BundleType = "transaction"
    range_policy: RangePolicy = "lab"
    ctcae_version: CtcaeVersion = "5.0"
    critical_low: Mapping[str, Decimal] = field(default=_DEFAULT_CRITICAL_LOW)
    duffy_null: frozenset[str] = frozenset()
    default_timezone: str | None = None
    fallback_charset: str = _DEFAULT_FALLBACK
    strict: bool = False

    if TYPE_CHECKING:
        # What the constructor accepts (docs/settings.md): limits as numbers or decimal text and
        # any set of identifiers; __post_init__ stores the Decimals and frozenset the fields name.
        def __init__(  # noqa: PLR0917 (positional, as the generated __init__ is)
            self,
            fhir_version: FhirVersion = "R4",
            bundle_type: BundleType = "transaction",
            range_policy: RangePolicy = "lab",
            ctcae_version: CtcaeVersion = "5.0",
            critical_low: Mapping[str, Decimal | int | str] = ...,
            duffy_null: Set[str] = ...,
            default_timezone: str | None = None,
            fallback_charset: str = _DEFAULT_FALLBACK,
            strict: bool = False,
        ) -> None: ...

    def __post_init__(self) -> None:
        # Settings are built once per conversion (or per convert() call): every check is cheap
        # for values left at their defaults, and lookups of names (zones, codecs) are cached.
        if self.fhir_version not in _FHIR_VERSIONS:
            _not_one_of("fhir_version", self.fhir_version, _FHIR_VERSIONS)
        if self.bundle_type not in _BUNDLE_TYPES:
            _not_one_of("bundle_type", self.bundle_type, _BUNDLE_TYPES)
        if self.range_policy not in _RANGE_POLICIES:
            _not_one_of("range_policy", self.range_policy, _RANGE_POLICIES)
        if self.ctcae_version not in _CTCAE_VERSIONS:
            _not_one_of("ctcae_version", self.ctcae_version, _CTCAE_VERSIONS)
        if self.critical_low is not _DEFAULT_CRITICAL_LOW:
            object.__setattr__(self, "critical_low", _critical_limits(self.critical_low))
        if self.duffy_null or type(self.duffy_null) is not frozenset:
            object.__setattr__(self, "duffy_null", _identifiers(self.duffy_null))
        if self.default_timezone is not None:
            _check_zone(self.default_timezone)
        charset: object = self.fallback_charset
        if charset != _DEFAULT_FALLBACK:
            _check_codec(charset)
        if self.strict is not False and self.strict is not True:
            raise SettingsError("strict: must be True or False")

    def critical_low_for(self, analyte: str) -> Decimal:
        """The critical-low limit of ``analyte`` (``"wbc"`` or ``"anc"``) in cells/µL."""
        return self.critical_low[analyte]

    def is_duffy_null(self, identifiers: tuple[str, ...]) -> bool:
        """Whether a patient with these identifier strings was declared Duffy-null."""
        if not self.duffy_null:
            return False
        return "*" in self.duffy_null or any(i in self.duffy_null for i in identifiers)

    def __repr__(self) -> str:
        # An engine logs its settings: the patient identifiers stay out, as in the run report.
        shown = (
            f"{f.name}={_counted(self.duffy_null) if f.name == 'duffy_null' else repr(value)}"
            for f in fields(self)
            for value in (getattr(self, f.name),)
        )
        return f"{type(self).__name__}({', '.join(shown)})"


def _counted(identifiers: frozenset[str]) -> str:
    """``duffy_null`` for a repr: how many identifiers (and ``'*'``), never which."""
    count = len(identifiers - {"*"})
    if not count:
        return repr(identifiers)  # empty, or {'*'}: no patient named
    every = "'*' and " if "*" in identifiers else ""
    return f"<{every}{count} identifier{'' if count == 1 else 's'}>"


def _not_one_of(name: str, value: object, allowed: tuple[str, ...]) -> NoReturn:
    if not isinstance(value, str):  # a float 5.0 would read "5.0 is not one of 5.0, 6.0"
        choices = ", ".join(repr(a) for a in allowed)
        raise SettingsError(
            f"{name}: a string, one of {choices}, not {type(value).__name__} {value!r}"
        )
    raise SettingsError(f"{name}: {value!r} is not one of {', '.join(allowed)}")


def _critical_limits(given: Mapping[str, Decimal | int | str]) -> _Limits:
    """The default limits with ``given`` applied, each checked to be a number from 0 to
    1,000,000 and at most the lowest count a normal range calls low, and kept in its one
    canonical form."""
    if not isinstance(given, Mapping):
        raise SettingsError(
            "critical_low: a mapping of analyte to cells/µL such as {'anc': 500}, "
            f"not {type(given).__name__} {given!r}"
        )
    limits = dict(_DEFAULT_CRITICAL_LOW)
    for analyte, limit in dict(given).items():
        if analyte not in limits:
            raise SettingsError(f"critical_low: unknown analyte {analyte!r} (wbc, anc)")
        try:
            value = Decimal(str(limit))
        except InvalidOperation:
            raise SettingsError(f"critical_low[{analyte!r}]: not a number: {limit!r}") from None
        if not value.is_finite():  # NaN would compare false with every count, ∞ true
            raise SettingsError(f"critical_low[{analyte!r}]: not a finite number: {limit!r}")
        if value < 0:
            raise SettingsError(f"critical_low[{analyte!r}]: must be ≥ 0 cells/µL: {limit!r}")
        if 0 < value < _LOWEST_LIMIT:  # "ANC < 0.5 x10^9/L" of a lab's list, given as 0.5
            meant = f"{_canonical(value.scaleb(3)):,f}"
            raise SettingsError(
                f"critical_low[{analyte!r}]: {limit} cells/µL is below every count a lab sends "
                "but 0 (counts come in steps of 10 cells/µL, 0.01 × 10³/µL): a limit in 10³/µL "
                f"or 10⁹/L, {meant} cells/µL? Give cells/µL (0: no count is critical)"
            )
        if value > _HIGHEST_LIMIT:
            raise SettingsError(
                f"critical_low[{analyte!r}]: must be at most 1,000,000 cells/µL (every plausible "
                f"count would be critical): {quoted(limit)}"
            )
        _check_below_normal(analyte, value, limit)
        limits[analyte] = _canonical(value)
    return _Limits(limits)


def _check_below_normal(analyte: str, value: Decimal, limit: object) -> None:
    """A critical low must be at most the lowest count a patient's normal range or disease
    threshold (flagging/data/rules.toml) calls low: above it, a count normal for that patient
    ('--critical-low wbc=8000': an adult's 6,800) would be LL, critical, with no finding."""
    from leukoflag.flagging._rules import load_rules  # noqa: PLC0415 (only for a limit given)
    from leukoflag.model import Analyte  # noqa: PLC0415

    lowest, rule = load_rules().lowest_low(Analyte(analyte))
    if value > lowest:
        raise SettingsError(
            f"critical_low[{analyte!r}]: {quoted(limit)} cells/µL is not a critical limit: it "
            f"is above {lowest:,f} cells/µL, the lowest count a patient's reference range or "
            f"disease threshold calls low (rule {rule}), so a count normal for such a patient "
            f"would be LL with no finding; give at most {lowest:,f}"
        )


def _canonical(value: Decimal) -> Decimal:
    """``value`` (finite, 0 to 1,000,000) in one form: no trailing zeros after the point, no
    exponent, no sign (750.0, 7.5E+2 and 750 are all 750), as equal Settings give equal output."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if not any(digits):
        return Decimal(0)
    text = "".join(map(str, digits))
    if exponent < 0:  # drop the zeros after the point: at most as many as there are decimals
        kept = max(len(text.rstrip("0")), len(text) + exponent)
        exponent += len(text) - kept
        text = text[:kept]
    if exponent > 0:  # at most 1,000,000: a few zeros written out
        text, exponent = text + "0" * exponent, 0
    return Decimal((0, tuple(map(int, text)), exponent))


def _identifiers(declared: object) -> frozenset[str]:
    """``duffy_null`` as a frozenset, checked to hold identifier strings only (the messages name
    types, never the identifiers of patients)."""
    # bytes iterate as ints: "not int" would name no value that was given
    if isinstance(declared, str | bytes | bytearray) or not isinstance(declared, Iterable):
        kind = "a string" if isinstance(declared, str) else type(declared).__name__
        raise SettingsError(f"duffy_null: a set of patient identifiers, not {kind}")
    if isinstance(declared, Mapping):  # {"MRN-77": False} iterates as its keys: MRN-77 declared
        raise SettingsError(
            f"duffy_null: a set of patient identifiers, not {type(declared).__name__} (a mapping "
            "would declare each of its keys Duffy-null, whatever its value says)"
        )
    try:
        identifiers = frozenset(declared)
    except TypeError as exc:  # a list inside the list
        raise SettingsError(f"duffy_null: identifiers are strings: {exc}") from None
    kinds = sorted({type(i).__name__ for i in identifiers if not isinstance(i, str)})
    if kinds:
        raise SettingsError(
            f"duffy_null: identifiers are strings (a value or system|value), not {', '.join(kinds)}"
        )
    # Matched as the message's identifiers are, stripped: "RB-20417\n" read from a file matches.
    stripped = frozenset(i.strip() for i in identifiers)
    if any(not i.partition("|")[0] or not i.rpartition("|")[2] for i in stripped):
        raise SettingsError(
            "duffy_null: an identifier is blank, or has a blank system or value (system|value), "
            "and would match no patient"
        )
    return stripped


def _check_codec(charset: object) -> None:
    if not isinstance(charset, str):  # b"cp1252" is a codec's name, of the wrong type: not unknown
        raise SettingsError(
            f"fallback_charset: a codec name such as 'cp1252', not {type(charset).__name__}"
        )
    if not _is_codec(charset):
        raise SettingsError(f"fallback_charset: unknown codec {charset!r}")
    if not _decodes_text(charset):
        raise SettingsError(
            f"fallback_charset: {charset!r} does not decode bytes to text "
            "(a character set is needed, e.g. cp1252, latin-1)"
        )
    if not _keeps_ascii(charset):
        raise SettingsError(
            f"fallback_charset: {charset!r} does not read ASCII as ASCII, and the delimiters, "
            "segment names, escapes and times of every HL7 v2 message are ASCII (a wide, EBCDIC "
            "or UTF-7 encoding, or a codec that decodes backslash escapes, cannot be a fallback: "
            "a message in one declares it in MSH-18; e.g. cp1252, latin-1)"
        )


# Files of the zone database that are not zones of a place: output would depend on the host
# (localtime), or be written +00:00 for a clock nobody set (Factory, "-00").
_NOT_ZONES = {
    "localtime": "is this machine's zone, so the output would depend on the host",
    "posixrules": "is the rules file of POSIX TZ strings, not a zone",
    "Factory": "is the zone of a clock nobody set (written +00:00), not a place",
}
# Copies of the database: posix/ the same zones, right/ counting leap seconds (FHIR times do not).
_COPIES = {
    "posix": "is a copy of the zone database",
    "right": "counts leap seconds, which FHIR times do not",
}
# An offset where a zone name belongs: IANA writes a fixed offset as Etc/GMT-5 (sign inverted).
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d\d)?", re.IGNORECASE)


def _check_zone(zone: object) -> None:
    if not isinstance(zone, str):
        raise SettingsError(f"default_timezone: an IANA zone name, not {type(zone).__name__}")
    head, _, rest = zone.partition("/")
    if zone in _NOT_ZONES:
        raise SettingsError(
            f"default_timezone: {zone!r} {_NOT_ZONES[zone]}: name the zone, e.g. 'America/Chicago'"
        )
    if head in _COPIES and rest:
        raise SettingsError(f"default_timezone: {zone!r} {_COPIES[head]}: name {rest!r}")
    if not _is_zone(zone):
        hint = (
            " (a fixed offset is an IANA name too: Etc/GMT+5 is UTC-05:00, its sign inverted)"
            if _OFFSET.fullmatch(zone)
            else ""
        )
        raise SettingsError(f"default_timezone: unknown IANA zone {zone!r}{hint}")


@functools.lru_cache(maxsize=64)
def _is_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone this machine knows (cached: the lookup reads files)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name longer than a file name can be (ENAMETOOLONG) is no zone either
        return False
    return True


@functools.lru_cache(maxsize=64)
def _is_codec(name: str) -> bool:
    """Whether ``name`` is a Python codec."""
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
        return False
    return True


@functools.lru_cache(maxsize=64)
def _decodes_text(name: str) -> bool:
    """Whether codec ``name`` turns any bytes into text, with replacement characters, as the
    fallback must: not rot13 or base64 (not text encodings), nor idna or undefined (which fail)."""
    try:
        b"MSH|\xe9\x80\xff".decode(name, "replace")
    except (LookupError, UnicodeError):
        return False
    return True


# HL7 v2 text a fallback must read unchanged: valid escapes first (so unicode_escape warns
# nothing), a positive offset (UTF-7 reads '+0100' as base64), the MSH line (UTF-16, EBCDIC).
_ASCII_PROBES = (
    b"\\u0041\\x41",
    b"20261124101500+0100",
    b"MSH|^~\\&|LAB|0123456789|abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r",
)


@functools.lru_cache(maxsize=64)
def _keeps_ascii(name: str) -> bool:
    """Whether codec ``name`` reads ASCII bytes as the same characters (not UTF-16, UTF-32,
    EBCDIC, UTF-7 or unicode_escape, which turn an HL7 v2 message into other text)."""
    return all(probe.decode(name, "replace") == probe.decode("ascii") for probe in _ASCII_PROBES)
