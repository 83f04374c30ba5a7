"""A one-line progress display on a terminal's stderr: files, messages, rate, bytes read.

Redrawn at most ten times a second with a carriage return; other stderr lines are written through
:meth:`Progress.message` so they do not mix with the bar. Not used when stderr is not a terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from leukoflag.cli._inputs import Input, line_text

__all__ = ["Progress", "StderrLines"]

_INTERVAL = 0.1  # seconds between redraws
_BAR = 20  # cells
_CLEAR = "\r\x1b[K"
_NOT_DONE = 0.99  # the most a run still converting shows


class StderrLines:
    """Writes whole lines to stderr (used without a progress display)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def message(self, line: str) -> None:
        self.write(line + "\n")

    def write(self, text: str) -> None:
        """Write ``text`` now; when stderr cannot be written (a closed terminal, a full disk under
        a log file), it is lost, as with stderr closed, and the run and its status go on."""
        try:
            self._stream.write(text)
            self._stream.flush()
        except OSError:
            _discard(self._stream)


def _discard(stream: TextIO) -> None:
    """Send what ``stream`` still holds and everything after to the null device, so that neither
    a later line nor the flush at exit fails again."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
        stream.flush()


class Progress(StderrLines):
    """The progress line of a ``leukoflag convert`` run."""

    def __init__(self, stream: TextIO, inputs: Sequence[Input]) -> None:
        super().__init__(stream)
        self._inputs = inputs
        sizes = [item.size for item in inputs]
        self._total_bytes = None if None in sizes else sum(size or 0 for size in sizes)
        self._bytes_done = 0
        self._current: tuple[int, BinaryIO] | None = None
        self._files_done = 0
        self._messages = 0
        self._rejected = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._visible = False

    def file_started(self, file: int, stream: BinaryIO) -> None:
        self._current = (file, stream)
        self._draw()

    def item(self, rejected: bool) -> None:
        self._messages += 1
        self._rejected += rejected
        self._draw()

    def file_done(self, file: int) -> None:
        self._files_done += 1
        self._bytes_done += self._inputs[file].size or 0
        if self._current is not None and self._current[0] == file:
            self._current = None
        self._draw()

    def message(self, line: str) -> None:
        self.clear()
        super().message(line)

    def clear(self) -> None:
        if self._visible:
            self.write(_CLEAR)
            self._visible = False

    def _draw(self) -> None:
        now = time.monotonic()
        if now - self._drawn < _INTERVAL:
            return
        self._drawn = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.write(_CLEAR + self._line(now)[:width])
        self._visible = True

    def _line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        parts = []
        if self._total_bytes:
            share = min(1.0, (self._bytes_done + self._position()) / self._total_bytes)
            if self._files_done < len(self._inputs):
                # a file read whole is not converted yet: 100 % only when every file is done
                share = min(share, _NOT_DONE)
            filled = min(round(share * _BAR), _BAR - 1 if share < 1 else _BAR)
            parts.append(f"[{'█' * filled}{'·' * (_BAR - filled)}] {share:4.0%}")
        parts.append(f"{self._files_done:,}/{len(self._inputs):,} files")
        parts.append(f"{self._messages:,} message{'' if self._messages == 1 else 's'}")
        if self._rejected:
            parts.append(f"{self._rejected:,} rejected")
        parts.append(f"{self._messages / elapsed:,.0f}/s")
        if self._current is not None:
            parts.append(line_text(self._inputs[self._current[0]].source))
        return "  ".join(parts)

    def _position(self) -> int:
        if self._current is None:
            return 0
        file, stream = self._current
        if stream.closed:  # read to its end ahead of its conversion (--jobs): every byte is read
            return self._inputs[file].size or 0
        try:
            return stream.tell()
        except (OSError, ValueError):  # a pipe has no position
            return 0
