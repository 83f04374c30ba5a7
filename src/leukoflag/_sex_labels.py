"""The words and letters a lab writes a range per sex under, read once from
``data/sex_labels.toml`` (each row has a source), and which sex two such labels name.

A word names one sex in every language (``Frauen``, ``Hommes``); a single letter does not (``M``
is men in English and women in Spanish), so letters are read only as a pair that every row
holding it reads the same way, or beside a word, in the word's language.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from leukoflag._quote import quoted
from leukoflag._toml_tables import document, row_text, rows
from leukoflag.errors import DataFileError

__all__ = ["LabelRead", "SexLabels", "fold", "sex_labels"]

_SEXES = ("male", "female")


@dataclass(frozen=True, slots=True)
class LabelRead:
    """A label as sent (``M``, ``Frauen``), the sex it names, and the language(s) it is read in
    (``Spanish, Portuguese``)."""

    label: str
    sex: str
    language: str


@dataclass(frozen=True, slots=True)
class _Pair:
    male: str
    female: str
    language: str


@dataclass(frozen=True, slots=True)
class SexLabels:
    """The table: each word (folded, see :func:`fold`) with its sex and languages, and the
    letter pairs (male letter, female letter, language)."""

    words: Mapping[str, tuple[str, tuple[str, ...]]]
    pairs: tuple[_Pair, ...]
    initials: frozenset[str]  # the folded first letter of every label: most texts stop there

    def known(self, label: str) -> bool:
        """Whether ``label`` (as sent) is a word or a letter of the table."""
        folded = fold(label)
        if len(folded) == 1:
            return any(folded in (p.male, p.female) for p in self.pairs)
        return folded in self.words

    def read_word(self, label: str) -> LabelRead | None:
        """The sex a word alone names (``Frauen``); None for a letter, which names a sex only
        beside the other sex's, or a label not in the table."""
        found = self.words.get(fold(label)) if len(fold(label)) > 1 else None
        return None if found is None else LabelRead(label, found[0], ", ".join(found[1]))

    def read(self, first: str, second: str) -> tuple[LabelRead, LabelRead] | str:
        """The sexes two known labels name, one each; else why they are not read."""
        words = [self.words.get(fold(label)) for label in (first, second)]
        if words[0] is not None and words[1] is not None:
            reads = (
                LabelRead(first, words[0][0], ", ".join(words[0][1])),
                LabelRead(second, words[1][0], ", ".join(words[1][1])),
            )
        elif words[0] is None and words[1] is None:
            found = self._letters(first, second)
            if isinstance(found, str):
                return found
            reads = found
        else:
            word, letter = (first, second) if words[0] is not None else (second, first)
            found = self._letter_beside(letter, word)
            if isinstance(found, str):
                return found
            reads = found if word == first else (found[1], found[0])
        if reads[0].sex == reads[1].sex:
            return f"{quoted(first)} and {quoted(second)} both name {_PLURAL[reads[0].sex]}"
        return reads

    def _letters(self, first: str, second: str) -> tuple[LabelRead, LabelRead] | str:
        a, b = fold(first), fold(second)
        readings: dict[str, list[str]] = {}  # the first letter's sex, with the languages
        for pair in self.pairs:
            if (pair.male, pair.female) in ((a, b), (b, a)):
                readings.setdefault("male" if pair.male == a else "female", []).append(
                    pair.language
                )
        named = f"the letters {quoted(first)} and {quoted(second)}"
        if a == b:
            return f"{quoted(first)} is given twice"
        if not readings:
            return f"{named} are not a pair of sex labels leukoflag knows"
        if len(readings) > 1:
            # M with V: Dutch mannen/vrouwen, Spanish varones/mujeres
            ways = " but ".join(
                f"{quoted(first)} {_PLURAL[sex]} in {', '.join(languages)}"
                for sex, languages in readings.items()
            )
            return f"{named} name men and women either way round ({ways})"
        ((sex, languages),) = readings.items()
        language = ", ".join(languages)
        return LabelRead(first, sex, language), LabelRead(second, _OTHER[sex], language)

    def _letter_beside(self, letter: str, word: str) -> tuple[LabelRead, LabelRead] | str:
        """A letter read in the language(s) of the word beside it (``Male 4.0-10.0 F 4.5-11.0``),
        the word first."""
        word_sex, word_languages = self.words[fold(word)]
        folded = fold(letter)
        sexes: dict[str, list[str]] = {}
        for pair in self.pairs:
            if pair.language in word_languages and folded in (pair.male, pair.female):
                languages = sexes.setdefault("male" if folded == pair.male else "female", [])
                languages.extend(() if pair.language in languages else (pair.language,))
        if len(sexes) != 1:
            return (
                f"{quoted(letter)} names no sex in {', '.join(word_languages)}, the language of "
                f"{quoted(word)} beside it"
                if not sexes
                else f"{quoted(letter)} names men and women in {', '.join(word_languages)}"
            )
        ((sex, languages),) = sexes.items()
        return (
            LabelRead(word, word_sex, ", ".join(word_languages)),
            LabelRead(letter, sex, ", ".join(languages)),
        )


_PLURAL = {"male": "men", "female": "women"}
_OTHER = {"male": "female", "female": "male"}


def fold(label: str) -> str:
    """``label`` as the table keys it: casefolded, without accents or umlauts (``Männer`` and
    ``MANNER`` are ``manner``; ``Varón``, sent precomposed or not, is ``varon``); a single letter
    upper-case, as the pairs are written."""
    folded = label.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.upper() if len(folded) == 1 else folded


@functools.cache
def sex_labels() -> SexLabels:
    """The table, read once per process."""
    return _table(document("sex_labels.toml"))


def _table(document: dict[str, Any]) -> SexLabels:
    words: dict[str, tuple[str, tuple[str, ...]]] = {}
    for row in _rows(document, "words"):
        key = fold(_text(row, "label"))
        sex = _sex(row, "sex")
        language = _text(row, "language")
        _text(row, "source")
        if len(key) < 2:
            raise DataFileError(f"sex labels: a word needs two letters or more: {row!r}")
        known = words.get(key, (sex, ()))
        if known[0] != sex:
            # a word naming either sex would be read as one of them: never in the table
            raise DataFileError(f"sex labels: {row['label']!r} names both sexes")
        words[key] = (sex, (*known[1], language))
    pairs: list[_Pair] = []
    for row in _rows(document, "letters"):
        male, female = fold(_text(row, "male")), fold(_text(row, "female"))
        _text(row, "source")
        if len(male) != 1 or len(female) != 1 or male == female:
            raise DataFileError(f"sex labels: a pair needs two different letters: {row!r}")
        pairs.append(_Pair(male, female, _text(row, "language")))
    initials = frozenset(key[0].upper() for key in words) | frozenset(
        letter for pair in pairs for letter in (pair.male, pair.female)
    )
    return SexLabels(MappingProxyType(words), tuple(pairs), initials)


def _rows(document: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return rows(document, table, "sex labels")


def _text(row: dict[str, Any], key: str) -> str:
    return row_text(row, key, "sex labels")


def _sex(row: dict[str, Any], key: str) -> str:
    value = _text(row, key)
    if value not in _SEXES:
        raise DataFileError(f"sex labels: {key} {value!r} is not one of {_SEXES}")
    return value
