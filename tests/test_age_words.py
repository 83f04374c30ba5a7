"""data/age_words.toml: every row has a source, and no word names two units (it would judge a
patient by a range for other ages)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from leukoflag._age_words import age_words, table
from leukoflag.errors import DataFileError


def _document() -> dict[str, Any]:
    text = resources.files("leukoflag").joinpath("data", "age_words.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_every_row_names_its_source() -> None:
    rows = _document()["words"]
    assert rows
    assert all(row["source"].strip() for row in rows)


def test_words_are_read_without_their_accents() -> None:
    words = age_words()
    assert (words["anos"], words["miesiecy"], words["ar"]) == ("year", "month", "year")


def test_a_word_listed_for_two_units_is_a_data_file_error() -> None:
    document = _document()
    document["words"].append(
        {"word": "Jahre", "unit": "month", "language": "German", "source": "a mistake"}
    )
    with pytest.raises(DataFileError, match="'Jahre' names two units"):
        table(document)


def test_one_letter_is_a_data_file_error() -> None:
    # J: Jahr in German, jour in French
    document = _document()
    document["words"].append({"word": "J", "unit": "year", "language": "German", "source": "x"})
    with pytest.raises(DataFileError, match="'J' is no word"):
        table(document)
