"""docs/hl7v2.md: the words other than English an age note is read in (age_words.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources

from _tables._format import table


def render() -> str:
    text = resources.files("leukoflag").joinpath("data", "age_words.toml").read_text("utf-8")
    rows = tomllib.loads(text)["words"]
    return table(
        ("word", "unit", "language", "source"),
        ((f"`{row['word']}`", row["unit"], row["language"], row["source"]) for row in rows),
    )
