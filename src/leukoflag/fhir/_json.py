"""leukoflag's JSON: exact decimals in both directions.

Writing: :class:`decimal.Decimal` values are emitted as JSON numbers in plain notation (no
exponent), digit for digit, through orjson's ``default`` hook returning an
:class:`orjson.Fragment` (already-serialized JSON spliced in as is) — no float ever
touches a value, and no sentinel string has to be searched for and replaced afterwards.

Reading: numbers with a fraction or an exponent become ``Decimal`` (never float); integers stay
``int``; ``NaN``/``Infinity`` (which the stdlib parser would accept) are refused.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["dumps", "loads", "plain"]


def plain(value: Decimal) -> str:
    """``value`` as a JSON number in plain notation: ``Decimal("8.20E+3")`` → ``8200``."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return format(value, "f")


def _default(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        text = str(value)  # plain notation unless it holds an exponent (or NaN/Infinity)
        if "E" in text or not value.is_finite():
            text = plain(value)
        return orjson.Fragment(text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, pretty: bool = False, newline: bool = False) -> bytes:
    """Serialize ``value`` (FHIR JSON as plain dicts) to UTF-8 JSON bytes.

    Decimals are written exactly, in plain notation. Compact output holds no raw newline, so
    ``dumps(resource, newline=True)`` is one NDJSON line. ``pretty`` indents by two spaces.
    Raises ``TypeError`` (``orjson.JSONEncodeError``) for a value JSON cannot hold, such as a
    non-finite Decimal.
    """
    option = (orjson.OPT_INDENT_2 if pretty else 0) | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    return orjson.dumps(value, default=_default, option=option)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(data: bytes | bytearray | str) -> Any:
    """Parse JSON; numbers with a fraction or exponent become ``Decimal``.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``) for input that
    is not JSON.
    """
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
