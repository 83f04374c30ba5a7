"""``--jobs N`` on FHIR NDJSON: lines converted by workers, output byte-identical to one process."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leukoflag import api
from leukoflag.cli import _pipeline
from leukoflag.cli._inputs import expand_inputs
from leukoflag.settings import Settings

from .conftest import Runner
from .messages import cbc_bundle, ndjson, observation, oru

_WBC_UNITS = (("K/uL", 1000), ("10*9/L", 1000), ("/uL", 1), ("10*3/uL", 1000))
_ANC_UNITS = (("10*3/uL", 1000), ("cells/uL", 1), ("10*9/L", 1000))
BROKEN = b'{"resourceType":"Observation","id":"rv-cut","status":"final","valueQuantity":{"val'
NOT_FHIR = b'{"patientId":"RV000417","wbc":4.4,"exported":"2026-11-24"}'
EXPORT_ITEMS = _pipeline.BATCH_MESSAGES * 2 + 9  # more than two worker batches
BROKEN_ITEM = 70  # in the second batch
NOT_FHIR_ITEM = 131  # in the third


def _export_item(n: int) -> dict[str, Any]:
    """Item ``n`` of the export: every third a CBC Bundle, else one WBC or ANC Observation."""
    if n % 3 == 0:
        wbc_unit, wbc_factor = _WBC_UNITS[n // 3 % 4]
        anc_unit, anc_factor = _ANC_UNITS[n // 3 % 3]
        return cbc_bundle(
            n,
            wbc=round((1.2 + (n * 37) % 110 / 10) * 1000 / wbc_factor, 2),
            wbc_unit=wbc_unit,
            anc=round((n * 53) % 80 / 10 * 1000 / anc_factor, 2),
            anc_unit=anc_unit,
            sex=("female", "male")[n % 2],
            birth=f"{1940 + n % 80}-0{1 + n % 9}-15",
        )
    if n % 3 == 1:
        unit, factor = _WBC_UNITS[n % 4]
        return observation(f"rv-wbc-{n:05d}", round((1.5 + n % 90 / 10) * 1000 / factor, 2), unit)
    unit, factor = _ANC_UNITS[n // 3 % 3]
    value = round((0.2 + n % 60 / 10) * 1000 / factor, 2)
    return observation(f"rv-anc-{n:05d}", value, unit, "751-8")


def export_ndjson() -> bytes:
    """An integration engine's export: CRLF on every other line, blank lines now and then, one
    line cut short and one line that is JSON but no FHIR resource."""
    lines: list[bytes] = []
    for item in range(1, EXPORT_ITEMS + 1):
        if item == BROKEN_ITEM:
            line = BROKEN
        elif item == NOT_FHIR_ITEM:
            line = NOT_FHIR
        else:
            line = ndjson(_export_item(item)).rstrip(b"\n")
        lines.append(line + (b"\r\n" if item % 2 else b"\n"))
        if item % 25 == 0:
            lines.append(b"\r\n" if item % 50 else b"   \n")
    return b"".join(lines)


def _observations(*values: tuple[str, float, str, str]) -> list[dict[str, Any]]:
    return [observation(name, value, unit, code) for name, value, unit, code in values]


def _feed(root: Path) -> dict[str, int]:
    """FHIR files of every shape between HL7 v2 files; returns the items of each file."""
    (root / "a-export.ndjson").write_bytes(export_ndjson())
    (root / "b-cbc.hl7").write_bytes(oru("RV-HL7-1", wbc="2.7") + oru("RV-HL7-2", anc="0.4"))
    (root / "c-broken-first.ndjson").write_bytes(
        BROKEN + b"\n" + ndjson(*_observations(("rv-c1", 3.1, "10*3/uL", "6690-2")))
    )
    bom = b"\xef\xbb\xbf" + b"\r\n".join(
        ndjson(resource).rstrip(b"\n")
        for resource in _observations(
            ("rv-d1", 1.1, "10*3/uL", "751-8"), ("rv-d2", 6400, "/uL", "6690-2")
        )
    )
    (root / "d-bom-crlf.ndjson").write_bytes(bom + b"\r\n")
    wide = ndjson(
        *_observations(("rv-e1", 0.45, "10*9/L", "751-8"), ("rv-e2", 9.8, "K/uL", "6690-2"))
    )
    (root / "e-utf16.ndjson").write_bytes(wide.decode().encode("utf-16"))
    document = cbc_bundle(9001, wbc=3.2, wbc_unit="10*3/uL", anc=1.2, anc_unit="10*3/uL")
    (root / "f-bundle.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    array = _observations(("rv-g1", 2.4, "10*3/uL", "6690-2"), ("rv-g2", 700, "/uL", "751-8"))
    (root / "g-array.json").write_text(json.dumps(array, indent=1), encoding="utf-8")
    (root / "h-tail.ndjson").write_bytes(ndjson(*_observations(("rv-h1", 5.5, "K/uL", "6690-2"))))
    (root / "i-not-json.json").write_bytes(
        b'{"resourceType": "Observation", oops}\n"status": "f"\n'
    )
    return {
        "a-export.ndjson": EXPORT_ITEMS,
        "b-cbc.hl7": 2,
        "c-broken-first.ndjson": 2,
        "d-bom-crlf.ndjson": 2,
        "e-utf16.ndjson": 2,
        "f-bundle.json": 1,
        "g-array.json": 2,
        "h-tail.ndjson": 1,
        "i-not-json.json": 1,
    }


REJECTED = {("a-export.ndjson", BROKEN_ITEM), ("a-export.ndjson", NOT_FHIR_ITEM)} | {
    ("c-broken-first.ndjson", 1),
    ("i-not-json.json", 1),
}


@pytest.fixture
def feed(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    root = tmp_path / "feed"
    root.mkdir()
    return root, _feed(root)


def _per_ul(resource: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(id, value, interpretation code) of each count written in cells/µL."""
    if resource["resourceType"] == "Bundle":
        return [found for entry in resource["entry"] for found in _per_ul(entry["resource"])]
    quantity = resource.get("valueQuantity", {})
    if resource["resourceType"] != "Observation" or quantity.get("code") != "/uL":
        return []
    (interpretation,) = resource["interpretation"]
    return [(resource["id"], quantity["value"], interpretation["coding"][0]["code"])]


def test_two_jobs_write_the_same_ndjson_and_rejections_as_one(
    leukoflag: Runner, feed: tuple[Path, dict[str, int]]
) -> None:
    root, items = feed
    one = leukoflag("convert", root, "--jobs", "1", "--quiet")
    two = leukoflag("convert", root, "--jobs", "2", "--quiet")
    assert one.returncode == two.returncode == 1
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    outputs = [json.loads(line) for line in two.stdout.splitlines()]
    assert len(outputs) == sum(items.values()) - len(REJECTED)
    rejections = two.stderr.decode().splitlines()
    assert [line.split(" (ITEM")[0].rsplit("/", 1)[1] for line in rejections] == [
        f"a-export.ndjson item {BROKEN_ITEM}",
        f"a-export.ndjson item {NOT_FHIR_ITEM}",
        "c-broken-first.ndjson item 1",
        "i-not-json.json item 1",
    ]
    assert "not a FHIR resource: no resourceType" in rejections[1]
    counts = {found[0]: found[1:] for output in outputs for found in _per_ul(output)}
    assert counts["rv-wbc-00001"] == (1600, "LL")  # 1.6 10*9/L
    assert counts["rv-anc-00002"] == (400, "LL")  # 0.4 10*3/uL
    assert counts["rv-wbc-00006"] == (1400, "LL")  # 1400 /uL, in a Bundle
    assert counts["rv-anc-00006"] == (7800, "N")  # 7.8 10*9/L, in a Bundle
    assert counts["rv-anc-00008"] == (1000, "L")  # 1.0 10*9/L
    assert counts["rv-wbc-00010"] == (2500, "LU")  # 2500 /uL
    assert counts["rv-wbc-00012"] == (1600, "LL")  # 1.6 K/uL, in a Bundle
    assert counts["rv-c1"] == (3100, "L")  # after the broken first line
    assert counts["rv-d2"] == (6400, "N")  # after a byte-order mark, CRLF
    assert counts["rv-e1"] == (450, "LL")  # UTF-16, 10*9/L
    assert counts["rv-g2"] == (700, "LU")  # from the array, in this process
    assert counts["rv-h1"] == (5500, "N")  # NDJSON again after the documents
    assert len(counts) > EXPORT_ITEMS  # every Bundle holds two counts


def test_two_jobs_write_the_same_files_and_report_as_one(
    leukoflag: Runner, tmp_path: Path, feed: tuple[Path, dict[str, int]]
) -> None:
    root, items = feed
    for jobs in ("1", "2"):
        done = leukoflag(
            "convert", root, "-o", f"out-{jobs}", "--report", f"report-{jobs}.json", "-j", jobs
        )
        assert done.returncode == 1
    one = sorted(p.relative_to(tmp_path / "out-1") for p in (tmp_path / "out-1").rglob("*"))
    two = sorted(p.relative_to(tmp_path / "out-2") for p in (tmp_path / "out-2").rglob("*"))
    assert one == two
    for relative in one:
        if (tmp_path / "out-1" / relative).is_file():
            first = (tmp_path / "out-1" / relative).read_bytes()
            assert (tmp_path / "out-2" / relative).read_bytes() == first, relative
    written = {path.name for path in (tmp_path / "out-2").glob("*.json")}
    assert written == {
        f"{name}.{n}.json"
        for name, count in items.items()
        for n in range(1, count + 1)
        if (name, n) not in REJECTED
    }
    rejected = tmp_path / "out-2" / "rejected"
    assert (rejected / f"a-export.ndjson.{BROKEN_ITEM}.json").read_bytes() == BROKEN
    assert (rejected / f"a-export.ndjson.{NOT_FHIR_ITEM}.json").read_bytes() == NOT_FHIR
    report = (tmp_path / "report-1.json").read_bytes()
    assert (tmp_path / "report-2.json").read_bytes() == report
    (export,) = (f for f in json.loads(report)["files"] if f["output_name"] == "a-export.ndjson")
    assert (export["format"], export["messages"], export["rejected"]) == ("fhir", EXPORT_ITEMS, 2)


def test_two_jobs_read_ndjson_from_stdin_as_one(leukoflag: Runner) -> None:
    data = export_ndjson()
    one = leukoflag("convert", "-", "-q", stdin=data)
    two = leukoflag("convert", "-", "-q", "--jobs", "2", stdin=data)
    assert one.returncode == two.returncode == 1
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    assert two.stdout.count(b"\n") == EXPORT_ITEMS - 2


class _RecordingPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool (same interface as the process pool) that keeps what it was given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.items: list[tuple[Any, ...]] = []

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        self.items.extend(args[0])
        return super().submit(fn, *args, **kwargs)


def test_ndjson_lines_go_to_the_workers_and_documents_stay_here(tmp_path: Path) -> None:
    (tmp_path / "a-export.ndjson").write_bytes(export_ndjson())
    document = cbc_bundle(9001, wbc=3.2, wbc_unit="10*3/uL", anc=1.2, anc_unit="10*3/uL")
    (tmp_path / "b-bundle.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    inputs = expand_inputs([str(tmp_path)])
    with _RecordingPool() as pool:
        events = list(_pipeline.parallel_events(inputs, Settings(), pool, jobs=2))
    sent = [(convert, source.rsplit("/", 1)[1], index) for convert, source, index, _ in pool.items]
    assert sent == [
        (api.convert_fhir_line, "a-export.ndjson", n) for n in range(1, EXPORT_ITEMS + 1)
    ]
    assert pool.items[BROKEN_ITEM - 1][3] == BROKEN
    done = [event for event in events if isinstance(event, _pipeline.ItemDone)]
    serial = _pipeline.serial_events(inputs, Settings())
    assert done == [event for event in serial if isinstance(event, _pipeline.ItemDone)]
    assert [(event.file, event.record.index) for event in done][-2:] == [
        (0, EXPORT_ITEMS),
        (1, 1),
    ]
