"""The stream of converted items, in input order, from one process or from ``--jobs N`` workers.

Both forms yield the same :class:`ItemDone` / :class:`FileDone` events for the same inputs. The
parallel form splits HL7 v2 input into raw messages and FHIR NDJSON into raw lines in this
process, sends batches of them (across file boundaries) to worker processes and takes the results
back in submission order; it never holds more than a fixed number of items in flight, so memory
stays flat for any input size. A FHIR input that is one JSON document (a resource or an array)
and unrecognized content are converted in this process, in their place in the order.
"""

from __future__ import annotations

import concurrent.futures
import functools
import io
import os
import select
import stat
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from leukoflag import api, detect, hl7v2
from leukoflag.cli._inputs import Input
from leukoflag.cli._records import (
    ItemConverter,
    ItemRecord,
    convert_batch,
    job_signals_blocked,
    record_of,
)
from leukoflag.settings import Settings

__all__ = ["FileDone", "FileStarted", "ItemDone", "parallel_events", "serial_events", "sniff"]

_HEAD = 4096
BATCH_MESSAGES = 64  # per task: large enough to amortize inter-process overhead
BATCH_BYTES = 1 << 20
IN_FLIGHT_BATCHES = 3  # per worker: keeps every worker busy while results are written


@dataclass(frozen=True, slots=True)
class FileStarted:
    """An input is being read; ``kind`` is its detected format (``hl7v2``, ``fhir``, ``unknown``).
    ``stream`` lets the progress display read the position."""

    file: int
    kind: str
    stream: BinaryIO


@dataclass(frozen=True, slots=True)
class ItemDone:
    """One item of input ``file`` was converted or rejected."""

    file: int
    record: ItemRecord


@dataclass(frozen=True, slots=True)
class FileDone:
    """Every item of input ``file`` has been yielded (in the parallel form, possibly after the
    first items of the next file)."""

    file: int


Event = FileStarted | ItemDone | FileDone


def sniff(stream: BinaryIO) -> tuple[str, BinaryIO]:
    """The format of a buffered stream, from its first bytes, and the stream to read it from:
    ``stream``, or for a pipe whose first read told nothing (blanks, or no whole line), one that
    reads again what was read to tell it (:func:`leukoflag.api.peek_head`)."""
    peek: Callable[[int], bytes] | None = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("a buffered stream is needed to detect the format")
    if not stream.seekable():
        stream, head = api.peek_head(stream, _HEAD)
        return detect.detect(head), stream
    head = peek(_HEAD)[:_HEAD]
    if len(head) == _HEAD and detect.is_blank(head):
        # a blank head (an export that starts with blank lines): told after the blanks
        position = stream.tell()
        stream.seek(position + _HEAD)
        head = detect.past_blanks(head, iter(functools.partial(stream.read, _HEAD), b""))
        stream.seek(position)
    return detect.detect(head), stream


def serial_events(inputs: Sequence[Input], settings: Settings) -> Iterator[Event]:
    """Convert every input in this process, item by item, through :func:`api.iter_outcomes`."""
    for number, item in enumerate(inputs):
        with item.open() as stream:
            yield from item.reading(_file_events(number, item, stream, settings))
        yield FileDone(number)


def _file_events(
    number: int, item: Input, stream: BinaryIO, settings: Settings
) -> Iterator[FileStarted | ItemDone]:
    kind, stream = sniff(stream)
    yield FileStarted(number, kind, stream)
    for outcome in api.iter_outcomes(stream, settings, source=item.source):
        yield ItemDone(number, record_of(outcome))


@dataclass(slots=True)
class _Unit:
    """Events in input order; an ``int`` in ``script`` stands for the record of that position in
    the batch ``future`` converts (``owners`` gives its input file)."""

    script: list[Event | int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    future: concurrent.futures.Future[list[ItemRecord]] | None = None
    # a live feed waits for its sender: every result so far is written before reading on
    drain: bool = False

    @property
    def weight(self) -> int:
        return max(1, len(self.script))

    def resolve(self) -> list[Event]:
        if self.future is None:
            return [step for step in self.script if not isinstance(step, int)]
        records = self.future.result()
        return [
            ItemDone(self.owners[step], records[step]) if isinstance(step, int) else step
            for step in self.script
        ]


def parallel_events(
    inputs: Sequence[Input], settings: Settings, executor: concurrent.futures.Executor, jobs: int
) -> Generator[Event, None, None]:
    """Like :func:`serial_events`, with HL7 v2 messages and FHIR NDJSON lines converted by
    ``executor``'s workers."""
    limit = jobs * IN_FLIGHT_BATCHES * BATCH_MESSAGES
    units = _units(inputs, settings, executor)
    pending: deque[_Unit] = deque()
    in_flight = 0
    exhausted = False
    try:
        while True:
            while not exhausted and in_flight < limit and not (pending and pending[-1].drain):
                unit = next(units, None)
                if unit is None:
                    exhausted = True
                    break
                pending.append(unit)
                in_flight += unit.weight
            if not pending:
                return
            unit = pending.popleft()
            in_flight -= unit.weight
            yield from unit.resolve()
    finally:
        for unit in pending:
            if unit.future is not None:
                unit.future.cancel()
        units.close()


class _Batcher:
    """Collects raw items (HL7 v2 messages and NDJSON lines, across files) and the events around
    them into units."""

    def __init__(self, settings: Settings, executor: concurrent.futures.Executor) -> None:
        self._settings = settings
        self._executor = executor
        self._unit = _Unit()
        self._items: list[tuple[ItemConverter, str, int, bytes]] = []
        self._size = 0

    def event(self, event: Event) -> _Unit | None:
        """Add an event; returns a unit ready to go when no batch is open."""
        self._unit.script.append(event)
        return None if self._items else self._take()

    def item(
        self, file: int, source: str, index: int, raw: bytes, convert: ItemConverter
    ) -> _Unit | None:
        """Add a raw item that ``convert`` turns into its outcome; returns the submitted batch
        when it is full."""
        self._unit.script.append(len(self._items))
        self._unit.owners.append(file)
        self._items.append((convert, source, index, raw))
        self._size += len(raw)
        if len(self._items) >= BATCH_MESSAGES or self._size >= BATCH_BYTES:
            return self.flush()
        return None

    def flush(self) -> _Unit | None:
        """Submit the open batch (if any) and return its unit."""
        if not self._unit.script:
            return None
        if self._items:
            with job_signals_blocked():  # never a worker half started (see there)
                self._unit.future = self._executor.submit(
                    convert_batch, self._items, self._settings
                )
        return self._take()

    def drain(self) -> _Unit:
        """Submit the open batch; the unit returned says to write every result before reading
        on."""
        unit = self.flush() or _Unit()
        unit.drain = True
        return unit

    def _take(self) -> _Unit:
        unit, self._unit, self._items, self._size = self._unit, _Unit(), [], 0
        return unit


def _units(
    inputs: Sequence[Input], settings: Settings, executor: concurrent.futures.Executor
) -> Generator[_Unit, None, None]:
    batcher = _Batcher(settings, executor)
    for number, item in enumerate(inputs):
        with item.open() as stream:
            yield from item.reading(_file_units(number, item, stream, settings, batcher))
        yield from _ready(batcher.event(FileDone(number)))
    yield from _ready(batcher.flush())


def _live(stream: BinaryIO) -> int | None:
    """The file descriptor of a pipe, socket or terminal (a live feed, whose sender may pause);
    None for a file, which never makes its reader wait."""
    try:
        descriptor = stream.fileno()
        return None if stat.S_ISREG(os.fstat(descriptor).st_mode) else descriptor
    except (OSError, ValueError, io.UnsupportedOperation):  # not backed by a descriptor
        return None


def _idle(descriptor: int) -> bool:
    """Whether the sender has sent nothing more for now: reading on would wait for it."""
    try:
        ready, _, _ = select.select([descriptor], [], [], 0)
    except (OSError, ValueError):  # a descriptor select cannot watch: read on as from a file
        return False
    return not ready


def _file_units(
    number: int, item: Input, stream: BinaryIO, settings: Settings, batcher: _Batcher
) -> Iterator[_Unit]:
    kind, stream = sniff(stream)
    live = _live(stream)
    if kind == "hl7v2":
        yield from _ready(batcher.event(FileStarted(number, kind, stream)))
        # api.iter_outcomes does the same for HL7 v2: split, then convert each message.
        for index, raw in enumerate(hl7v2.split_stream(stream), start=1):
            yield from _ready(batcher.item(number, item.source, index, raw, api.convert_v2_message))
            if live is not None and _idle(live):
                yield batcher.drain()
    elif kind == "fhir":
        yield from _ready(batcher.event(FileStarted(number, kind, stream)))
        # the same steps as api.iter_outcomes for FHIR, split in two (api.split_fhir)
        for index, part in enumerate(api.split_fhir(stream), start=1):
            if isinstance(part, bytes):
                yield from _ready(
                    batcher.item(number, item.source, index, part, api.convert_fhir_line)
                )
                if live is not None and _idle(live):
                    yield batcher.drain()
                continue
            # one JSON document: one parse, nothing to share out
            yield from _ready(batcher.flush())
            for outcome in api.convert_fhir_document(part, item.source, settings):
                yield _Unit(script=[ItemDone(number, record_of(outcome))])
    else:
        yield from _ready(batcher.flush())
        yield _Unit(script=[FileStarted(number, kind, stream)])
        for outcome in api.iter_outcomes(stream, settings, source=item.source):
            yield _Unit(script=[ItemDone(number, record_of(outcome))])


def _ready(unit: _Unit | None) -> Iterator[_Unit]:
    if unit is not None:
        yield unit
