"""leukoflag's JSON: exact decimals in both directions.

Writing: :class:`decimal.Decimal` values are emitted as JSON numbers in plain notation (no
exponent, unless plain notation would need more than 40 digits either side of the point: see
:mod:`leukoflag._numbers`; a number read from JSON with an exponent keeps it), digit for digit,
through orjson's ``default`` hook returning an :class:`orjson.Fragment` (already-serialized JSON
spliced in as is) — no float ever touches a value, and no sentinel string has to be searched
for and replaced afterwards.

Reading: numbers with a fraction or an exponent become ``Decimal`` (never float; one with an
exponent is a :class:`SentExponent`, written back with it); integers stay
``int``, but for those longer than Python reads as ``int`` (4,300 digits), which become
``Decimal`` too; ``NaN``/``Infinity`` (which the stdlib parser would accept) are refused.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from leukoflag._cache import LONGEST_KEY
from leukoflag._numbers import plain

__all__ = ["SentExponent", "dumps", "loads", "loads_noting_repeats", "loads_written", "plain"]


class SentExponent(Decimal):
    """A JSON number read with an exponent (``4.5e3``): written back with it (``4.5E+3``), as
    plain notation (``4500``) would claim significant figures the sender did not (FHIR decimals
    keep their precision). Arithmetic on it gives a plain ``Decimal``."""

    __slots__ = ()


def _float(text: str) -> Decimal:
    # the JSON parser's hook for a number with a fraction or an exponent
    return SentExponent(text) if "e" in text or "E" in text else Decimal(text)


def _default(value: object) -> orjson.Fragment:
    # Called from orjson for every Decimal of every Bundle (74 in a 20-OBX CBC): most are the
    # reader's and the normalizer's shared objects (value texts, reference limits, factors), so
    # their text is kept by identity, with the Decimal itself, so that the id stays its own: an
    # id found is that Decimal's (no other living object has it), no identity test needed. Each
    # call enters the interpreter from C, so a hit runs the least code: a subscript in a
    # zero-cost try (a Decimal new to the cache pays for the KeyError, about two a CBC).
    try:
        return _FRAGMENTS[id(value)][1]
    except KeyError:
        pass
    return _fragment(value)


def _fragment(value: object) -> orjson.Fragment:
    """The JSON text of ``value``, a Decimal :func:`_default` did not find, kept for the next."""
    if isinstance(value, Decimal):
        text = str(value)  # plain notation unless it holds an exponent (or NaN/Infinity)
        if ("E" in text and value.__class__ is not SentExponent) or not value.is_finite():
            text = plain(value)
        fragment = orjson.Fragment(text)
        if len(text) <= LONGEST_KEY:  # a number thousands of digits long is not kept
            if len(_FRAGMENTS) >= _FRAGMENTS_LIMIT:
                _FRAGMENTS.clear()
            _FRAGMENTS[id(value)] = (value, fragment)
        return fragment
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# The JSON text of Decimals written lately, by identity; emptied when it reaches its limit.
_FRAGMENTS_LIMIT = 4096
_FRAGMENTS: dict[int, tuple[Decimal, orjson.Fragment]] = {}


def dumps(value: Any, *, pretty: bool = False, newline: bool = False) -> bytes:
    """Serialize ``value`` (FHIR JSON as plain dicts) to UTF-8 JSON bytes.

    Decimals are written exactly, in plain notation (bounded, see :func:`plain`), and so are
    integers of any size. Compact output holds no raw newline, so
    ``dumps(resource, newline=True)`` is one NDJSON line. ``pretty`` indents by two spaces.
    Raises ``TypeError`` (``orjson.JSONEncodeError``) for a value JSON cannot hold, such as a
    non-finite Decimal.
    """
    option = (orjson.OPT_INDENT_2 if pretty else 0) | (orjson.OPT_APPEND_NEWLINE if newline else 0)
    try:
        return orjson.dumps(value, default=_default, option=option)
    except orjson.JSONEncodeError as error:
        _reraise_interrupt(error)
        if "64-bit" not in str(error):
            raise
    # An integer beyond 64 bits, which orjson refuses: JSON input may carry one (its numbers
    # have no size limit, and integers are read as int). Written exactly, digit for digit.
    return orjson.dumps(_wide_integers(value), default=_default, option=option)


def _reraise_interrupt(error: orjson.JSONEncodeError) -> None:
    """orjson turns whatever ``default`` raises into its own TypeError, a Ctrl-C or a signal
    handler's exception (the command's SIGTERM) too, which must unwind as they are."""
    cause = error.__cause__
    if cause is not None and not isinstance(cause, Exception):
        raise cause from None


def _wide_integers(node: Any, depth: int = 0) -> Any:
    """A copy of JSON ``node`` with each integer orjson cannot hold as its exact text; nested as
    deep as orjson writes at most (deeper, orjson's own error: the copy must not overflow the
    stack first)."""
    if isinstance(node, dict | list | tuple):
        if depth >= DEEPEST:
            raise orjson.JSONEncodeError("Recursion limit reached")
        if isinstance(node, dict):
            return {key: _wide_integers(item, depth + 1) for key, item in node.items()}
        return [_wide_integers(item, depth + 1) for item in node]
    if type(node) is int and not -(2**63) <= node < 2**64:
        return orjson.Fragment(str(node))
    return node


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parsed(
    data: bytes | bytearray | str, again: Callable[[], object] = lambda: None, **hooks: Any
) -> Any:
    """``json.loads`` with leukoflag's numbers; an integer of more digits than Python converts
    to ``int`` (4,300) as an exact ``Decimal``: valid JSON, and a value of any length from HL7 v2
    is read too. Parsed again only then (after calling ``again``), so that integers keep the
    parser's fast path."""
    try:
        return json.loads(data, parse_float=_float, parse_constant=_refuse_constant, **hooks)
    except ValueError as error:
        if "integer string conversion" not in str(error):
            raise
    again()
    return json.loads(
        data,
        parse_float=_float,
        parse_int=_integer,
        parse_constant=_refuse_constant,
        **hooks,
    )


def _integer(text: str) -> int | Decimal:
    longest = sys.get_int_max_str_digits()
    return Decimal(text) if longest and len(text.lstrip("-")) > longest else int(text)


def loads(data: bytes | bytearray | str) -> Any:
    """Parse JSON; numbers with a fraction or exponent, and integers of more than 4,300 digits,
    become ``Decimal``.

    Raises ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``) for input that
    is not JSON, and for JSON that cannot be written back: arrays and objects nested
    :data:`DEEPEST` levels or more (orjson writes no deeper), or a string holding a lone UTF-16
    surrogate (``"\\ud83d"`` without its pair; RFC 8259 §8.2), which is no Unicode text.
    """
    return loads_written(data)[0]


def loads_written(data: bytes | bytearray | str) -> tuple[Any, bytes]:
    """:func:`loads`, and the parse written back (compact :func:`dumps`): the check that it can
    be written costs that text anyway, and comparing it with ``data`` tells cheaply whether the
    parse dropped anything (a repeated key)."""
    try:
        parsed = _parsed(data)
    except RecursionError:  # the stdlib parser recurses once per level
        raise ValueError(_TOO_DEEP) from None
    # Whether it can be written back is best asked of the writer itself: one dumps costs a
    # fraction of the parse (a walk of the tree in Python cost as much as the parse).
    try:
        return parsed, dumps(parsed)
    except orjson.JSONEncodeError as error:
        raise ValueError(_unwritable(parsed, error)) from None


def loads_noting_repeats(data: bytes | bytearray | str) -> tuple[Any, dict[int, tuple[str, ...]]]:
    """:func:`loads` of JSON already known to parse, and the keys each object holds more than
    once (by the object's identity; the last value is kept, as :func:`loads` keeps it). Half as
    slow again as :func:`loads`: for JSON a cheap check found suspect only."""
    repeats: dict[int, tuple[str, ...]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        made = dict(pairs)
        if len(made) < len(pairs):
            keys = [key for key, _ in pairs]
            repeats[id(made)] = tuple(key for key in made if keys.count(key) > 1)
        return made

    # the keys noted by a first parse stopped by a long integer are of objects thrown away
    return _parsed(data, again=repeats.clear, object_pairs_hook=hook), repeats


# orjson writes arrays and objects nested at most this deep, less one (a FHIR resource nests a
# few dozen levels at most; flagging adds a few near the top); the stdlib parser overflows
# near 1000.
DEEPEST = 255
_TOO_DEEP = f"arrays and objects nested {DEEPEST} levels deep or more"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unwritable(parsed: Any, error: Exception) -> str:
    """Why ``parsed`` (read from JSON) cannot be written back, from the writer's ``error``."""
    if "ecursion" in str(error):
        return _TOO_DEEP
    lone = _lone_surrogate(parsed)
    if lone is not None:
        return (
            f"the string {lone[:40]!a} holds a lone UTF-16 surrogate (one half of a pair, "
            "escaped or as its bytes), which is not Unicode text"
        )
    return f"it cannot be written back as JSON: {error}"


def _lone_surrogate(node: Any) -> str | None:
    """The first string (key or value) of JSON ``node`` that holds a lone surrogate."""
    pending = [node]
    while pending:
        item = pending.pop()
        if type(item) is str:
            if _SURROGATE.search(item):
                return item
        elif type(item) is dict:
            pending.extend(item.keys())
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
    return None
