"""leukoflag._cache.text_cache and text_memo: readings are kept, and long text only up to a
budget."""

from __future__ import annotations

from typing import Any

import pytest

from leukoflag._cache import LONG_TEXT_BUDGET, LONGEST_KEY, text_cache, text_memo


def _size(function: Any) -> int:
    return int(function.cache_info().currsize)


def test_short_and_long_texts_are_read_once_while_the_budget_lasts() -> None:
    read: list[str] = []

    @text_cache(8)
    def shouted(text: str, suffix: str) -> str:
        read.append(text)
        return text.upper() + suffix

    long = "k" * (LONGEST_KEY + 1)
    assert [shouted("mm3", "!") for _ in range(3)] == ["MM3!"] * 3
    assert [shouted(long, "!") for _ in range(3)] == [long.upper() + "!"] * 3
    assert read == ["mm3", long]
    assert _size(shouted) == 2
    assert shouted.__name__ == "shouted"


def test_a_cache_holding_too_much_long_text_is_emptied() -> None:
    read: list[int] = []

    @text_cache(4096)
    def length(text: str) -> int:
        read.append(len(text))
        return len(text)

    assert length("short") == 5
    each = LONGEST_KEY * 8
    fit = LONG_TEXT_BUDGET // each  # distinct long texts the budget holds
    texts = [f"{n:08d}".ljust(each, "x") for n in range(fit + 1)]
    assert [length(text) for text in texts[:fit]] == [each] * fit
    assert _size(length) == fit + 1
    assert length(texts[fit]) == each  # over the budget: emptied, this one kept alone
    assert _size(length) == 1
    assert length(texts[fit]) == each
    assert read.count(each) == fit + 1
    assert length("short") == 5  # read again after the cache was emptied
    assert read.count(5) == 2


def test_the_text_arguments_count_together() -> None:
    read: list[tuple[str, ...]] = []

    @text_cache(8, texts=2)
    def joined(first: str, second: str, separator: str) -> str:
        read.append((first, second))
        return first + separator + second

    half = "h" * (LONGEST_KEY // 2)
    budget_in_calls = LONG_TEXT_BUDGET // (LONGEST_KEY + 1) + 1
    # the two texts together are one character too long: each call counts against the budget
    for n in range(budget_in_calls - 1):
        joined(half, half + "h", str(n))
    assert _size(joined) == 8
    joined(half, half + "h", "last")
    assert _size(joined) == 1
    # the separator is no text: the same short texts with a long separator never empty it
    read.clear()
    for _ in range(3):
        assert joined(half, half, "^" * LONG_TEXT_BUDGET) == half + "^" * LONG_TEXT_BUDGET + half
    assert read == [(half, half)]

    @text_cache(8, texts=0)
    def words(*key: str) -> int:
        read.append(key)
        return len(key)

    read.clear()
    assert words(half, half, "h") == words(half, half, "h") == 3
    assert words("a", "b") == words("a", "b") == 2
    assert read == [(half, half, "h"), ("a", "b")]


def test_arguments_by_name_are_passed_on_and_their_text_counted() -> None:
    read: list[str] = []

    @text_cache(8)
    def tagged(text: str, tag: str = "") -> str:
        read.append(text)
        return f"{tag}:{text}"

    assert tagged("mm3", tag="unit") == tagged("mm3", tag="unit") == "unit:mm3"
    assert read == ["mm3"]
    long_tag = "t" * (LONG_TEXT_BUDGET // 2)
    assert tagged("a", tag=long_tag) == f"{long_tag}:a"
    assert _size(tagged) == 2  # within the budget: kept
    assert tagged("b", tag=long_tag + "x") == f"{long_tag}x:b"
    assert _size(tagged) == 1  # the long text by name counted: over the budget, emptied


def test_a_text_memo_reads_each_text_once_by_subscript_or_call() -> None:
    read: list[str] = []

    @text_memo(8)
    def shouted(text: str) -> str | None:
        read.append(text)
        return text.upper() if text else None

    assert [shouted["mm3"] for _ in range(3)] == ["MM3"] * 3
    assert shouted("mm3") == "MM3"
    assert shouted[""] is None  # a reading of None is kept like any other
    assert shouted("") is None
    assert read == ["mm3", ""]
    assert _size(shouted) == 2
    assert vars(shouted)["__name__"] == "shouted"
    shouted.cache_clear()
    assert shouted["mm3"] == "MM3"
    assert read == ["mm3", "", "mm3"]


def test_a_full_text_memo_is_emptied_and_keeps_the_new_reading() -> None:
    @text_memo(4)
    def length(text: str) -> int:
        return len(text)

    for n in range(4):
        assert length[str(n) * 3] == 3
    assert _size(length) == 4
    assert length["abcde"] == 5
    assert _size(length) == 1
    assert "abcde" in length


def test_a_text_memo_holding_too_much_long_text_is_emptied() -> None:
    read: list[int] = []

    @text_memo(4096)
    def length(text: str) -> int:
        read.append(len(text))
        return len(text)

    assert length["short"] == 5
    each = LONGEST_KEY * 8
    fit = LONG_TEXT_BUDGET // each
    texts = [f"{n:08d}".ljust(each, "x") for n in range(fit + 1)]
    assert [length[text] for text in texts[:fit]] == [each] * fit
    assert _size(length) == fit + 1
    assert length[texts[fit]] == each  # over the budget: emptied, this one kept alone
    assert _size(length) == 1
    assert length[texts[fit]] == each
    assert read.count(each) == fit + 1
    assert length["short"] == 5
    assert read.count(5) == 2


def test_a_text_memo_keeps_no_reading_that_raised() -> None:
    calls: list[str] = []

    @text_memo(8)
    def number(text: str) -> int:
        calls.append(text)
        return int(text)

    for _ in range(2):
        with pytest.raises(ValueError, match="invalid literal"):
            number["x"]
    assert calls == ["x", "x"]
    assert _size(number) == 0
