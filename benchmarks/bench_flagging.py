"""flagging.evaluate_order on typical orders, as ratios against reference operations.

References, run in the same process on the same data: ``orjson.dumps`` of the order as a plain
dict (the cost of merely writing the message out), and ``Decimal(text)`` of every result value
(the least any reader does per message).

Also: the cost of one result that is not a count (an order of 20 such results, per result); the
CBC rebuilt as new, equal objects for every call, as a reader hands it over (no cache may rely
on object identity); a feed of CBCs that differ in their patient, day, counts and sender flags
(what the per-process caches, keyed on values, see in a real feed); the cost of one count
derived from those (an order less its 18 other results, halved); and flagging's share of
``leukoflag.convert`` + ``fhir.dumps`` of the end-to-end benchmark's message
(``bench_fhir.py``), measured on freshly read messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from decimal import Decimal
from typing import Any

import orjson

import leukoflag
from _timing import per_call
from bench_fhir import cbc_message
from leukoflag import api, fhir, flagging, hl7v2
from leukoflag.model import (
    Coding,
    Concept,
    LabResult,
    Message,
    Number,
    Order,
    PatientContext,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Timestamp,
    Unit,
)
from leukoflag.settings import Settings

LOINC = "http://loinc.org"
DAY = Timestamp("20260310083000-0500", "2026-03-10T08:30:00-05:00", dt.date(2026, 3, 10))
K_PER_UL = Unit("10*3/uL", "10*3/uL", "http://unitsofmeasure.org")
PERCENT = Unit("%", "%", "http://unitsofmeasure.org")
# A CBC with automated differential: WBC, ANC and their neighbours (percents, other cells).
CBC = (
    ("6690-2", "5.4", K_PER_UL, ("4.0", "11.0")),
    ("789-8", "4.61", Unit("10*6/uL", "10*6/uL"), ("4.2", "5.4")),
    ("718-7", "13.9", Unit("g/dL", "g/dL"), ("12.0", "16.0")),
    ("4544-3", "41.2", PERCENT, ("37", "47")),
    ("787-2", "89.4", Unit("fL", "fL"), ("80", "100")),
    ("785-6", "30.2", Unit("pg", "pg"), ("27", "33")),
    ("786-4", "33.7", Unit("g/dL", "g/dL"), ("32", "36")),
    ("788-0", "13.1", PERCENT, ("11.5", "14.5")),
    ("777-3", "251", K_PER_UL, ("150", "400")),
    ("770-8", "61.0", PERCENT, ("40", "75")),
    ("736-9", "28.5", PERCENT, ("20", "45")),
    ("5905-5", "7.1", PERCENT, ("2", "10")),
    ("713-8", "2.7", PERCENT, ("0", "6")),
    ("706-2", "0.7", PERCENT, ("0", "2")),
    ("751-8", "3.29", K_PER_UL, ("1.8", "7.7")),
    ("731-0", "1.54", K_PER_UL, ("1.0", "4.8")),
    ("742-7", "0.38", K_PER_UL, ("0.2", "0.8")),
    ("711-2", "0.15", K_PER_UL, ("0.0", "0.45")),
    ("704-7", "0.04", K_PER_UL, ("0.0", "0.2")),
    ("32623-1", "10.2", Unit("fL", "fL"), ("7.5", "11.5")),
)


_COUNTS = ("6690-2", "751-8")  # the results that carry the sender's flags in a feed


def _order(
    rows: tuple[tuple[str, str, Unit, tuple[str, str]], ...],
    *,
    day: Timestamp = DAY,
    flags: tuple[Coding, ...] = (),
) -> Order:
    results = tuple(
        LabResult(
            location=f"MSG[1]/OBX[{n}]",
            code=Concept((Coding(code, "", LOINC, "LN"),)),
            value=Number(Decimal(value), value),
            status=ResultStatus.FINAL,
            unit=unit,
            reference_range=ReferenceRange(f"{low}-{high}", Decimal(low), Decimal(high)),
            sender_flags=flags if code in _COUNTS else (),
            effective=day,
            order="MSG[1]/OBR[1]",
        )
        for n, (code, value, unit, (low, high)) in enumerate(rows, start=1)
    )
    return Order(
        location="MSG[1]/OBR[1]",
        code=Concept((Coding("58410-2", "CBC panel - Blood by Automated count", LOINC),)),
        status=ReportStatus.FINAL,
        results=results,
    )


def _feed(size: int) -> list[tuple[Order, PatientContext]]:
    """CBCs of different patients (birth dates, sexes), days, counts and sender flags."""
    feed = []
    for n in range(size):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)
        stamp = Timestamp(f"{day:%Y%m%d}0830", f"{day.isoformat()}T08:30:00", day)
        wbc, anc = f"{1.5 + (n % 97) / 10:.1f}", f"{0.2 + (n % 89) / 20:.2f}"
        rows = tuple(
            (code, wbc if code == "6690-2" else anc if code == "751-8" else value, unit, limits)
            for code, value, unit, limits in CBC
        )
        flags = (Coding(("L", "N", "H", "")[n % 4], "", "", "HL70078"),) if n % 3 else ()
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=(n * 7919) % 33000)
        context = PatientContext(birth_date=birth, sex=("female", "male", "unknown")[n % 3])
        feed.append((_order(rows, day=stamp, flags=flags), context))
    return feed


def main() -> None:
    settings = Settings()
    adult = PatientContext(birth_date=dt.date(1971, 5, 2), sex="female")
    infant = PatientContext(birth_date=dt.date(2025, 11, 20), sex="male")
    cbc = _order(CBC)
    without_anc = _order(tuple(row for row in CBC if row[0] != "751-8"))
    as_dict: dict[str, Any] = dataclasses.asdict(cbc)
    texts = [row[1] for row in CBC]

    dumps = per_call(lambda: orjson.dumps(as_dict, default=str))
    decimals = per_call(lambda: [Decimal(text) for text in texts])
    cases = (
        ("adult CBC (20 results, 2 counts)", cbc, adult),
        ("infant CBC (age bands)", cbc, infant),
        ("adult CBC without ANC (derived)", without_anc, adult),
    )
    for name, order, context in cases:
        spent = per_call(functools.partial(flagging.evaluate_order, order, context, settings))
        print(
            f"evaluate_order, {name}: ratio {spent / dumps:.1f} (orjson.dumps of the order), "
            f"ratio {spent / decimals:.1f} (Decimal() of its 20 values); "
            f"{spent * 1e6:.1f} µs per order"
        )

    fresh = [_order(CBC) for _ in range(4096)]
    turn = iter(range(1 << 62))
    spent = per_call(
        lambda: flagging.evaluate_order(fresh[next(turn) % len(fresh)], adult, settings)
    )
    print(
        f"evaluate_order, adult CBC as new objects each call: ratio {spent / dumps:.1f} "
        f"(orjson.dumps of the order); {spent * 1e6:.1f} µs per order"
    )

    fresh_spent = spent
    feed = _feed(4096)
    turn = iter(range(1 << 62))

    def flag_feed() -> object:
        order, context = feed[next(turn) % len(feed)]
        return flagging.evaluate_order(order, context, settings)

    spent = per_call(flag_feed)
    print(
        f"evaluate_order, a feed of 4,096 CBCs (patients, days, counts, flags vary): ratio "
        f"{spent / dumps:.1f} (orjson.dumps of the order); {spent * 1e6:.1f} µs per order"
    )

    others = _order(tuple(row for row in CBC if row[0] not in ("6690-2", "751-8", "770-8")) * 2)
    spent = per_call(functools.partial(flagging.evaluate_order, others, adult, settings))
    per_result = spent / len(others.results)
    one_decimal = decimals / len(texts)
    print(
        f"evaluate_order, a result that is not a count: ratio {per_result / one_decimal:.1f} "
        f"(Decimal() of one value); {per_result * 1e9:.0f} ns per result"
    )
    per_count = (fresh_spent - (len(CBC) - 2) * per_result) / 2
    print(
        f"evaluate_order, one count (adult CBC as new objects, less its other 18 results, "
        f"halved): ratio {per_count / one_decimal:.1f} (Decimal() of one value); "
        f"{per_count * 1e6:.1f} µs per count"
    )

    raw = cbc_message().encode("utf-8")
    messages: list[Message] = []
    while len(messages) < 512:
        read = hl7v2.read_message(raw, index=1, source="<bench>", settings=settings)
        assert isinstance(read, Message)
        messages.append(read)
    turn = iter(range(1 << 62))

    def flag_message() -> object:
        message = messages[next(turn) % len(messages)]
        return api.evaluate_groups(message.groups, settings, fallback=message)

    flag_spent = per_call(flag_message)
    total = per_call(
        lambda: [fhir.dumps(bundle) for bundle in leukoflag.convert(raw, settings).bundles]
    )
    print(
        f"flagging share of convert + dumps (bench_fhir's message): ratio "
        f"{flag_spent / total:.2f} (convert + dumps; {flag_spent * 1e6:.0f} µs of "
        f"{total * 1e6:.0f} µs)"
    )


if __name__ == "__main__":
    main()
