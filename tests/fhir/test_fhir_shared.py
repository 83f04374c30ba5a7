"""Renderings kept between Bundles: remembered by object identity, never by equal value, and
handed out only as copies (every output is a tree of its own)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fhir_builders import K_PER_UL, LOINC, UCUM, lab_range, message, obr, obx, write

from leukoflag.fhir._shared import (
    by_identity,
    fresh_concept,
    fresh_json,
    fresh_range,
)
from leukoflag.fhir._write import _Sent, _sent
from leukoflag.model import Coding, Concept, Unit

Rendered = list[object]
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def _counting() -> tuple[list[object], Callable[[object, object], Rendered | None]]:
    calls: list[object] = []

    def render(obj: object, context: object) -> Rendered:
        calls.append(obj)
        return [obj, context]

    return calls, by_identity(render, _copy, limit=3)


def _copy(rendered: Rendered) -> Rendered:
    return list(rendered)


def test_the_same_object_is_rendered_once_and_each_caller_gets_a_copy() -> None:
    calls, cached = _counting()
    key = ["OBX-7"]
    first = cached(key, None)
    again = cached(key, None)
    assert first == again == [key, None]
    assert first is not again
    assert calls == [key]
    assert first is not None
    first.append("changed by a caller")
    assert cached(key, None) == [key, None]


def test_a_rendering_of_nothing_stays_none() -> None:
    calls: list[object] = []

    def render(obj: object, _: None) -> list[object] | None:
        calls.append(obj)
        return None

    cached = by_identity(render, _copy)
    key = ["empty OBX-3"]
    assert cached(key, None) is None
    assert cached(key, None) is None
    assert calls == [key]


def test_an_equal_but_distinct_object_is_rendered_again() -> None:
    # Decimal("4.0") == Decimal("4.00"): a value-keyed cache would write the wrong digits
    calls, cached = _counting()
    one, other = Decimal("4.0"), Decimal("4.00")
    assert cached(one, None) == [one, None]
    assert cached(other, None) == [other, None]
    assert str(cached(other, None)[0]) == "4.00"  # type: ignore[index]
    assert calls == [one, other]


def test_another_context_renders_again() -> None:
    calls, cached = _counting()
    key, unit, other_unit = ["range"], Unit("K/uL"), Unit("g/L")
    assert cached(key, unit) == [key, unit]
    assert cached(key, other_unit) == [key, other_unit]
    assert cached(key, other_unit) == [key, other_unit]
    assert len(calls) == 2


def test_the_cache_empties_at_its_limit_and_keeps_working() -> None:
    calls, cached = _counting()
    keys = [[n] for n in range(5)]
    for key in keys:
        cached(key, None)
    assert cached(keys[4], None) == [keys[4], None]
    assert cached(keys[0], None) == [keys[0], None]
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


def _containers(node: object) -> list[int]:
    if isinstance(node, dict):
        return [id(node), *(i for value in node.values() for i in _containers(value))]
    if isinstance(node, list):
        return [id(node), *(i for value in node for i in _containers(value))]
    return []


def _assert_copy(copied: object, template: object) -> None:
    assert copied == template
    assert set(_containers(copied)).isdisjoint(_containers(template))


LOINC_WBC = {"system": "http://loinc.org", "code": "6690-2", "display": "Leukocytes"}
LOCAL_WBC = {"code": "WBC", "display": "White cells"}


def test_concept_copies_share_no_container_with_their_template() -> None:
    for template in (
        {"coding": [LOINC_WBC]},
        {"coding": [LOCAL_WBC, LOINC_WBC], "text": "WBC"},
        {"coding": [LOINC_WBC], "text": "WBC"},
        {"text": "White cells"},
    ):
        _assert_copy(fresh_concept(template), template)


def test_range_copies_share_no_container_with_their_template() -> None:
    unit = {"unit": "K/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}
    ranges: list[dict[str, Any]] = [
        {"low": {"value": Decimal("4.0"), **unit}, "high": {"value": Decimal("11.0")}, "text": "x"},
        {"high": {"value": Decimal("7.7")}},
        {"text": "negative"},
    ]
    for sent in ranges:
        _assert_copy(fresh_range(sent), sent)


def test_json_copies_share_no_container_and_keep_leaves() -> None:
    value = Decimal("4.00")
    tree = {"a": [{"b": [value, "s", 1, True, None]}, []], "c": {}}
    copied = fresh_json(tree)
    _assert_copy(copied, tree)
    assert copied["a"][0]["b"][0] is value  # an immutable leaf may be shared


def _quantity(value: str) -> dict[str, Any]:
    return {"value": Decimal(value), "unit": "K/uL", "system": UCUM, "code": "10*3/uL"}


def _assert_fresh(sent: _Sent, expected: tuple[Any, ...]) -> None:
    copied = sent.fresh()
    assert copied == expected
    assert set(_containers(copied)).isdisjoint(_containers(sent.fresh()))
    templates = [sent.code, sent.reference_range, *sent.flags]
    assert set(_containers(copied)).isdisjoint(_containers(templates))


def test_sent_copies_the_common_shapes_inline() -> None:
    # one coding without text, one flag, a range with both limits: copied without looking
    sent = _sent(obx(1, "3.2", reference=lab_range("4.0-11.0", "4.0", "11.0"), flags=("L",)))
    assert sent.one_coding is not None
    assert sent.low_high
    display = "Leukocytes [#/volume] in Blood by Automated count"
    low = {"system": V3, "code": "L", "display": "Low"}
    rendered = {"low": _quantity("4.0"), "high": _quantity("11.0"), "text": "4.0-11.0"}
    expected = (
        {"coding": [{"system": LOINC, "code": "6690-2", "display": display}]},
        [{"coding": [low]}],
        rendered,
    )
    _assert_fresh(sent, expected)


def test_sent_copies_the_other_shapes_through_shared() -> None:
    # two codings and a text, two flags, one limit: the general copiers
    code = Concept((Coding("WBC", "White cells"), Coding("6690-2", system=LOINC)), "WBC")
    sent = _sent(
        obx(2, "3.2", code=code, reference=lab_range(">4.0", "4.0", None), flags=("L", "A"))
    )
    assert sent.one_coding is None
    assert not sent.low_high
    codings = [{"code": "WBC", "display": "White cells"}, {"system": LOINC, "code": "6690-2"}]
    flags = [
        {"system": V3, "code": "L", "display": "Low"},
        {"system": V3, "code": "A", "display": "Abnormal"},
    ]
    expected = (
        {"coding": codings, "text": "WBC"},
        [{"coding": [f]} for f in flags],
        {"low": _quantity("4.0"), "text": ">4.0"},
    )
    _assert_fresh(sent, expected)


def test_sent_without_code_flags_or_range() -> None:
    sent = _sent(obx(3, "3.2", code=Concept(()), unit=None))
    assert sent.one_coding is None
    assert not sent.low_high
    _assert_fresh(sent, (None, [], None))


def test_a_rendering_holding_fields_of_megabytes_is_handed_out_but_not_kept() -> None:
    calls, cached = _counting()
    huge = ["x" * 100_000]
    assert cached(huge, None) == [huge, None]
    assert cached(huge, None) == [huge, None]
    assert len(calls) == 2  # rendered each time: too long to keep
    small = [1]
    cached(small, None)
    cached(small, None)
    assert len(calls) == 3


def test_sent_keeps_no_rendering_of_huge_fields() -> None:
    from leukoflag.fhir import _write

    _write._SENT.clear()  # a cache: emptied so that its limit cannot empty it in the test
    _sent(obx(1, "3.2"))  # the usual fields: kept
    before = len(_write._SENT)
    assert before == 1
    for n in range(20):
        code = Concept((Coding(f"L{n}", "Leukocytes " + f"{n:05d}" * 20_000),))
        sent = _sent(obx(1, "3.2", code=code))
        assert sent.code is not None
        assert sent.code["coding"][0]["code"] == f"L{n}"
    assert len(_write._SENT) == before
    usual = Concept((Coding("L-short", "Leukocytes"),))
    _sent(obx(2, "3.2", code=usual))
    assert len(_write._SENT) == before + 1
