"""Per-process caches of readings of input text, bounded in what they keep.

Feeds repeat the same short fields (codes, units, ranges, statuses) message after message, so
their readings are cached by their text. A cache of a few thousand entries keyed on whole
fields could also keep a few thousand fields of megabytes each: the text of readings longer than
:data:`LONGEST_KEY` is counted, and a cache that keeps more than :data:`LONG_TEXT_BUDGET`
characters of such text is emptied (no feed repeats such fields, so little is lost).

A hit is the bare :func:`functools.lru_cache` call (a wrapper around it cost every cached call
of every message about 40 ns: 140 of them per converted CBC); the counting runs on a miss only.
A reading of one text read for every result of every message is a :class:`TextMemo` instead, a
dict looked up by subscript: a hit is the dict's own look-up in C, about half an lru_cache hit
(no call, no arguments tuple, no key made, no node relinked).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["LONGEST_KEY", "LONG_TEXT_BUDGET", "MemoInfo", "TextMemo", "text_cache", "text_memo"]

# Characters of text (all the text arguments together) above which a reading counts as long.
LONGEST_KEY = 512
# Characters of long text one cache keeps at most before it is emptied.
LONG_TEXT_BUDGET = 1 << 18

_F = TypeVar("_F", bound=Callable[..., Any])
_V = TypeVar("_V")


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


class MemoInfo(NamedTuple):
    """What :meth:`TextMemo.cache_info` tells, as lru_cache's ``cache_info()`` names it."""

    maxsize: int
    currsize: int


class TextMemo(dict[str, _V], Generic[_V]):
    """The readings of one text by a function of it, kept by the text: ``memo[text]`` is
    ``reading(text)``, read once (``__missing__``) and then found by the dict itself. Bounded as
    :func:`text_cache` is: emptied when it holds ``maxsize`` readings, and when the texts longer
    than :data:`LONGEST_KEY` it kept hold more than :data:`LONG_TEXT_BUDGET` characters together
    (the reading that found it full is then kept alone). ``memo(text)`` is the same;
    ``cache_info().currsize`` and ``cache_clear()`` as for an lru_cache."""

    def __init__(self, reading: Callable[[str], _V], maxsize: int) -> None:
        super().__init__()
        self._reading = reading
        self._maxsize = maxsize
        self._long_text = 0  # characters of long text kept since the memo was last emptied
        functools.update_wrapper(self, reading)

    def __missing__(self, text: str) -> _V:
        value = self._reading(text)
        size = len(text)
        if len(self) >= self._maxsize:
            self.cache_clear()
        if size > LONGEST_KEY:
            self._long_text += size
            if self._long_text > LONG_TEXT_BUDGET:
                self.cache_clear()
                self._long_text = size
        self[text] = value
        return value

    def __call__(self, text: str) -> _V:
        return self[text]

    def cache_info(self) -> MemoInfo:
        return MemoInfo(self._maxsize, len(self))

    def cache_clear(self) -> None:
        self.clear()
        self._long_text = 0


def text_memo(maxsize: int) -> Callable[[Callable[[str], _V]], TextMemo[_V]]:
    """The function of one text it decorates as a :class:`TextMemo` of ``maxsize`` readings."""

    def decorate(reading: Callable[[str], _V]) -> TextMemo[_V]:
        return TextMemo(reading, maxsize)

    return decorate
