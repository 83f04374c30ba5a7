"""HL7 v2 table 0203, the identifier types (CX.5), read once from ``data/identifier_types.toml``
(each list of codes with its source): the reader says which CX.5 is not one, the FHIR writer
writes only those as ``v2-0203`` codings."""

from __future__ import annotations

import functools

from leukoflag._toml_tables import document, row_text, rows
from leukoflag.errors import DataFileError

__all__ = ["identifier_types"]

_WHAT = "data/identifier_types.toml"


@functools.cache
def identifier_types() -> frozenset[str]:
    """The codes of table 0203, all upper case (a code in other case is found upper-cased)."""
    found: set[str] = set()
    for row in rows(document("identifier_types.toml"), "table_0203", _WHAT):
        row_text(row, "source", _WHAT)
        codes = row.get("codes")
        if not isinstance(codes, list) or not codes:
            raise DataFileError(f"{_WHAT}: row {row!r} needs a list of codes")
        for code in codes:
            if not isinstance(code, str) or not code.strip() or code != code.upper():
                raise DataFileError(f"{_WHAT}: code {code!r} is not an upper-case code")
            found.add(code)
    return frozenset(found)
