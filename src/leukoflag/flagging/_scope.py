"""Which results are blood WBC/ANC counts: the analyte and specimen tables and their lookups.

Codes win over texts: a LOINC coding decides alone (a LOINC code not in the table is not a count);
without one, local codes and texts (coding displays, CWE.9 original text, ``Concept.text``) are
matched whole, after normalization, against the table: never as substrings, so "Urine WBC",
"WBC esterase" or "Neut %" cannot pass for "WBC" or "Neut #".
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import TypeVar

from leukoflag._cache import text_cache
from leukoflag.errors import DataFileError
from leukoflag.model import Analyte, Coding, Concept

__all__ = [
    "LOINC",
    "SNOMED",
    "AnalyteRow",
    "AnalyteTable",
    "Recognition",
    "SpecimenTable",
    "analyte_table",
    "concept_key",
    "concept_of",
    "name_key",
    "recognize",
    "specimen_class",
    "specimen_table",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
LOCAL = "local"
TEXT = "text"
WORD = "token"  # specimens.csv: a word of a specimen or order text

# What a table row says a result is.
COUNT = "count"  # a blood WBC or ANC count: flagged
ESTIMATE = "estimate"  # a blood WBC estimate: flagged, never graded
SEGMENTED = "segmented"  # segmented neutrophil count: a part of the ANC
BAND = "band"  # band neutrophil count: a part of the ANC
PERCENT = "percent"  # neutrophils per 100 leukocytes: may give a derived ANC
SEGMENTED_PERCENT = "segmented-percent"
BAND_PERCENT = "band-percent"
FRACTION = "fraction"  # another percent/fraction code: never a count
NOT_BLOOD = "not-blood"  # urine, CSF, body fluid, cord blood, buffy coat
UNSPECIFIED_SPECIMEN = "unspecified-specimen"  # LOINC naming no specimen: never flagged
OTHER_ANALYTE = "other-analyte"  # platelets, red cells, esterase …: never a WBC/ANC
KINDS = (
    COUNT,
    ESTIMATE,
    SEGMENTED,
    BAND,
    PERCENT,
    SEGMENTED_PERCENT,
    BAND_PERCENT,
    FRACTION,
    NOT_BLOOD,
    UNSPECIFIED_SPECIMEN,
    OTHER_ANALYTE,
)
# A code of a WBC/ANC LOINC row under a local coding system: not a count, and said so.
LOINC_UNDER_LOCAL = "loinc-under-local"
EXCLUDING = frozenset({NOT_BLOOD, UNSPECIFIED_SPECIMEN, OTHER_ANALYTE, FRACTION, LOINC_UNDER_LOCAL})
BLOOD = "blood"
_LOINC_NAMES = frozenset({"LN", "LOINC"})
_SNOMED_NAMES = frozenset({"SCT", "SNM", "SNOMED", "SNOMEDCT", "SNOMED-CT"})
# Words that never change what a result name means ("WBC, blood", "WBC (auto)").
_NOISE = frozenset({"auto", "automated", "blood", "bld"})
_TOKEN = re.compile(r"[^\W_]+|[#%]")
_K = TypeVar("_K")


def name_key(text: str, *, noise: frozenset[str] = _NOISE) -> tuple[str, ...]:
    """A result name or code as a sorted tuple of words, accents and case removed.

    ``#`` and ``%`` are words of their own ("Neut #" ≠ "Neut %"); punctuation separates words;
    word order does not matter ("Neutrophils, absolute" = "Absolute neutrophils").
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return tuple(sorted(word for word in _TOKEN.findall(plain) if word not in noise))


# --------------------------------------------------------------------------- analytes


@dataclass(frozen=True, slots=True)
class AnalyteRow:
    """One row of ``analytes.csv``."""

    code: str
    system: str  # http://loinc.org, local (any other code system) or text
    kind: str
    analyte: Analyte | None
    display: str
    source: str


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a result's code says it is, and how that was found."""

    kind: str
    analyte: Analyte | None
    via: str  # loinc, local, text
    matched: str  # for Issue texts: 'LOINC 6690-2', 'local code "WBC"', 'text "White cell count"'
    conflict: str = ""  # set when the codes and texts disagree: nothing was recognized

    @property
    def is_count(self) -> bool:
        return self.kind in (COUNT, ESTIMATE) and not self.conflict


@dataclass(frozen=True, slots=True, eq=False)
class AnalyteTable:
    rows: tuple[AnalyteRow, ...]
    by_loinc: Mapping[str, AnalyteRow]
    by_local: Mapping[tuple[str, ...], AnalyteRow]
    by_text: Mapping[tuple[str, ...], AnalyteRow]
    loinc_to_add: Mapping[Analyte, Coding]  # 26464-8 / 26499-4, display from the table
    # SNOMED CT concept ids (a table built by hand without them reads none)
    by_snomed: Mapping[str, AnalyteRow] = field(default_factory=lambda: MappingProxyType({}))

    def recognize(self, concept: Concept) -> Recognition | None:
        """The table's reading of ``concept`` (None: not a result leukoflag knows)."""
        loinc = [c for c in concept.codings if _is_loinc(c)]
        if loinc:
            # LOINC decides alone; a LOINC code outside the table is some other analyte.
            rows = [(c, self.by_loinc.get(c.code.strip())) for c in loinc]
            known = [(c, row) for c, row in rows if row is not None]
            if not known:
                return None
            return _agree(
                [(row, f"LOINC {coding.code.strip()}") for coding, row in known], via="loinc"
            )
        matches: list[tuple[AnalyteRow, str]] = []
        for coding in concept.codings:
            if coding.system == SNOMED or coding.system_name.upper() in _SNOMED_NAMES:
                # a SNOMED CT concept id is no lab's local code: read by the table's rows only
                row = self.by_snomed.get(coding.code.strip())
                if row is not None:
                    matches.append((row, f"SNOMED CT {coding.code.strip()}"))
                continue
            if not (coding.system or coding.system_name):
                # A code of the table's LOINC counts sent without a coding system (an empty
                # OBX-3.3, a FHIR coding without system): LOINC's own code, not a local one.
                row = self.by_loinc.get(coding.code.strip())
                if row is not None:
                    matches.append((row, f'code "{coding.code}" (LOINC, without its system)'))
                    continue
            row = self.by_local.get(name_key(coding.code)) if coding.code else None
            if row is not None:
                matches.append((row, f'local code "{coding.code}"'))
        texts = [c.display for c in concept.codings if c.display]
        if concept.text:
            texts.append(concept.text)
        for text in texts:
            row = self.by_text.get(name_key(text))
            if row is not None:
                matches.append((row, f'text "{text}"'))
        if not matches:
            return self._loinc_under_local(concept)
        if any(row.kind in EXCLUDING for row, _ in matches):
            # One code or text naming urine, platelets … is enough to keep a result out.
            row, matched = next((r, m) for r, m in matches if r.kind in EXCLUDING)
            return Recognition(row.kind, None, _via(matched), matched)
        words = specimen_table().words
        for text in texts:
            # "WBC^CSF WBC": a name with a non-blood specimen word is not a blood count.
            if any(words.get(word) == NOT_BLOOD for word in name_key(text, noise=frozenset())):
                return Recognition(NOT_BLOOD, None, TEXT, f'text "{text}"')
        return _agree(matches, via="")

    def _loinc_under_local(self, concept: Concept) -> Recognition | None:
        """A code of the table's WBC/ANC LOINC rows sent under another (local) coding system:
        not read as LOINC (a lab's own table may give it any meaning), but said."""
        for coding in concept.codings:
            row = self.by_loinc.get(coding.code.strip())
            if row is not None and row.analyte is not None:
                system = coding.system_name or coding.system
                return Recognition(
                    LOINC_UNDER_LOCAL,
                    None,
                    "local",
                    f'code "{coding.code}" of the coding system "{system}", which is LOINC '
                    f"{row.code} ({row.display}) in form",
                )
        return None


def _agree(matches: list[tuple[AnalyteRow, str]], *, via: str) -> Recognition:
    first, matched = matches[0]
    for row, other in matches[1:]:
        if (row.kind, row.analyte) != (first.kind, first.analyte):
            return Recognition(
                first.kind,
                None,
                via or _via(matched),
                matched,
                conflict=f"{matched} names {_what(first)} but {other} names {_what(row)}",
            )
    analyte = first.analyte if first.kind not in EXCLUDING else None
    return Recognition(first.kind, analyte, via or _via(matched), matched)


def _what(row: AnalyteRow) -> str:
    return f"{row.analyte.value.upper()} ({row.kind})" if row.analyte else row.kind


def _via(matched: str) -> str:
    # a SNOMED CT code is read as a local one is: LOINC's coding is added, the order checked
    return "local" if matched.startswith(("local", "SNOMED")) else "text"


# reference/clinical.md: WBC counts corrected for nucleated red cells, the WBC an ANC is of.
NRBC_CORRECTED = frozenset({"33256-9", "12227-5"})


def nrbc_corrected(concept: Concept) -> bool:
    """Whether ``concept`` codes a WBC corrected for nucleated red cells (a LOINC coding, or
    LOINC's code sent without a coding system, of :data:`NRBC_CORRECTED`)."""
    return any(
        coding.code.strip() in NRBC_CORRECTED
        and (_is_loinc(coding) or not (coding.system or coding.system_name))
        for coding in concept.codings
    )


def _is_loinc(coding: Coding) -> bool:
    return coding.system == LOINC or coding.system_name.upper() in _LOINC_NAMES


@functools.cache
def analyte_table() -> AnalyteTable:
    """The packaged analyte table, read and checked once per process."""
    rows = tuple(_analyte_rows(_read_csv("analytes.csv")))
    by_loinc: dict[str, AnalyteRow] = {}
    by_local: dict[tuple[str, ...], AnalyteRow] = {}
    by_text: dict[tuple[str, ...], AnalyteRow] = {}
    by_snomed: dict[str, AnalyteRow] = {}
    for row in rows:
        if row.system == LOINC:
            _put(by_loinc, row.code, row)
        elif row.system == SNOMED:
            _put(by_snomed, row.code, row)
        else:
            key = name_key(row.code)
            if not key:
                raise DataFileError(f"analytes.csv: {row.code!r} has no words to match")
            _put(by_local if row.system == LOCAL else by_text, key, row)
    loinc_to_add = {}
    for analyte, code in ((Analyte.WBC, "26464-8"), (Analyte.ANC, "26499-4")):
        listed = by_loinc.get(code)
        if listed is None or listed.analyte is not analyte:
            raise DataFileError(f"analytes.csv: LOINC {code} ({analyte}) is missing")
        loinc_to_add[analyte] = Coding(code=code, display=listed.display, system=LOINC)
    return AnalyteTable(
        rows=rows,
        by_loinc=MappingProxyType(by_loinc),
        by_local=MappingProxyType(by_local),
        by_text=MappingProxyType(by_text),
        loinc_to_add=MappingProxyType(loinc_to_add),
        by_snomed=MappingProxyType(by_snomed),
    )


def recognize(concept: Concept) -> Recognition | None:
    """:meth:`AnalyteTable.recognize` with the packaged table, cached: feeds repeat the same
    codes (a CBC's hemoglobin costs one lookup)."""
    codings = concept.codings
    if len(codings) == 1 and codings[0].system == LOINC:
        # The usual OBX-3 or Observation.code: a LOINC coding decides alone, by its code, so
        # the code is the whole key (no tuple built, no long display or system hashed).
        return _recognized_loinc(codings[0].code)
    return _recognized(*concept_key(concept))


@text_cache(4096, texts=0)
def _recognized(*key: str) -> Recognition | None:
    return analyte_table().recognize(concept_of(key))


@text_cache(4096)
def _recognized_loinc(code: str) -> Recognition | None:
    return analyte_table().recognize(Concept((Coding(code, system=LOINC),)))


def concept_key(concept: Concept) -> tuple[str, ...]:
    """Everything the tables read of ``concept`` as plain strings (its text, then each coding's
    code, display, system and system name): the cache key of :func:`recognize` and
    :func:`specimen_class`, hashed and compared far faster than the dataclasses it comes from
    (a reader builds new, equal Concepts for every message)."""
    codings = concept.codings
    if len(codings) == 1:  # the usual OBX-3 or Observation.code
        coding = codings[0]
        return (concept.text, coding.code, coding.display, coding.system, coding.system_name)
    key = [concept.text]
    for coding in codings:
        key += (coding.code, coding.display, coding.system, coding.system_name)
    return tuple(key)


def concept_of(key: tuple[str, ...]) -> Concept:
    """The concept a :func:`concept_key` describes (without coding versions, which no table
    reads)."""
    codings = tuple(Coding(*key[start : start + 4]) for start in range(1, len(key), 4))
    return Concept(codings, key[0])


def _analyte_rows(records: Iterable[dict[str, str]]) -> Iterable[AnalyteRow]:
    for number, record in enumerate(records, start=2):
        where = f"analytes.csv line {number}"
        code, system, kind = record["code"].strip(), record["system"], record["kind"]
        if not code or system not in (LOINC, SNOMED, LOCAL, TEXT):
            raise DataFileError(
                f"{where}: code and system (LOINC or SNOMED CT URI, local, text) required"
            )
        if kind not in KINDS:
            raise DataFileError(f"{where}: unknown kind {kind!r}")
        analyte = Analyte(record["analyte"]) if record["analyte"] else None
        if (kind in EXCLUDING) != (analyte is None):
            raise DataFileError(f"{where}: analyte must be set exactly for in-scope kinds")
        if not record["source"]:
            raise DataFileError(f"{where}: every row needs a source")
        yield AnalyteRow(code, system, kind, analyte, record["display"], record["source"])


def _put(index: dict[_K, AnalyteRow], key: _K, row: AnalyteRow) -> None:
    known = index.get(key)
    if known is not None and (known.kind, known.analyte) != (row.kind, row.analyte):
        raise DataFileError(f"analytes.csv: {row.code!r} conflicts with {known.code!r}")
    index.setdefault(key, row)


# --------------------------------------------------------------------------- specimens


@dataclass(frozen=True, slots=True, eq=False)
class SpecimenTable:
    """Specimen codes (HL7 table 0487, SNOMED CT, LOINC order panels) and words."""

    rows: tuple[tuple[str, str, str, str, str], ...]  # code, system, class, display, source
    v2: Mapping[str, str]  # table 0487 code (upper case) → class
    snomed: Mapping[str, str]
    loinc: Mapping[str, str]
    words: Mapping[str, str]

    def classify(self, concept: Concept | None) -> str:
        """``blood``, ``not-blood`` or ``""`` (unknown) for a specimen or order concept."""
        if concept is None:
            return ""
        classes = set()
        for coding in concept.codings:
            code = coding.code.strip()
            if not code:
                continue
            if coding.system == SNOMED or coding.system_name.upper() in _SNOMED_NAMES:
                found = self.snomed.get(code, "")
            elif _is_loinc(coding):
                found = self.loinc.get(code, "")
            else:  # v2 table 0487, or a local system using its codes
                found = self.v2.get(code.upper(), "")
            if found:
                classes.add(found)
        if not classes:
            texts = [c.display for c in concept.codings if c.display]
            texts.append(concept.text)
            for text in texts:
                classes.update(self.words.get(w, "") for w in name_key(text, noise=frozenset()))
            classes.discard("")
        if NOT_BLOOD in classes:
            return NOT_BLOOD
        return BLOOD if BLOOD in classes else ""


@functools.cache
def specimen_table() -> SpecimenTable:
    """The packaged specimen table, read and checked once per process."""
    rows = []
    v2: dict[str, str] = {}
    snomed: dict[str, str] = {}
    loinc: dict[str, str] = {}
    words: dict[str, str] = {}
    targets = {V2_0487: v2, SNOMED: snomed, LOINC: loinc, WORD: words}
    for number, record in enumerate(_read_csv("specimens.csv"), start=2):
        code, system, klass = record["code"].strip(), record["system"], record["class"]
        target = targets.get(system)
        if not code or target is None or klass not in (BLOOD, NOT_BLOOD) or not record["source"]:
            raise DataFileError(f"specimens.csv line {number}: malformed row")
        key = code.upper() if system == V2_0487 else code
        if key in target:
            raise DataFileError(f"specimens.csv line {number}: {code!r} listed twice")
        target[key] = klass
        rows.append((code, system, klass, record["display"], record["source"]))
    return SpecimenTable(
        rows=tuple(rows),
        v2=MappingProxyType(v2),
        snomed=MappingProxyType(snomed),
        loinc=MappingProxyType(loinc),
        words=MappingProxyType(words),
    )


def specimen_class(concept: Concept | None) -> str:
    """:meth:`SpecimenTable.classify` with the packaged table, cached like :func:`recognize`."""
    return "" if concept is None else _specimen_class(*concept_key(concept))


@text_cache(1024, texts=0)
def _specimen_class(*key: str) -> str:
    return specimen_table().classify(concept_of(key))


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("leukoflag.flagging").joinpath(f"data/{name}").read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    records = list(reader)
    for number, record in enumerate(records, start=2):
        if None in record or any(value is None for value in record.values()):
            raise DataFileError(f"{name} line {number}: wrong number of columns")
    return records
