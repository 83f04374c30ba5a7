"""Decimals as text: plain notation, bounded; and the context leukoflag's arithmetic runs in.

Plain notation (``Decimal("8.2E+3")`` → ``8200``) is what people and most JSON consumers expect.
But a Decimal from JSON input may carry any exponent (``1e999999999`` is nine bytes of valid
JSON): written out in plain notation it would be a billion digits. Beyond :data:`PLAIN_LIMIT`
places either side of the point, the exponent is kept (``1E+999999999``), which is still an
exact JSON number and a valid FHIR decimal.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from leukoflag._quote import shortened

__all__ = ["EXACT", "PLAIN_LIMIT", "long_number", "plain"]

PLAIN_LIMIT = 40  # digits before or after the point that plain notation may need

# Counts, percents and ages are worked out exactly in this context, never in the calling
# thread's (a precision or rounding an application set there would change values and codes).
EXACT = Context(
    prec=MAX_PREC,
    rounding=ROUND_HALF_EVEN,
    Emin=MIN_EMIN,
    Emax=MAX_EMAX,
    traps=[InvalidOperation, DivisionByZero, Overflow],
    flags=[],
)


def plain(value: Decimal) -> str:
    """``value`` in plain notation (``Decimal("8.20E+3")`` → ``8200``), or with its exponent
    when plain notation would need more than :data:`PLAIN_LIMIT` digits before or after the
    point. Raises ``ValueError`` for NaN and infinities."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    # Within these bounds plain notation is at most PLAIN_LIMIT digits longer than the value's
    # own, so it is made first and its places after the point counted (cheaper than as_tuple()).
    if -PLAIN_LIMIT <= value.adjusted() < PLAIN_LIMIT:
        text = format(value, "f")
        point = text.find(".")
        if point < 0 or len(text) - point - 1 <= PLAIN_LIMIT:
            return text
    return str(value)


def long_number(value: Decimal) -> str | None:
    """``value`` as ``str`` shows it (``1E-999999999``), bounded like a quote of input, when
    written out in full it would take more than :data:`PLAIN_LIMIT` characters; else None, and
    the caller writes it out as people read it (``3,999``)."""
    text = plain(value)
    if "E" in text or len(text) > PLAIN_LIMIT:
        return shortened(str(value), PLAIN_LIMIT)
    return None
