"""Renderings shared between Bundles: remembered by object identity, never by equal value."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fhir_builders import K_PER_UL, lab_range, message, obr, obx, write

from leukoflag.fhir._shared import by_identity
from leukoflag.model import Unit

Rendered = tuple[object, object]


def _counting() -> tuple[list[object], Callable[[object, object], Rendered]]:
    calls: list[object] = []

    def render(obj: object, context: object) -> Rendered:
        calls.append(obj)
        return (obj, context)

    return calls, by_identity(render, limit=3)


def test_the_same_object_is_rendered_once() -> None:
    calls, cached = _counting()
    key = ["OBX-7"]
    first = cached(key, None)
    again = cached(key, None)
    assert first is again
    assert calls == [key]


def test_an_equal_but_distinct_object_is_rendered_again() -> None:
    # Decimal("4.0") == Decimal("4.00"): a value-keyed cache would write the wrong digits
    calls, cached = _counting()
    one, other = Decimal("4.0"), Decimal("4.00")
    assert cached(one, None)[0] is one
    assert cached(other, None)[0] is other
    assert calls == [one, other]


def test_another_context_renders_again() -> None:
    calls, cached = _counting()
    key, unit, other_unit = ["range"], Unit("K/uL"), Unit("g/L")
    assert cached(key, unit) == (key, unit)
    assert cached(key, other_unit) == (key, other_unit)
    assert cached(key, other_unit) == (key, other_unit)
    assert len(calls) == 2


def test_the_cache_empties_at_its_limit_and_keeps_working() -> None:
    calls, cached = _counting()
    keys = [[n] for n in range(5)]
    for key in keys:
        cached(key, None)
    assert cached(keys[4], None) == (keys[4], None)
    assert cached(keys[0], None) == (keys[0], None)
    assert len(calls) == 6  # keys 0-4 once, then key 0 again after the cache was emptied


def test_a_range_rendered_for_one_unit_is_not_reused_for_another() -> None:
    # one OBX-7 object (as the reader shares it), first with a K/uL value, then a cells/uL one
    shared_range = lab_range("4.0-11.0", "4.0", "11.0")
    per_ul = Unit("cells/uL", "/uL", "http://unitsofmeasure.org")
    first, _ = write(message(obr(obx(1, "3.2", reference=shared_range, unit=K_PER_UL))))
    second, _ = write(message(obr(obx(1, "3200", reference=shared_range, unit=per_ul))))
    low = [
        entry["resource"]["referenceRange"][0]["low"]
        for bundle in (first, second)
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    ]
    assert [(q["value"], q["unit"]) for q in low] == [
        (Decimal("4.0"), "K/uL"),
        (Decimal("4.0"), "cells/uL"),
    ]
