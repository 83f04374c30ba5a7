"""Faster constructors for the model objects the pipeline builds on every message.

A frozen dataclass sets each field through ``object.__setattr__`` in its generated ``__init__``;
for :class:`~leukoflag.model.LabResult`'s 21 fields that was a third of the cost of reading an
OBX. :func:`constructor` returns a function with the very same signature (names, order,
defaults) that stores the fields into an instance of a twin class (a subclass of the model
class that adds no slot and stores as ``object`` does), then switches the instance to the model
class, which CPython allows because the two layouts are identical. The result is an ordinary
instance of the model class: equal, hashable, frozen.

The fast path is taken only for a frozen slotted dataclass whose ``__init__`` is the generated
one, with no ``__post_init__`` and no ``default_factory``, and only after a built sample proved
equal to one built by the class itself; otherwise the class itself is returned.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

__all__ = ["constructor"]

P = ParamSpec("P")
T = TypeVar("T")

_PREFIX = "_lf_"  # internal names of the generated function; no model field starts with it


@functools.cache
def _constructor(cls: type[Any]) -> Callable[..., Any]:
    """A function building ``cls(*args, **kwargs)`` faster (see the module docstring).

    Built once per class and process (cached), so callers may ask for it on every use.
    """
    if not _eligible(cls):
        return cls
    fields = dataclasses.fields(cls)
    defaults = {f"{_PREFIX}d_{f.name}": f.default for f in fields}
    parameters = ", ".join(
        f.name if f.default is dataclasses.MISSING else f"{f.name}={_PREFIX}d_{f.name}"
        for f in fields
    )
    stores = "".join(f"\n    {_PREFIX}made.{f.name} = {f.name}" for f in fields)
    source = (
        f"def build({parameters}):\n"
        f"    {_PREFIX}made = {_PREFIX}twin(){stores}\n"
        f"    {_PREFIX}made.__class__ = {_PREFIX}cls\n"
        f"    return {_PREFIX}made\n"
    )
    # A subclass adding no slot: the class switch finds the two layouts equal by walking to
    # their common base, without comparing the tuples of slot names as it did for a twin beside
    # the class (LabResult 0.32 µs against 0.39). It stores and initializes as object does (its
    # slots are object's C functions, not the frozen class's __setattr__ run in Python).
    twin = type(
        f"{cls.__name__}Twin",
        (cls,),
        {
            "__slots__": (),
            "__init__": object.__init__,
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
        },
    )
    namespace: dict[str, Any] = {f"{_PREFIX}twin": twin, f"{_PREFIX}cls": cls, **defaults}
    exec(source, namespace)  # noqa: S102 - generated from the dataclass fields, as dataclasses does
    build: Callable[..., Any] = namespace["build"]
    sample = [object() for _ in fields]
    try:
        made = build(*sample)
        usual = cls(*sample)
    except (TypeError, ValueError):  # the class switch was refused, or __init__ checks values
        return cls
    if type(made) is not cls or made != usual:
        return cls
    build.__qualname__ = f"constructor({cls.__name__})"
    return build


if TYPE_CHECKING:

    def constructor(cls: Callable[P, T]) -> Callable[P, T]:
        """Typed view of :func:`_constructor`: the same parameters and result as ``cls``."""

else:
    constructor = _constructor  # called directly: it is asked for on every object built


def _eligible(cls: type[Any]) -> bool:
    if not dataclasses.is_dataclass(cls):
        return False
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    fields = dataclasses.fields(cls)
    return (
        params.frozen
        and params.init
        and not hasattr(cls, "__post_init__")
        and cls.__bases__ == (object,)
        and tuple(f.name for f in fields) == getattr(cls, "__slots__", None)
        and all(f.init and f.default_factory is dataclasses.MISSING for f in fields)
        and not any(f.name.startswith(_PREFIX) for f in fields)
    )
