"""``leukoflag convert`` end to end: output files, rejected items, report, stdin, stdout."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import Runner
from .messages import LOG_QUOTING_HL7, batch, mllp, ndjson, observation, oru

NORMAL = oru("EF-1001")
LOW = oru("EF-1002", mrn="MRN200177", sex="M", birth="19610719", wbc="3.1", anc="1.2")


def _json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _names(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_each_message_becomes_a_file_named_after_its_input(
    leukoflag: Runner, tmp_path: Path
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "day.hl7").write_bytes(batch(NORMAL, LOW, oru("EF-1003")))
    (feed / "one.hl7").write_bytes(mllp(LOW))
    (feed / "obs.ndjson").write_bytes(
        ndjson(observation("o-1", 7200, "/uL"), observation("o-2", 900, "/uL", "751-8"))
    )
    done = leukoflag("convert", "feed", "-o", "out", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert done.stderr == b""
    assert _names(tmp_path / "out") == [
        "day.hl7.1.json",
        "day.hl7.2.json",
        "day.hl7.3.json",
        "obs.ndjson.1.json",
        "obs.ndjson.2.json",
        "one.hl7.1.json",
    ]
    bundle = _json(tmp_path / "out" / "day.hl7.2.json")
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    # FHIR input items keep their own type: an Observation stays an Observation
    assert _json(tmp_path / "out" / "obs.ndjson.2.json")["resourceType"] == "Observation"


def test_same_named_files_in_two_directories_do_not_overwrite_each_other(
    leukoflag: Runner, tmp_path: Path
) -> None:
    for site, message in (("site-a", NORMAL), ("site-b", LOW)):
        (tmp_path / site).mkdir()
        (tmp_path / site / "results.hl7").write_bytes(message)
    done = leukoflag("convert", "site-a", "site-b", "-o", "out", "--report", "report.json")
    assert done.returncode == 0, done.stderr
    assert _names(tmp_path / "out") == ["results.hl7.1.json", "results.hl7~2.1.json"]
    first = (tmp_path / "out" / "results.hl7.1.json").read_bytes()
    second = (tmp_path / "out" / "results.hl7~2.1.json").read_bytes()
    assert b"EF-1001" in first
    assert b"EF-1002" in second
    files = _json(tmp_path / "report.json")["files"]
    assert [(f["input"], f["output_name"]) for f in files] == [
        ("site-a/results.hl7", "results.hl7"),
        ("site-b/results.hl7", "results.hl7~2"),
    ]


def test_rejected_input_is_kept_raw_with_its_reason_and_exit_1(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    (tmp_path / "ok.hl7").write_bytes(NORMAL)
    done = leukoflag("convert", "engine.log", "ok.hl7", "-o", "out")
    assert done.returncode == 1
    assert _names(tmp_path / "out") == [
        "ok.hl7.1.json",
        "rejected/engine.log.1.reason.json",
        "rejected/engine.log.1.txt",
    ]
    assert (tmp_path / "out/rejected/engine.log.1.txt").read_bytes() == LOG_QUOTING_HL7
    reason = _json(tmp_path / "out/rejected/engine.log.1.reason.json")
    assert reason["input"] == "engine.log"
    assert reason["item"] == 1
    assert reason["raw"] == "engine.log.1.txt"
    assert "MSH segment found at line 2" in reason["reason"]
    assert [issue["code"] for issue in reason["issues"]] == ["input.rejected"]


def test_a_compressed_file_in_the_inbox_is_rejected_saying_it_is_compressed(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a nightly export archived with gzip beside the plain feed, a ZIP copied from a share
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox/feed-2026-11-23.hl7.gz").write_bytes(gzip.compress(NORMAL, mtime=0))
    with zipfile.ZipFile(tmp_path / "inbox/results.zip", "w") as archive:
        archive.writestr("results.hl7", NORMAL)
    done = leukoflag("convert", "inbox", "-o", "out", "-q")
    assert done.returncode == 1
    for name, what in (
        ("feed-2026-11-23.hl7.gz", "gzip-compressed data"),
        ("results.zip", "a ZIP archive"),
    ):
        reason = _json(tmp_path / f"out/rejected/{name}.1.reason.json")["reason"]
        assert reason == (
            f"not HL7 v2 or FHIR JSON: {what}; leukoflag does not read compressed files: "
            "decompress it first"
        )


def test_file_name_that_is_not_utf8_is_written_with_its_bytes_escaped(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # A Latin-1 name from an old interface share: Python keeps its byte 0xE9 as a lone
    # surrogate, which the JSON writer refused (a traceback, the record file half written).
    log_name = os.fsdecode(b"r\xe9sultats.log")
    try:
        (tmp_path / log_name).write_bytes(LOG_QUOTING_HL7)
    except OSError:  # pragma: no cover - a file system that only takes UTF-8 names
        pytest.skip("the file system refuses names that are not UTF-8")
    done = leukoflag("convert", log_name, "-o", "out", "--report", "report.json")
    assert done.returncode == 1, done.stderr
    assert (tmp_path / "out/rejected" / f"{log_name}.1.txt").read_bytes() == LOG_QUOTING_HL7
    reason = _json(tmp_path / "out/rejected" / f"{log_name}.1.reason.json")
    assert (reason["input"], reason["raw"]) == ("r\\xe9sultats.log", "r\\xe9sultats.log.1.txt")
    (counts,) = _json(tmp_path / "report.json")["files"]
    assert (counts["input"], counts["output_name"]) == ("r\\xe9sultats.log", "r\\xe9sultats.log")
    stdout_run = leukoflag("convert", log_name)
    assert stdout_run.returncode == 1
    assert b"leukoflag: rejected r\\xe9sultats.log item 1 (ITEM[1])" in stdout_run.stderr


def test_summary_line_counts_fhir_items_and_resources_not_messages_and_bundles(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an NDJSON export of three Observations, one of them not JSON: no message, no Bundle
    export = ndjson(observation("o-1", 7200, "/uL"), observation("o-2", 900, "/uL", "751-8"))
    (tmp_path / "export.ndjson").write_bytes(export + b"{not json\n")
    done = leukoflag("convert", "export.ndjson", "-o", "out")
    assert done.returncode == 1
    (summary,) = done.stderr.decode().splitlines()
    assert summary.startswith(
        "leukoflag: 3 FHIR items → 2 resources, 1 rejected · low WBC 0 · low ANC 1 · 1 file in "
    )
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    done = leukoflag("convert", "day.hl7", "export.ndjson", "-o", "out")
    (summary,) = done.stderr.decode().splitlines()
    assert summary.startswith(
        "leukoflag: 2 messages → 2 bundles, 3 FHIR items → 2 resources, 1 rejected · low WBC 1 "
        "· low ANC 2 · 2 files in "
    )


def test_a_file_name_cannot_break_a_stderr_line_or_drive_the_terminal(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # A name dropped into an inbox by a sender, with a line feed and terminal sequences in it,
    # printed a forged summary line and cleared the operator's screen.
    forged = "a.log\nleukoflag: 3 messages → 3 bundles, 0 rejected"
    screen = "b\x1b[2J\x1b]0;owned\x07.log"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in (forged, screen):
        (inbox / name).write_bytes(LOG_QUOTING_HL7)
    done = leukoflag("convert", "inbox")
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "leukoflag: rejected inbox/a.log\\x0aleukoflag: 3 messages → 3 bundles, 0 rejected item 1 "
        "(ITEM[1]): not an HL7 v2 message"
    )
    assert lines[1].startswith(
        "leukoflag: rejected inbox/b\\x1b[2J\\x1b]0;owned\\x07.log item 1 (ITEM[1]): not an HL7"
    )
    assert lines[2].startswith("leukoflag: 2 messages → 0 bundles, 2 rejected")
    assert "\x1b" not in done.stderr.decode()
    done = leukoflag("convert", "inbox", "-o", "out")
    reason = _json(tmp_path / "out/rejected" / f"{forged}.1.reason.json")
    assert reason["input"] == f"inbox/{forged}"  # JSON holds the name as it is


def test_rejected_item_inside_a_file_keeps_its_position(leukoflag: Runner, tmp_path: Path) -> None:
    junk = b"ACK timeout, retrying\r"  # text between two MLLP frames: its own rejected item
    (tmp_path / "capture.hl7").write_bytes(mllp(NORMAL) + junk + mllp(LOW))
    done = leukoflag("convert", "capture.hl7", "-o", "out", "--report", "report.json")
    assert done.returncode == 1
    assert _names(tmp_path / "out") == [
        "capture.hl7.1.json",
        "capture.hl7.3.json",
        "rejected/capture.hl7.2.reason.json",
        "rejected/capture.hl7.2.txt",
    ]
    assert (tmp_path / "out/rejected/capture.hl7.2.txt").read_bytes().strip() == junk.strip()
    reason = _json(tmp_path / "out/rejected/capture.hl7.2.reason.json")
    assert (reason["item"], reason["location"]) == (2, "MSG[2]")
    counts = _json(tmp_path / "report.json")["files"][0]
    assert (counts["messages"], counts["bundles"], counts["rejected"]) == (3, 2, 1)


def test_truncated_message_is_rejected_as_hl7(leukoflag: Runner, tmp_path: Path) -> None:
    cut = LOW[: LOW.rindex(b"|F|||")]  # the last OBX stops before its status (OBX-11)
    (tmp_path / "cut.hl7").write_bytes(NORMAL + cut)
    done = leukoflag("convert", "cut.hl7", "-o", "out")
    assert done.returncode == 1
    assert (tmp_path / "out/rejected/cut.hl7.2.hl7").read_bytes() == cut
    assert (tmp_path / "out/cut.hl7.1.json").exists()


def test_rejected_directory_replays_without_its_reason_files(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    assert leukoflag("convert", "engine.log", "-o", "out").returncode == 1
    done = leukoflag("convert", "out/rejected", "-o", "retry", "--report", "retry.json")
    assert done.returncode == 1
    report = _json(tmp_path / "retry.json")
    assert [f["input"] for f in report["files"]] == ["out/rejected/engine.log.1.txt"]


def test_a_hidden_input_gives_visible_output_files_that_a_replay_of_rejected_reads(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an engine's file still named as it is written ('.night.hl7', renamed when complete),
    # converted by name: its outputs were hidden (.night.hl7.1.json), and a replay of rejected/
    # skipped its raw item as a hidden file ('no input files found in out/rejected', status 2)
    (tmp_path / ".night.hl7").write_bytes(NORMAL + LOW[: LOW.rindex(b"|F|||")])  # cut short
    done = leukoflag("convert", ".night.hl7", "-o", "out", "--report", "r.json", "-q")
    assert done.returncode == 1, done.stderr
    assert _names(tmp_path / "out") == [
        "_.night.hl7.1.json",
        "rejected/_.night.hl7.2.hl7",
        "rejected/_.night.hl7.2.reason.json",
    ]
    assert [f["output_name"] for f in _json(tmp_path / "r.json")["files"]] == ["_.night.hl7"]
    assert _json(tmp_path / "out/rejected/_.night.hl7.2.reason.json")["input"] == ".night.hl7"
    replay = leukoflag("convert", "out/rejected", "-o", "retry", "--report", "retry.json", "-q")
    assert replay.returncode == 1, replay.stderr
    assert [f["input"] for f in _json(tmp_path / "retry.json")["files"]] == [
        "out/rejected/_.night.hl7.2.hl7"
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_envelope_line_rejected_is_recorded_with_no_raw_file_to_replay(
    leukoflag: Runner, tmp_path: Path, jobs: str
) -> None:
    # a batch whose BTS counts 3 messages, of which 2 came: the BTS line is the rejected item;
    # written as a raw file, a replay rejected it again as 'no batch header came before it'
    (tmp_path / "short.hl7").write_bytes(batch(NORMAL, LOW).replace(b"BTS|2", b"BTS|3"))
    (tmp_path / "out/rejected").mkdir(parents=True)
    (tmp_path / "out/rejected/short.hl7.3.hl7").write_bytes(b"BTS|3\r")  # an earlier run's
    done = leukoflag("convert", "short.hl7", "-o", "out", "--jobs", jobs, "--quiet")
    assert done.returncode == 1, done.stderr
    assert _names(tmp_path / "out") == [
        "rejected/short.hl7.3.reason.json",
        "short.hl7.1.json",
        "short.hl7.2.json",
    ]
    reason = _json(tmp_path / "out/rejected/short.hl7.3.reason.json")
    assert (reason["location"], reason["raw"], reason["envelope"]) == ("MSG[3]", None, "BTS|3")
    assert reason["reason"].startswith("batch trailer BTS-1 counts 3 messages but the batch held 2")
    # nothing to replay is no usage error (status 2 failed a replay job that had nothing to do)
    replay = leukoflag("convert", "out/rejected", "-o", "retry")
    assert replay.returncode == 0, replay.stderr
    assert replay.stderr.startswith(
        b"leukoflag: nothing to replay: out/rejected holds only rejection records "
        b"(1, *.reason.json), of items with no raw file to convert again\n"
    )
    assert not (tmp_path / "retry/rejected").exists()


def test_a_glob_of_the_rejected_directory_replays_the_raw_items_not_their_records(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # `convert out/rejected/* -o retry`: the glob names engine.log.1.reason.json too, which was
    # read as a FHIR item and rejected ('not a FHIR resource: no resourceType'), its record's
    # record written to retry/rejected and counted as a second rejection
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    assert leukoflag("convert", "engine.log", "-o", "out").returncode == 1
    named = sorted(f"out/rejected/{p.name}" for p in (tmp_path / "out/rejected").iterdir())
    assert named == ["out/rejected/engine.log.1.reason.json", "out/rejected/engine.log.1.txt"]
    done = leukoflag("convert", *named, "-o", "retry", "--report", "retry.json")
    assert done.returncode == 1
    report = _json(tmp_path / "retry.json")
    assert [f["input"] for f in report["files"]] == ["out/rejected/engine.log.1.txt"]
    assert _names(tmp_path / "retry") == [
        "rejected/engine.log.1.txt.1.reason.json",
        "rejected/engine.log.1.txt.1.txt",
    ]
    assert b"leukoflag: skipped out/rejected/engine.log.1.reason.json: a rejection record" in (
        done.stderr
    )


def test_report_counts_per_file_and_in_total(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "normal.hl7").write_bytes(NORMAL)
    (tmp_path / "low.hl7").write_bytes(LOW)
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    (tmp_path / "empty.hl7").write_bytes(b"")
    done = leukoflag(
        "convert", "normal.hl7", "low.hl7", "engine.log", "empty.hl7", "--report", "r/report.json"
    )
    assert done.returncode == 1
    report = _json(tmp_path / "r" / "report.json")
    assert report["settings"]["fhir_version"] == "R4"
    by_input = {f["input"]: f for f in report["files"]}
    normal, low = by_input["normal.hl7"], by_input["low.hl7"]
    assert normal["format"] == "hl7v2"
    assert (normal["messages"], normal["bundles"], normal["rejected"]) == (1, 1, 0)
    assert normal["observations"] == 3
    assert normal["normalized"] == 2
    assert normal["interpretations"] == {"N": 2}
    assert normal["low"] == {"wbc": 0, "anc": 0}
    assert low["interpretations"] == {"L": 2}
    assert low["low"] == {"wbc": 1, "anc": 1}
    log = by_input["engine.log"]
    assert (log["format"], log["messages"], log["bundles"], log["rejected"]) == (
        "unknown",
        1,
        0,
        1,
    )
    assert log["issues"]["by_code"] == {"input.rejected": 1}
    assert log["issues"]["by_severity"] == {"error": 1}
    # an empty input is no format, as docs/cli.md says, and nothing was rejected of it
    empty = by_input["empty.hl7"]
    assert (empty["format"], empty["messages"], empty["rejected"]) == ("unknown", 0, 0)
    totals = report["totals"]
    assert totals["files"] == 4
    assert (totals["messages"], totals["bundles"], totals["rejected"]) == (3, 2, 1)
    assert totals["interpretations"] == {"N": 2, "L": 2}
    assert totals["low"] == {"wbc": 1, "anc": 1}
    assert totals["issues"]["total"] == sum(f["issues"]["total"] for f in report["files"])


def test_report_counts_observations_whose_contained_is_not_an_array(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # A report whose contained is a number rides along with the WBC (an Observation whose
    # contained is not a list is itself rejected as malformed, so it is not counted here).
    (tmp_path / "export.ndjson").write_bytes(
        b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":'
        b'{"resourceType":"DiagnosticReport","id":"cbc-77","status":"final","code":'
        b'{"text":"CBC"},"contained":1.5}},{"resource":'
        b'{"resourceType":"Observation","id":"wbc-77","status":"final","code":{"coding":'
        b'[{"system":"http://loinc.org","code":"6690-2"}]},"valueQuantity":{"value":2.9,'
        b'"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}}]}\n'
        b'{"resourceType":"Bundle","type":"collection","entry":7}\n'
    )
    done = leukoflag("convert", "export.ndjson", "-o", "out", "--report", "report.json")
    assert done.returncode == 0, done.stderr
    (counts,) = _json(tmp_path / "report.json")["files"]
    assert (counts["messages"], counts["bundles"], counts["observations"]) == (2, 2, 1)
    assert (counts["normalized"], counts["interpretations"]) == (1, {"LU": 1})


def test_report_through_a_symlink_replaces_its_target_and_keeps_the_link(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an operator points a stable name at the report of the day
    (tmp_path / "low.hl7").write_bytes(LOW)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "2026-11-24.json").write_text("yesterday's report")
    (tmp_path / "latest.json").symlink_to(Path("reports") / "2026-11-24.json")
    done = leukoflag("convert", "low.hl7", "-o", "out", "--report", "latest.json")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "latest.json").is_symlink()
    report = _json(tmp_path / "reports" / "2026-11-24.json")
    assert report["files"][0]["low"] == {"wbc": 1, "anc": 1}
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2026-11-24.json"]


def _disordered(control_id: str) -> bytes:
    """A CBC whose OBR comes before its PID: converted, but rejected with --strict."""
    segments = oru(control_id, wbc="3.1", wbc_unit="K/uL").split(b"\r")
    segments[1:4] = [segments[2], segments[3], segments[1]]
    return b"\r".join(segments)


def test_a_rerun_that_converts_an_item_rejected_before_removes_its_rejection(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # rejected with --strict, then converted after the operator relaxes the settings: the old
    # rejection record stayed beside the Bundle, so item 2 had both files
    (tmp_path / "day.hl7").write_bytes(NORMAL + _disordered("EF-1002"))
    first = leukoflag("convert", "day.hl7", "-o", "out", "--strict", "-q")
    assert first.returncode == 1, first.stderr
    assert _names(tmp_path / "out") == [
        "day.hl7.1.json",
        "rejected/day.hl7.2.hl7",
        "rejected/day.hl7.2.reason.json",
    ]
    again = leukoflag("convert", "day.hl7", "-o", "out", "-q")
    assert again.returncode == 0, again.stderr
    assert _names(tmp_path / "out") == ["day.hl7.1.json", "day.hl7.2.json"]
    assert _json(tmp_path / "out" / "day.hl7.2.json")["resourceType"] == "Bundle"


def test_a_rerun_that_rejects_an_item_converted_before_removes_its_old_output(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # converted, then rejected when the run is repeated with --strict: the old Bundle stayed
    # in the output directory, where a loader picking up *.json sent it to the EHR all the same
    (tmp_path / "day.hl7").write_bytes(NORMAL + _disordered("EF-1002"))
    first = leukoflag("convert", "day.hl7", "-o", "out", "-q")
    assert first.returncode == 0, first.stderr
    again = leukoflag("convert", "day.hl7", "-o", "out", "--strict", "-q")
    assert again.returncode == 1, again.stderr
    assert _names(tmp_path / "out") == [
        "day.hl7.1.json",
        "rejected/day.hl7.2.hl7",
        "rejected/day.hl7.2.reason.json",
    ]


def test_a_rerun_keeps_the_files_of_other_items_and_other_inputs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # only the same item's other file goes: another input's rejection stays, as the docs say
    (tmp_path / "day.hl7").write_bytes(NORMAL + _disordered("EF-1002"))
    (tmp_path / "night.hl7").write_bytes(_disordered("EF-2001"))
    first = leukoflag("convert", "day.hl7", "night.hl7", "-o", "out", "--strict", "-q")
    assert first.returncode == 1, first.stderr
    again = leukoflag("convert", "day.hl7", "-o", "out", "-q")
    assert again.returncode == 0, again.stderr
    assert _names(tmp_path / "out") == [
        "day.hl7.1.json",
        "day.hl7.2.json",
        "rejected/night.hl7.1.hl7",
        "rejected/night.hl7.1.reason.json",
    ]


def test_a_rerun_that_also_replays_a_rejected_raw_item_reads_it_before_anything_removes_it(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # the day's file again and, after it, the raw item its first run rejected: converting item
    # 2 of day.hl7 must not remove rejected/day.hl7.2.hl7 before it is read as an input
    (tmp_path / "day.hl7").write_bytes(NORMAL + _disordered("EF-1002"))
    first = leukoflag("convert", "day.hl7", "-o", "out", "--strict", "-q")
    assert first.returncode == 1, first.stderr
    again = leukoflag("convert", "day.hl7", "out/rejected/day.hl7.2.hl7", "-o", "out", "-q")
    assert again.returncode == 0, again.stderr
    assert _names(tmp_path / "out") == [
        "day.hl7.1.json",
        "day.hl7.2.hl7.1.json",
        "day.hl7.2.json",
        "rejected/day.hl7.2.hl7",
    ]


def test_a_glob_of_the_output_directory_is_a_usage_error_not_a_reconversion_of_its_outputs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # `convert inbox/* -o inbox`, run each night: the glob also names the outputs (and the
    # rejected/ directory) of the night before, which were converted again as new input
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "day.hl7").write_bytes(batch(NORMAL, LOW))
    (tmp_path / "inbox" / "day.hl7.1.json").write_bytes(b'{"resourceType": "Bundle"}')
    done = leukoflag("convert", "inbox/day.hl7", "inbox/day.hl7.1.json", "-o", "inbox")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        (
            "leukoflag: inbox/day.hl7 is in the output directory (-o): a re-run would convert "
            "this run's outputs as new input; write them to another directory"
        )
    ]
    assert _names(tmp_path / "inbox") == ["day.hl7", "day.hl7.1.json"]


def test_report_named_as_an_input_is_a_usage_error_and_the_input_is_kept(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # `convert *.json --report report.json` in a folder of FHIR exports: the glob names the
    # report too, which the run would replace with its own
    export = ndjson(observation("o-1", 900, "/uL", "751-8"))
    (tmp_path / "export.json").write_bytes(export)
    done = leukoflag("convert", "export.json", "-o", "out", "--report", "./export.json")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        (
            "leukoflag: export.json is both an input and the --report file (the report would "
            "replace it)"
        )
    ]
    assert (tmp_path / "export.json").read_bytes() == export
    assert not (tmp_path / "out").exists()


def test_report_kept_in_an_input_directory_is_not_read_as_input_by_the_next_run(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "low.hl7").write_bytes(LOW)
    for _ in range(2):  # the nightly job, run twice
        done = leukoflag("convert", "inbox", "-o", "out", "--report", "inbox/report.json", "-q")
        assert done.returncode == 0, done.stderr
        report = _json(tmp_path / "inbox" / "report.json")
        assert [f["input"] for f in report["files"]] == ["inbox/low.hl7"]
        assert report["totals"]["rejected"] == 0
    assert _names(tmp_path / "out") == ["low.hl7.1.json"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_report_to_a_pipe_is_written_into_the_pipe(leukoflag: Runner, tmp_path: Path) -> None:
    # --report /dev/stdout, or a named pipe a monitoring job reads: the pipe stays a pipe
    (tmp_path / "low.hl7").write_bytes(LOW)
    pipe = tmp_path / "report.pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # so the command's open does not block
    try:
        done = leukoflag("convert", "low.hl7", "-o", "out", "--report", "report.pipe")
        assert done.returncode == 0, done.stderr
        assert pipe.is_fifo()
        report = json.loads(os.read(reader, 1 << 16))
    finally:
        os.close(reader)
    assert report["totals"]["low"] == {"wbc": 1, "anc": 1}


def test_report_dash_is_written_to_stdout_beside_an_output_directory(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "low.hl7").write_bytes(LOW)
    done = leukoflag("convert", "low.hl7", "-o", "out", "--report", "-", "-q")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["low"] == {"wbc": 1, "anc": 1}
    assert not (tmp_path / "-").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["low.hl7.1.json"]


@pytest.mark.parametrize(
    ("declared", "reported"),
    [
        ((), 0),
        (("urn:oid:1.2.3|RB-20417", "RB-20418"), 2),
        # '*' names no patient but makes every patient of the run Duffy-null: it was counted as
        # one identifier, so the report of a run judging everyone by the Duffy-null ranges read
        # like that of a run naming one patient
        (("*",), "*"),
        (("*", "RB-20417"), "*"),
    ],
)
def test_report_says_how_many_patients_were_declared_duffy_null_or_that_all_were(
    leukoflag: Runner, tmp_path: Path, declared: tuple[str, ...], reported: object
) -> None:
    (tmp_path / "low.hl7").write_bytes(LOW)
    options = [f"--duffy-null={identifier}" for identifier in declared]
    done = leukoflag("convert", "low.hl7", "-o", "out", "--report", "-", "-q", *options)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"]["duffy_null"] == reported


def test_report_dash_without_an_output_directory_is_a_usage_error(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # stdout carries the NDJSON: a report there would corrupt it, a file named "-" surprise
    (tmp_path / "low.hl7").write_bytes(LOW)
    done = leukoflag("convert", "low.hl7", "--report", "-")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        (
            "leukoflag: --report -: stdout carries the NDJSON outputs; write the report to a "
            "file, or the outputs to -o DIR"
        )
    ]
    assert done.stdout == b""
    assert not (tmp_path / "-").exists()


def test_report_to_the_stdout_of_the_ndjson_outputs_is_a_usage_error(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # '--report -' is refused without -o, but stdout named as a file was written into: the
    # report's 70 pretty-printed lines after the NDJSON Bundles, each line a broken item
    (tmp_path / "low.hl7").write_bytes(LOW)
    done = leukoflag("convert", "low.hl7", "--report", "/dev/stdout")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        (
            "leukoflag: --report /dev/stdout: is stdout, which carries the NDJSON outputs; "
            "write the report to a file, or the outputs to -o DIR"
        )
    ]
    assert done.stdout == b""


def test_report_to_the_file_stdout_is_redirected_to_is_a_usage_error(tmp_path: Path) -> None:
    # 'convert low.hl7 --report day.ndjson > day.ndjson': the report replaced the NDJSON
    (tmp_path / "low.hl7").write_bytes(LOW)
    with (tmp_path / "day.ndjson").open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "convert", "low.hl7", "--report", "day.ndjson"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("leukoflag: --report day.ndjson: is stdout, ")
    assert (tmp_path / "day.ndjson").read_bytes() == b""


def _run_into(
    tmp_path: Path, stdout_name: str, *args: str, append: bool = False, stdin: Any = None
) -> subprocess.CompletedProcess[bytes]:
    """``leukoflag ARGS > stdout_name`` (``>>`` with ``append``); a file it writes stops at
    16 MiB (SIGXFSZ), so a run that reads its own output back ends instead of filling the
    disk."""

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))

    with (tmp_path / stdout_name).open("ab" if append else "wb") as stdout:
        return subprocess.run(
            [sys.executable, "-m", "leukoflag", *args],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=300,
            check=False,
            preexec_fn=bounded,
        )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_file_stdout_is_redirected_to_in_an_input_directory_is_not_read_as_input(
    tmp_path: Path, jobs: str
) -> None:
    # 'convert inbox > inbox/day.ndjson' (or a re-run of 'convert *.ndjson > all.ndjson', whose
    # glob names last run's all.ndjson): the run read the NDJSON it was writing as a FHIR input,
    # flagging each line read into a new line, without end, until the disk was full
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox/day.hl7").write_bytes(batch(NORMAL, LOW))
    done = _run_into(tmp_path, "inbox/z-day.ndjson", "convert", "inbox", "-j", jobs, "-q")
    assert (done.returncode, done.stderr) == (0, b"")
    lines = (tmp_path / "inbox/z-day.ndjson").read_bytes().splitlines()
    assert [json.loads(line)["resourceType"] for line in lines] == ["Bundle", "Bundle"]


@pytest.mark.parametrize("command", ["convert", "explain"])
def test_an_input_named_that_is_the_file_stdout_is_redirected_to_is_a_usage_error(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    (tmp_path / "all.ndjson").write_bytes(b"")  # yesterday's, truncated by the shell
    done = _run_into(tmp_path, "all.ndjson", command, "day.hl7", "all.ndjson")
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "leukoflag: all.ndjson is both an input and stdout, where the outputs go: the run "
        "would read its own outputs back as input\n"
    )
    assert (tmp_path / "all.ndjson").read_bytes() == b""


def test_stdin_from_the_file_stdout_appends_to_is_a_usage_error(tmp_path: Path) -> None:
    # 'convert - < all.ndjson >> all.ndjson': the run read the lines it appended, flagging each
    # into a new one, without end (6,833 lines of 3 in 10 s)
    day = ndjson(observation("o-1", 3.2, "10*3/uL"), observation("o-2", 900, "/uL", "751-8"))
    (tmp_path / "all.ndjson").write_bytes(day)
    with (tmp_path / "all.ndjson").open("rb") as stdin:
        done = _run_into(tmp_path, "all.ndjson", "convert", "-", append=True, stdin=stdin)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "leukoflag: stdin (-) is both an input and stdout, where the outputs go: the run would "
        "read its own outputs back as input\n"
    )
    assert (tmp_path / "all.ndjson").read_bytes() == day


def test_the_file_stderr_is_redirected_to_in_an_input_directory_is_not_read_as_input(
    tmp_path: Path,
) -> None:
    # 'convert inbox > day.ndjson 2> inbox/errors.log': the log, holding the line of the log
    # file rejected before it, was read as an input and rejected too (2 rejected, 3 files)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox/a-engine.log").write_bytes(LOG_QUOTING_HL7)
    (tmp_path / "inbox/day.hl7").write_bytes(batch(NORMAL, LOW))
    with (tmp_path / "inbox/errors.log").open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "convert", "inbox"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 2
    lines = (tmp_path / "inbox/errors.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("leukoflag: rejected inbox/a-engine.log item 1 (ITEM[1]): ")
    assert lines[1].startswith("leukoflag: 3 messages → 2 bundles, 1 rejected ·")
    assert " · 2 files in " in lines[1]


def test_explain_into_a_file_of_its_input_directory_does_not_explain_that_file(
    tmp_path: Path,
) -> None:
    # 'explain inbox > inbox/why.txt' read why.txt, half written, as an input and rejected it
    # ('not an HL7 v2 message …', status 1) in the explanation of the inbox
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox/day.hl7").write_bytes(batch(NORMAL, LOW))
    done = _run_into(tmp_path, "inbox/why.txt", "explain", "inbox")
    assert (done.returncode, done.stderr) == (0, b"")
    text = (tmp_path / "inbox/why.txt").read_text(encoding="utf-8")
    assert text.startswith("inbox/day.hl7\n")
    assert "why.txt" not in text
    assert "rejected" not in text


def test_output_dash_is_ndjson_on_stdout_not_a_directory_named_dash(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "low.hl7").write_bytes(LOW)
    done = leukoflag("convert", "low.hl7", "-o", "-", "-q")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["resourceType"] == "Bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["low.hl7"]


def test_ndjson_bundles_go_to_stdout_one_per_line(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    (tmp_path / "obs.ndjson").write_bytes(ndjson(observation("o-1", 3.2, "10*3/uL")))
    done = leukoflag("convert", "day.hl7", "obs.ndjson")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split(b"\n")
    assert lines[-1] == b""
    resources = [json.loads(line) for line in lines[:-1]]
    assert [r["resourceType"] for r in resources] == ["Bundle", "Bundle", "Observation"]
    assert b"EF-1001" in lines[0]
    assert b"EF-1002" in lines[1]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ndjson_with_a_stray_first_line_rejects_only_that_line(
    leukoflag: Runner, tmp_path: Path, jobs: str
) -> None:
    # a count on top of a bulk export: the whole file was one rejection, its Observations lost
    export = b"2\n" + ndjson(observation("o-1", 3.2, "10*3/uL"), observation("o-2", 900, "/uL"))
    (tmp_path / "export.ndjson").write_bytes(export)
    done = leukoflag("convert", "export.ndjson", "-o", "out", "--jobs", jobs, "--quiet")
    assert done.returncode == 1, done.stderr
    assert _names(tmp_path / "out") == [
        "export.ndjson.2.json",
        "export.ndjson.3.json",
        "rejected/export.ndjson.1.reason.json",
        "rejected/export.ndjson.1.txt",
    ]
    assert (tmp_path / "out/rejected/export.ndjson.1.txt").read_bytes() == b"2"
    reason = _json(tmp_path / "out/rejected/export.ndjson.1.reason.json")
    assert reason["reason"] == "not a FHIR resource: a JSON number, not an object"
    assert _json(tmp_path / "out/export.ndjson.3.json")["id"] == "o-2"


def test_rejected_item_without_output_directory_is_one_stderr_line(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    done = leukoflag("convert", "engine.log")
    assert done.returncode == 1
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert lines[0].startswith("leukoflag: rejected engine.log item 1 (ITEM[1]): not an HL7 v2")
    assert lines[1].startswith("leukoflag: 1 message → 0 bundles, 1 rejected")


def test_stdin_is_read_when_input_is_dash(leukoflag: Runner, tmp_path: Path) -> None:
    done = leukoflag("convert", "-", stdin=mllp(NORMAL, LOW))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    done = leukoflag("convert", "-", "-o", "out", stdin=NORMAL)
    assert done.returncode == 0
    assert _names(tmp_path / "out") == ["stdin.1.json"]


def test_stdin_named_twice_is_a_usage_error_before_anything_is_written(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # docs/cli.md said a file named twice is converted once, and did not say that `-` is refused
    done = leukoflag("convert", "-", "-", "-o", "out", stdin=NORMAL)
    assert (done.returncode, done.stderr) == (2, b"leukoflag: stdin (-) named more than once\n")
    assert not (tmp_path / "out").exists()
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "`-` named twice is a usage error (status 2" in page


@pytest.mark.parametrize("arguments", [["-", "/dev/stdin"], ["/dev/stdin", "-"], ["-", "day.hl7"]])
@pytest.mark.parametrize("piped", [True, False], ids=["pipe", "file"])
def test_stdin_named_also_by_a_path_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, arguments: list[str], piped: bool
) -> None:
    # `convert - /dev/stdin < day.hl7` converted the day twice (stdin.1-3.json and
    # stdin~2.1-3.json, 6 bundles, status 0); from a pipe, one of the two read it all and the
    # other nothing, counted as a second file of no message
    day = tmp_path / "day.hl7"
    day.write_bytes(batch(NORMAL, LOW, oru("EF-1003")))
    command = [sys.executable, "-m", "leukoflag", "convert", *arguments, "-o", "out", "-q"]
    with day.open("rb") as stdin:
        source: dict[str, Any] = {"input": day.read_bytes()} if piped else {"stdin": stdin}
        done = subprocess.run(
            command, **source, capture_output=True, cwd=tmp_path, timeout=300, check=False
        )
    if piped and "day.hl7" in arguments:  # a pipe is not the file day.hl7: both are converted
        assert done.returncode == 0, done.stderr
        assert _names(tmp_path / "out") == [
            *(f"day.hl7.{n}.json" for n in (1, 2, 3)),
            *(f"stdin.{n}.json" for n in (1, 2, 3)),
        ]
        return
    other = next(argument for argument in arguments if argument != "-")
    assert (done.returncode, done.stderr.decode()) == (
        2,
        f"leukoflag: stdin (-) named more than once: {other} is stdin too\n",
    )
    assert not (tmp_path / "out").exists()


def test_converting_twice_gives_identical_files(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    leukoflag("convert", "day.hl7", "-o", "a")
    leukoflag("convert", "day.hl7", "-o", "b")
    for name in ("day.hl7.1.json", "day.hl7.2.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_settings_options_reach_the_conversion(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "low.hl7").write_bytes(LOW)
    done = leukoflag("convert", "low.hl7", "--fhir-version", "R5", "--bundle-type", "collection")
    assert done.returncode == 0, done.stderr
    bundle = json.loads(done.stdout)
    assert bundle["type"] == "collection"
    # an ANC of 900/uL: LU by default, LL below a critical low of 1,000 (the highest allowed)
    (tmp_path / "lower.hl7").write_bytes(
        oru("EF-1003", mrn="MRN200177", sex="M", birth="19610719", wbc="2.6", anc="0.9")
    )
    done = leukoflag("convert", "lower.hl7", "--critical-low", "anc=1000", "-o", "out")
    anc = [
        entry["resource"]
        for entry in _json(tmp_path / "out" / "lower.hl7.1.json")["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        and entry["resource"]["code"]["coding"][0]["code"] == "751-8"
    ]
    codes = [c["code"] for i in anc[0]["interpretation"] for c in i["coding"]]
    assert codes == ["LL"]


def test_summary_line_counts_messages_bundles_rejected_and_lows(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    done = leukoflag("convert", "day.hl7", "-o", "out")
    summary = done.stderr.decode().splitlines()
    assert len(summary) == 1
    assert summary[0].startswith(
        "leukoflag: 2 messages → 2 bundles, 0 rejected · low WBC 1 · low ANC 1 · 1 file in "
    )
    assert "\r" not in done.stderr.decode()  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ("out/day/day.hl7.1.json", "the name of output file 1 of day.hl7 in -o out/day"),
        ("out/day", "the -o directory"),
        ("out/day/rejected", "the directory of rejected items in -o out/day"),
        ("out/day/rejected/r.json", "inside the directory of rejected items in -o out/day"),
    ],
)
def test_report_placed_where_an_output_goes_is_a_usage_error_before_anything_is_written(
    leukoflag: Runner, tmp_path: Path, report: str, why: str
) -> None:
    # '--report out/day/day.hl7.1.json' replaced the Bundle of the day's first message with the
    # report (status 0, the Bundle gone); '--report out/day' (the file name forgotten) wrote
    # every output, then stopped with 'leukoflag: Is a directory: out/day'
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    done = leukoflag("convert", "day.hl7", "-o", "out/day", "--report", report)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"leukoflag: --report {report}: is {why}: the report would replace an output"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("target", "report", "why"),
    [
        # the report's first name is a symlink to ``target``
        # a link to the name of an output file (the report is written through it, to its target)
        (
            "out/day/day.hl7.1.json",
            "day-report.json",
            "the name of output file 1 of day.hl7 in -o out/day",
        ),
        # a link to the -o directory: the report's path goes through it
        (
            "out/day",
            "latest/day.hl7.2.json",
            "the name of output file 2 of day.hl7 in -o out/day",
        ),
        (
            "out/day",
            "latest/rejected/r.json",
            "inside the directory of rejected items in -o out/day",
        ),
    ],
)
def test_report_reaching_an_output_through_a_symlink_is_a_usage_error(
    leukoflag: Runner, tmp_path: Path, target: str, report: str, why: str
) -> None:
    # 'convert day.hl7 -o out/day --report day-report.json', day-report.json a link to
    # out/day/day.hl7.1.json (made by a script that keeps a stable name), exited 0 with the
    # first message's Bundle replaced by the report; so did a report under 'latest/', a link to
    # the -o directory: what counts is where the report is written, not how it is named
    (tmp_path / "day.hl7").write_bytes(batch(NORMAL, LOW))
    (tmp_path / "out/day/rejected").mkdir(parents=True)  # an earlier run's, emptied
    (tmp_path / report.partition("/")[0]).symlink_to(target)
    done = leukoflag("convert", "day.hl7", "-o", "out/day", "--report", report)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"leukoflag: --report {report}: is {why}: the report would replace an output"
    ]
    assert [p.name for p in (tmp_path / "out/day").rglob("*")] == ["rejected"]


def test_report_counts_only_the_values_leukoflag_rewrote(leukoflag: Runner, tmp_path: Path) -> None:
    # A lab that already sends its counts in cells/µL (UCUM /uL) gets them back as sent: the
    # report said they were normalized, as it did of a platelet count in cells/µL (not a count
    # leukoflag judges) and of leukoflag's own output read back unchanged.
    def per_ul(identifier: str, value: int, code: str = "6690-2") -> dict[str, Any]:
        made = observation(identifier, value, "/uL", code)
        made["valueQuantity"]["unit"] = "cells/µL"
        return made

    (tmp_path / "as-sent.ndjson").write_bytes(
        ndjson(
            per_ul("wbc-1", 3100), per_ul("anc-1", 1200, "751-8"), per_ul("plt-1", 245000, "777-3")
        )
    )
    (tmp_path / "changed.ndjson").write_bytes(
        ndjson(observation("wbc-2", 3.1, "10*3/uL"), observation("anc-2", 1200, "/uL", "751-8"))
    )
    done = leukoflag("convert", "as-sent.ndjson", "changed.ndjson", "-o", "first", "--quiet")
    assert done.returncode == 0, done.stderr
    (tmp_path / "read-back.ndjson").write_bytes(
        b"".join(
            (tmp_path / "first" / f"changed.ndjson.{n}.json").read_bytes().strip() + b"\n"
            for n in (1, 2)
        )
    )
    (tmp_path / "lab.hl7").write_bytes(
        oru("EF-1901", wbc="3100", wbc_unit="/uL^cells/µL^UCUM", wbc_range="4000-11000")
    )
    done = leukoflag(
        "convert", "as-sent.ndjson", "changed.ndjson", "read-back.ndjson", "lab.hl7",
        "-o", "out", "--report", "report.json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = _json(tmp_path / "report.json")
    normalized = {f["input"]: (f["observations"], f["normalized"]) for f in report["files"]}
    assert normalized == {
        "as-sent.ndjson": (3, 0),
        "changed.ndjson": (2, 2),
        "read-back.ndjson": (2, 0),
        # the WBC as sent (3,100 cells/µL, UCUM /uL); the ANC from 10*3/uL
        "lab.hl7": (3, 1),
    }
    assert report["totals"]["normalized"] == 3
