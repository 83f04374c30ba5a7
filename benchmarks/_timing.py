"""Timing helpers shared by the benchmark modules (best-of-N, so noise only slows, never speeds)."""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable


def best(operation: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Best time per call over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(operation, number=number, repeat=repeat)) / number


def per_call(action: Callable[[], object], *, seconds: float = 0.4) -> float:
    """Best of five runs of the mean time of ``action`` (seconds per call); the number of calls
    per run grows until one run takes about ``seconds / 5``."""
    action()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            action()
        if time.perf_counter() - start > seconds / 5:
            break
        calls *= 2
    return best(action, calls, repeat=5)
