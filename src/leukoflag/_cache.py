"""Per-process caches of readings of input text, bounded in what they keep.

Feeds repeat the same short fields (codes, units, ranges, statuses) message after message, so
their readings are cached by their text. A cache of a few thousand entries keyed on whole
fields could also keep a few thousand fields of megabytes each: a reading of text longer than
:data:`LONGEST_KEY` is computed and not kept (no feed repeats such a field).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["LONGEST_KEY", "text_cache"]

# Characters of text (all the text arguments together) a reading is kept for at most.
LONGEST_KEY = 512

_F = TypeVar("_F", bound=Callable[..., Any])


class _Unkept(Exception):  # noqa: N818 - an internal signal, never raised out of this module
    """A reading of text too long to keep, carried past the cache (which keeps no result of a
    call that raises)."""

    def __init__(self, result: object) -> None:
        super().__init__()
        self.result = result


def text_cache(maxsize: int, *, texts: int = 1) -> Callable[[_F], _F]:
    """:func:`functools.lru_cache` of ``maxsize`` entries for a function of positional
    arguments whose first ``texts`` (0: all of them) are strings of input: a reading whose
    text is longer than :data:`LONGEST_KEY` in all is returned but not kept. The result's
    ``__wrapped__`` is the lru_cache (``cache_info()``, ``cache_clear()``)."""

    def decorate(function: _F) -> _F:
        def kept_or_not(*args: Any) -> Any:
            result = function(*args)
            # Measured on a miss only: a hit costs the wrapper call and nothing more.
            if sum(map(len, args[:texts] if texts else args)) > LONGEST_KEY:
                raise _Unkept(result)
            return result

        functools.update_wrapper(kept_or_not, function)
        cached = functools.lru_cache(maxsize=maxsize)(kept_or_not)

        def call(*args: Any) -> Any:
            try:
                return cached(*args)
            except _Unkept as unkept:
                return unkept.result

        functools.update_wrapper(call, cached)
        return call  # type: ignore[return-value]  # same signature as function

    return decorate
