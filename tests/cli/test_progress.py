"""The progress line: drawn on a terminal's stderr only."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from leukoflag.cli._inputs import Input
from leukoflag.cli._progress import Progress

from .messages import oru


def test_progress_line_shows_share_files_messages_and_rate() -> None:
    screen = io.StringIO()
    inputs = [Input("feed/a.hl7", "a.hl7", Path("feed/a.hl7"), 100), Input("b", "b", None, 0)]
    progress = Progress(screen, inputs)
    stream = io.BytesIO(b"x" * 100)
    stream.seek(50)
    progress.file_started(0, stream)
    line = screen.getvalue().split("\r\x1b[K")[-1]
    assert line.startswith("[██████████··········]  50%")
    assert "0/2 files" in line
    assert "0 messages" in line
    assert line.endswith("feed/a.hl7")


def test_progress_message_clears_the_line_first() -> None:
    screen = io.StringIO()
    progress = Progress(screen, [Input("a", "a", None, None)])
    progress.file_started(0, io.BytesIO())
    progress.message("leukoflag: rejected a item 1: bad")
    assert screen.getvalue().endswith("\r\x1b[Kleukoflag: rejected a item 1: bad\n")
    progress.clear()
    assert screen.getvalue().endswith("bad\n")  # nothing left to clear


def test_progress_bar_is_drawn_on_a_terminal_and_not_with_quiet(tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("P-1"))
    for quiet, drawn in (([], True), (["--quiet"], False)):
        controller, terminal = pty.openpty()
        try:
            with subprocess.Popen(
                [sys.executable, "-m", "leukoflag", "convert", "in.hl7", "-o", "out", *quiet],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=terminal,
            ) as process:
                os.close(terminal)  # the child holds the terminal now; EOF when it exits
                screen = _read_all(controller)
                process.wait(timeout=120)
        finally:
            os.close(controller)
        assert ("\r\x1b[K" in screen) is drawn
        assert ("1 message → 1 bundle" in screen) is drawn


def test_no_progress_line_when_the_ndjson_goes_to_the_terminal_too(tmp_path: Path) -> None:
    # 'leukoflag convert day.hl7' on a terminal: each Bundle line was glued to the progress line
    # drawn before it ('… 0/1 files  0 messages  0/s  day.hl7{"resourceType":"Bundle" …'), so
    # the NDJSON copied from the screen was no JSON
    (tmp_path / "day.hl7").write_bytes(oru("P-1") + oru("P-2"))
    controller, terminal = pty.openpty()
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "leukoflag", "convert", "day.hl7"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
        ) as process:
            os.close(terminal)  # the child holds the terminal now; EOF when it exits
            screen = _read_all(controller)
            process.wait(timeout=120)
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert "\x1b[K" not in screen
    *bundles, summary = screen.splitlines()
    assert [json.loads(line)["resourceType"] for line in bundles] == ["Bundle", "Bundle"]
    assert summary.startswith("leukoflag: 2 messages → 2 bundles, 0 rejected")


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal side is closed: everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_says_100_percent_only_when_every_file_is_done() -> None:
    # a small file is read whole before its messages are converted: the bar said 100 % while
    # the run went on for its messages
    screen = io.StringIO()
    inputs = [Input("feed/a.hl7", "a.hl7", Path("feed/a.hl7"), 100)]
    progress = Progress(screen, inputs)
    stream = io.BytesIO(b"x" * 100)
    stream.seek(100)  # read to its end, messages still to convert
    progress.file_started(0, stream)
    line = screen.getvalue().split("\r\x1b[K")[-1]
    assert line.startswith("[███████████████████·]  99%")
    assert "0/1 files" in line
    progress._drawn = 0.0  # draw again now, not after the redraw interval
    progress.file_done(0)
    line = screen.getvalue().split("\r\x1b[K")[-1]
    assert line.startswith("[████████████████████] 100%")


def test_progress_share_counts_a_file_read_ahead_and_closed_as_read() -> None:
    # with --jobs the main process reads a file to its end and closes it while the workers still
    # convert its last batches: the share fell from 99 % to 0 % for the end of each file
    screen = io.StringIO()
    inputs = [
        Input("feed/a.hl7", "a.hl7", Path("feed/a.hl7"), 100),
        Input("feed/b.hl7", "b.hl7", Path("feed/b.hl7"), 100),
    ]
    progress = Progress(screen, inputs)
    stream = io.BytesIO(b"x" * 100)
    stream.close()  # read whole and closed, its messages still in the workers
    progress.file_started(0, stream)
    line = screen.getvalue().split("\r\x1b[K")[-1]
    assert line.startswith("[██████████··········]  50%")
    assert "0/2 files" in line
