"""The words a lab writes ages in other than English (``Jahre``, ``mois``, ``años``), read once
from ``data/age_words.toml`` (each row has a source), each with the calendar unit it names."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

from leukoflag._sex_labels import fold
from leukoflag.errors import DataFileError

__all__ = ["age_words"]

_UNITS = ("year", "month", "week", "day")


@functools.cache
def age_words() -> Mapping[str, str]:
    """Each word, folded as sex labels are (casefolded, without accents), and its unit."""
    text = resources.files("leukoflag").joinpath("data", "age_words.toml").read_text("utf-8")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"data/age_words.toml: {exc}") from None
    return table(document)


def table(document: dict[str, Any]) -> Mapping[str, str]:
    """The words of ``document`` and their units; DataFileError for a row that is not one."""
    rows = document.get("words")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise DataFileError("age words: table 'words' is missing or empty")
    words: dict[str, str] = {}
    for row in rows:
        for key in ("word", "unit", "language", "source"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataFileError(f"age words: row {row!r} needs a non-empty {key!r}")
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
