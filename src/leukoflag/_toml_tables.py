"""The loading part of leukoflag's TOML tables (``data/sex_labels.toml``,
``data/age_words.toml``, ``hl7v2/data/*.toml``): each read once, its rows checked by its own
module, whose name its errors begin with."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from leukoflag.errors import DataFileError

__all__ = ["document", "row_text", "rows"]


def document(name: str, package: str = "leukoflag") -> dict[str, Any]:
    """``data/<name>`` of ``package`` as TOML; DataFileError naming the file (``data/…``,
    ``hl7v2/data/…``) when it is not TOML."""
    text = resources.files(package).joinpath("data", name).read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        folder = package.removeprefix("leukoflag").lstrip(".").replace(".", "/")
        raise DataFileError(f"{folder + '/' if folder else ''}data/{name}: {exc}") from None


def rows(found: dict[str, Any], table: str, what: str) -> list[dict[str, Any]]:
    """The rows of ``table``; DataFileError (``what: table … is missing or empty``) without."""
    listed = found.get(table)
    if not isinstance(listed, list) or not listed or not all(isinstance(r, dict) for r in listed):
        raise DataFileError(f"{what}: table {table!r} is missing or empty")
    return listed


def row_text(row: dict[str, Any], key: str, what: str) -> str:
    """The non-empty text of ``key`` in ``row``; DataFileError naming the row without."""
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(f"{what}: row {row!r} needs a non-empty {key!r}")
    return value
