"""Cost of unit normalization, as ratios to reference operations run in the same process.

Steady state: ``count_per_ul`` over a realistic mix of values and spellings, per value, against
the least any converter must do per value (a dict lookup of the factor plus a Decimal multiply).
Start-up: the first call in a fresh interpreter (data file read, pint imported, registry
created, the unit resolved), in ms and as a multiple of the steady-state cost.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal

import leukoflag
from leukoflag.model import Unit
from leukoflag.units import normalize

UCUM = "http://unitsofmeasure.org"
# (spelling, factor, typical value): the mix a US/European feed sends
_MIX: tuple[tuple[str, int, str], ...] = (
    ("K/uL", 1000, "6.8"),
    ("10*3/uL", 1000, "4.52"),
    ("x10E3/uL", 1000, "11.3"),
    ("10*9/L", 1000, "0.45"),
    ("x10^9/L", 1000, "2.1"),
    ("cells/uL", 1, "1850"),
    ("/uL", 1, "620"),
    ("K/MCL", 1000, "7.05"),  # case-insensitive match
)
_VALUES_PER_SPELLING = 100
_REPEATS = 9
_ROUNDS = 40

_STARTUP = """
import time
t0 = time.perf_counter()
import leukoflag
t1 = time.perf_counter()
leukoflag.count_per_ul("6.8", "K/uL")
t2 = time.perf_counter()
leukoflag.count_per_ul("6.9", "K/uL")
t3 = time.perf_counter()
from leukoflag.units import _pint
_pint.registry_created()
print(t1 - t0, t2 - t1, t3 - t2)
"""
_REGISTRY = """
import time
from leukoflag.units import _pint
import pint
t0 = time.perf_counter()
_pint._registry()
print(time.perf_counter() - t0)
"""


def _cases() -> tuple[list[tuple[Decimal, str]], dict[str, Decimal]]:
    pairs: list[tuple[Decimal, str]] = []
    factors: dict[str, Decimal] = {}
    for spelling, factor, typical in _MIX:
        factors[spelling] = Decimal(factor)
        base = Decimal(typical)
        pairs.extend((base + Decimal(i).scaleb(-2), spelling) for i in range(_VALUES_PER_SPELLING))
    return pairs, factors


def _per_item(run: Callable[[], object], items: int) -> float:
    best = float("inf")
    for _ in range(_REPEATS):
        start = time.perf_counter()
        for _ in range(_ROUNDS):
            run()
        best = min(best, (time.perf_counter() - start) / _ROUNDS / items)
    return best


def main() -> None:
    pairs, factors = _cases()
    texts = [(f"{value}", spelling) for value, spelling in pairs]
    units = [(value, Unit(text=spelling, code="10*3/uL", system=UCUM)) for value, spelling in pairs]
    units = [(value, unit) for value, unit in units if factors[unit.text] == 1000]
    count_per_ul = leukoflag.count_per_ul
    for value, spelling in pairs:  # warm: table, pint, caches
        if count_per_ul(value, spelling) != value * factors[spelling]:
            raise AssertionError(f"benchmark case {value} {spelling} converts wrongly")

    def reference() -> None:
        for value, spelling in pairs:
            _ = factors[spelling] * value

    def decimals() -> None:
        for value, spelling in pairs:
            count_per_ul(value, spelling)

    def strings() -> None:
        for value, spelling in texts:
            count_per_ul(value, spelling)

    def unit_values() -> None:
        for value, unit in units:
            count_per_ul(value, unit)

    def normalized() -> None:
        for value, spelling in pairs:
            normalize(value, spelling, "wbc")

    base = _per_item(reference, len(pairs))
    steady = _per_item(decimals, len(pairs))
    print(
        f"count_per_ul steady state: ratio {steady / base:.2f} (dict lookup + Decimal multiply; "
        f"{steady * 1e9:.0f} ns vs {base * 1e9:.0f} ns per value; target <= 5)"
    )
    text_cost = _per_item(strings, len(pairs))
    print(
        f"count_per_ul, str values: ratio {text_cost / base:.2f} "
        f"(dict lookup + Decimal multiply; includes parsing the text, {text_cost * 1e9:.0f} ns)"
    )
    unit_cost = _per_item(unit_values, len(units))
    print(
        f"count_per_ul, model.Unit: ratio {unit_cost / base:.2f} "
        f"(dict lookup + Decimal multiply; {unit_cost * 1e9:.0f} ns)"
    )
    full = _per_item(normalized, len(pairs))
    print(
        f"normalize (pipeline path): ratio {full / base:.2f} "
        f"(dict lookup + Decimal multiply; {full * 1e9:.0f} ns)"
    )

    out = subprocess.run(
        [sys.executable, "-c", _STARTUP], check=True, capture_output=True, text=True
    ).stdout.split()
    import_s, first_s, second_s = (float(x) for x in out)
    print(
        f"first call (data file + pint import + registry + resolve): ratio "
        f"{first_s / steady:.0f} (steady-state count_per_ul; {first_s * 1e3:.1f} ms, "
        f"import leukoflag {import_s * 1e3:.1f} ms, second call {second_s * 1e6:.1f} µs)"
    )
    registry_s = float(
        subprocess.run(
            [sys.executable, "-c", _REGISTRY], check=True, capture_output=True, text=True
        ).stdout
    )
    print(
        f"pint registry creation: ratio {registry_s / steady:.0f} (steady-state count_per_ul; "
        f"{registry_s * 1e3:.1f} ms, once per process)"
    )


if __name__ == "__main__":
    main()
