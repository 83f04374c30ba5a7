"""Memory stays flat: the command reads its input only as far as it has written output.

A large input is simulated by a stream that produces messages (HL7 v2, or FHIR NDJSON lines) on
demand and counts the bytes read; after the first items are out, only a bounded part of it may
have been read, in one process and with workers (a thread pool stands in for the processes: same
interface, same bound).
"""

from __future__ import annotations

import concurrent.futures
import io
import sys
from collections.abc import Iterable, Iterator
from itertools import islice

import pytest

from leukoflag.cli._inputs import STDIN, expand_inputs
from leukoflag.cli._pipeline import (
    BATCH_MESSAGES,
    IN_FLIGHT_BATCHES,
    Event,
    ItemDone,
    parallel_events,
    serial_events,
)
from leukoflag.settings import Settings

from .messages import MLLP_END, MLLP_START, ndjson, observation, oru

MESSAGES = 40_000  # about 50 MB
_BOUND = 4 << 20  # what may be read ahead: the splitter's 1 MB blocks and the batches in flight


class _MessageSource(io.RawIOBase):
    """Messages generated while read; ``served`` counts the bytes."""

    def __init__(self, messages: Iterable[bytes]) -> None:
        self._messages = iter(messages)
        self._pending = b""
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self._pending) < len(buffer):
            message = next(self._messages, None)
            if message is None:
                break
            self._pending += message
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.served += size
        return size


def _stdin(monkeypatch: pytest.MonkeyPatch, messages: Iterable[bytes]) -> _MessageSource:
    raw = _MessageSource(messages)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))
    return raw


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> _MessageSource:
    """``MESSAGES`` HL7 v2 messages."""
    return _stdin(
        monkeypatch, (oru(f"S-{n:06d}", wbc=f"{2 + n % 9}.{n % 10}") for n in range(MESSAGES))
    )


@pytest.fixture
def ndjson_source(monkeypatch: pytest.MonkeyPatch) -> _MessageSource:
    """``MESSAGES`` * 3 FHIR Observations, one per line (about 40 MB)."""
    lines = (
        ndjson(observation(f"s-{n:06d}", 2 + n % 9 / 10, "10*3/uL")) for n in range(MESSAGES * 3)
    )
    return _stdin(monkeypatch, lines)


def _items(events: Iterator[Event], count: int) -> list[ItemDone]:
    items = (event for event in events if isinstance(event, ItemDone))
    return list(islice(items, count))


def test_one_process_reads_only_what_it_has_converted(source: _MessageSource) -> None:
    events = serial_events(expand_inputs([STDIN]), Settings())
    first = _items(events, 300)
    assert [item.record.index for item in first] == list(range(1, 301))
    assert source.served < _BOUND
    assert source.served < MESSAGES * len(oru("S-000000")) // 10


def test_workers_keep_a_bounded_number_of_messages_in_flight(source: _MessageSource) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        events = parallel_events(expand_inputs([STDIN]), Settings(), executor, jobs=2)
        first = _items(events, 2 * IN_FLIGHT_BATCHES * BATCH_MESSAGES + 50)
        assert [item.record.index for item in first] == list(range(1, len(first) + 1))
        assert source.served < _BOUND
        events.close()


def test_workers_keep_a_bounded_number_of_ndjson_lines_in_flight(
    ndjson_source: _MessageSource,
) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        events = parallel_events(expand_inputs([STDIN]), Settings(), executor, jobs=2)
        first = _items(events, 2 * IN_FLIGHT_BATCHES * BATCH_MESSAGES + 50)
        assert [item.record.index for item in first] == list(range(1, len(first) + 1))
        assert all(item.record.output is not None for item in first)
        assert ndjson_source.served < _BOUND
        events.close()


class _LiveFeed(io.RawIOBase):
    """A sender on a socket or pipe (``nc -l 2575 | leukoflag convert -``): each read returns
    the next thing sent; reading past them is where a real feed would wait for the sender."""

    def __init__(self, *sent: bytes) -> None:
        self._sent = list(sent)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._sent:
            raise AssertionError("read past what the sender has sent: a live feed waits here")
        data = self._sent[0][: len(buffer)]
        self._sent[0] = self._sent[0][len(data) :]
        if not self._sent[0]:
            self._sent.pop(0)
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize(
    ("sent", "control_id"),
    [
        # plain HL7 v2: a message ends where the next MSH starts
        ((oru("LIVE-0001"), oru("LIVE-0002")), "LIVE-0001"),
        # MLLP: a frame ends with its end block
        ((MLLP_START + oru("LIVE-0003") + MLLP_END,), "LIVE-0003"),
    ],
)
def test_a_live_feed_on_stdin_is_converted_as_it_arrives(
    monkeypatch: pytest.MonkeyPatch, sent: tuple[bytes, ...], control_id: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(_LiveFeed(*sent))))
    events = serial_events(expand_inputs([STDIN]), Settings())

    first = _items(events, 1)

    assert first[0].record.output is not None
    assert f'"value":"{control_id}"'.encode() in first[0].record.output


@pytest.mark.parametrize(
    "sent",
    [
        (b"\r\n", oru("LIVE-0006"), oru("LIVE-0007")),  # a blank line sent on its own first
        (b"M", oru("LIVE-0006")[1:], oru("LIVE-0007")),  # the first byte on its own
        (b"\xef\xbb\xbf", oru("LIVE-0006"), oru("LIVE-0007")),
    ],
    ids=["blank line", "one byte", "byte-order mark"],
)
def test_a_live_feed_whose_first_read_tells_nothing_is_read_on(
    monkeypatch: pytest.MonkeyPatch, sent: tuple[bytes, ...]
) -> None:
    # the format was told from the first read alone: '\r\n' or 'M' is no HL7 v2, and the whole
    # feed was one Rejected "not HL7 v2 or FHIR JSON: content starts with 'MSH|^~\\&|…'"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(_LiveFeed(*sent))))
    events = serial_events(expand_inputs([STDIN]), Settings())

    first = _items(events, 1)

    assert first[0].record.output is not None
    assert b'"value":"LIVE-0006"' in first[0].record.output
