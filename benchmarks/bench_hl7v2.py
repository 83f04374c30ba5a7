"""HL7 v2 reader speed: ``read_message`` on a 20-OBX CBC against hl7apy and a bare split.

Prints two ratios measured in the same process (best of N runs each):

* hl7apy ``parse_message`` time / leukoflag ``read_message`` time (target ≥ 200);
* leukoflag ``read_message`` time / ``[s.split('|') for s in text.split('\\r')]`` (target ≤ 3);
* the same over a feed of distinct CBCs (every message its own control ID, patient, order and
  specimen IDs, times and values; codes, units, ranges and providers from a lab's usual set), so
  per-process caches only help where a real feed repeats itself;
* a floor: the least any reader building this model can do (:func:`floor_read`), against the
  same bare split, which shows how far the ``<= 3`` target is from what the model allows.

``read_message`` builds the full Message (patient, visit, order, 20 results with decimals,
units, ranges, flags, timestamps, specimen, issues), from the raw bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

from _cbc import obx, riverside_results
from _timing import best
from leukoflag._construct import constructor
from leukoflag.hl7v2 import _hl7apy, read_message
from leukoflag.model import LabResult, Message, Number, ResultStatus
from leukoflag.settings import Settings

_ANALYTES = riverside_results()


def cbc_message() -> str:
    """A realistic CBC with differential: MSH, PID, PV1, ORC, OBR, 20 OBX, SPM (CR-separated)."""
    segments = [
        (
            "MSH|^~\\&|CORELAB|RIVERSIDE^2.16.840.1.113883.3.8821^ISO|EHR|RIVERSIDE|"
            "20261124091047-0500||ORU^R01^ORU_R01|RS24-000117|P|2.5.1|||||USA|UNICODE UTF-8"
        ),
        "PID|1||MRN100871^^^RIVERSIDE^MR~998-12-4411^^^SSA^SS||OKAFOR^DANIEL^C||19610719|M",
        "PV1|1|O|ONC^12^B^RIVERSIDE||||5820^VARGA^ILONA^^^DR^MD||||||||||||V7788^^^RIVERSIDE^VN",
        "ORC|RE|ORD55377^EHR|LAB88164^CORELAB",
        (
            "OBR|1|ORD55377^EHR|LAB88164^CORELAB|57021-8^CBC W Auto Differential panel - Blood^LN"
            "|||20261124080500-0500|||||||||5820^VARGA^ILONA^^^^MD||||||20261124090500-0500|||F"
        ),
    ]
    segments.extend(
        obx(number, result, "20261124080500-0500", "20261124083000-0500")
        for number, result in enumerate(_ANALYTES, start=1)
    )
    segments.append(
        "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369||||||"
        "20261124080500-0500|20261124081900-0500"
    )
    return "\r".join(segments)


_FAMILIES = ("OKAFOR", "LINDQVIST", "MORALES", "NGUYEN", "ABERNATHY", "KOWALCZYK", "SATO")
_GIVEN = ("DANIEL", "ASTRID", "LUCIA", "MINH", "GRACE", "TOMASZ", "YUKI")


def varied_messages(count: int, seed: int = 2026) -> list[bytes]:
    """``count`` distinct CBCs: the shape of :func:`cbc_message`, with per-message identifiers,
    names, birth dates, times and values, as a day's feed from one lab would send them."""
    rng = random.Random(seed)
    template = cbc_message().split("\r")
    messages = []
    for number in range(count):
        minute = 8 * 60 + number % 600
        taken = f"20261124{minute // 60:02d}{minute % 60:02d}{number % 60:02d}-0500"
        done = f"20261124{(minute + 25) // 60 % 24:02d}{(minute + 25) % 60:02d}00-0500"
        sent = f"20261124{(minute + 40) // 60 % 24:02d}{(minute + 40) % 60:02d}47-0500"
        birth = f"19{rng.randint(30, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        sex = rng.choice("MF")
        name = f"{rng.choice(_FAMILIES)}^{rng.choice(_GIVEN)}^{chr(65 + number % 26)}"
        segments = [
            template[0]
            .replace("20261124091047-0500", sent)
            .replace("RS24-000117", f"RS24-{number:06d}"),
            f"PID|1||MRN{300000 + number}^^^RIVERSIDE^MR||{name}||{birth}|{sex}",
            template[2].replace("V7788", f"V{50000 + number}"),
            template[3]
            .replace("ORD55377", f"ORD{70000 + number}")
            .replace("LAB88164", f"LAB{90000 + number}"),
            template[4]
            .replace("ORD55377", f"ORD{70000 + number}")
            .replace("LAB88164", f"LAB{90000 + number}")
            .replace("20261124080500-0500", taken)
            .replace("20261124090500-0500", done),
        ]
        for set_id, (code, display, value, unit, reference, _) in enumerate(_ANALYTES, 1):
            measured = Decimal(value) * Decimal(rng.randint(70, 130)) / 100
            shown = measured.quantize(Decimal(value))
            low, high = (Decimal(x) for x in reference.split("-"))
            flag = "L" if shown < low else "H" if shown > high else "N"
            segments.append(
                obx(set_id, (code, display, str(shown), unit, reference, flag), taken, done)
            )
        segments.append(
            f"SPM|1|SP{40000 + number}^CORELAB||BLDV^Blood, venous^HL70487|||||||"
            f"P^Patient^HL70369||||||{taken}|{done}"
        )
        messages.append("\r".join(segments).encode("utf-8"))
    return messages


def floor_read(message: Message) -> Callable[[str], list[LabResult]]:
    """A reader of ``message``'s text that does only what no reader of the model can skip:
    split segments and fields, and per OBX parse the value and build its ``Number`` and
    ``LabResult`` (with the fast constructor). Everything else is free: codes, units, ranges
    and times come ready-made from ``message`` by their field text, status is one lookup, and
    there are no MSH/PID/OBR/SPM, escapes, checks or issues. A lower bound, not a reader."""
    results = [result for order in message.groups[0].orders for result in order.results]
    codes = {r.code.codings[0].code: r.code for r in results}
    units = {r.unit.code: r.unit for r in results if r.unit is not None}
    ranges = {r.reference_range.text: r.reference_range for r in results if r.reference_range}
    stamps = [stamp for r in results for stamp in (r.effective, r.analysis_time)]
    times = {stamp.text: stamp for stamp in stamps if stamp is not None}
    statuses = {"F": ResultStatus.FINAL}
    new_result, new_number = constructor(LabResult), constructor(Number)

    def read(text: str) -> list[LabResult]:
        made = []
        for line in text.split("\r"):
            fields = line.split("|")
            if fields[0] != "OBX":
                continue
            made.append(
                new_result(
                    f"MSG[1]/OBX[{fields[1]}]",
                    codes[fields[3].split("^", 1)[0]],
                    new_number(Decimal(fields[5]), fields[5]),
                    statuses[fields[11]],
                    units[fields[6].split("^", 1)[0]],
                    ranges[fields[7]],
                    fields[11],
                    "",
                    (),
                    fields[2],
                    fields[1],
                    fields[4],
                    times[fields[14]],
                    times[fields[19]],
                )
            )
        return made

    return read


def main() -> None:
    text = cbc_message()
    raw = text.encode("utf-8")
    settings = Settings()
    read = read_message(raw, index=1, source="bench", settings=settings)
    assert isinstance(read, Message)
    assert len(read.groups[0].orders[0].results) == len(_ANALYTES)

    def ours() -> object:
        return read_message(raw, index=1, source="bench", settings=settings)

    def hl7apy() -> object:
        return _hl7apy.parse(text)

    def bare_split() -> object:
        return [s.split("|") for s in text.split("\r")]

    feed = varied_messages(1000)
    assert all(
        isinstance(read_message(m, index=1, source="feed", settings=settings), Message)
        for m in feed
    )

    def ours_on_feed() -> object:
        return [read_message(m, index=1, source="feed", settings=settings) for m in feed]

    floor = floor_read(read)
    assert len(floor(text)) == len(_ANALYTES)

    def ours_floor() -> object:
        return floor(text)

    leukoflag_time = best(ours, 500)
    floor_time = best(ours_floor, 2000)
    feed_time = best(ours_on_feed, 1, repeat=7) / len(feed)
    hl7apy_time = best(hl7apy, 5, repeat=5)
    split_time = best(bare_split, 5000)
    print(
        f"hl7v2 read_message vs hl7apy: ratio {hl7apy_time / leukoflag_time:.0f} "
        f"(hl7apy parse_message {hl7apy_time * 1e6:.0f} µs / read_message "
        f"{leukoflag_time * 1e6:.1f} µs; target >= 200)"
    )
    print(
        f"hl7v2 read_message vs bare split: ratio {leukoflag_time / split_time:.1f} "
        f"(read_message {leukoflag_time * 1e6:.1f} µs / str.split {split_time * 1e6:.1f} µs; "
        "target <= 3)"
    )
    print(
        f"hl7v2 read_message on a feed of 1000 distinct CBCs vs bare split: ratio "
        f"{feed_time / split_time:.1f} (read_message {feed_time * 1e6:.1f} µs per message / "
        f"str.split {split_time * 1e6:.1f} µs)"
    )
    print(
        f"hl7v2 reader floor (split + Decimal + Number + LabResult per OBX) vs bare split: "
        f"ratio {floor_time / split_time:.1f} (floor {floor_time * 1e6:.1f} µs / str.split "
        f"{split_time * 1e6:.1f} µs; read_message is {leukoflag_time / floor_time:.1f}x the floor)"
    )


if __name__ == "__main__":
    main()
