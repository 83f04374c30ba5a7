"""docs/hl7v2.md: the words and letter pairs a range per sex is read under (sex_labels.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from _tables._format import table


def _document() -> dict[str, Any]:
    text = resources.files("leukoflag").joinpath("data", "sex_labels.toml").read_text("utf-8")
    return tomllib.loads(text)


def render() -> str:
    document = _document()
    words = (
        (f"`{row['label']}`", row["sex"], row["language"], row["source"])
        for row in document["words"]
    )
    pairs = (
        (f"`{row['male']}` / `{row['female']}`", "male / female", row["language"], row["source"])
        for row in document["letters"]
    )
    return table(("label", "sex", "language", "source"), (*words, *pairs))
