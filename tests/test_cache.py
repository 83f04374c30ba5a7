"""leukoflag._cache.text_cache: readings of short text are kept, readings of long text are not."""

from __future__ import annotations

from leukoflag._cache import LONGEST_KEY, text_cache


def test_a_short_text_is_read_once_and_a_long_one_each_time() -> None:
    read: list[str] = []

    @text_cache(8)
    def shouted(text: str, suffix: str) -> str:
        read.append(text)
        return text.upper() + suffix

    long = "k" * (LONGEST_KEY + 1)
    assert [shouted("mm3", "!") for _ in range(3)] == ["MM3!"] * 3
    assert [shouted(long, "!") for _ in range(3)] == [long.upper() + "!"] * 3
    assert read == ["mm3", long, long, long]
    assert shouted.__wrapped__.cache_info().currsize == 1  # type: ignore[attr-defined]
    assert shouted.__name__ == "shouted"


def test_the_text_arguments_count_together() -> None:
    read: list[tuple[str, ...]] = []

    @text_cache(8, texts=2)
    def joined(first: str, second: str, separator: str) -> str:
        read.append((first, second))
        return first + separator + second

    half = "h" * (LONGEST_KEY // 2)
    assert joined(half, half, "^" * LONGEST_KEY) == joined(half, half, "^" * LONGEST_KEY)
    assert joined(half, half + "h", "^") == joined(half, half + "h", "^")
    assert read == [(half, half), (half, half + "h"), (half, half + "h")]

    @text_cache(8, texts=0)
    def words(*key: str) -> int:
        read.append(key)
        return len(key)

    read.clear()
    assert words(half, half, "h") == words(half, half, "h") == 3
    assert words("a", "b") == words("a", "b") == 2
    assert read == [(half, half, "h"), (half, half, "h"), ("a", "b")]
