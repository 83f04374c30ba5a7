"""The only module that imports pint: UCUM code → pint quantity → factor and dimension.

pint never sees a unit as a lab wrote it. Plain pint reads ``K/uL`` as kelvin per microlitre,
``G/L`` as gauss per litre, ``10*3/uL`` as 30 per microlitre and ``thou`` as a thousandth of an
inch. So spellings go through leukoflag's alias table to a UCUM code first; this module then
translates that UCUM code itself, atom by atom (a small UCUM subset, listed in ``_ATOMS`` and
``_PREFIXES``), into pint units and lets pint do the arithmetic and the dimension check.

One :class:`pint.UnitRegistry` per process, created on first use, with ``Decimal`` as its
number type so factors are exact (``10*9/L`` → ``Decimal('1E+3')`` per µL, not ``1000.0000001``).
Results are cached per UCUM string.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Magnitude", "UcumSyntaxError", "measure", "registry_created"]

# UCUM atoms leukoflag's data file uses, with their pint names. Case matters, as in UCUM.
_ATOMS: dict[str, str] = {
    "L": "liter",
    "l": "liter",
    "m": "meter",
    "g": "gram",
    "mol": "mole",
    "s": "second",
    "min": "minute",
    "h": "hour",
    "%": "percent",
    "[HPF]": "high_power_field",
    "[LPF]": "low_power_field",
}
# UCUM prefixes (case-sensitive: M mega vs m milli, G giga; never read G as gauss).
_PREFIXES: dict[str, str] = {
    "G": "giga",
    "M": "mega",
    "k": "kilo",
    "d": "deci",
    "c": "centi",
    "m": "milli",
    "u": "micro",
    "n": "nano",
    "p": "pico",
    "f": "femto",
}
# UCUM arbitrary units for microscopy fields: their own dimension, never a volume.
_DEFINITIONS = (
    "high_power_field = [microscope_field]",
    "low_power_field = [low_power_microscope_field]",
)

_TEN_POWER = re.compile(r"10[*^](-?\d+)")
_NUMBER = re.compile(r"\d+")
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_SIMPLE = re.compile(r"(\[[A-Z]+\]|%|[A-Za-z]+?)(-?\d+)?")


class UcumSyntaxError(ValueError):
    """A UCUM code outside the subset this module translates (a data-file problem)."""


@dataclass(frozen=True, slots=True)
class Magnitude:
    """What pint says about one UCUM code.

    ``dimension`` is pint's dimensionality text (``1 / [length] ** 3`` for a count per volume).
    ``factor`` converts a value in this unit to cells/µL when ``per_volume``, to a plain number
    (the unity) when ``dimensionless``, and is None otherwise.
    """

    ucum: str
    dimension: str
    per_volume: bool
    dimensionless: bool
    factor: Decimal | None


@functools.cache
def _registry() -> Any:
    import pint  # noqa: PLC0415 - lazy: `import leukoflag` must not load pint

    registry: Any = pint.UnitRegistry(non_int_type=Decimal)
    for definition in _DEFINITIONS:
        registry.define(definition)
    return registry


def registry_created() -> bool:
    """Whether this process has created the pint registry yet (for benchmarks and tests)."""
    return _registry.cache_info().currsize > 0


@functools.cache
def measure(ucum: str) -> Magnitude:
    """The dimension of ``ucum`` and its exact factor to cells/µL (or to the unity).

    Raises :class:`UcumSyntaxError` for a code outside the translated subset.
    """
    registry = _registry()
    number, terms = translate(ucum)
    quantity = registry.Quantity(number, "dimensionless")
    for name, exponent in terms:
        quantity = quantity * registry.Unit(name) ** exponent
    per_ul = registry.Unit("microliter") ** -1
    per_volume = quantity.dimensionality == per_ul.dimensionality
    dimensionless = bool(quantity.dimensionless)
    factor: Decimal | None = None
    if per_volume:
        factor = Decimal(quantity.to(per_ul).magnitude)
    elif dimensionless:
        factor = Decimal(quantity.to("dimensionless").magnitude)
    return Magnitude(
        ucum=ucum,
        dimension=str(quantity.dimensionality),
        per_volume=per_volume,
        dimensionless=dimensionless,
        factor=factor.normalize() if factor is not None else None,
    )


def translate(ucum: str) -> tuple[Decimal, tuple[tuple[str, int], ...]]:
    """A UCUM code as a number and pint unit names with exponents.

    ``10*3/uL`` → ``(Decimal(1000), (("microliter", -1),))``. Only the subset leukoflag's data
    file uses: ``.`` and ``/`` (left to right, as UCUM reads them), ``10*n``/``10^n``, integer
    factors, curly-brace annotations (value 1), the atoms and prefixes above with an integer
    exponent (``mm3``, ``l-1``).
    """
    code = ucum.strip()
    if not code:
        raise UcumSyntaxError("empty UCUM code")
    number = Decimal(1)
    terms: list[tuple[str, int]] = []
    sign = 1
    component = ""
    depth = 0  # inside a {annotation}, "." and "/" are text
    for char in code + ".":
        depth += (char == "{") - (char == "}")
        if char in "./" and depth == 0:
            if component:
                number, terms = _component(ucum, component, sign, number, terms)
            elif char == "/" and not terms and number == 1:
                pass  # a leading "/" (UCUM "/uL") divides the unity
            else:
                raise UcumSyntaxError(f"{ucum!r}: empty term")
            sign = -1 if char == "/" else 1
            component = ""
        else:
            component += char
    return number, tuple(terms)


def _component(
    ucum: str, component: str, sign: int, number: Decimal, terms: list[tuple[str, int]]
) -> tuple[Decimal, list[tuple[str, int]]]:
    bare = _ANNOTATION.sub("", component)
    if not bare:
        return number, terms  # an annotation alone ({cells}, {ratio}) is the unity
    if match := _TEN_POWER.fullmatch(bare):
        return number * Decimal(10) ** (sign * int(match.group(1))), terms
    if _NUMBER.fullmatch(bare):
        return number * Decimal(bare) ** sign, terms
    match = _SIMPLE.fullmatch(bare)
    if match is None:
        raise UcumSyntaxError(f"{ucum!r}: cannot read {component!r}")
    symbol, exponent_text = match.group(1), match.group(2)
    exponent = sign * int(exponent_text or "1")
    return number, [*terms, (_pint_name(ucum, symbol), exponent)]


def _pint_name(ucum: str, symbol: str) -> str:
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    prefix, atom = symbol[:1], symbol[1:]
    if prefix in _PREFIXES and atom in _ATOMS and not atom.startswith("["):
        return _PREFIXES[prefix] + _ATOMS[atom]
    raise UcumSyntaxError(f"{ucum!r}: {symbol!r} is not a UCUM unit leukoflag translates")
