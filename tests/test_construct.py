"""The reader's fast constructors build ordinary, equal, frozen model objects."""

from __future__ import annotations

import dataclasses
import pickle
from decimal import Decimal

import pytest

from leukoflag import model
from leukoflag._construct import constructor
from leukoflag.model import Concept, LabResult, NoValue, Number, ResultStatus

MODEL_CLASSES = [
    cls
    for cls in (getattr(model, name) for name in model.__all__)
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
]


def test_lab_result_built_fast_is_an_equal_frozen_lab_result() -> None:
    build = constructor(LabResult)
    assert build is not LabResult  # the fast path is taken for the hottest object
    fields = dataclasses.fields(LabResult)
    values: list[object] = [f"v{i}" for i in range(len(fields))]
    values[1], values[2], values[3] = Concept(), NoValue("empty"), ResultStatus.FINAL
    fast = build(*values)  # type: ignore[arg-type]
    assert type(fast) is LabResult
    assert fast == LabResult(*values)  # type: ignore[arg-type]
    assert hash(fast) == hash(LabResult(*values))  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.location = "changed"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(fast)) == fast


def test_defaults_and_keywords_are_those_of_the_class() -> None:
    built = constructor(Number)(Decimal("8.20"), "8.20")
    assert built == Number(Decimal("8.20"), "8.20")
    assert (built.comparator, built.comment) == ("", "")
    keyword = constructor(Number)(text="<0.5", value=Decimal("0.5"), comparator="<")
    assert keyword == Number(Decimal("0.5"), "<0.5", "<")
    with pytest.raises(TypeError):
        constructor(Number)(Decimal(1))  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
def test_every_model_class_gets_a_constructor_matching_its_fields(cls: type) -> None:
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]
    built = constructor(cls)(*values)
    assert type(built) is cls
    assert built == cls(*values)
    assert [getattr(built, f.name) for f in fields] == values


def test_a_class_with_post_init_is_built_by_itself() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert constructor(Checked) is Checked
    with pytest.raises(ValueError, match="negative"):
        constructor(Checked)(-1)


def test_a_class_that_is_not_a_frozen_slotted_dataclass_is_built_by_itself() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        value: int

    @dataclasses.dataclass(slots=True)
    class Mutable:
        value: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = dataclasses.field(default_factory=list)

    assert constructor(Plain) is Plain
    assert constructor(Mutable) is Mutable
    assert constructor(WithFactory) is WithFactory
