"""Faster constructors for the reader's hottest objects, :class:`~leukoflag.model.LabResult`
and :class:`~leukoflag.model.Number`.

A frozen dataclass sets each field through ``object.__setattr__`` in its generated
``__init__``; for LabResult's 21 fields that is half the cost of reading an OBX. Setting the
slots directly gives an equal object (same fields, same values, still frozen afterwards) in
half the time. The fast path is used only while LabResult has exactly the fields below, in
this order, and no ``__post_init__`` (Number likewise); otherwise the real constructor is used.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from leukoflag.model import LabResult, Number

__all__ = ["LAB_RESULT_FIELDS", "NUMBER_FIELDS", "lab_result_constructor", "number_constructor"]

NUMBER_FIELDS = ("value", "text", "comparator", "comment")

LAB_RESULT_FIELDS = (
    "location",
    "code",
    "value",
    "status",
    "unit",
    "reference_range",
    "status_text",
    "data_absent_reason",
    "sender_flags",
    "value_type",
    "set_id",
    "sub_id",
    "effective",
    "analysis_time",
    "method",
    "device",
    "performers",
    "category",
    "notes",
    "specimen",
    "order",
)


@functools.cache
def lab_result_constructor() -> Callable[..., LabResult]:
    """``build(*values)`` taking every field positionally, in :data:`LAB_RESULT_FIELDS` order."""
    names = tuple(f.name for f in dataclasses.fields(LabResult))
    if names != LAB_RESULT_FIELDS or hasattr(LabResult, "__post_init__"):
        return _by_keyword
    (
        location,
        code,
        value,
        status,
        unit,
        reference_range,
        status_text,
        data_absent_reason,
        sender_flags,
        value_type,
        set_id,
        sub_id,
        effective,
        analysis_time,
        method,
        device,
        performers,
        category,
        notes,
        specimen,
        order,
    ) = (getattr(LabResult, name).__set__ for name in LAB_RESULT_FIELDS)
    new = object.__new__

    def build(  # noqa: PLR0917 - mirrors LabResult's own positional signature
        v_location: Any,
        v_code: Any,
        v_value: Any,
        v_status: Any,
        v_unit: Any,
        v_reference_range: Any,
        v_status_text: Any,
        v_data_absent_reason: Any,
        v_sender_flags: Any,
        v_value_type: Any,
        v_set_id: Any,
        v_sub_id: Any,
        v_effective: Any,
        v_analysis_time: Any,
        v_method: Any,
        v_device: Any,
        v_performers: Any,
        v_category: Any,
        v_notes: Any,
        v_specimen: Any,
        v_order: Any,
    ) -> LabResult:
        result: LabResult = new(LabResult)
        location(result, v_location)
        code(result, v_code)
        value(result, v_value)
        status(result, v_status)
        unit(result, v_unit)
        reference_range(result, v_reference_range)
        status_text(result, v_status_text)
        data_absent_reason(result, v_data_absent_reason)
        sender_flags(result, v_sender_flags)
        value_type(result, v_value_type)
        set_id(result, v_set_id)
        sub_id(result, v_sub_id)
        effective(result, v_effective)
        analysis_time(result, v_analysis_time)
        method(result, v_method)
        device(result, v_device)
        performers(result, v_performers)
        category(result, v_category)
        notes(result, v_notes)
        specimen(result, v_specimen)
        order(result, v_order)
        return result

    return build


def _by_keyword(*values: Any) -> LabResult:
    return LabResult(**dict(zip(LAB_RESULT_FIELDS, values, strict=True)))


@functools.cache
def number_constructor() -> Callable[[Decimal, str], Number]:
    """``build(value, text)``: a plain Number (no comparator, no comment)."""
    names = tuple(f.name for f in dataclasses.fields(Number))
    if names != NUMBER_FIELDS or hasattr(Number, "__post_init__"):
        return Number
    value, text, comparator, comment = (getattr(Number, name).__set__ for name in NUMBER_FIELDS)
    new = object.__new__

    def build(v_value: Decimal, v_text: str) -> Number:
        number: Number = new(Number)
        value(number, v_value)
        text(number, v_text)
        comparator(number, "")
        comment(number, "")
        return number

    return build
