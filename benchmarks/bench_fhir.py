"""End-to-end speed: ``leukoflag.convert`` of a 20-OBX CBC message to serialized FHIR JSON.

The measured operation reads the raw HL7 v2 bytes, normalizes and flags the counts, writes the
Bundle and serializes it with :func:`leukoflag.fhir.dumps`. Three ratios, measured in the same
process (best of N runs each):

* hl7apy ``parse_message`` alone on the same message / leukoflag end to end (target ≥ 100);
* leukoflag end to end / a lean yardstick that splits the message into segments and fields,
  builds a comparable dict (one resource per segment, codes, values, units, references) and
  ``orjson.dumps`` it (target ≤ 5);
* the FHIR step's share of that end-to-end time (``fhir.write_bundle`` + ``fhir.dumps``, timed
  inside the same operation) / the lean yardstick;
* floors / the lean yardstick: the least any writer of this very Bundle can do in Python (build
  the same tree from constants, make its UUIDv5 ids, ``fhir.dumps`` it), and that plus the
  reader's floor (``bench_hl7v2.floor_read``); flagging is left out, so the sum is a lower bound
  for end to end. They show how much of the gap to the ``<= 5`` target the output contract itself
  takes: the yardstick writes a far smaller tree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson

import leukoflag
from _cbc import lakeside_results, obx
from _timing import best
from bench_hl7v2 import floor_read
from leukoflag import fhir, hl7v2
from leukoflag.fhir._ids import id_maker
from leukoflag.hl7v2 import _hl7apy
from leukoflag.model import Evaluation, Issue, Message

_RESULTS = lakeside_results()


def cbc_message() -> str:
    """A CBC with differential written for this benchmark: MSH, PID, PV1, ORC, OBR, 20 OBX, SPM."""
    segments = [
        (
            "MSH|^~\\&|HEMLAB|LAKESIDE^2.16.840.1.113883.19.40^ISO|EHR|LAKESIDE|"
            "20261124101522-0600||ORU^R01^ORU_R01|LK26112400317|P|2.5.1|||||USA|UNICODE UTF-8"
        ),
        "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO^K||19580212|M",
        (
            "PV1|1|O|INFUSION^BAY 3^^LAKESIDE||||3321^ABERNATHY^LOUISE^^^^MD||||||||||||"
            "V-55120^^^LAKESIDE^VN"
        ),
        "ORC|RE|PL-88310^EHR|FL-20261124-0091^HEMLAB",
        (
            "OBR|1|PL-88310^EHR|FL-20261124-0091^HEMLAB|57021-8^CBC W Auto Differential panel - "
            "Blood^LN|||20261124093000-0600|||||||||3321^ABERNATHY^LOUISE^^^^MD||||||"
            "20261124101000-0600|||F"
        ),
    ]
    segments.extend(
        obx(number, result, "20261124093000-0600", "20261124095500-0600")
        for number, result in enumerate(_RESULTS, start=1)
    )
    segments.append(
        "SPM|1|SP-55102^HEMLAB||BLDV^Blood venous^HL70487|||||||P^Patient^HL70369||||||"
        "20261124093000-0600|20261124094500-0600"
    )
    return "\r".join(segments) + "\r"


def lean_yardstick(text: str) -> bytes:
    """The least a converter must do: split, build one dict per segment, serialize."""
    segments = [segment.split("|") for segment in text.split("\r") if segment]
    patient: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    results: list[dict[str, str]] = []
    for fields in segments:
        kind = fields[0]
        if kind == "PID":
            family, given = [*fields[5].split("^"), ""][:2]
            patient = {
                "resourceType": "Patient",
                "id": "pid-1",
                "identifier": [{"value": fields[3].split("^")[0]}],
                "name": [{"family": family, "given": [given]}],
                "birthDate": f"{fields[7][:4]}-{fields[7][4:6]}-{fields[7][6:8]}",
                "gender": {"M": "male", "F": "female"}.get(fields[8], "unknown"),
            }
            entries.append({"fullUrl": "urn:uuid:pid-1", "resource": patient})
        elif kind == "OBX":
            code, display, _ = [*fields[3].split("^"), "", ""][:3]
            unit = fields[6].split("^")[0]
            low, _, high = fields[7].partition("-")
            ident = f"obx-{fields[1]}"
            results.append({"reference": f"urn:uuid:{ident}"})
            observation = {
                "resourceType": "Observation",
                "id": ident,
                "status": "final",
                "code": {
                    "coding": [{"system": "http://loinc.org", "code": code, "display": display}]
                },
                "subject": {"reference": "urn:uuid:pid-1"},
                "effectiveDateTime": fields[14],
                "valueQuantity": {
                    "value": float(fields[5]),
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
                "interpretation": [{"coding": [{"code": fields[8]}]}],
                "referenceRange": [
                    {
                        "low": {"value": float(low)},
                        "high": {"value": float(high)},
                        "text": fields[7],
                    }
                ],
            }
            entries.append({"fullUrl": f"urn:uuid:{ident}", "resource": observation})
    entries.append(
        {
            "fullUrl": "urn:uuid:obr-1",
            "resource": {
                "resourceType": "DiagnosticReport",
                "id": "obr-1",
                "status": "final",
                "result": results,
            },
        }
    )
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def writer_share(raw: bytes, settings: leukoflag.Settings, runs: int = 15) -> tuple[float, float]:
    """Seconds per message spent in ``fhir.write_bundle`` and in ``fhir.dumps`` during the
    end-to-end operation (the run with the least total time), measured by wrapping both."""
    spent = {"write": 0.0, "dumps": 0.0}
    write_bundle = fhir.write_bundle

    def timed_write(
        message: Message, evaluations: Mapping[str, Evaluation], settings: leukoflag.Settings
    ) -> tuple[dict[str, Any], tuple[Issue, ...]]:
        start = time.perf_counter()
        written = write_bundle(message, evaluations, settings)
        spent["write"] += time.perf_counter() - start
        return written

    number = 200
    best_total, best = float("inf"), (0.0, 0.0)
    fhir.write_bundle = timed_write  # leukoflag.api calls it through the module
    try:
        for _ in range(runs):
            spent["write"] = spent["dumps"] = 0.0
            began = time.perf_counter()
            for _ in range(number):
                for bundle in leukoflag.convert(raw, settings).bundles:
                    start = time.perf_counter()
                    fhir.dumps(bundle)
                    spent["dumps"] += time.perf_counter() - start
            total = time.perf_counter() - began
            if total < best_total:
                best_total, best = total, (spent["write"] / number, spent["dumps"] / number)
    finally:
        fhir.write_bundle = write_bundle
    return best


def literal_builder(tree: Any) -> Callable[[], Any]:
    """A function that builds a copy of the JSON ``tree`` from one literal expression (its
    Decimals as constants): the cheapest way CPython makes that many dicts and lists."""
    constants: dict[str, Decimal] = {}

    def literal(node: Any) -> str:
        if isinstance(node, dict):
            return "{" + ",".join(f"{key!r}:{literal(value)}" for key, value in node.items()) + "}"
        if isinstance(node, list):
            return "[" + ",".join(literal(value) for value in node) + "]"
        if isinstance(node, Decimal):
            name = f"_d{len(constants)}"
            constants[name] = node
            return name
        return repr(node)

    source = f"def build():\n    return {literal(tree)}\n"
    namespace: dict[str, Any] = dict(constants)
    exec(source, namespace)  # the benchmark's own Bundle, rendered above
    built: Callable[[], Any] = namespace["build"]
    assert built() == tree
    return built


def writer_floor(bundle: dict[str, Any]) -> Callable[[], bytes]:
    """The least a Python writer of ``bundle`` must do: its tree, its ids, its JSON."""
    build = literal_builder(bundle)
    make = id_maker(("v2", "HEMLAB", "LAKESIDE", "LK26112400317", "20261124101522-0600"))
    names = [
        (entry["resource"]["resourceType"], f"MSH[1]/{position}")
        for position, entry in enumerate(bundle["entry"])
    ]

    def floor() -> bytes:
        for resource_type, location in names:
            make(resource_type, location)
        return fhir.dumps(build())

    return floor


def main() -> None:
    text = cbc_message()
    raw = text.encode("utf-8")
    settings = leukoflag.Settings()
    conversion = leukoflag.convert(raw, settings)
    assert len(conversion.bundles) == 1
    assert len(conversion.findings) == 2  # the WBC and the ANC

    def end_to_end() -> object:
        return [fhir.dumps(bundle) for bundle in leukoflag.convert(raw, settings).bundles]

    def hl7apy() -> object:
        return _hl7apy.parse(text)

    def lean() -> object:
        return lean_yardstick(text)

    ours = best(end_to_end, 200)
    parser = best(hl7apy, 5, repeat=5)
    yardstick = best(lean, 2000)
    print(
        f"fhir convert end to end vs hl7apy parse: ratio {parser / ours:.0f} "
        f"(hl7apy parse_message {parser * 1e6:.0f} µs / convert + dumps {ours * 1e6:.0f} µs; "
        "target >= 100)"
    )
    print(
        f"fhir convert end to end vs lean yardstick: ratio {ours / yardstick:.1f} "
        f"(convert + dumps {ours * 1e6:.0f} µs / split + dict + orjson {yardstick * 1e6:.0f} µs; "
        "target <= 5)"
    )
    message = hl7v2.read_message(raw, index=1, source="bench", settings=settings)
    assert isinstance(message, Message)
    write_least = writer_floor(conversion.bundles[0])
    read_least = floor_read(message)
    assert len(read_least(text)) == len(_RESULTS)
    writer_time = best(write_least, 1000)
    reader_time = best(lambda: read_least(text), 2000)
    print(
        f"fhir writer floor (same tree from constants + its UUIDv5 ids + dumps) vs lean "
        f"yardstick: ratio {writer_time / yardstick:.1f} (floor {writer_time * 1e6:.0f} µs for "
        f"{len(conversion.bundles[0]['entry'])} resources, {len(fhir.dumps(conversion.bundles[0]))}"
        f" bytes / yardstick {yardstick * 1e6:.0f} µs, {len(lean_yardstick(text))} bytes)"
    )
    print(
        f"fhir end-to-end floor (reader floor + writer floor, no flagging) vs lean yardstick: "
        f"ratio {(writer_time + reader_time) / yardstick:.1f} (floor "
        f"{(writer_time + reader_time) * 1e6:.0f} µs; end to end is "
        f"{ours / (writer_time + reader_time):.1f}x the floor)"
    )
    write, dumps = writer_share(raw, settings)
    print(
        f"fhir write_bundle + dumps within end to end vs lean yardstick: ratio "
        f"{(write + dumps) / yardstick:.1f} (write_bundle {write * 1e6:.0f} µs + dumps "
        f"{dumps * 1e6:.0f} µs / split + dict + orjson {yardstick * 1e6:.0f} µs; "
        "the writer's share of the end-to-end target)"
    )


if __name__ == "__main__":
    main()
