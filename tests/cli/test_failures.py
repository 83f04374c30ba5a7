"""``leukoflag convert`` when something goes wrong while it runs: a defect on one message, a worker
process that dies, output names the file system refuses, closed streams."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import multiprocessing
import os
import select
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from leukoflag import api, fhir
from leukoflag.cli import _convert, _pipeline, main
from leukoflag.model import Message, PatientResult
from leukoflag.settings import Settings

from .messages import ShareGoneAfter, batch, mllp, ndjson, observation, oru


@pytest.fixture
def forked_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--jobs`` workers forked from this process, so they see the test's monkeypatches."""
    monkeypatch.setattr(_convert, "_process_context", lambda: multiprocessing.get_context("fork"))


def _fail_on_control_id(monkeypatch: pytest.MonkeyPatch, control_id: str) -> None:
    """A defect in the flagging step, met only by the message ``control_id``."""
    evaluate = api.evaluate_groups

    def failing(
        groups: tuple[PatientResult, ...], settings: Settings, *, fallback: Message | None
    ) -> Any:
        if fallback is not None and fallback.control_id == control_id:
            raise KeyError("wbc-leukopenia-adult")
        return evaluate(groups, settings, fallback=fallback)

    monkeypatch.setattr(api, "evaluate_groups", failing)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_defect_on_one_message_rejects_it_and_converts_the_others(
    monkeypatch: pytest.MonkeyPatch, forked_workers: None, tmp_path: Path, jobs: str
) -> None:
    messages = [oru("RB-0001"), oru("RB-0002", wbc="2.9"), oru("RB-0003", anc="0.8")]
    (tmp_path / "feed.hl7").write_bytes(batch(*messages))
    _fail_on_control_id(monkeypatch, "RB-0002")
    out = tmp_path / "out"

    status = main(["convert", str(tmp_path / "feed.hl7"), "-o", str(out), "-q", "-j", jobs])

    assert status == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "feed.hl7.1.json",
        "feed.hl7.3.json",
        "rejected",
    ]
    record = json.loads((out / "rejected" / "feed.hl7.2.reason.json").read_bytes())
    assert record["location"] == "MSG[2]"
    assert record["reason"] == (
        "leukoflag could not convert this message (KeyError: 'wbc-leukopenia-adult'); "
        "please report it"
    )
    assert [issue["code"] for issue in record["issues"]] == ["input.rejected"]
    assert (out / "rejected" / "feed.hl7.2.hl7").read_bytes() == messages[1]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_defect_on_one_ndjson_line_rejects_that_line_only(
    monkeypatch: pytest.MonkeyPatch, forked_workers: None, tmp_path: Path, jobs: str
) -> None:
    lines = ndjson(observation("wbc-1", 3100, "/uL"), observation("wbc-2", 2.4, "10*3/uL"))
    (tmp_path / "obs.ndjson").write_bytes(lines)
    flag = fhir.flag_in_place

    def failing(item: fhir.FhirItem, *args: Any) -> Any:
        if item.index == 2:
            raise ZeroDivisionError("decimal division by zero")
        return flag(item, *args)

    monkeypatch.setattr(fhir, "flag_in_place", failing)
    out = tmp_path / "out"

    status = main(["convert", str(tmp_path / "obs.ndjson"), "-o", str(out), "-q", "-j", jobs])

    assert status == 1
    assert json.loads((out / "obs.ndjson.1.json").read_bytes())["id"] == "wbc-1"
    record = json.loads((out / "rejected" / "obs.ndjson.2.reason.json").read_bytes())
    assert record["reason"] == (
        "leukoflag could not convert this item (ZeroDivisionError: decimal division by zero); "
        "please report it"
    )
    assert (out / "rejected" / "obs.ndjson.2.json").read_bytes() == lines.splitlines()[1]


def test_a_file_name_too_long_for_output_names_is_shortened(tmp_path: Path) -> None:
    # 250 bytes: a legal name, but NAME.1.json and NAME.1.reason.json would exceed 255 bytes
    stem = "lab-export" + "é" * 115 + "-" * 3
    good = tmp_path / "in" / f"{stem}-ok.hl7"
    bad = tmp_path / "in" / f"{stem}-ko.hl7"
    good.parent.mkdir()
    good.write_bytes(oru("LN-0001", wbc="3.2"))
    bad.write_bytes(b"2026-11-24 09:30:01 INFO listener started on port 2575\n")
    assert len(good.name.encode()) == 250
    out = tmp_path / "out"

    status = main(
        ["convert", str(good.parent), "-o", str(out), "-q", "--report", str(tmp_path / "r.json")]
    )

    assert status == 1
    names = [
        entry["output_name"] for entry in json.loads((tmp_path / "r.json").read_bytes())["files"]
    ]
    assert len(names) == 2
    assert names[0] != names[1]
    for name in names:
        assert name.startswith("lab-exportéé")
        assert len(name.encode()) == 199  # cut between two characters, not inside the 91st é
    # sorted: -ko (the log, rejected) before -ok
    assert json.loads((out / f"{names[1]}.1.json").read_bytes())["identifier"]["value"] == "LN-0001"
    record = json.loads((out / "rejected" / f"{names[0]}.1.reason.json").read_bytes())
    assert record["input"] == str(bad)
    assert (out / "rejected" / f"{names[0]}.1.txt").is_file()


@pytest.mark.parametrize(
    "count",
    [
        3,
        # the other worker is busy with a batch of its own: the pool stops it by SIGTERM, which
        # workers ignore (a SIGTERM to the whole job is for the main process to handle)
        4 * _pipeline.BATCH_MESSAGES,
    ],
)
def test_a_worker_killed_mid_run_is_one_error_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch,
    forked_workers: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    count: int,
) -> None:
    messages = [oru(f"KW-{n:04d}") for n in range(1, count + 1)]
    (tmp_path / "feed.hl7").write_bytes(batch(*messages))
    evaluate = api.evaluate_groups

    def killed(
        groups: tuple[PatientResult, ...], settings: Settings, *, fallback: Message | None
    ) -> Any:
        if fallback is not None and fallback.control_id == "KW-0002":
            os.kill(os.getpid(), signal.SIGKILL)  # the kernel's out-of-memory killer, say
        return evaluate(groups, settings, fallback=fallback)

    monkeypatch.setattr(api, "evaluate_groups", killed)

    status = main(["convert", str(tmp_path / "feed.hl7"), "-o", str(tmp_path / "out"), "-j", "2"])

    assert status == 2
    assert capsys.readouterr().err == (
        "leukoflag: a worker process stopped unexpectedly (killed, or out of memory?): the "
        "outputs written are complete, the items after them were not converted\n"
    )


def test_stdin_closed_is_one_error_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", None)

    status = main(["convert", "-", "-o", str(tmp_path / "out"), "-q"])

    assert status == 2
    assert capsys.readouterr().err == "leukoflag: stdin (-) is closed: nothing to read\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "No space left on device: "),
        (OSError(errno.EIO, "Input/output error"), 2, "Input/output error: "),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_an_output_file_cut_short_is_removed_not_left_half_written(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[BaseException, int, str],
) -> None:
    error, status, said = case
    (tmp_path / "feed.hl7").write_bytes(batch(oru("DF-0001"), oru("DF-0002"), oru("DF-0003")))
    out = tmp_path / "out"
    write_bytes = Path.write_bytes

    def cut_short(path: Path, data: bytes) -> int:
        if path.name != "feed.hl7.2.json":
            return write_bytes(path, data)
        write_bytes(path, data[: len(data) // 2])  # the device filled up half way
        raise error

    monkeypatch.setattr(Path, "write_bytes", cut_short)

    assert main(["convert", str(tmp_path / "feed.hl7"), "-o", str(out), "-q"]) == status

    assert sorted(p.name for p in out.iterdir()) == ["feed.hl7.1.json"]
    line = (
        f"leukoflag: {said}{out / 'feed.hl7.2.json'}\n"
        if status == 2
        else "\nleukoflag: interrupted\n"
    )
    assert capsys.readouterr().err == line


@pytest.mark.parametrize(
    "case",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "No space left on device: "),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_a_rejection_record_cut_short_takes_its_raw_item_with_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[BaseException, int, str],
) -> None:
    # the disk filled up between a rejected item's raw bytes and its record: the raw item was
    # left in rejected/ without the record saying why, to be replayed as if nothing was wrong
    error, status, said = case
    cut = oru("DF-0002")[:40]  # the second message ends inside its MSH
    (tmp_path / "feed.hl7").write_bytes(oru("DF-0001") + cut)
    out = tmp_path / "out"
    write_bytes = Path.write_bytes

    def cut_short(path: Path, data: bytes) -> int:
        if not path.name.endswith(".reason.json"):
            return write_bytes(path, data)
        write_bytes(path, data[: len(data) // 2])  # the device filled up half way
        raise error

    monkeypatch.setattr(Path, "write_bytes", cut_short)

    assert main(["convert", str(tmp_path / "feed.hl7"), "-o", str(out), "-q"]) == status

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "feed.hl7.1.json",
        "rejected",
    ]
    line = (
        f"leukoflag: {said}{out / 'rejected' / 'feed.hl7.2.reason.json'}\n"
        if status == 2
        else "\nleukoflag: interrupted\n"
    )
    assert capsys.readouterr().err == line


@pytest.mark.parametrize(
    "case",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "No space left on device: "),
        (KeyboardInterrupt(), 130, "\nleukoflag: interrupted\n"),
    ],
)
def test_a_report_cut_short_names_the_report_and_leaves_no_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[BaseException, int, str],
) -> None:
    # the report's disk full at the end of a run: '[Errno 28] No space left on device', naming
    # no file, and a hidden .report.json.partial left in the reports directory for good
    error, status, said = case
    (tmp_path / "feed.hl7").write_bytes(batch(oru("DF-0001"), oru("DF-0002")))
    reports = tmp_path / "reports"
    write_bytes = Path.write_bytes

    def cut_short(path: Path, data: bytes) -> int:
        if path.parent != reports:
            return write_bytes(path, data)
        write_bytes(path, data[: len(data) // 2])  # the device filled up half way
        raise error

    monkeypatch.setattr(Path, "write_bytes", cut_short)
    report = reports / "report.json"
    argv = ["convert", str(tmp_path / "feed.hl7"), "-o", str(tmp_path / "out"), "-q"]

    assert main([*argv, "--report", str(report)]) == status

    assert list(reports.iterdir()) == []
    line = f"leukoflag: {said}{report}\n" if status == 2 else said
    assert capsys.readouterr().err == line


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_mid_run_stops_the_workers_and_is_one_line_and_status_143(
    tmp_path: Path, jobs: str
) -> None:
    # a service stop (systemd, `timeout`, `kill`) while a feed is still coming in on stdin
    out = tmp_path / "out"
    with subprocess.Popen(
        [sys.executable, "-m", "leukoflag", "convert", "-", "-o", out, "-q", "-j", jobs],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdin is not None
        # more than the workers hold in flight, so that some are written while stdin stays open
        count = (2 * _pipeline.IN_FLIGHT_BATCHES + 2) * _pipeline.BATCH_MESSAGES
        process.stdin.write(b"".join(mllp(oru(f"ST-{n:04d}")) for n in range(count)))
        process.stdin.flush()
        while not (out / "stdin.1.json").exists():
            assert process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        # a worker left behind would hold stderr open: communicate would wait for ever
        _, err = process.communicate(timeout=120)

    assert process.returncode == 143
    assert err == b"leukoflag: terminated\n"
    for written in out.glob("*.json"):
        assert json.loads(written.read_bytes())["resourceType"] == "Bundle"


def test_workers_end_when_the_main_process_is_killed(tmp_path: Path) -> None:
    # kill -9 (or the out-of-memory killer) gives the main process no chance to stop its workers
    out = tmp_path / "out"
    with subprocess.Popen(
        [sys.executable, "-m", "leukoflag", "convert", "-", "-o", out, "-q", "-j", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # so that what a failure leaves behind can be killed
    ) as process:
        try:
            assert process.stdin is not None
            count = (2 * _pipeline.IN_FLIGHT_BATCHES + 2) * _pipeline.BATCH_MESSAGES
            process.stdin.write(b"".join(mllp(oru(f"KM-{n:04d}")) for n in range(count)))
            process.stdin.flush()
            while not (out / "stdin.1.json").exists():  # the workers are converting
                assert process.poll() is None
                time.sleep(0.05)
            process.kill()
            # stdout and stderr end once no process the command started holds them
            # (stderr may say that multiprocessing's resource tracker cleaned up after it)
            out_bytes, _ = process.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):  # what a failure left behind
                os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == -signal.SIGKILL
    assert out_bytes == b""


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [
        # systemd stops a service, and `timeout` a command, by sending SIGTERM to all its
        # processes: the --jobs workers and multiprocessing's forkserver and resource tracker
        (signal.SIGTERM, 143, "terminated"),
        # a terminal that is closed sends SIGHUP to every process of the job in it
        (signal.SIGHUP, 129, "hung up (terminal closed)"),
    ],
    ids=["SIGTERM", "SIGHUP"],
)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_stop_signal_to_the_whole_job_stops_it_and_every_process_it_started(
    tmp_path: Path, signum: signal.Signals, status: int, said: str, jobs: str
) -> None:
    out = tmp_path / "out"
    feed = b"".join(mllp(oru(f"SJ-{n:04d}")) for n in range(1500))
    with subprocess.Popen(
        [sys.executable, "-m", "leukoflag", "convert", "-", "-o", out, "-q", "-j", jobs],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a service has
    ) as process:
        try:
            assert process.stdin is not None
            sender = threading.Thread(target=_send, args=(process.stdin, feed), daemon=True)
            sender.start()
            while not (out / "stdin.200.json").exists():  # results are streaming back
                assert process.poll() is None
                time.sleep(0.05)
            os.killpg(process.pid, signum)
            err = _stderr_to_its_end(process)
            process.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):  # what a failure left behind
                os.killpg(process.pid, signal.SIGKILL)

    assert (process.returncode, err) == (status, f"leukoflag: {said}\n".encode())
    assert err == f"leukoflag: {said}\n".encode()
    for written in out.glob("*.json"):
        assert json.loads(written.read_bytes())["resourceType"] == "Bundle"


@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
def test_under_nohup_a_closed_terminal_does_not_stop_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    count = (2 * _pipeline.IN_FLIGHT_BATCHES + 2) * _pipeline.BATCH_MESSAGES
    with subprocess.Popen(
        ["nohup", sys.executable, "-m", "leukoflag", "convert", "-", "-o", out, "-q", "-j", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            assert process.stdin is not None
            process.stdin.write(b"".join(mllp(oru(f"NH-{n:04d}")) for n in range(count)))
            process.stdin.flush()
            while not (out / "stdin.1.json").exists():
                assert process.poll() is None
                time.sleep(0.05)
            os.killpg(process.pid, signal.SIGHUP)  # the terminal is closed: the run goes on
            _, err = process.communicate(mllp(oru("NH-LAST")), timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):  # what a failure left behind
                os.killpg(process.pid, signal.SIGKILL)

    assert (process.returncode, err) == (0, b"")
    assert len(list(out.glob("stdin.*.json"))) == count + 1
    last = json.loads((out / f"stdin.{count + 1}.json").read_bytes())
    assert last["identifier"]["value"] == "NH-LAST"


def _send(stdin: BinaryIO, data: bytes) -> None:
    """A sender that keeps the connection open after ``data``, as a live feed does."""
    with contextlib.suppress(BrokenPipeError):  # the command stopped reading: it was stopped
        stdin.write(data)
        stdin.flush()


def _stderr_to_its_end(process: subprocess.Popen[bytes]) -> bytes:
    """All of stderr, which ends once no process the command started holds it; fails when one
    is still running after two minutes (a generous bound: the wait is for a process to end)."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    deadline = time.monotonic() + 120
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, "stderr is still open: a process of the command is still running"
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.parametrize(
    "stop",
    [
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hung up (terminal closed)"),  # the terminal it ran in was closed
    ],
    ids=["SIGTERM", "SIGHUP"],
)
def test_a_stop_signal_while_an_output_file_is_written_removes_it(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stop: tuple[signal.Signals, int, str],
) -> None:
    signum, status, said = stop
    (tmp_path / "feed.hl7").write_bytes(batch(oru("TW-0001"), oru("TW-0002"), oru("TW-0003")))
    out = tmp_path / "out"
    write_bytes = Path.write_bytes

    def cut_short(path: Path, data: bytes) -> int:
        if path.name != "feed.hl7.2.json":
            return write_bytes(path, data)
        write_bytes(path, data[: len(data) // 2])
        os.kill(os.getpid(), signum)
        return len(data)

    def unhandled(signum: int, frame: Any) -> None:  # without leukoflag's: pytest would be killed
        raise AssertionError(f"{signal.Signals(signum).name} reached the caller's handler")

    monkeypatch.setattr(Path, "write_bytes", cut_short)
    previous = signal.signal(signum, unhandled)
    try:
        status_got = main(["convert", str(tmp_path / "feed.hl7"), "-o", str(out), "-q"])
    finally:
        assert signal.signal(signum, previous) is unhandled  # the caller's, set back

    assert status_got == status
    assert sorted(p.name for p in out.iterdir()) == ["feed.hl7.1.json"]
    assert capsys.readouterr().err == f"leukoflag: {said}\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    ("options", "full"),
    [
        ([], "<stdout>"),  # the NDJSON
        (["-o", "out", "--report", "-"], "<stdout>"),  # the report
        (["-o", "out", "--report", "/dev/full"], "/dev/full"),
    ],
)
def test_a_full_device_is_named_in_the_error_line(
    tmp_path: Path, options: list[str], full: str
) -> None:
    (tmp_path / "feed.hl7").write_bytes(batch(oru("FD-0001"), oru("FD-0002")))
    with open("/dev/full", "wb") as device:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "convert", "feed.hl7", "-q", *options],
            stdout=device,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == f"leukoflag: No space left on device: {full}\n".encode()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_stdout_is_named_in_the_error_line_of_explain(tmp_path: Path) -> None:
    # explain said "leukoflag: [Errno 28] No space left on device", naming nothing written to
    (tmp_path / "feed.hl7").write_bytes(batch(oru("FD-0001"), oru("FD-0002")))
    with open("/dev/full", "wb") as device:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "explain", "feed.hl7"],
            stdout=device,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == b"leukoflag: No space left on device: <stdout>\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    ("inputs", "options", "status"),
    [
        (["feed.hl7"], ["-o", "out"], 0),  # only the summary line is lost
        (["feed.hl7"], ["-o", "out", "-j", "2"], 0),
        (["interface.log", "feed.hl7"], ["-o", "out"], 1),  # and the line of the rejected log
        (["feed.hl7", "missing.hl7"], ["-o", "out"], 2),  # and the error line
    ],
)
def test_stderr_that_cannot_be_written_leaves_the_status_true(
    tmp_path: Path, inputs: list[str], options: list[str], status: int
) -> None:
    # a log file on a full disk, or a terminal closed under the run (EIO): as with stderr closed
    (tmp_path / "feed.hl7").write_bytes(batch(oru("SE-0001"), oru("SE-0002")))
    (tmp_path / "interface.log").write_bytes(b"2026-11-24 09:30:00 INFO sent ORU to EHR\n")
    with open("/dev/full", "wb") as device:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "convert", *inputs, *options],
            stdout=subprocess.DEVNULL,
            stderr=device,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )

    assert done.returncode == status
    if status < 2:
        assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == [
            "feed.hl7.1.json",
            "feed.hl7.2.json",
        ]


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["convert", "-q", "-j", "1"], "night-feed.hl7"),
        (["convert", "-q", "-j", "2"], "night-feed.hl7"),
        (["convert", "-q", "-j", "2"], "night-feed.ndjson"),
        (["explain"], "night-feed.hl7"),
    ],
)
def test_an_input_whose_read_fails_partway_is_named_with_status_2(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    name: str,
) -> None:
    # a network share gone while a feed was read: "leukoflag: [Errno 5] Input/output error"
    # named no file, though an I/O error names the file it happened on (docs/cli.md)
    feed = tmp_path / name
    if name.endswith(".hl7"):
        feed.write_bytes(batch(*(oru(f"NF-{n:04d}") for n in range(40))))
    else:
        feed.write_bytes(ndjson(*(observation(f"nf-{n}", 3100 + n, "/uL") for n in range(200))))
    opened = Path.open

    def open_on_share(self: Path, *args: object, **kwargs: object) -> object:
        if self == feed:
            return io.BufferedReader(ShareGoneAfter(feed, feed.stat().st_size // 2), 1024)
        return opened(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", open_on_share)
    output = ["-o", str(tmp_path / "out")] if command[0] == "convert" else []

    assert main([*command, str(feed), *output]) == 2

    assert capsys.readouterr().err == f"leukoflag: cannot read {feed}: Input/output error\n"


class _SignalledMidLine:
    """stdout's buffer, to which a stop signal arrives while the first Bundle is being written."""

    def __init__(self, signum: signal.Signals) -> None:
        self.data = bytearray()
        self._signum: signal.Signals | None = signum

    def write(self, data: bytes) -> int:
        self.data += data
        if self._signum is not None:
            signum, self._signum = self._signum, None
            os.kill(os.getpid(), signum)  # handled at the first chance, if it is not held
        return len(data)

    def flush(self) -> None:
        pass


class _Stdout:
    def __init__(self, buffer: _SignalledMidLine) -> None:
        self.buffer = buffer

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_stop_signal_while_a_bundle_is_written_to_stdout_ends_its_line_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    # `leukoflag convert feed.hl7 | engine` stopped by systemd or Ctrl-C mid-write left the last
    # NDJSON line without its end ('{"resourceType":"Bundle",…}' and no newline): a reader of
    # the stream took it for a line cut short, or joined it to the next run's first
    (tmp_path / "feed.hl7").write_bytes(batch(oru("SG-0001"), oru("SG-0002")))
    buffer = _SignalledMidLine(signum)
    monkeypatch.setattr(sys, "stdout", _Stdout(buffer))

    assert main(["convert", str(tmp_path / "feed.hl7"), "-q", "-j", "1"]) == status

    text = bytes(buffer.data).decode()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["resourceType"] == "Bundle"


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="needs F_GETPIPE_SZ (Linux)")
@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [
        (signal.SIGTERM, 143, b"leukoflag: terminated\n"),
        (signal.SIGINT, 130, b"\nleukoflag: interrupted\n"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_stop_signal_ends_a_run_whose_stdout_reader_has_stalled(
    tmp_path: Path, signum: signal.Signals, status: int, said: bytes
) -> None:
    # `leukoflag convert feed.hl7 | engine` with an engine that stopped reading: the write of a
    # line blocks on the full pipe, and a stop held until the line's end never came (systemd's
    # SIGTERM, Ctrl-C did nothing; only SIGKILL ended it)
    (tmp_path / "feed.hl7").write_bytes(batch(*(oru(f"PS-{n:04d}") for n in range(300))))
    with subprocess.Popen(
        [sys.executable, "-m", "leukoflag", "convert", "feed.hl7", "-q", "-j", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            assert process.stdout is not None
            fd = process.stdout.fileno()
            # full when its last page cannot take the next line's start either
            full = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) - os.sysconf("SC_PAGE_SIZE")
            queued = bytearray(4)
            while True:  # until the pipe is full: the command's write now blocks
                assert process.poll() is None
                fcntl.ioctl(fd, termios.FIONREAD, queued)
                if int.from_bytes(queued, sys.byteorder) >= full:
                    break
                time.sleep(0.05)
            process.send_signal(signum)
            err = _stderr_to_its_end(process)
            process.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):  # what a failure left behind
                os.killpg(process.pid, signal.SIGKILL)

    assert (process.returncode, err) == (status, said)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_while_the_workers_start_stops_the_run_with_one_line_and_status_130(
    tmp_path: Path,
) -> None:
    # Ctrl-C on a terminal goes to every process of the job; pressed while the --jobs workers were
    # still loading leukoflag (their first second), each died with a KeyboardInterrupt traceback,
    # the pool's manager thread failed on the futures the main process had cancelled, and the
    # command hung after 'leukoflag: interrupted', its feeder thread writing to dead workers
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(b"".join(mllp(oru(f"CC-{n:04d}")) for n in range(600)))
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leukoflag",
            "convert",
            feed,
            "-o",
            tmp_path / "out",
            "-q",
            "-j",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's job has
    ) as process:
        try:
            workers: list[int] = []
            while not workers:  # a worker forked by the forkserver: it is loading leukoflag
                assert process.poll() is None
                workers = [w for child in _children(process.pid) for w in _children(child)]
            os.killpg(process.pid, signal.SIGINT)
            err = _stderr_to_its_end(process)
            process.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):  # what a failure left behind
                os.killpg(process.pid, signal.SIGKILL)

    assert (process.returncode, err) == (130, b"\nleukoflag: interrupted\n")
    for written in (tmp_path / "out").glob("*.json"):
        assert json.loads(written.read_bytes())["resourceType"] == "Bundle"


def test_ctrl_c_while_the_command_loads_is_one_line_and_status_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Ctrl-C in the first tenth of a second, while `convert` loaded its modules (multiprocessing,
    # the pipeline), gave a KeyboardInterrupt traceback and status -2 instead of status 130
    class Loading(type(sys)):  # type: ignore[misc]
        def __getattr__(self, name: str) -> Any:
            if name == "run_convert":  # Ctrl-C while it is imported
                raise KeyboardInterrupt
            raise AttributeError(name)

    monkeypatch.setitem(sys.modules, "leukoflag.cli._convert", Loading("leukoflag.cli._convert"))
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(oru("CL-0001"))

    try:
        status = main(["convert", str(feed), "-o", str(tmp_path / "out")])
    except KeyboardInterrupt:
        pytest.fail("the command let KeyboardInterrupt out: Python writes its traceback")
    assert status == 130
    assert capsys.readouterr().err == "\nleukoflag: interrupted\n"
