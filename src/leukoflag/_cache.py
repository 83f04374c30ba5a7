"""Per-process caches of readings of input text, bounded in what they keep.

Feeds repeat the same short fields (codes, units, ranges, statuses) message after message, so
their readings are cached by their text. A cache of a few thousand entries keyed on whole
fields could also keep a few thousand fields of megabytes each: the text of readings longer than
:data:`LONGEST_KEY` is counted, and a cache that keeps more than :data:`LONG_TEXT_BUDGET`
characters of such text is emptied (no feed repeats such fields, so little is lost).

A hit is the bare :func:`functools.lru_cache` call (a wrapper around it cost every cached call
of every message about 40 ns: 140 of them per converted CBC); the counting runs on a miss only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["LONGEST_KEY", "LONG_TEXT_BUDGET", "text_cache"]

# Characters of text (all the text arguments together) above which a reading counts as long.
LONGEST_KEY = 512
# Characters of long text one cache keeps at most before it is emptied.
LONG_TEXT_BUDGET = 1 << 18

_F = TypeVar("_F", bound=Callable[..., Any])


def text_cache(maxsize: int, *, texts: int = 1) -> Callable[[_F], _F]:
    """:func:`functools.lru_cache` of ``maxsize`` entries for a function whose first ``texts``
    positional arguments (0: all of them), and any string passed by name, are text of input
    (an argument by name is passed on, as lru_cache does: a separate entry). Readings whose text
    is longer than :data:`LONGEST_KEY` in all are kept until they hold more than
    :data:`LONG_TEXT_BUDGET` characters together; then the cache is emptied. The result is
    the lru_cache itself (``cache_info()``, ``cache_clear()``)."""

    def decorate(function: _F) -> _F:
        long_text = 0  # characters of long text in the cache since it was last emptied

        def reading(*args: Any, **named: Any) -> Any:
            nonlocal long_text
            result = function(*args, **named)
            size = sum(map(len, args[:texts] if texts else args))
            if named:  # a text passed by name counts too
                size += sum(len(value) for value in named.values() if isinstance(value, str))
            if size > LONGEST_KEY:
                long_text += size
                if long_text > LONG_TEXT_BUDGET:
                    # lru_cache allows this from within the call: this reading is then
                    # kept alone, in the emptied cache.
                    cached.cache_clear()
                    long_text = size
            return result

        functools.update_wrapper(reading, function)
        cached = functools.lru_cache(maxsize=maxsize)(reading)
        return cached  # type: ignore[return-value]  # same signature as function

    return decorate
