"""The reader's fast constructors build ordinary, equal, frozen model objects."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from leukoflag import model
from leukoflag._construct import constructor
from leukoflag.api import Outcome
from leukoflag.model import Concept, LabResult, NoValue, Number, ResultStatus

MODEL_CLASSES = [
    cls
    for cls in (getattr(model, name) for name in model.__all__)
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
]
# Classes outside the model the pipeline builds fast too; the CLI's --jobs pickles Outcomes.
BUILT_FAST = [*MODEL_CLASSES, Outcome]


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


def _raised(action: Callable[[], object]) -> tuple[type[BaseException], str] | None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("cls", BUILT_FAST, ids=lambda cls: cls.__name__)
def test_an_object_built_fast_is_its_class_in_every_way_a_user_sees(cls: type[Any]) -> None:
    build: Callable[..., Any] = constructor(cls)
    assert build is not cls
    fields = dataclasses.fields(cls)
    values = [f"text {i}".encode() for i in range(len(fields))]  # hashable, picklable
    fast: Any = build(*values)
    usual: Any = cls(*values)
    assert type(fast) is cls
    assert isinstance(fast, cls)
    assert fast.__class__ is cls
    assert fast == usual
    assert hash(fast) == hash(usual)
    # repr as the class's own (a class whose repr reads its fields fails alike on these values)
    assert _raised(lambda: repr(fast)) == _raised(lambda: repr(usual))
    if _raised(lambda: repr(fast)) is None:
        assert repr(fast) == repr(usual)
    assert dataclasses.asdict(fast) == dataclasses.asdict(usual)
    assert not hasattr(fast, "__dict__")
    assert sys.getsizeof(fast) == sys.getsizeof(usual)
    for made in (
        copy.copy(fast),
        copy.deepcopy(fast),
        dataclasses.replace(fast),
        *(pickle.loads(pickle.dumps(fast, protocol)) for protocol in range(6)),
    ):
        assert type(made) is cls
        assert made == usual
    for protocol in range(6):  # the same bytes: a pickle names the class, not the twin
        assert pickle.dumps(fast, protocol) == pickle.dumps(usual, protocol)
    changed = dataclasses.replace(fast, **{fields[0].name: b"changed"})
    assert type(changed) is cls
    assert getattr(changed, fields[0].name) == b"changed"
    first, last = fields[0].name, fields[-1].name
    for name in (first, last):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fast, name, b"changed")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(fast, name)
    # A name that is no field fails as it does on the class's own object (Python 3.11's
    # frozen slotted dataclasses raise TypeError from their __setattr__, later ones
    # FrozenInstanceError): the same exception and text, whichever it is.
    assert _raised(lambda: setattr(fast, "other", 1)) == _raised(lambda: setattr(usual, "other", 1))
    assert _raised(lambda: delattr(fast, "other")) == _raised(lambda: delattr(usual, "other"))
    assert _raised(lambda: setattr(fast, "other", 1)) is not None
    assert _raised(lambda: delattr(fast, "other")) is not None
    assert [getattr(fast, f.name) for f in fields] == values
