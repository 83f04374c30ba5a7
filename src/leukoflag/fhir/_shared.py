"""FHIR renderings shared between Bundles: one per object a reader hands out again and again.

The HL7 v2 reader returns one object per distinct field text (an OBX-3 code, an OBX-7 range, an
OBX-8 flag list, an OBX-19 time), and a feed repeats those fields in every message. Their FHIR
renderings are kept by the identity of the object: the cache holds the object itself, so its id
cannot be reused while the entry lives, and the same rendering goes into every Bundle (output
dicts are read-only and may be shared, see ``docs/output.md``). An object seen once costs one
entry; the cache is emptied when it reaches its size limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["by_identity"]

K = TypeVar("K")
C = TypeVar("C")
V = TypeVar("V")


def by_identity(render: Callable[[K, C], V], limit: int = 4096) -> Callable[[K, C], V]:
    """``render(obj, context)`` remembered by the identity of ``obj``, for ``limit`` objects.

    ``context`` is a second object the rendering depends on (the unit of a range as sent): an
    entry made with another context is rendered again.
    """
    entries: dict[int, tuple[K, C, V]] = {}

    def cached(obj: K, context: C) -> V:
        entry = entries.get(id(obj))
        if entry is not None and entry[1] is context:
            return entry[2]
        if len(entries) >= limit:
            entries.clear()
        value = render(obj, context)
        entries[id(obj)] = (obj, context, value)
        return value

    return cached
