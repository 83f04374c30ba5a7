"""Mutated input through the whole pipeline: convert, dumps, validate, the command line.

Whatever the input, nothing escapes ``convert``, every item read ends as one output or one
Rejected, every OBX of an accepted message is an Observation or an Issue at its location, the
same input gives the same bytes twice, and no FHIR string holds a control character.
"""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag import detect, fhir, hl7v2
from leukoflag.fhir._ids import message_key, resource_id
from leukoflag.model import Message

if TYPE_CHECKING:
    from _typeshed import TraceFunction

MSH = (
    "MSH|^~\\&|FUZZLAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01|NG-000{n}|P|"
    "2.5.1|||AL|NE||UNICODE UTF-8"
)
BODY = (
    "PID|1||NG44817^^^NORTHGATE^MR||LINDQVIST^MAJA^E||19770305|F",
    "ORC|RE|ORD90011^EHR|LAB31177^FUZZLAB||CM",
    (
        "OBR|1|ORD90011^EHR|LAB31177^FUZZLAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124080500-0500|||||||||||||||20261124090500-0500|||F"
    ),
    (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.9|10*3/uL^^UCUM|"
        "4.0-11.0|L|||F|||20261124080500-0500"
    ),
    "NTE|1|L|Smear reviewed: no blasts seen.",
    (
        "OBX|2|SN|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||<^0.5|10*3/uL^^UCUM|"
        "1.8-7.7|LL|||F|||20261124080500-0500"
    ),
    "SPM|1|SP4410^FUZZLAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369",
    "OBX|3|NM|777-3^Platelets [#/volume] in Blood^LN||141|10*3/uL^^UCUM|150-400|L|||F",
)


def oru(n: int) -> bytes:
    return ("\r".join((MSH.format(n=n), *BODY)) + "\r").encode()


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")  # ESC: see docs/hl7v2.md
INSERTS = [
    *("|", "^", "~", "&", "\\", "\\X00\\", "\\E\\", "\\.br\\", "\\Zfuzz\\", "\r", "\n", "\r\n"),
    *("\x00", "\x01", "\x1f", "\x7f", "\ufeff", "é", "漢", "\rNTE|1||first", "\rMSH|^~\\&|X"),
    *("~" * 3000, "^" * 500, "W" * 40_000, "\rZQ1|a|b", "\rOBX|9|NM|6690-2^WBC^LN||1.1|10*3/uL"),
]
BAD_BYTES = [b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff", b"\xed\xa0\x80", b"\x80"]
CHARSETS = ["ASCII", "8859/1", "UNICODE UTF-16", "ISO IR87", "GB 18030-2000", "NOT-A-SET", ""]


@st.composite
def mutated_stream(draw: st.DrawFn) -> bytes:
    """Two or three messages, each mutated, in plain, batch or MLLP framing."""
    messages = []
    for n in range(draw(st.integers(2, 3))):
        lines = [*re.split("(?<=\r)", oru(n).decode())]
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["insert", "move", "copy", "drop", "charset", "ends"]))
            at = draw(st.integers(0, len(lines) - 1))
            if kind == "insert":
                position = draw(st.integers(0, len(lines[at])))
                text = draw(st.sampled_from(INSERTS))
                lines[at] = lines[at][:position] + text + lines[at][position:]
            elif kind in ("move", "copy"):
                to = draw(st.integers(0, len(lines) - 1))
                lines.insert(to, lines[at] if kind == "copy" else lines.pop(at))
            elif kind == "drop" and len(lines) > 1:
                del lines[at]
            elif kind == "charset" and lines[0].startswith("MSH"):
                lines[0] = lines[0].replace("UNICODE UTF-8", draw(st.sampled_from(CHARSETS)))
            elif kind == "ends":
                lines = [
                    line.replace("\r", draw(st.sampled_from(["\n", "\r\n"]))) for line in lines
                ]
        data = "".join(lines).encode("utf-8", "surrogatepass")
        if draw(st.booleans()):  # invalid UTF-8, inside a multi-byte character or not
            position = draw(st.integers(0, len(data)))
            data = data[:position] + draw(st.sampled_from(BAD_BYTES)) + data[position:]
        messages.append(data)
    framing = draw(st.sampled_from(["plain", "batch", "mllp"]))
    if framing == "mllp":
        return b"".join(b"\x0b" + m + b"\x1c\r" for m in messages)
    if framing == "batch":
        return b"BHS|^~\\&|FUZZLAB\r" + b"".join(messages) + f"BTS|{len(messages)}\r".encode()
    return b"".join(messages)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def check_v2(data: bytes, settings: leukoflag.Settings | None = None) -> leukoflag.Conversion:
    """The invariants of one HL7 v2 input; returns its conversion."""
    conversion = leukoflag.convert(data, settings)
    if detect.detect(data[:4096]) != "hl7v2":  # not a stream of messages: rejected whole
        assert (len(conversion.bundles), len(conversion.rejected)) == (0, 1)
        return conversion
    chunks = list(hl7v2.split_bytes(data))
    assert len(conversion.bundles) + len(conversion.rejected) == len(chunks)
    dumped = [fhir.dumps(bundle) for bundle in conversion.bundles]
    again = leukoflag.convert(data, settings)
    assert [fhir.dumps(bundle) for bundle in again.bundles] == dumped
    assert [r.reason for r in again.rejected] == [r.reason for r in conversion.rejected]
    for bundle in conversion.bundles:
        assert not [s for s in strings(bundle) if CONTROL.search(s)]
    rejected = {r.index for r in conversion.rejected}
    accepted = [n for n in range(1, len(chunks) + 1) if n not in rejected]
    for n, bundle in zip(accepted, conversion.bundles, strict=True):
        read = hl7v2.read_message(chunks[n - 1], index=n, source="t", settings=leukoflag.Settings())
        assert isinstance(read, Message)
        key, _ = message_key(read)
        written = {e["resource"]["id"] for e in bundle["entry"]}
        separator = chunks[n - 1].split(b"MSH", 1)[1][:1]
        segments = re.split(rb"\r\n|\r|\n", chunks[n - 1])
        count = sum(1 for s in segments if s.startswith(b"OBX" + separator))
        for k in range(1, count + 1):
            where = f"MSG[{n}]/OBX[{k}]"
            as_issue = any(i.location.split("-")[0] == where for i in conversion.issues)
            assert resource_id(key, "Observation", f"OBX[{k}]") in written or as_issue, where
    return conversion


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(mutated_stream())
def test_mutated_hl7v2_streams_keep_the_pipeline_invariants(data: bytes) -> None:
    check_v2(data)


@seed(20261124)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_stream(), st.sampled_from(["R4", "R5"]))
def test_bundles_from_mutated_hl7v2_validate(data: bytes, version: Literal["R4", "R5"]) -> None:
    conversion = check_v2(data, leukoflag.Settings(fhir_version=version))
    for bundle in conversion.bundles:
        assert fhir.validate(bundle, version) == []


@pytest.mark.parametrize("framing", ["batch", "mllp"])
def test_a_stream_cut_anywhere_counts_every_message_read(framing: str) -> None:
    messages = [oru(1), oru(2)]
    if framing == "mllp":
        stream = b"".join(b"\x0b" + m + b"\x1c\r" for m in messages)
    else:
        stream = b"FHS|^~\\&|FUZZLAB\rBHS|^~\\&|FUZZLAB\r" + b"".join(messages) + b"BTS|2\rFTS|1\r"
    for cut in range(0, len(stream) + 1, 3):
        data = stream[:cut]
        conversion = leukoflag.convert(data)
        if b"MSH" in data:  # (a batch header alone holds no message: see the report)
            assert len(conversion.bundles) + len(conversion.rejected) >= 1, cut
        if data[:1] in (b"\x0b", b"F", b"M"):
            check_v2(data)


OBSERVATION = {
    "resourceType": "Observation",
    "id": "anc-ng-1",
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "laboratory",
                }
            ]
        }
    ],
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}], "text": "ANC"},
    "subject": {"reference": "#pat"},
    "contained": [{"resourceType": "Patient", "id": "pat", "birthDate": "1977-03-05"}],
    "effectiveDateTime": "2026-11-24T08:05:00-05:00",
    "valueQuantity": {
        "value": 0.42,
        "unit": "10*3/uL",
        "system": "http://unitsofmeasure.org",
        "code": "10*3/uL",
    },
    "interpretation": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": "LL",
                }
            ]
        }
    ],
    "referenceRange": [
        {"low": {"value": 1.8, "unit": "10*3/uL"}, "high": {"value": 7.7, "unit": "10*3/uL"}}
    ],
    "note": [{"text": "Repeat in 48 hours."}],
}
BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:7d3c",
            "resource": {"resourceType": "Patient", "id": "p", "gender": "female"},
        },
        {"fullUrl": "urn:uuid:7d3d", "resource": OBSERVATION},
        {
            "fullUrl": "urn:uuid:7d3e",
            "resource": {
                **OBSERVATION,
                "id": "anc-ng-1",
                "hasMember": [{"reference": "urn:uuid:7d3d"}],
            },
        },
    ],
}
CONFUSED: list[object] = [None, "1", 1, True, [], {}, [None], {"value": "x"}, "#pat", [[[[]]]]]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield from paths(item, (*prefix, key))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    value = copy.deepcopy(value)
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


@pytest.mark.parametrize("resource", [OBSERVATION, BUNDLE], ids=["Observation", "Bundle"])
def test_type_confusion_at_every_path_is_one_output_or_one_rejection(resource: Any) -> None:
    for number, path in enumerate(list(paths(resource))[1:]):
        new = CONFUSED[number % len(CONFUSED)]
        data = fhir.dumps(replaced(resource, path, new))
        conversion = leukoflag.convert(data)
        assert len(conversion.bundles) + len(conversion.rejected) == 1, path
        for output in conversion.bundles:
            assert fhir.loads(fhir.dumps(output)) == output
        assert [fhir.dumps(b) for b in leukoflag.convert(data).bundles] == [
            fhir.dumps(b) for b in conversion.bundles
        ]


def test_contained_references_in_a_cycle_and_duplicate_ids_are_read_once() -> None:
    cyclic = copy.deepcopy(OBSERVATION)
    cyclic["contained"] = [
        {
            "resourceType": "Specimen",
            "id": "s",
            "subject": {"reference": "#pat"},
            "parent": [{"reference": "#s"}],
        },
        {"resourceType": "Patient", "id": "pat", "link": [{"other": {"reference": "#pat"}}]},
        {"resourceType": "Patient", "id": "pat", "birthDate": "2025-01-01"},
        {
            "resourceType": "Observation",
            "id": "anc-ng-1",
            "status": "final",
            "code": {"text": "x"},
            "hasMember": [{"reference": "#"}],
        },
    ]
    cyclic["specimen"] = {"reference": "#s"}
    cyclic["hasMember"] = [{"reference": "#anc-ng-1"}, {"reference": "#"}]
    lines = b"".join(fhir.dumps(r, newline=True) for r in (cyclic, cyclic, OBSERVATION))
    conversion = leukoflag.convert(lines)
    assert len(conversion.bundles) + len(conversion.rejected) == 3
    assert (
        len(list(fhir.read_items(io.BytesIO(lines), source="t", settings=leukoflag.Settings())))
        == 3
    )


def calls(data: bytes) -> int:
    """Python function calls and lines run converting ``data``: a count that does not depend
    on load. Lines too, as a comprehension is one call however many items it goes through."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += 1

    def trace(frame: FrameType, event: str, arg: object) -> TraceFunction:
        nonlocal count
        count += event == "line"
        return trace

    previous = sys.gettrace()  # a coverage tool's or debugger's, put back after
    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        leukoflag.convert(data)
    finally:
        sys.settrace(previous)
        sys.setprofile(None)
    return count


_WBC_AT = (
    "OBX|{n}|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.9|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||202611{day:02d}{hour:02d}{minute:02d}00-0500"
)
_NEUTROPHILS_AT = (
    "OBX|{n}|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||38.7|%|"
    "40.0-75.0|L|||F|||202611{day:02d}{hour:02d}{minute:02d}00-0500"
)


def _pairs(times: int) -> bytes:
    """A cumulative report: a WBC and a neutrophil % at each of ``times`` times, so as many
    derived ANCs in one order."""
    segments = []
    for k in range(times):
        at = {"day": 1 + k // 1440, "hour": k // 60 % 24, "minute": k % 60}
        segments += [_WBC_AT.format(n=2 * k + 1, **at), _NEUTROPHILS_AT.format(n=2 * k + 2, **at)]
    return ("\r".join((MSH.format(n=1), *BODY[:3], *segments)) + "\r").encode()


def _repeat(segment: str, times: int) -> bytes:
    return ("\r".join((MSH.format(n=1), *BODY[:3], *[segment] * times)) + "\r").encode()


SHAPES: dict[str, Callable[[int], bytes]] = {
    "results": lambda n: _repeat(BODY[3], n),
    "orders": lambda n: _repeat(BODY[2] + "\r" + BODY[3], n),
    "notes": lambda n: _repeat(BODY[4], n),
    "specimens": lambda n: _repeat(BODY[6] + "\r" + BODY[7], n),
    "lines that are no segments": lambda n: _repeat("continued text", n),
    "messages": lambda n: b"".join(oru(i) for i in range(n)),
    "ndjson lines": lambda n: b"".join(fhir.dumps(OBSERVATION, newline=True) for _ in range(n)),
    "bundle entries": lambda n: fhir.dumps({**BUNDLE, "entry": BUNDLE["entry"][1:2] * n}),
    "WBC and neutrophil % pairs": _pairs,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_work_grows_linearly_with_the_input(shape: str) -> None:
    make = SHAPES[shape]
    leukoflag.convert(make(3))  # tables and caches loaded before counting
    small, large = calls(make(20)), calls(make(320))
    assert large < small * 16 * 1.5, (small, large)


def test_the_command_line_with_one_and_two_jobs_survives_mutated_files(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    cuts = [
        oru(1)[:90],
        oru(2).replace(b"^~\\&", b"^~\\\x00"),
        oru(3).replace(b"|2.9|", b"|2\x009|"),
    ]
    files = {
        "a-cut.hl7": cuts[0] + oru(4),
        "b-msh2.hl7": cuts[1] + oru(5),
        "c-nul.hl7": cuts[2],
        "d-latin1.hl7": oru(6)
        .replace(b"UNICODE UTF-8", b"UNICODE UTF-16")
        .replace(b"MAJA", "MÅJA".encode("latin-1")),
        "e-obs.ndjson": fhir.dumps(OBSERVATION, newline=True) + b'{"resourceType": 7}\n' + b"{\n",
        "f-typed.json": fhir.dumps(replaced(OBSERVATION, ("valueQuantity", "value"), "0.4")),
        "g-mllp.hl7": b"\x0b" + oru(7) + b"\x1c\r\x0b" + oru(8)[:300],
    }
    for name, data in files.items():
        (inputs / name).write_bytes(data)
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        report = tmp_path / f"report-{jobs}.json"
        args = ["convert", inputs, "-o", out, "--report", report, "--jobs", jobs]
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", *map(str, args)],
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert b"Traceback" not in done.stderr
        runs[jobs] = (
            {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()},
            report.read_bytes(),
        )
    assert runs["1"] == runs["2"]
    summary = json.loads(runs["1"][1])
    for entry in summary["files"]:
        name = Path(entry["input"]).name
        conversion = leukoflag.convert_file(inputs / name)
        assert entry["messages"] == entry["bundles"] + entry["rejected"]
        assert (entry["bundles"], entry["rejected"]) == (
            len(conversion.bundles),
            len(conversion.rejected),
        )
        written = [k for k in runs["1"][0] if k.startswith(f"{name}.")]
        assert len(written) == len(conversion.bundles)
