"""The words a lab writes ages in other than English (``Jahre``, ``mois``, ``años``), read once
from ``data/age_words.toml`` (each row has a source), each with the calendar unit it names."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from leukoflag._sex_labels import fold
from leukoflag._toml_tables import document, row_text, rows
from leukoflag.errors import DataFileError

__all__ = ["age_words"]

_UNITS = ("year", "month", "week", "day")


@functools.cache
def age_words() -> Mapping[str, str]:
    """Each word, folded as sex labels are (casefolded, without accents), and its unit."""
    return table(document("age_words.toml"))


def table(found: dict[str, Any]) -> Mapping[str, str]:
    """The words of ``found`` and their units; DataFileError for a row that is not one."""
    words: dict[str, str] = {}
    for row in rows(found, "words", "age words"):
        for key in ("word", "unit", "language", "source"):
            row_text(row, key, "age words")
        word, unit = fold(row["word"]), row["unit"]
        if unit not in _UNITS:
            raise DataFileError(f"age words: unit {unit!r} is not one of {_UNITS}")
        if len(word) < 2 or not word.isalpha():
            # one letter names different units in different languages (J: Jahr, jour)
            raise DataFileError(f"age words: {row['word']!r} is no word of two letters or more")
        if words.get(word, unit) != unit:
            raise DataFileError(f"age words: {row['word']!r} names two units")
        words[word] = unit
    return MappingProxyType(words)
