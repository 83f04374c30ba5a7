"""``--jobs N`` gives byte-identical output to one process, in the same order."""

from __future__ import annotations

import concurrent.futures
import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from leukoflag.cli import _pipeline, main

from .conftest import Runner
from .messages import LOG_QUOTING_HL7, batch, mllp, ndjson, observation, oru


def _feed(root: Path) -> None:
    """More messages than one worker batch, across several files and formats."""
    count = _pipeline.BATCH_MESSAGES * 2 + 7
    messages = [
        oru(
            f"J-{n:05d}",
            mrn=f"MRN3{n:05d}",
            wbc=f"{1 + (n * 37) % 120 / 10:.1f}",
            anc=f"{(n * 53) % 90 / 10:.2f}",
            sex="MF"[n % 2],
            birth=f"{1940 + n % 80}0{1 + n % 9}15",
        )
        for n in range(count)
    ]
    (root / "a-big.hl7").write_bytes(batch(*messages))
    (root / "b-log.txt").write_bytes(LOG_QUOTING_HL7)
    (root / "c-obs.ndjson").write_bytes(
        ndjson(observation("o-1", 2100, "/uL"), observation("o-2", 0.4, "10*3/uL", "751-8"))
    )
    for n in range(5):  # small files: batches span file boundaries
        (root / f"d-{n}.hl7").write_bytes(mllp(messages[n], messages[-n - 1]))
    (root / "e-empty.hl7").write_bytes(b"")
    (root / "f-tail.hl7").write_bytes(messages[7])


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    root = tmp_path / "feed"
    root.mkdir()
    _feed(root)
    return root


def test_two_jobs_write_the_same_stdout_as_one(leukoflag: Runner, feed: Path) -> None:
    one = leukoflag("convert", feed, "--jobs", "1", "--quiet")
    two = leukoflag("convert", feed, "--jobs", "2", "--quiet")
    assert one.returncode == two.returncode == 1  # the log file is rejected
    assert one.stdout.count(b"\n") == _pipeline.BATCH_MESSAGES * 2 + 7 + 2 + 10 + 1
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr


def test_two_jobs_write_the_same_files_and_report_as_one(
    leukoflag: Runner, tmp_path: Path, feed: Path
) -> None:
    for jobs in ("1", "2"):
        done = leukoflag(
            "convert", feed, "-o", f"out-{jobs}", "--report", f"report-{jobs}.json", "-j", jobs
        )
        assert done.returncode == 1
    one = sorted(p.relative_to(tmp_path / "out-1") for p in (tmp_path / "out-1").rglob("*"))
    two = sorted(p.relative_to(tmp_path / "out-2") for p in (tmp_path / "out-2").rglob("*"))
    assert one == two
    assert len(one) > _pipeline.BATCH_MESSAGES * 2
    for relative in one:
        if (tmp_path / "out-1" / relative).is_file():
            first = (tmp_path / "out-1" / relative).read_bytes()
            assert (tmp_path / "out-2" / relative).read_bytes() == first, relative
    report = (tmp_path / "report-1.json").read_bytes()
    assert (tmp_path / "report-2.json").read_bytes() == report


def test_more_jobs_than_the_system_can_count_is_one_line_not_a_traceback(
    leukoflag: Runner, feed: Path
) -> None:
    # a typo (-j 16000000000 for -j 16) failed in the pool's semaphore: an OverflowError
    # traceback, status 1 as for rejected items
    done = leukoflag("convert", feed, "-o", "out", "-j", "16000000000")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "leukoflag: --jobs 16000000000: more worker processes than this system allows"
    ]
    assert not list((feed.parent / "out").iterdir())


def test_jobs_read_stdin(leukoflag: Runner, feed: Path) -> None:
    data = (feed / "a-big.hl7").read_bytes()
    one = leukoflag("convert", "-", "-q", stdin=data)
    two = leukoflag("convert", "-", "-q", "--jobs", "2", stdin=data)
    assert one.returncode == two.returncode == 0
    assert two.stdout == one.stdout


def test_a_batch_cut_short_is_rejected_alike_with_two_jobs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    messages = [oru(f"CUT-{n}", mrn=f"MRN40{n:03d}") for n in range(3)]
    whole = batch(*messages)
    cut = whole.replace(messages[2], b"")  # the third message lost; BTS-1 still says 3
    (tmp_path / "cut.hl7").write_bytes(cut)
    for jobs in ("1", "2"):
        done = leukoflag(
            "convert", tmp_path / "cut.hl7", "-q", "-j", jobs, "--report", f"report-{jobs}.json"
        )
        assert done.returncode == 1
        assert done.stdout.count(b"\n") == 2  # the two messages that arrived, converted
        assert b"rejected" in done.stderr
        assert b"BTS-1 counts 3 messages but the batch held 2; 1 message missing" in done.stderr
    report = json.loads((tmp_path / "report-1.json").read_bytes())
    assert json.loads((tmp_path / "report-2.json").read_bytes()) == report
    assert '"input.rejected": 1' in (tmp_path / "report-1.json").read_text(encoding="utf-8")


def test_a_file_after_thousands_of_blank_lines_is_read_alike_with_two_jobs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # its first 4 KiB are blank: the format was told from them, and the file rejected whole
    messages = [oru(f"PAD-{n}", mrn=f"MRN41{n:03d}") for n in range(2)]
    (tmp_path / "padded.hl7").write_bytes(b"\r\n" * 3000 + b"".join(messages))
    for jobs in ("1", "2"):
        done = leukoflag("convert", tmp_path / "padded.hl7", "-q", "-j", jobs)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count(b"\n") == 2


def test_a_capture_rotated_inside_a_message_is_read_alike_from_file_stdin_and_two_jobs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # it starts with the last segments of a message: rejected whole as a log quoting HL7, its
    # two whole messages lost
    tail = oru("ROT-0", mrn="MRN420000", eol="\n").split(b"\n", 5)[5]  # from OBX|1 on
    capture = tail + b"".join(oru(f"ROT-{n}", mrn=f"MRN42{n:04d}", eol="\n") for n in (1, 2))
    (tmp_path / "capture.hl7.1").write_bytes(capture)
    runs = [leukoflag("convert", tmp_path / "capture.hl7.1", "-q", "-j", j) for j in ("1", "2")]
    runs.append(leukoflag("convert", "-", "-q", stdin=capture))
    for done in runs:
        assert done.returncode == 1
        assert done.stdout.count(b"\n") == 2
        assert b"ROT-1" in done.stdout
        assert b"ROT-2" in done.stdout
        assert done.stderr.count(b"rejected") == 1
        assert b"item 1 (MSG[1]): segment OBX before MSH" in done.stderr
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout


def test_stdin_after_thousands_of_blank_lines_is_read_alike_with_two_jobs(
    leukoflag: Runner,
) -> None:
    # a pipe was told by its first 4 KiB, all blank: both messages rejected whole as
    # "not HL7 v2 or FHIR JSON: content starts with 'MSH|^~\\&|…'", though the file converts
    messages = [oru(f"PAD-{n}", mrn=f"MRN42{n:03d}") for n in range(2)]
    for jobs in ("1", "2"):
        done = leukoflag(
            "convert", "-", "-q", "-j", jobs, stdin=b"\r\n" * 3000 + b"".join(messages)
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.count(b"\n") == 2


def test_a_file_missing_a_batch_is_rejected_alike_with_two_jobs(
    leukoflag: Runner, tmp_path: Path
) -> None:
    first = batch(oru("LOST-0", mrn="MRN410000"), oru("LOST-1", mrn="MRN410001"))
    second = batch(oru("LOST-2", mrn="MRN410002"))
    # Two single-batch files joined as one: FTS-1 says 3 batches, the file now holds 2.
    head, _, first_batch = first.partition(b"BHS|")
    joined = head + b"BHS|" + first_batch.replace(b"FTS|1\r", b"")
    joined += second[second.index(b"BHS|") :].replace(b"FTS|1\r", b"FTS|3\r")
    (tmp_path / "lost.hl7").write_bytes(joined)
    for jobs in ("1", "2"):
        done = leukoflag(
            "convert", tmp_path / "lost.hl7", "-q", "-j", jobs, "--report", f"report-{jobs}.json"
        )
        assert done.returncode == 1
        assert done.stdout.count(b"\n") == 3  # the three messages that arrived, converted
        assert b"FTS-1 counts 3 batches but the file held 2; 1 batch missing" in done.stderr
    report = json.loads((tmp_path / "report-1.json").read_bytes())
    assert json.loads((tmp_path / "report-2.json").read_bytes()) == report
    assert '"input.rejected": 1' in (tmp_path / "report-1.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        (mllp(oru("LJ-0001")), "LJ-0001"),  # a frame ends with its end block
        (oru("LJ-0002") + oru("LJ-0003"), "LJ-0002"),  # a plain message ends where the next starts
        (ndjson(observation("lj-wbc-1", 3.2, "10*3/uL")), "lj-wbc-1"),  # a line at its line end
    ],
    ids=["MLLP", "plain HL7 v2", "NDJSON"],
)
def test_a_live_feed_with_jobs_is_written_as_it_arrives(
    tmp_path: Path, sent: bytes, written: str
) -> None:
    # `nc -l 2575 | leukoflag convert - -j 2`: the sender sends one message, then waits
    with subprocess.Popen(
        [sys.executable, "-m", "leukoflag", "convert", "-", "-q", "-j", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(sent)
            process.stdin.flush()  # stdin stays open: more may come
            # a generous bound on the wait for a line that is due now, not a speed limit
            ready, _, _ = select.select([process.stdout], [], [], 120)
            assert ready, "nothing written while the sender waits"
            first = json.loads(process.stdout.readline())
            process.stdin.close()
            assert process.wait(timeout=120) == 0
        finally:
            if process.poll() is None:
                process.kill()

    if first["resourceType"] == "Bundle":
        assert first["identifier"]["value"] == written
    else:
        assert (first["resourceType"], first["id"]) == ("Observation", written)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity")
def test_jobs_zero_starts_one_worker_per_cpu_the_command_may_run_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a container pinned to 2 of a host's 64 CPUs (a cpuset, `taskset -c 0,1`): -j 0 started 64
    # workers, each importing leukoflag, on 2 CPUs (os.cpu_count counts the host's)
    (tmp_path / "feed.hl7").write_bytes(oru("CPU-1"))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    started: list[int] = []

    class RefusedError(Exception):
        pass

    def pool(*, max_workers: int, **options: object) -> NoReturn:
        started.append(max_workers)
        raise RefusedError  # no process started: the number asked for is what is checked

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    with pytest.raises(RefusedError):
        main(["convert", os.fspath(tmp_path / "feed.hl7"), "-j", "0", "-q"])
    assert started == [2]
