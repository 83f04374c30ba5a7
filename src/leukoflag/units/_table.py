"""The unit data file (``data/units.toml``): loading, checking, and spelling lookup.

Lookup order (the first that finds a row wins):

1. exact: the spelling as sent, character for character;
2. tolerant: both sides put in :func:`canonical` form (whitespace, µ/μ/mc → u, x/X/× → x,
   ``^``/``E``/``*``/``()``/superscript exponents → ``^``, HL7 ``\\S\\`` → ``^``, the cubic
   millimetre ``cumm``/``cu mm``/``cmm`` → ``mm3``), case kept;
3. case-insensitive: as 2 after case folding, only against rows marked ``fold = true``;
4. a spelling holding a UCUM annotation (``10*3{cells}/uL``) that none of these reads is looked
   up again without it (UCUM §12: an annotation does not change the unit).

A spelling no row reads may be refused on purpose by a ``[refused]`` row (``/L``: reading it
would be a gross error), matched in any case and tolerantly: :meth:`UnitTable.refusal`.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

from leukoflag.errors import DataFileError

__all__ = [
    "DataKind",
    "Match",
    "Reading",
    "RefusedRow",
    "SpellingRow",
    "UcumEntry",
    "UnitTable",
    "canonical",
    "cited",
    "default_table",
    "load_table",
    "without_annotations",
]


class DataKind(StrEnum):
    """The ``kind`` column of a UCUM code in the data file."""

    COUNT = "count"
    PERCENT = "percent"
    FRACTION = "fraction"
    RED_CELL = "red-cell"
    MASS = "mass"
    PER_FIELD = "per-field"
    OTHER = "other"


class Match(StrEnum):
    """How a unit was found."""

    EXACT = "exact"  # the spelling is a row, character for character
    UCUM_CODE = "ucum-code"  # Quantity.code / CWE.1 with the UCUM system is a known UCUM code
    TOLERANT = "tolerant"  # equal to a row after canonical(), case kept
    CASE_INSENSITIVE = "case-insensitive"  # equal to a fold=true row after case folding
    INFERRED = "inferred"  # no unit was sent; the data file's missing-unit rule chose it
    CHARSET = "charset-repaired"  # a row once UTF-8 read as Latin-1 is undone (cells/ÂµL)


@dataclass(frozen=True, slots=True)
class UcumEntry:
    """One ``[ucum."<code>"]`` table: what a UCUM code is and its documented factor."""

    code: str
    kind: DataKind
    factor: Decimal | None
    meaning: str
    source: str


@dataclass(frozen=True, slots=True)
class SpellingRow:
    """One ``[spellings]`` row."""

    spelling: str
    ucum: str
    fold: bool
    seen: str


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """One ``[refused]`` row: a spelling refused on purpose, and why."""

    spelling: str
    why: str
    seen: str


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read a value sent without a unit (``[missing_unit].readings``)."""

    ucum: str
    whole_numbers_only: bool


@dataclass(frozen=True, slots=True)
class UnitTable:
    """The whole data file, indexed for lookup. Build with :func:`load_table`."""

    ucum: Mapping[str, UcumEntry]
    rows: tuple[SpellingRow, ...]
    sources: Mapping[str, str]
    plausible_low: Decimal
    plausible_high: Decimal
    plausible_source: str
    readings: tuple[Reading, ...]
    missing_unit_source: str
    exact: Mapping[str, SpellingRow]
    tolerant: Mapping[str, SpellingRow]
    folded: Mapping[str, SpellingRow]
    refused_rows: tuple[RefusedRow, ...]
    # the first [refused] row of each refused_form(); consulted only for a spelling no row reads
    refused: Mapping[str, RefusedRow]
    # [annotations]: words of an annotation naming another analyte ({Platelets}: platelet)
    other_analyte_annotations: frozenset[str] = frozenset()
    annotations_source: str = ""
    # [annotations] wbc / anc: words of an annotation naming one of the two counts ({Neutrophils})
    count_annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def annotated_count(self, spelling: str) -> str | None:
        """The count (``wbc`` or ``anc``) an annotation of ``spelling`` names (``anc`` for
        ``10*3{Neutrophils}/uL``), or None."""
        for match in _ANNOTATION_TEXT.finditer(spelling):
            count = self.count_annotations.get(annotation_word(match.group(1)))
            if count is not None:
                return count
        return None

    def annotated_analyte(self, spelling: str) -> str | None:
        """The annotation of ``spelling`` that names another analyte than white cells
        (``{Platelets}`` of ``10*3{Platelets}/uL``), as sent, or None."""
        for match in _ANNOTATION_TEXT.finditer(spelling):
            if annotation_word(match.group(1)) in self.other_analyte_annotations:
                return match.group(0)
        return None

    def refusal(self, spelling: str) -> RefusedRow | None:
        """The ``[refused]`` row ``spelling`` matches, in any case and tolerantly, or None
        (an annotation left out: ``{cells}/L`` is ``/L``)."""
        row = self.refused.get(refused_form(spelling))
        if row is None and "{" in spelling:
            row = self.refused.get(refused_form(without_annotations(spelling)))
        return row

    def lookup(self, spelling: str) -> tuple[SpellingRow, Match] | None:
        """The row ``spelling`` means and how it matched, or None when it is unknown."""
        row = self.exact.get(spelling)
        if row is not None:
            return row, Match.EXACT
        row = self.tolerant.get(canonical(spelling))
        if row is not None:
            return row, Match.TOLERANT
        row = self.folded.get(canonical(spelling.casefold()))
        if row is not None:
            return row, Match.CASE_INSENSITIVE
        if "{" in spelling:  # rare: a UCUM annotation (10*3{cells}/uL) no row spells
            bare = without_annotations(spelling)
            if bare and bare != spelling and self.annotated_analyte(spelling) is None:
                return self.lookup(bare)
        return None


# --------------------------------------------------------------------------------- canonical form

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_WHITESPACE = re.compile(r"\s+")
# "mc" as the micro prefix: mcL, mcl, mcg, mcmol
_MC_PREFIX = re.compile(r"mc(?=[Llg]|mol)")
# x, X or × as "times" before a number
_TIMES = re.compile(r"[xX×](?=\d)")
# 10^3, 10E3, 10e3, 10*3, 10**3, 10(3), 10^(3), 10^-3 → 10^3
_TEN_POWER = re.compile(
    r"(?<!\d)10(?:\^|\*\*|\*|E|e)?\((-?\d+)\)|(?<!\d)10(?:\^|\*\*|\*|E|e)(-?\d+)"
)
# mm^3 → mm3 (UCUM writes exponents of unit symbols without a caret)
_SYMBOL_POWER = re.compile(r"(?<=[A-Za-z\]])\^(-?\d+)")
# cumm, cu mm, cu.mm, cmm (US labs' cubic millimetre, after whitespace is gone) → mm3 (UCUM)
_CUBIC_MM = re.compile(r"(?<=/)(?:cu\.?mm|c\.?mm)(?![A-Za-z0-9])")


def canonical(spelling: str) -> str:
    """The form two spellings share when they differ only in ways that cannot change meaning.

    Case is kept (``G/L`` giga per litre and ``g/L`` grams per litre stay apart).
    """
    text = spelling.replace("\\S\\", "^")  # HL7 escape of the component separator
    text = _WHITESPACE.sub("", text)
    text = text.replace("µ", "u").replace("μ", "u")  # micro sign U+00B5, Greek mu U+03BC
    text = _MC_PREFIX.sub("u", text)
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), text)
    text = _TIMES.sub("x", text)
    text = _TEN_POWER.sub(lambda m: "10^" + (m.group(1) or m.group(2)), text)
    text = _SYMBOL_POWER.sub(r"\1", text)
    if "mm" in text:
        text = _CUBIC_MM.sub("mm3", text)
    if text.startswith("x") and text[1:2].isdigit():
        text = text[1:]  # "x10^9/L" and "10^9/L" say the same
    return text


# UCUM §12 (curly braces, https://ucum.org/ucum): an annotation has no meaning for the unit,
# 10*3{cells}/uL is 10*3/uL, {cells}/uL is /uL; with the '.' that multiplies it (10*3.{cells}/uL)
_ANNOTATION = re.compile(r"\.?\{[^{}]*\}")
_STRAY_PRODUCT = re.compile(r"^\.|(?<=/)\.")


_ANNOTATION_TEXT = re.compile(r"\{([^{}]*)\}")
_ANNOTATION_SEPARATORS = re.compile(r"[\s_.'\u2019-]+")


def annotation_word(text: str) -> str:
    """An annotation's text as ``[annotations]`` lists it: casefolded, without spaces, ``-``,
    ``_``, ``.`` or apostrophes, one final ``s``, a final word ``count`` and again one final ``s``
    (``Red blood cells`` → ``redbloodcell``, ``PLT's`` → ``plt``, ``Retic counts`` → ``retic``)."""
    word = _ANNOTATION_SEPARATORS.sub("", text.casefold()).removesuffix("s")
    return word.removesuffix("count").removesuffix("s") if word.endswith("count") else word


def without_annotations(spelling: str) -> str:
    """``spelling`` without its UCUM annotations (``10*3{cells}/uL`` → ``10*3/uL``); ``""`` for an
    annotation alone (``{cells}``, UCUM's unity, which names no count)."""
    return _STRAY_PRODUCT.sub("", _ANNOTATION.sub("", spelling)).strip()


def utf8_read_as_latin1(spelling: str) -> str | None:
    """``spelling`` as its sender wrote it when it is UTF-8 read as Latin-1 or Windows-1252
    (``cells/ÂµL`` is ``cells/µL``), else None. Unambiguous: such text decodes as UTF-8 only
    by that accident."""
    if spelling.isascii():
        return None
    for charset in ("latin-1", "cp1252"):
        try:
            repaired = spelling.encode(charset).decode("utf-8")
        except UnicodeError:
            continue
        return repaired if repaired != spelling else None
    return None


def refused_form(spelling: str) -> str:
    """The form a ``[refused]`` row matches in: canonical and case-folded (a refusal in any case
    is safe: it never reads a value, and no row of another meaning may share the form)."""
    return canonical(spelling.casefold())


# --------------------------------------------------------------------------------- loading


@functools.cache
def default_table() -> UnitTable:
    """The packaged table, loaded once per process on first use."""
    text = resources.files("leukoflag.units").joinpath("data/units.toml").read_text("utf-8")
    return load_table(text, origin="leukoflag/units/data/units.toml")


def load_table(text: str, *, origin: str = "<units table>") -> UnitTable:
    """Parse and index a units data file; raises :class:`DataFileError` when it is malformed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{origin}: not valid TOML: {exc}") from None
    try:
        return _build(data, origin)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataFileError(f"{origin}: {type(exc).__name__}: {exc}") from None


def _build(data: dict[str, Any], origin: str) -> UnitTable:
    sources = {name: _text(data["sources"], name) for name in data["sources"]}
    ucum = {code: _ucum_entry(code, entry) for code, entry in data["ucum"].items()}
    rows = tuple(_row(raw) for raw in data["spellings"]["rows"])
    refused_rows = tuple(
        RefusedRow(_text(raw, "spelling"), _text(raw, "why"), _text(raw, "seen"))
        for raw in data.get("refused", {}).get("rows", ())
    )
    annotations = data.get("annotations", {"other_analytes": [], "source": ""})
    citations = [
        *(row.seen for row in rows),
        *(row.seen for row in refused_rows),
        *(entry.source for entry in ucum.values()),
        _text(data["plausible"], "source"),
        _text(data["missing_unit"], "source"),
        *([annotations["source"]] if annotations["source"] else []),
    ]
    for citation in citations:
        for name in cited(citation):
            if name not in sources:
                raise DataFileError(f"{origin}: {citation!r} cites {name!r}, not in [sources]")
    for row in rows:
        if row.ucum not in ucum:
            raise DataFileError(f"{origin}: {row.spelling!r} maps to unknown UCUM {row.ucum!r}")
    plausible = data["plausible"]
    missing = data["missing_unit"]
    readings = tuple(
        Reading(_text(r, "ucum"), _flag(r, "whole_numbers_only")) for r in missing["readings"]
    )
    for reading in readings:
        if reading.ucum not in ucum or ucum[reading.ucum].kind is not DataKind.COUNT:
            raise DataFileError(f"{origin}: missing-unit reading {reading.ucum!r} is not a count")
    refused: dict[str, RefusedRow] = {}
    for refused_row in refused_rows:
        refused.setdefault(refused_form(refused_row.spelling), refused_row)
    for row in rows:
        if refused_form(row.spelling) in refused:
            raise DataFileError(
                f"{origin}: {row.spelling!r} is a [spellings] row and refused in [refused]"
            )
    other_analytes = frozenset(annotation_word(word) for word in annotations["other_analytes"])
    count_annotations: dict[str, str] = {}
    for count in ("wbc", "anc"):
        for word in map(annotation_word, annotations.get(count, ())):
            if word in other_analytes or count_annotations.setdefault(word, count) != count:
                raise DataFileError(f"{origin}: annotation word {word!r} names two analytes")
    low, high = Decimal(_text(plausible, "low")), Decimal(_text(plausible, "high"))
    if not low <= high:
        raise DataFileError(f"{origin}: plausible low {low} is above high {high}")
    return UnitTable(
        ucum=MappingProxyType(ucum),
        rows=rows,
        sources=MappingProxyType(sources),
        plausible_low=low,
        plausible_high=high,
        plausible_source=_text(plausible, "source"),
        readings=readings,
        missing_unit_source=_text(missing, "source"),
        exact=MappingProxyType(_index(rows, lambda r: r.spelling, origin, "spelling")),
        tolerant=MappingProxyType(_index(rows, lambda r: canonical(r.spelling), origin, "form")),
        folded=MappingProxyType(_folded_index(rows, origin)),
        refused_rows=refused_rows,
        refused=MappingProxyType(refused),
        other_analyte_annotations=other_analytes,
        annotations_source=str(annotations["source"]),
        count_annotations=MappingProxyType(count_annotations),
    )


_CITED = re.compile(r"[^\s:;(]+")


def cited(citation: str) -> list[str]:
    """The source names a ``seen``/``source`` text cites: the first word of each ``;`` part
    (``"ref (UCUM code); USCore"`` → ``["ref", "USCore"]``)."""
    names = []
    for part in citation.split(";"):
        match = _CITED.match(part.strip())
        if match is None:
            raise ValueError(f"citation {citation!r} has an empty part")
        names.append(match.group(0))
    return names


def _ucum_entry(code: str, entry: dict[str, Any]) -> UcumEntry:
    factor = entry.get("factor")
    return UcumEntry(
        code=code,
        kind=DataKind(_text(entry, "kind")),
        factor=Decimal(factor) if isinstance(factor, str) else None,
        meaning=_text(entry, "meaning"),
        source=_text(entry, "source"),
    )


def _row(raw: dict[str, Any]) -> SpellingRow:
    return SpellingRow(
        spelling=_text(raw, "spelling"),
        ucum=_text(raw, "ucum"),
        fold=_flag(raw, "fold"),
        seen=_text(raw, "seen"),
    )


def _text(table: dict[str, Any], key: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _flag(table: dict[str, Any], key: str) -> bool:
    value = table[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key!r} must be true or false, got {value!r}")
    return value


def _index(
    rows: tuple[SpellingRow, ...], key: Any, origin: str, what: str
) -> dict[str, SpellingRow]:
    index: dict[str, SpellingRow] = {}
    for row in rows:
        existing = index.setdefault(key(row), row)
        if existing.ucum != row.ucum:
            raise DataFileError(
                f"{origin}: {existing.spelling!r} ({existing.ucum}) and {row.spelling!r} "
                f"({row.ucum}) have the same {what} {key(row)!r}"
            )
    return index


def _folded_index(rows: tuple[SpellingRow, ...], origin: str) -> dict[str, SpellingRow]:
    """Case-folded forms of fold=true rows; a fold=true row may not fold onto a row of another
    meaning, whatever that row's own fold flag (``g/l`` must never reach ``G/L``)."""
    every: dict[str, list[SpellingRow]] = {}
    for row in rows:
        every.setdefault(canonical(row.spelling.casefold()), []).append(row)
    index: dict[str, SpellingRow] = {}
    for key, group in every.items():
        folding = [row for row in group if row.fold]
        if not folding:
            continue
        meanings = {row.ucum for row in group}
        if len(meanings) > 1:
            shown = ", ".join(f"{row.spelling!r} ({row.ucum})" for row in group)
            raise DataFileError(f"{origin}: case folding would merge {shown}; set fold = false")
        index[key] = folding[0]
    return index
