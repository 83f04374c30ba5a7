"""leukoflag._numbers.plain: plain notation, bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag._numbers import PLAIN_LIMIT, long_number, plain


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("8.20E+3"), "8200"),
        (Decimal("4.50"), "4.50"),
        (Decimal("-0"), "-0"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal(f"1E+{PLAIN_LIMIT - 1}"), "1" + "0" * (PLAIN_LIMIT - 1)),
        (Decimal(f"1E+{PLAIN_LIMIT}"), f"1E+{PLAIN_LIMIT}"),
        (Decimal(f"1E-{PLAIN_LIMIT}"), "0." + "0" * (PLAIN_LIMIT - 1) + "1"),
        (Decimal(f"1E-{PLAIN_LIMIT + 1}"), f"1E-{PLAIN_LIMIT + 1}"),
        # first digit within the bounds, the last beyond them: kept with its exponent
        (Decimal(f"1.0000E-{PLAIN_LIMIT - 1}"), f"1.0000E-{PLAIN_LIMIT - 1}"),
        (Decimal("-7.25E-999999999"), "-7.25E-999999999"),
    ],
)
def test_plain(value: Decimal, text: str) -> None:
    assert plain(value) == text
    assert Decimal(text) == value


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-sNaN")])
def test_not_a_number_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        plain(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("3999"), None),  # written out by the caller: 3,999
        (Decimal("1E-7"), None),
        (Decimal(f"1E-{PLAIN_LIMIT + 1}"), f"1E-{PLAIN_LIMIT + 1}"),
        (Decimal("1E-999999999"), "1E-999999999"),
        (Decimal("7" * 20_000), "7" * PLAIN_LIMIT + "… (20,000 characters)"),
        (Decimal("0." + "1" * PLAIN_LIMIT), "0." + "1" * (PLAIN_LIMIT - 2) + "… (42 characters)"),
    ],
)
def test_a_number_too_long_written_out_is_shown_bounded(value: Decimal, text: str | None) -> None:
    assert long_number(value) == text
