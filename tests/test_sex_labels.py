"""data/sex_labels.toml: every row has a source, no word names both sexes, and two letters are read
only when every language listing them reads them the same way."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from leukoflag._sex_labels import LabelRead, _table, fold, sex_labels
from leukoflag.errors import DataFileError


def _document() -> dict[str, Any]:
    text = resources.files("leukoflag").joinpath("data", "sex_labels.toml").read_text("utf-8")
    return tomllib.loads(text)


@pytest.mark.parametrize("table", ["words", "letters"])
def test_every_row_names_its_source(table: str) -> None:
    rows = _document()[table]
    assert rows
    assert all(row["source"].strip() for row in rows)


def test_a_word_listed_for_both_sexes_is_a_data_file_error() -> None:
    document = _document()
    document["words"].append(
        {"label": "Frauen", "sex": "male", "language": "German", "source": "a mistake"}
    )
    with pytest.raises(DataFileError, match="'Frauen' names both sexes"):
        _table(document)


def test_a_row_without_a_source_is_a_data_file_error() -> None:
    document = _document()
    document["letters"].append({"male": "M", "female": "K", "language": "Polish"})
    with pytest.raises(DataFileError, match="needs a non-empty 'source'"):
        _table(document)


@pytest.mark.parametrize("sent", ["Männer", "MÄNNER", "Ma\u0308nner", "Manner", "manner"])
def test_a_word_is_folded_with_or_without_its_umlaut(sent: str) -> None:
    assert fold(sent) == "manner"


@pytest.mark.parametrize(
    ("first", "second", "read"),
    [
        ("H", "M", (("male", "Spanish, Portuguese"), ("female", "Spanish, Portuguese"))),
        ("m", "h", (("female", "Spanish, Portuguese"), ("male", "Spanish, Portuguese"))),
        ("M", "F", (("male", "English"), ("female", "English"))),
        ("F", "H", (("female", "French"), ("male", "French"))),
        ("Varones", "M", (("male", "Spanish"), ("female", "Spanish"))),
        ("Man", "V", (("male", "English, Dutch"), ("female", "Dutch"))),
    ],
)
def test_two_labels_are_read_as_their_language_says(
    first: str, second: str, read: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    found = sex_labels().read(first, second)
    assert not isinstance(found, str), found
    assert found == (
        LabelRead(first, read[0][0], read[0][1]),
        LabelRead(second, read[1][0], read[1][1]),
    )


def test_m_and_v_are_men_and_women_either_way_round_and_not_read() -> None:
    assert sex_labels().read("M", "V") == (
        "the letters 'M' and 'V' name men and women either way round ('M' women in Spanish but "
        "'M' men in Dutch)"
    )


def test_no_two_letter_pairs_of_the_table_but_m_and_v_read_two_ways() -> None:
    # a pair added to the data file that reverses another (as V/M reverses Dutch M/V) is refused
    labels = sex_labels()
    letters = sorted({letter for pair in labels.pairs for letter in (pair.male, pair.female)})
    refused = {
        (a, b)
        for a in letters
        for b in letters
        if a < b and "either way round" in str(labels.read(a, b))
    }
    assert refused == {("M", "V")}
